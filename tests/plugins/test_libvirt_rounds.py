"""The libvirt interface at density, on libvirt's in-process test driver: one bulk call per
round, what it falls back to and how often, caches dropped by domain events, guests that
vanish mid-round, errors named by call and domain, reconnection with back-off."""

from __future__ import annotations

import libvirt
import pytest

from mom.errors import HypervisorInterfaceError
from mom.plugins.hypervisors.libvirt import TUNE_NAMESPACE
from mom.plugins.hypervisors.libvirt_connection import LibvirtConnection
from tests.helpers import OVIRT_QOS_METADATA, Clock, calls_during, libvirt_test_host, wait_for

#: what momd's vdsm-style guest collectors ask for each guest in a round
GUEST_QUERIES = ("getVmMemoryStats", "getVmBalloonInfo", "getVmCpuTuneInfo", "getVmIoTunePolicy", "getVmIoTune")


@pytest.fixture
def on_host(tmp_path, iface_for):
    """``on_host(guests, events=True, metadata=OVIRT_QOS_METADATA, name="host")``: a libvirt
    interface on a fresh test host of ``guests`` domains, and their (name, uuid)."""

    def make(guests, *, events=True, metadata=OVIRT_QOS_METADATA, name="host"):
        path = tmp_path / f"{name}.xml"
        domains = libvirt_test_host(str(path), guests, metadata=metadata)
        return iface_for(f"test://{path}", events=events, main={"guest-monitor-interval": "5"}), domains

    return make


def run_guest(iface, uuid):
    """What the guest collectors ask about one guest: the answers (or errors), by query."""
    row = {}
    for query in GUEST_QUERIES:
        try:
            row[query] = getattr(iface, query)(uuid)
        except HypervisorInterfaceError as error:
            row[query] = error
    return row


def run_round(iface, domains):
    """One collection round as the guest manager runs it; the answers, by guest."""
    iface.prefetch()
    return {uuid: run_guest(iface, uuid) for _name, uuid in domains}


@pytest.mark.parametrize("guests", [3, 40])
def test_a_round_costs_one_bulk_call_plus_what_the_driver_lacks(on_host, guests):
    iface, domains = on_host(guests)
    assert iface.connection.events  # domain events keep the cached configuration valid
    first = calls_during(iface, lambda: run_round(iface, domains))
    # the first round reads each domain's XML and scheduler parameters once
    assert first["XMLDesc"] == first["schedulerParameters"] == guests
    # later rounds: the bulk call, plus the one thing the test driver's empty bulk
    # records lack (guest memory statistics), once per guest for all five queries
    for _ in range(3):
        assert calls_during(iface, lambda: run_round(iface, domains)) == {"getAllDomainStats": 1, "memoryStats": guests}
    stats = iface.stats()
    assert stats["calls_by_name"]["getAllDomainStats"] == 4
    assert stats["rounds"] == 4


def test_round_answers_are_upstreams(on_host):
    iface, domains = on_host(2)
    answers = run_round(iface, domains)
    for _name, uuid in domains:
        row = answers[uuid]
        # the test driver derives its memory statistics from currentMemory (KiB)
        assert row["getVmMemoryStats"] == {
            "mem_available": 2097152,
            "mem_unused": 1048576,
            "major_fault": 0,
            "minor_fault": 0,
            "swap_in": 0,
            "swap_out": 0,
        }
        assert row["getVmBalloonInfo"] == {"balloon_max": 4194304, "balloon_cur": 2097152, "balloon_min": 0}
        cpu = row["getVmCpuTuneInfo"]
        assert (cpu["vcpu_user_limit"], cpu["vcpu_quota"], cpu["vcpu_period"], cpu["vcpu_count"]) == (50, 0, 0, 2)
        assert cpu["weight"] == 50  # every scheduler parameter, as upstream
        assert row["getVmIoTunePolicy"][0]["maximum"]["total_bytes_sec"] == 5000000
        assert row["getVmIoTune"] == [
            {"name": "vda", "path": f"/images/{_name}.img", "ioTune": dict.fromkeys(row["getVmIoTune"][0]["ioTune"], 0)}
        ]
    # each answer is a fresh dict: an IoTune setter writing into one leaves the next round's alone
    uuid = domains[0][1]
    answers[uuid]["getVmIoTune"][0]["ioTune"]["total_bytes_sec"] = 1
    assert iface.getVmIoTune(uuid)[0]["ioTune"]["total_bytes_sec"] == 0


def test_without_events_the_configuration_is_read_every_round(on_host):
    iface, domains = on_host(5, events=False)
    assert not iface.connection.events
    run_round(iface, domains)
    for _ in range(2):
        calls = calls_during(iface, lambda: run_round(iface, domains))
        # once per round each, however many queries need them (upstream: once per query)
        assert calls == {"getAllDomainStats": 1, "memoryStats": 5, "XMLDesc": 5, "schedulerParameters": 5}


def test_metadata_event_drops_the_cached_xml(on_host):
    iface, domains = on_host(3)
    run_round(iface, domains)
    name, uuid = domains[1]
    domain = iface.conn.lookupByUUIDString(uuid)  # the interface's own copy of the test host
    qos = "<qos><vcpuLimit>70</vcpuLimit></qos>"
    domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, qos, "ovt", TUNE_NAMESPACE, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def limit():
        iface.prefetch()
        info = iface.getVmCpuTuneInfo(uuid)
        return info["vcpu_user_limit"] == 70

    wait_for(limit, timeout=5)
    # only that guest's XML was read again; the others' is still cached
    calls = calls_during(iface, lambda: run_round(iface, domains))
    assert calls == {"getAllDomainStats": 1, "memoryStats": 3}
    assert run_round(iface, domains)[domains[0][1]]["getVmCpuTuneInfo"]["vcpu_user_limit"] == 50


@pytest.mark.parametrize("kind", ["device-added", "device-removed"])
def test_device_events_drop_the_cached_xml(on_host, kind):
    # what keeps a disk list current without the bulk block group (the test driver cannot
    # hot-plug, so the event is delivered as the libvirt-events thread delivers it)
    iface, domains = on_host(3)
    run_round(iface, domains)
    iface._on_event(domains[2][1], kind, ("virtio-disk1",))
    calls = calls_during(iface, lambda: run_round(iface, domains))
    assert calls == {"getAllDomainStats": 1, "memoryStats": 3, "XMLDesc": 1}


def test_own_actions_drop_what_they_change(on_host):
    iface, domains = on_host(2, metadata="", name="io")
    # the live XML's <iotune> is the current state; the test driver wants a *_max first
    _name, uuid = domains[0]
    iface.conn.lookupByUUIDString(uuid).setBlockIoTune(
        "vda", {"total_bytes_sec_max": 10**9}, libvirt.VIR_DOMAIN_AFFECT_LIVE
    )
    run_round(iface, domains)
    iface.setVmIoTune(uuid, [{"name": "vda", "path": None, "ioTune": {"total_bytes_sec": 6000}}])
    calls = calls_during(iface, lambda: run_round(iface, domains))
    assert calls == {"getAllDomainStats": 1, "memoryStats": 2, "XMLDesc": 1}
    assert iface.getVmIoTune(uuid)[0]["ioTune"]["total_bytes_sec"] == 6000
    iface.setVmBalloonTarget(uuid, 1048576)
    assert run_round(iface, domains)[uuid]["getVmBalloonInfo"]["balloon_cur"] == 1048576


def test_a_guest_that_vanishes_mid_round_leaves_the_others_alone(on_host, caplog):
    iface, domains = on_host(4)
    run_round(iface, domains)
    iface.prefetch()
    gone_name, gone = domains[2]
    iface.conn.lookupByUUIDString(gone).destroy()  # after the bulk call, before its collectors ran
    with caplog.at_level("WARNING", logger="mom"):
        answers = {uuid: run_guest(iface, uuid) for _name, uuid in domains}
    row = answers.pop(gone)
    assert isinstance(row["getVmMemoryStats"], HypervisorInterfaceError)
    assert row["getVmBalloonInfo"] is None
    for other in answers.values():
        assert other["getVmBalloonInfo"]["balloon_cur"] == 2097152
        assert other["getVmMemoryStats"]["mem_available"] == 2097152
    assert not caplog.records  # a guest going away is not a warning
    # the next round no longer lists it, and costs one memoryStats less
    calls = calls_during(iface, lambda: iface.prefetch())
    assert calls == {"getAllDomainStats": 1}
    assert gone not in iface._round.records
    with pytest.raises(HypervisorInterfaceError, match=f"setMemory\\({gone_name} {gone}\\).*not running"):
        iface.setVmBalloonTarget(gone, 1024)


def test_an_error_names_the_domain_after_a_lifecycle_event_dropped_its_handle(on_host):
    # libvirt's event thread drops the handle between the call and its error message
    iface, domains = on_host(2)
    run_round(iface, domains)
    name, uuid = domains[0]
    handle, entry = iface._handle(uuid)
    iface._on_event(uuid, "lifecycle", ())
    assert entry.handle is None
    handle.destroy()
    with pytest.raises(HypervisorInterfaceError, match=f"setMemory\\({name} {uuid}\\).*not running"):
        iface.connection.call("setMemory", handle.setMemory, 1024, domain=entry, query=False)


def test_errors_name_the_call_and_the_domain_once(on_host, caplog):
    iface, domains = on_host(2)
    name, uuid = domains[0]
    run_round(iface, domains)
    with caplog.at_level("DEBUG", logger="mom"):
        for _ in range(3):  # the test driver has no vcpu_quota
            with pytest.raises(HypervisorInterfaceError, match="setSchedulerParameters"):
                iface.setVmCpuTune(uuid, 50000, 100000)
    failures = [r for r in caplog.records if "setSchedulerParameters" in r.getMessage()]
    assert len(failures) == 3
    assert [r.levelname for r in failures] == ["WARNING", "DEBUG", "DEBUG"]
    message = failures[0].getMessage()
    assert f"{name} {uuid}" in message and "vcpu_quota" in message


def test_bulk_records_on_a_guest_without_statistics(on_host):
    # what a real QEMU guest without a balloon driver (or a busy one, NOWAIT) gives:
    # the balloon group without the guest's own figures. No per-domain fallback then.
    iface, domains = on_host(1)
    _name, uuid = domains[0]
    iface.prefetch()
    iface._round.records[uuid].update({"balloon.current": 1000, "balloon.maximum": 2000})
    calls = {}

    def queries():
        with pytest.raises(HypervisorInterfaceError, match="memoryStats\\(\\) is not active"):
            iface.getVmMemoryStats(uuid)
        calls["balloon"] = iface.getVmBalloonInfo(uuid)

    made = calls_during(iface, queries)
    assert calls["balloon"] == {"balloon_max": 2000, "balloon_cur": 1000, "balloon_min": 0}
    assert "memoryStats" not in made


def test_a_guest_that_stops_reporting_is_not_asked_alone_forever(on_host):
    # a guest whose bulk records carried balloon statistics, then lost them: asked alone
    # (it may just be busy under NOWAIT); once that answer is empty too (its driver is
    # gone), its empty bulk records are believed again
    iface, domains = on_host(1)
    _name, uuid = domains[0]
    iface.prefetch()
    iface._round.records[uuid].update({"balloon.current": 1000, "balloon.available": 900, "balloon.unused": 400})
    assert iface.getVmMemoryStats(uuid) == {"mem_available": 900, "mem_unused": 400}

    def stats_lost(answer_alone):
        iface.prefetch()
        iface._round.records[uuid].update({"balloon.current": 1000})
        if answer_alone is not None:
            iface._round.memory[uuid] = answer_alone  # what memoryStats() answered this round
        with pytest.raises(HypervisorInterfaceError, match=r"memoryStats\(\) is not active"):
            iface.getVmMemoryStats(uuid)

    # the guest answers alone with nothing (the test driver's memoryStats always has values)
    assert calls_during(iface, lambda: stats_lost({})) == {"getAllDomainStats": 1}
    assert calls_during(iface, lambda: stats_lost(None)) == {"getAllDomainStats": 1}


# ## The connection


def test_a_local_system_error_keeps_the_connection(tmp_path, on_host, caplog):
    # VIR_ERR_SYSTEM_ERROR also reports local failures (here the test driver cannot open a
    # file): the call fails, the connection and its caches stay
    iface, domains = on_host(2)
    run_round(iface, domains)
    name, uuid = domains[0]
    handle, entry = iface._handle(uuid)
    conn, generation = iface.conn, iface.connection.generation
    with caplog.at_level("WARNING", logger="mom"):
        with pytest.raises(HypervisorInterfaceError, match=r"save\(vm0000 .*open failed") as raised:
            iface.connection.call("save", handle.save, str(tmp_path / "missing" / "image"), domain=entry)
    assert raised.value.__cause__.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR
    assert "connection lost" not in caplog.text
    assert f"Unhandled libvirt exception ({libvirt.VIR_ERR_SYSTEM_ERROR}). save({name} {uuid}) failed" in caplog.text
    assert iface.conn is conn and iface.connection.generation == generation and iface.connection.connected
    # nothing cached was dropped: the next round costs what a steady round costs
    assert calls_during(iface, lambda: run_round(iface, domains)) == {"getAllDomainStats": 1, "memoryStats": 2}


def test_opening_backs_off_and_recovers(tmp_path, caplog):
    path = tmp_path / "later.xml"
    clock = Clock()
    with caplog.at_level("WARNING", logger="mom"):
        connection = LibvirtConnection(f"test://{path}", clock=clock)
    assert connection.conn is None
    assert "error setting up connection" in caplog.text
    delays = []
    for _ in range(8):
        with pytest.raises(HypervisorInterfaceError, match="next attempt in"):
            connection.get()  # too early: no attempt
        delays.append(connection.next_attempt - clock.now)
        clock.now = connection.next_attempt
        with pytest.raises(HypervisorInterfaceError, match="not connected"):
            connection.get()  # due: one attempt, which fails
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert connection.calls_by_name()["open"] == 9
    libvirt_test_host(str(path), 2)  # the host comes back
    clock.now = connection.next_attempt
    conn = connection.get()
    assert sorted(conn.listDomainsID()) == [1, 2]
    assert (connection.failures, connection.generation) == (0, 1)
    connection.close()


def test_a_lost_connection_is_reopened_and_state_kept(on_host, caplog):
    iface, domains = on_host(3)
    run_round(iface, domains)
    old = iface.conn
    old.close()  # the connection breaks under the interface
    with caplog.at_level("WARNING", logger="mom"):
        iface.prefetch()  # this round has no bulk records...
    assert "libvirt connection lost" in caplog.text
    answers = run_round(iface, domains)  # ...the next one works on a new connection
    assert iface.conn is not old and iface.connection.generation == 2 and iface.stats()["reconnects"] == 1
    assert all(row["getVmBalloonInfo"]["balloon_cur"] == 2097152 for row in answers.values())
    assert iface.connection.events  # events registered again on the new connection
