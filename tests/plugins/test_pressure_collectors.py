"""HostPressure on a PSI file of the test's own (and on this machine's), GuestPressure on counters."""

from __future__ import annotations

import os

import pytest

from mom.errors import HypervisorInterfaceError
from mom.plugins.collectors.guest_pressure import GuestPressure
from mom.plugins.collectors.host_pressure import HostPressure
from mom.plugins.psi import PSI_MEMORY, parse_psi

PSI_TEXT = "some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\nfull avg10=0.50 avg60=0.25 avg300=0.05 total=65432\n"


def test_parse_psi_reads_both_lines():
    values = parse_psi(PSI_TEXT)
    assert values["some_avg10"] == 1.5 and values["some_total"] == 123456
    assert values["full_avg60"] == 0.25 and values["full_total"] == 65432


def test_parse_psi_takes_what_is_there():
    assert parse_psi("some avg10=2.00 total=7\n") == {"some_avg10": 2.0, "some_total": 7}
    assert parse_psi("") == {}
    with pytest.raises(ValueError):
        parse_psi("some avg10=lots\n")


def test_host_pressure_from_a_tree_of_its_own(tmp_path):
    path = tmp_path / "memory"
    path.write_text(PSI_TEXT)
    collector = HostPressure({"config": {"path": str(path)}})
    assert collector.collect() == {
        "mem_some_avg10": 1.5,
        "mem_some_avg60": 0.75,
        "mem_some_total": 123456,
        "mem_full_avg10": 0.5,
        "mem_full_avg60": 0.25,
        "mem_full_total": 65432,
    }
    assert collector.getFields() == set() and "mem_some_avg10" in collector.getOptionalFields()


def test_host_pressure_without_psi_has_no_fields_and_says_so_once(tmp_path, caplog):
    collector = HostPressure({}, path=str(tmp_path / "absent"))
    with caplog.at_level("INFO", logger="mom"):
        assert collector.collect() == {}
        assert collector.collect() == {}
    assert len([r for r in caplog.records if "No memory pressure information" in r.getMessage()]) == 1
    (tmp_path / "absent").write_text("some avg10=lots\n")
    assert collector.collect() == {}  # malformed: empty too


@pytest.mark.skipif(not os.path.exists(PSI_MEMORY), reason="this kernel has no /proc/pressure/memory")
def test_host_pressure_on_this_machine():
    sample = HostPressure({}).collect()
    assert set(sample) == set(HostPressure.optional_fields)
    assert sample["mem_some_total"] >= sample["mem_full_total"] >= 0


class Stats:
    def __init__(self, samples):
        self.samples = list(samples)

    def getVmMemoryStats(self, uuid):
        sample = self.samples.pop(0)
        if isinstance(sample, Exception):
            raise sample
        return sample


def test_guest_pressure_reports_what_happened_since_the_previous_sample():
    iface = Stats(
        [
            {"major_fault": 100, "swap_in": 10},
            {"major_fault": 250, "swap_in": 10},
            HypervisorInterfaceError("no agent"),
            {"major_fault": 300},
            {"major_fault": 5, "swap_in": 40},  # rebooted: counters went back
            {"major_fault": 15, "swap_in": 41},
        ]
    )
    collector = GuestPressure({"hypervisor_iface": iface, "uuid": "u"})
    assert collector.collect() == {}
    assert collector.collect() == {"major_fault_delta": 150, "swap_in_delta": 0}
    assert collector.collect() == {}
    assert collector.collect() == {"major_fault_delta": 50}
    assert collector.collect() == {}
    assert collector.collect() == {"major_fault_delta": 10, "swap_in_delta": 1}
