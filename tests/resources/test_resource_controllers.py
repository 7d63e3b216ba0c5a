"""CpuShares, BlkioWeight, NetworkBandwidth and NumaPlacement through the libvirt interface
on libvirt's test driver (read back from libvirt), and their behaviour on refusals."""

from __future__ import annotations

import logging

import libvirt
import pytest

from mom.errors import HypervisorInterfaceError
from mom.offline import entity_from_spec
from mom.plugins.registry import load
from tests.resources.libvirt_host import write_host
from tests.resources.test_resource_collectors import numa_tree

GIB = 1024 * 1024


@pytest.fixture
def rig(tmp_path, iface_for):
    guests = write_host(str(tmp_path / "host.xml"))
    iface = iface_for(f"test://{tmp_path / 'host.xml'}")
    conn = libvirt.open(f"test://{tmp_path / 'host.xml'}")
    yield iface, guests, conn
    conn.close()


def entity(name, uuid, controls, **stats):
    guest = entity_from_spec({"name": name, "properties": {"uuid": uuid, "name": name}, "stats": [stats or {"x": 0}]})
    guest.controls.update(controls)
    return guest


def host_entity(**controls):
    host = entity_from_spec({"name": "host", "stats": [{"x": 0}]})
    host.controls.update(controls)
    return host


def test_blkio_weight_is_set_and_read_back(rig):
    iface, guests, _ = rig
    (name, uuid), _ = guests
    controller = load("controller", "BlkioWeight")({"hypervisor_iface": iface})
    controller.process(host_entity(), [entity(name, uuid, {"blkio_weight": 100})])
    handle = iface._handle(uuid)[0]
    assert handle.blkioParameters(0)["weight"] == 100
    assert iface.getVmResourceTune(uuid)["blkio_weight"] == 100
    calls = iface.stats()["calls_by_name"].get("setBlkioParameters")
    controller.process(host_entity(), [entity(name, uuid, {"blkio_weight": 100})])
    assert iface.stats()["calls_by_name"].get("setBlkioParameters") == calls  # unchanged: not sent


def test_network_bandwidth_on_every_interface_read_back(rig):
    iface, guests, _ = rig
    name, uuid = guests[0]
    controls = {"net_in_average": 125000, "net_in_peak": 250000, "net_in_burst": 1024, "net_out_average": 12500}
    load("controller", "NetworkBandwidth")({"hypervisor_iface": iface}).process(
        host_entity(), [entity(name, uuid, controls)]
    )
    params = iface._handle(uuid)[0].interfaceParameters("momnet0", 0)
    assert (params["inbound.average"], params["inbound.peak"], params["inbound.burst"]) == (125000, 250000, 1024)
    assert params["outbound.average"] == 12500 and params["outbound.peak"] == 0


class Refusing:
    """An interface whose libvirt refuses bandwidth, as on a kernel without sfq."""

    def __init__(self):
        self.calls = 0

    def getVmResourceTune(self, uuid):
        return {"bandwidth": {"momnet0": dict.fromkeys(("inbound.average", "outbound.average"), 0)}}

    def setVmInterfaceBandwidth(self, uuid, device, params):
        self.calls += 1
        raise HypervisorInterfaceError("setInterfaceParameters: Cannot set interface bandwidth: sfq not supported")


def test_a_refusal_is_reported_once_and_not_retried(caplog):
    iface = Refusing()
    controller = load("controller", "NetworkBandwidth")({"hypervisor_iface": iface})
    with caplog.at_level(logging.ERROR, "mom.Controllers.NetworkBandwidth"):
        for _ in range(5):
            controller.process(host_entity(), [entity("a", "u1", {"net_in_average": 100})])
    assert iface.calls == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "sfq not supported" in errors[0].message and "not retried" in errors[0].message
    controller.process(host_entity(), [entity("a", "u1", {"net_in_average": 200})])  # new settings: tried again
    assert iface.calls == 2


class Shares:
    def __init__(self):
        self.sched = {"cpu_shares": 1024, "vcpu_quota": -1}
        self.sent = []

    def getVmSchedulerInfo(self, uuid):
        return dict(self.sched)

    def setVmCpuShares(self, uuid, shares):
        self.sent.append(shares)
        self.sched["cpu_shares"] = shares


def test_cpu_shares_sent_only_when_changed():
    iface = Shares()
    controller = load("controller", "CpuShares")({"hypervisor_iface": iface})
    for _ in range(3):
        controller.process(host_entity(), [entity("a", "u", {"cpu_shares": 2048}), entity("b", "v", {})])
    assert iface.sent == [2048]


def test_numa_placement_on_the_test_driver(rig, tmp_path):
    iface, guests, conn = rig
    (big, big_uuid), (other, other_uuid) = guests
    # node 1 has the most free memory (a test host file has no libvirt cells: sysfs says)
    sysfs = numa_tree(tmp_path / "node", [("0-3", 4 * GIB, 2 * GIB), ("4-7", 4 * GIB, 3 * GIB)])
    now = [1000.0]
    controller = load("controller", "NumaPlacement")({"hypervisor_iface": iface}, sysfs=sysfs, clock=lambda: now[0])
    controller.process(host_entity(numa_cooldown=300), [entity(big, big_uuid, {"numa_place": GIB})])
    handle = iface._handle(big_uuid)[0]
    assert handle.numaParameters(0)["numa_nodeset"] == "1"
    # (the test driver shows 8 host CPUs)
    assert handle.vcpuPinInfo(0) == [tuple(4 <= cpu < 8 for cpu in range(8))] * 2
    assert iface.getVmResourceTune(big_uuid)["numa_nodeset"] == "1"
    # placed: not moved again (no locality to measure on the test driver), whatever the time
    now[0] += 1000
    calls = iface.stats()["calls_by_name"]["setNumaParameters"]
    controller.process(host_entity(), [entity(big, big_uuid, {"numa_place": GIB})])
    assert iface.stats()["calls_by_name"]["setNumaParameters"] == calls
    # a guest needing more than any node has free: left alone
    controller.process(host_entity(), [entity(other, other_uuid, {"numa_place": 64 * GIB})])
    assert iface._handle(other_uuid)[0].numaParameters(0)["numa_nodeset"] == ""


def test_numa_moves_only_on_poor_locality_and_after_the_cooldown(tmp_path):
    class Numa:
        nodeset = "0"
        moves = []

        def getNumaCellsFree(self, cells):
            return [1 * GIB, 3 * GIB]

        def getVmResourceTune(self, uuid):
            return {"numa_nodeset": self.nodeset}

        def setVmNumaPlacement(self, uuid, node, cpus, host_cpus):
            self.moves.append((node, cpus, host_cpus))
            self.nodeset = str(node)

    iface = Numa()
    sysfs = numa_tree(tmp_path / "node", [("0-1", 4 * GIB, 0), ("2-3", 4 * GIB, 0)])
    proc = tmp_path / "proc"
    (proc / "7").mkdir(parents=True)
    maps = proc / "7" / "numa_maps"
    now = [0.0]
    controller = load("controller", "NumaPlacement")(
        {"hypervisor_iface": iface}, sysfs=sysfs, proc=str(proc), clock=lambda: now[0]
    )
    guest = entity_from_spec({"name": "g", "properties": {"uuid": "u", "name": "g", "pid": 7}, "stats": [{"x": 0}]})
    guest.controls["numa_place"] = GIB
    maps.write_text("7f00 default N0=900 N1=100\n")  # 90 % local to node 0: stays
    controller.process(host_entity(numa_min_locality=0.5), [guest])
    assert iface.moves == []
    maps.write_text("7f00 default N0=100 N1=900\n")  # 10 % local: moves to the freest node that fits
    controller.process(host_entity(numa_min_locality=0.5), [guest])
    assert iface.moves == [(1, [2, 3], 4)]
    maps.write_text("7f00 default N0=900 N1=100\n")  # now poor on node 1, but within the cooldown
    now[0] += 299
    controller.process(host_entity(numa_cooldown=300, numa_min_locality=0.5), [guest])
    assert len(iface.moves) == 1
    now[0] += 2
    controller.process(host_entity(numa_cooldown=300, numa_min_locality=0.5), [guest])
    assert iface.moves[-1][0] == 0


def test_single_node_host_does_nothing_and_says_so_once(tmp_path, caplog):
    class Untouchable:
        def getNumaCellsFree(self, cells):
            return [GIB]

        def __getattr__(self, name):
            raise AssertionError(f"{name} called on a single-node host")

    sysfs = numa_tree(tmp_path / "node", [("0-1", 4 * GIB, GIB)])
    controller = load("controller", "NumaPlacement")({"hypervisor_iface": Untouchable()}, sysfs=sysfs)
    with caplog.at_level(logging.INFO, "mom.Controllers.NumaPlacement"):
        for _ in range(3):
            controller.process(host_entity(), [entity("g", "u", {"numa_place": GIB})])
    assert sum("1 NUMA node" in r.message for r in caplog.records) == 1


def test_libvirt_cells_free_memory(iface_for):
    """libvirt's default test host has two cells (the free memory in KiB)."""
    assert iface_for("test:///default").getNumaCellsFree(2) == [2048, 4096]


def test_cpu_shares_on_an_interface_without_scheduler_information():
    class Vdsm:
        def getVmSchedulerInfo(self, uuid):
            return None

        def setVmCpuShares(self, uuid, shares):
            raise AssertionError("sent without knowing the current value")

    load("controller", "CpuShares")({"hypervisor_iface": Vdsm()}).process(
        host_entity(), [entity("a", "u", {"cpu_shares": 2048})]
    )


def test_cpu_shares_on_a_driver_without_the_parameter_says_so_once(rig, caplog):
    """libvirt's test driver has only a "weight" scheduler parameter."""
    iface, guests, _ = rig
    controller = load("controller", "CpuShares")({"hypervisor_iface": iface})
    with caplog.at_level(logging.WARNING, "mom.Controllers.CpuShares"):
        for _ in range(3):
            controller.process(host_entity(), [entity(name, uuid, {"cpu_shares": 2048}) for name, uuid in guests])
    assert iface.stats()["calls_by_name"].get("setSchedulerParameters") is None
    assert sum("no cpu_shares" in r.message for r in caplog.records) == 1
