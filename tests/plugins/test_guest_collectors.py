"""Guest collectors: through libvirt's test driver, real /proc, a real qemu-ga and mom-guestd."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest

from mom.errors import CollectionError, FatalError
from mom.plugins import procfs
from mom.plugins.collectors.guest_balloon import GuestBalloon, GuestBalloonOptional
from mom.plugins.collectors.guest_cpu_tune import GuestCpuTune
from mom.plugins.collectors.guest_io_tune import GuestIoTune, GuestIoTuneOptional, match_io_tunes
from mom.plugins.collectors.guest_memory import GuestMemory, GuestMemoryOptional
from mom.plugins.collectors.guest_network_daemon import GuestNetworkDaemon, _Server
from mom.plugins.collectors.guest_qemu_agent import GuestQemuAgent
from mom.plugins.collectors.guest_qemu_proc import GuestQemuProc
from mom.plugins.collectors.io_tune import IoTune
from mom.plugins.hypervisors.base import HypervisorInterface
from tests.helpers import wait_for


def props(iface, guest):
    name, uuid = guest
    return {"hypervisor_iface": iface, "uuid": uuid, "name": name, "pid": None}


def test_guest_memory_through_libvirt(iface, test_host):
    collector = GuestMemory(props(iface, test_host[1][0]))
    sample = collector.collect()
    assert set(sample) == collector.getFields()
    assert sample["mem_available"] == 2097152
    assert collector.getOptionalFields() == {"swap_total", "swap_usage"}
    optional = GuestMemoryOptional(props(iface, test_host[1][0]))
    assert optional.getFields() == set() and "mem_unused" in optional.getOptionalFields()


def test_guest_memory_error_is_logged_once(caplog):
    class NoStats(HypervisorInterface):
        def getVmMemoryStats(self, uuid):
            from mom.errors import HypervisorInterfaceError

            raise HypervisorInterfaceError("libvirt memoryStats() is not active")

    collector = GuestMemory({"hypervisor_iface": NoStats(), "uuid": "u"})
    with caplog.at_level("WARNING", logger="mom"):
        assert collector.collect() == {}
        assert collector.collect() == {}
    assert [r.getMessage() for r in caplog.records].count(
        "Memory stats not available for guest u: libvirt memoryStats() is not active"
    ) == 1


def test_guest_balloon_and_cpu_tune(iface, test_host):
    p = props(iface, test_host[1][1])
    assert GuestBalloon(p).collect() == {"balloon_cur": 2097152, "balloon_max": 4194304, "balloon_min": 0}
    assert GuestBalloonOptional(p).getOptionalFields() == {"balloon_cur", "balloon_max", "balloon_min"}
    tune = GuestCpuTune(p).collect()
    assert {"vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count"} <= set(tune)


def test_gone_guest_balloon_is_none(iface):
    assert GuestBalloon({"hypervisor_iface": iface, "uuid": "00000000-0000-0000-0000-000000000001"}).collect() is None


def test_guest_io_tune_matches_policy_to_state():
    policies = [
        {"name": "vda", "path": "/a", "guaranteed": {"total_bytes_sec": 1}, "maximum": {"total_bytes_sec": 9}},
        {"name": "vdb", "path": None, "guaranteed": {}, "maximum": {"read_iops_sec": 5}},
        {"name": "vdz", "path": "/z", "guaranteed": {}, "maximum": {}},
    ]
    states = [
        {"name": "vdb", "path": "/b", "ioTune": {"read_iops_sec": 0}},
        {"name": "other-name", "path": "/a", "ioTune": {"total_bytes_sec": 0}},
    ]
    result = match_io_tunes(policies, states)
    tunes = result["io_tune"]
    assert [(t.name, t.path) for t in tunes] == [("other-name", "/a"), ("vdb", "/b")]
    assert tunes[0].maximum.total_bytes_sec == 9
    with pytest.raises(AttributeError):
        tunes[0].maximum.read_bytes_sec  # noqa: B018  (the access is the test)
    # the record writes into the collected state dict; the current copy stays
    tunes[0].setTotalBytesSec(9)
    assert states[1]["ioTune"]["total_bytes_sec"] == 9
    assert result["io_tune_current"][0]["ioTune"]["total_bytes_sec"] == 0
    assert match_io_tunes([], states) is None and match_io_tunes(policies, []) is None


def test_guest_io_tune_asks_for_the_disks_only_under_a_policy():
    class Interface(HypervisorInterface):
        def __init__(self, policies):
            self.policies = policies
            self.asked = []

        def getVmIoTunePolicy(self, uuid):
            self.asked.append("getVmIoTunePolicy")
            return self.policies

        def getVmIoTune(self, uuid):
            self.asked.append("getVmIoTune")
            return [{"name": "vda", "path": "/a", "ioTune": {"total_bytes_sec": 0}}]

    for policies in (None, []):
        iface = Interface(policies)
        assert GuestIoTune({"hypervisor_iface": iface, "uuid": "u"}).collect() is None
        assert iface.asked == ["getVmIoTunePolicy"]
    policy = {"name": "vda", "path": "/a", "guaranteed": {"total_bytes_sec": 1}, "maximum": {"total_bytes_sec": 9}}
    iface = Interface([policy])
    sample = GuestIoTune({"hypervisor_iface": iface, "uuid": "u"}).collect()
    assert iface.asked == ["getVmIoTunePolicy", "getVmIoTune"]
    (tune,) = sample["io_tune"]
    assert (tune.guaranteed.total_bytes_sec, tune.maximum.total_bytes_sec, tune.current.total_bytes_sec) == (1, 9, 0)
    tune.setTotalBytesSec(5)  # setters write into the state, never into the policy
    assert policy == {"name": "vda", "path": "/a", "guaranteed": {"total_bytes_sec": 1}, "maximum": {"total_bytes_sec": 9}}
    assert tune.ioTune()["ioTune"] == {"total_bytes_sec": 5}


def test_guest_io_tune_through_libvirt_without_policy(iface, test_host):
    p = props(iface, test_host[1][0])
    assert GuestIoTune(p).collect() is None
    assert GuestIoTuneOptional(p).getOptionalFields() == {"io_tune", "io_tune_current"}
    assert isinstance(IoTune("a", "b", {}, {}, {}).ioTune(), dict)


def test_guest_qemu_proc_reads_proc():
    child = subprocess.Popen(["sleep", "30"])
    try:
        wait_for(
            lambda: procfs.read_stat(child.pid).comm == "sleep" and procfs.read_stat(child.pid).rss > 0,
            step=0.01,
            what="sleep exec'd",
        )
        collector = GuestQemuProc({"pid": child.pid})
        first = collector.collect()
        assert first["host_minor_faults"] == 0 and first["host_major_faults"] == 0 and first["rss"] > 0
        assert collector.collect()["host_minor_faults"] >= 0
    finally:
        child.kill()
        child.wait()
    with pytest.raises(CollectionError, match=f"/proc/{child.pid}/stat"):
        collector.collect()
    assert GuestQemuProc({"pid": None}).collect() == {}


# ## qemu-ga, for real, on a UNIX socket


class QemuGa:
    """A real qemu-ga listening on ``<directory>/guest1.agent``, which can be restarted."""

    def __init__(self, directory):
        self.directory = directory
        self.sock = directory / "guest1.agent"
        self.process = None

    def start(self):
        binary = shutil.which("qemu-ga") or "/usr/sbin/qemu-ga"
        assert os.path.exists(binary), "qemu-ga is installed by make setup (qemu-guest-agent)"
        d = self.directory
        self.process = subprocess.Popen(
            [binary, "-m", "unix-listen", "-p", str(self.sock), "-f", str(d / "ga.pid"), "-t", str(d)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.sock.exists, timeout=10, what=f"qemu-ga listening on {self.sock}")

    def stop(self):
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(10)
        self.process = None
        if self.sock.exists():
            self.sock.unlink()


@pytest.fixture
def qemu_ga(tmp_path):
    agent = QemuGa(tmp_path)
    try:
        agent.start()
        yield agent
    finally:
        agent.stop()


def test_guest_qemu_agent_over_a_real_agent_socket(iface, test_host, qemu_ga):
    properties = props(iface, ("guest1", test_host[1][0][1]))
    properties["config"] = {"socket_path": str(qemu_ga.directory), "socket_name_template": "%(name)s.agent"}
    collector = GuestQemuAgent(properties)
    sample = collector.collect()
    # libvirt's test driver has no agent: the socket answered
    assert collector.channel == "socket"
    assert set(sample) == collector.getFields()
    total = int(open("/proc/meminfo").readline().split()[1])  # qemu-ga runs on this host
    assert sample["mem_available"] == total
    assert sample["swap_in"] == 0
    assert collector.collect()["mem_available"] == total


def test_guest_qemu_agent_pings_only_to_connect(iface, test_host, qemu_ga):
    properties = props(iface, ("guest1", test_host[1][0][1]))
    properties["config"] = {"socket_path": str(qemu_ga.directory)}
    collector = GuestQemuAgent(properties)
    sent = []
    send = collector._send

    def counted(channel, execute, **arguments):
        sent.append((channel, execute))
        return send(channel, execute, **arguments)

    collector._send = counted
    collector.collect()
    assert sent.count(("libvirt", "guest-ping")) == sent.count(("socket", "guest-ping")) == 1
    sent.clear()
    collector.collect()
    assert not [command for command in sent if command[1] == "guest-ping"]  # the open channel, as it is
    # the agent restarts: the open socket fails, the collector connects again (with a ping)
    qemu_ga.stop()
    qemu_ga.start()
    sent.clear()
    total = int(open("/proc/meminfo").readline().split()[1])
    assert collector.collect()["mem_available"] == total
    assert ("socket", "guest-ping") in sent and collector.channel == "socket"
    # no agent at all: the error upstream gave
    qemu_ga.stop()
    with pytest.raises(CollectionError, match="Agent command failed: no agent reachable"):
        collector.collect()
    assert collector.channel is None
    qemu_ga.start()


def test_guest_qemu_agent_unreachable(tmp_path):
    collector = GuestQemuAgent({"name": "nobody", "uuid": "u", "config": {"socket_path": str(tmp_path)}})
    with pytest.raises(CollectionError, match="Agent command failed"):
        collector.collect()


# ## mom-guestd, for real, on localhost


@pytest.fixture
def guestd():
    server = _Server(host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_guest_network_daemon_protocol(guestd, tmp_path):
    port = guestd.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        handle = sock.makefile("rwb")
        handle.write(b"props\n")
        handle.flush()
        assert handle.readline() == b"min_free:0.20,max_free:0.50\n"
        handle.write(b"stats\n")
        handle.flush()
        keys = [item.split(":")[0] for item in handle.readline().decode().strip().split(",")]
        assert keys == ["mem_available", "mem_unused", "swap_in", "swap_out", "major_fault", "minor_fault"]
        handle.write(b"bye\n")
        handle.flush()
        assert handle.readline() == b""  # anything else closes the connection

    helper = tmp_path / "name-to-ip"
    helper.write_text("#!/bin/sh\necho 127.0.0.1\n")
    helper.chmod(0o755)
    collector = GuestNetworkDaemon({"name": "g1", "config": {"name-to-ip-helper": str(helper), "port": str(port)}})
    sample = collector.collect()
    assert set(sample) == collector.getFields()
    assert sample["mem_available"] == int(open("/proc/meminfo").readline().split()[1])


def test_guest_network_daemon_without_ip_is_fatal(tmp_path):
    helper = tmp_path / "name-to-ip"
    helper.write_text("#!/bin/sh\necho nothing-useful\n")
    helper.chmod(0o755)
    collector = GuestNetworkDaemon({"name": "g1", "config": {"name-to-ip-helper": str(helper)}})
    with pytest.raises(FatalError, match="no IP address for guest g1"):
        collector.collect()


def test_a_site_balloon_collector_keeps_attributes_of_its_own_beside_the_slots():
    """GuestBalloon keeps its own attributes in slots (a batched round writes one on
    every collector); a site's subclass sets, reads and copies any attribute, the
    slotted ones included, as on upstream's plain object."""
    import copy

    class Answer:
        def getVmBalloonInfo(self, uuid):
            return {"balloon_max": 4, "balloon_cur": 3, "balloon_min": 0} if uuid == "U1" else None

    class Site(GuestBalloon):
        def __init__(self, properties):
            super().__init__(properties)
            self.asked = 0
            self.uuid = properties["uuid"].upper()  # a slot, set again

        def collect(self):
            self.asked += 1
            return super().collect()

    collector = Site({"hypervisor_iface": Answer(), "uuid": "u1"})
    assert collector.collect() == {"balloon_max": 4, "balloon_cur": 3, "balloon_min": 0}
    assert collector.asked == 1 and collector.info_available is True
    assert vars(collector) == {"properties": collector.properties, "asked": 1}
    collector.uuid = "u2"
    assert collector.collect() is None and collector.info_available is False
    again = copy.copy(collector)
    assert again.uuid == "u2" and again.asked == 2 and again.info_available is False


def test_a_site_collector_with_a_plain_mixin_works_and_two_slotted_bases_are_refused():
    """What README ("Plugins") says of the slots: a site's collector that mixes in a
    plain class (with a ``__dict__``) is defined and runs; one that derives from two
    slotted collectors at once is refused by Python when the class is defined."""
    from mom.plugins.collectors.guest_io_tune import GuestIoTune

    class Counting:  # a plain mixin, as a site writes one
        def count(self):
            self.counted = getattr(self, "counted", 0) + 1
            return self.counted

    class Answer:
        def getVmBalloonInfo(self, uuid):
            return {"balloon_max": 4, "balloon_cur": 3, "balloon_min": 0}

    class Site(Counting, GuestBalloon):
        pass

    collector = Site({"hypervisor_iface": Answer(), "uuid": "u1"})
    assert collector.collect() == {"balloon_max": 4, "balloon_cur": 3, "balloon_min": 0}
    assert collector.count() == 1 and collector.count() == 2
    with pytest.raises(TypeError, match="lay-out conflict"):

        class Both(GuestIoTune, GuestBalloon):
            pass
