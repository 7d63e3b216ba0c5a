"""HostCpuPressure, HostIoPressure, HostNuma and GuestCpuUsage on trees of their own:
with every file, and on a host without /proc/pressure or a cgroup file (fields absent)."""

from __future__ import annotations

import logging

import pytest

from mom.plugins import registry as plugins
from mom.plugins.collectors.guest_cpu_usage import vm_cgroup
from mom.plugins.collectors.host_cpu_pressure import parse_proc_stat
from mom.plugins.numa_sysfs import parse_cpulist, parse_numa_maps
from mom.plugins.psi import parse_psi

PSI = "some avg10=12.50 avg60=3.00 avg300=1.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"


def stat(user, idle, running=3):
    return (
        f"cpu  {user} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\n"
        f"intr 1\nprocs_running {running}\nprocs_blocked 0\n"
    )


def test_parsers():
    assert parse_psi(PSI) == {
        "some_avg10": 12.5, "some_avg60": 3.0, "some_avg300": 1.0, "some_total": 123456,
        "full_avg10": 0.0, "full_avg60": 0.0, "full_avg300": 0.0, "full_total": 7,
    }  # fmt: skip
    assert parse_psi("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n") == {
        "some_avg10": 1.0, "some_avg60": 2.0, "some_avg300": 3.0, "some_total": 4,
    }  # fmt: skip
    with pytest.raises(ValueError):
        parse_psi("some avg10=x\n")
    assert parse_proc_stat(stat(300, 700)) == (300, 1000, 3, 2)
    with pytest.raises(ValueError):
        parse_proc_stat("intr 1\n")
    assert parse_cpulist("0-3,8\n") == (0, 1, 2, 3, 8)
    assert parse_numa_maps("7f00 default anon=3 N0=2 N1=1\n7f01 bind:1 N1=5 kernelpagesize_kB=4\n") == {0: 2, 1: 6}


def test_host_cpu_pressure_busy_rate_run_queue_and_psi(tmp_path):
    (tmp_path / "pressure").mkdir()
    (tmp_path / "pressure" / "cpu").write_text(PSI)
    (tmp_path / "stat").write_text(stat(300, 700))
    collector = plugins.load("collector", "HostCpuPressure")({"config": {"proc": str(tmp_path)}})
    assert collector.getFields() == set() and "cpu_busy" in collector.getOptionalFields()
    first = collector.collect()
    assert "cpu_busy" not in first  # a rate needs two samples
    assert first["cpu_runnable"] == 1.5 and first["cpu_some_avg10"] == 12.5 and first["cpu_some_total"] == 123456
    (tmp_path / "stat").write_text(stat(1200, 800))  # +900 busy of +1000
    assert collector.collect()["cpu_busy"] == pytest.approx(0.9)


def test_host_without_pressure_files_gives_no_psi_fields_and_says_so_once(tmp_path, caplog):
    (tmp_path / "stat").write_text(stat(1, 1))
    cpu = plugins.load("collector", "HostCpuPressure")({"config": {"proc": str(tmp_path)}})
    io = plugins.load("collector", "HostIoPressure")({"config": {"proc": str(tmp_path)}})
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert set(cpu.collect()) == {"cpu_runnable"}
            assert io.collect() == {}
    assert sum("no CPU pressure" in r.message for r in caplog.records) == 1
    assert sum("no IO pressure" in r.message for r in caplog.records) == 1
    empty = plugins.load("collector", "HostCpuPressure")({"config": {"proc": str(tmp_path / "none")}})
    assert empty.collect() == {}


def test_host_io_pressure(tmp_path):
    (tmp_path / "pressure").mkdir()
    (tmp_path / "pressure" / "io").write_text(PSI)
    data = plugins.load("collector", "HostIoPressure")({"config": {"proc": str(tmp_path)}}).collect()
    assert data == {
        "io_some_avg10": 12.5, "io_some_avg60": 3.0, "io_some_total": 123456,
        "io_full_avg10": 0.0, "io_full_avg60": 0.0, "io_full_total": 7,
    }  # fmt: skip


def numa_tree(root, nodes):
    """A /sys/devices/system/node of ``nodes``: [(cpulist, total KiB, free KiB)]."""
    for index, (cpus, total, free) in enumerate(nodes):
        node = root / f"node{index}"
        node.mkdir(parents=True)
        (node / "cpulist").write_text(cpus + "\n")
        (node / "meminfo").write_text(
            f"Node {index} MemTotal:       {total} kB\nNode {index} MemFree:        {free} kB\n"
        )
    (root / "possible").write_text("0-%d\n" % (len(nodes) - 1))
    return str(root)


def test_host_numa(tmp_path):
    root = numa_tree(tmp_path / "node", [("0-1", 4000, 1000), ("2-3", 4000, 3000)])
    collector = plugins.load("collector", "HostNuma")({"config": {"sysfs": root}})
    assert collector.collect() == {"numa_node_count": 2, "numa_free_max": 3000, "numa_free_min": 1000}
    missing = plugins.load("collector", "HostNuma")({"config": {"sysfs": str(tmp_path / "nowhere")}})
    assert missing.collect() == {"numa_node_count": 1}


class CpuStats:
    def __init__(self):
        self.answers = []

    def getVmCpuStats(self, uuid):
        return self.answers.pop(0)


def test_guest_cpu_usage_rates_from_cumulative_counters(tmp_path):
    iface = CpuStats()
    clock = iter([10.0, 12.0, 14.0]).__next__
    cls = plugins.load("collector", "GuestCpuUsage")
    collector = cls({"hypervisor_iface": iface, "uuid": "u", "pid": None}, clock=clock)
    iface.answers = [
        {"cpu_time": 0, "vcpu_count": 2, "vcpu_wait": 0, "vcpu_delay": None},
        {"cpu_time": 3 * 10**9, "vcpu_count": 2, "vcpu_wait": 10**9, "vcpu_delay": None},
        {"cpu_time": 10**9, "vcpu_count": 2, "vcpu_wait": 2 * 10**9, "vcpu_delay": None},  # restarted
    ]
    assert collector.collect() == {}
    assert collector.collect() == {"cpu_usage": 1.5, "cpu_usage_vcpu": 0.75, "vcpu_wait": 0.25}
    assert collector.collect() == {"vcpu_wait": 0.25}  # cpu.time went backwards: no usage


def test_guest_cgroup_cpu_pressure_and_a_host_without_the_file(tmp_path):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "42").mkdir(parents=True)
    scope = "machine.slice/machine-qemu\\x2d1\\x2dvm.scope"
    (proc / "42" / "cgroup").write_text(f"0::/{scope}/libvirt/emulator\n")
    assert vm_cgroup(42, str(proc)) == f"/{scope}"
    (proc / "42" / "cgroup").write_text(f"0::/{scope}/emulator\n")
    assert vm_cgroup(42, str(proc)) == f"/{scope}"
    (cgroup / scope).mkdir(parents=True)
    (cgroup / scope / "cpu.pressure").write_text(PSI)
    iface = CpuStats()
    iface.answers = [None, None]
    props = {"hypervisor_iface": iface, "uuid": "u", "pid": 42, "config": {"proc": str(proc), "cgroup": str(cgroup)}}
    collector = plugins.load("collector", "GuestCpuUsage")(props)
    assert collector.collect() == {"cgroup_cpu_some_avg10": 12.5, "cgroup_cpu_some_avg60": 3.0}
    (cgroup / scope / "cpu.pressure").unlink()
    assert collector.collect() == {}


def test_guest_cpu_usage_on_the_test_driver(iface, test_host):
    """The test driver's bulk records have no cpu.time: getCPUStats answers, per guest."""
    iface.prefetch()
    _, uuid = test_host[1][0]
    stats = iface.getVmCpuStats(uuid)
    assert stats["vcpu_count"] == 2 and stats["cpu_time"] > 0
    assert stats["vcpu_wait"] is None and stats["vcpu_delay"] is None
