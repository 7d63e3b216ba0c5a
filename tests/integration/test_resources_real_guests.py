"""The SLA set's CPU and IO rules on real TCG guests: cpu_shares, vcpu_quota/period and
the blkio weight set by class through the controllers, read back from libvirt and from
the guests' cgroup files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mom import _impl
from mom.config import new_parser
from mom.plugins.hypervisors.libvirt import LibvirtInterface
from mom.plugins.registry import load
from tests.integration import realstack as rs
from tests.resources.policy_rig import evaluate, guest, host

pytestmark = pytest.mark.realstack

def scope_file(pid: int, controller: str, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` in the guest's scope (the cgroup above QEMU's ``emulator``)
    of the hierarchy that holds ``controller`` (cgroup v1), else of cgroup v2."""
    mounts: dict[str, tuple[str, str]] = {}  # controller or "" (v2) -> (mount root, mount point)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, post = before.split(), after.split()
        if post[0] == "cgroup" and controller in post[-1].split(","):
            mounts.setdefault(controller, (fields[3], fields[4]))
        elif post[0] == "cgroup2":
            mounts.setdefault("", (fields[3], fields[4]))
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        key = controller if controller in controllers.split(",") else ("" if controllers == "" else None)
        if key is None or key not in mounts:
            continue
        root, point = mounts[key]
        scope = path.removesuffix("/emulator").removesuffix("/libvirt")
        relative = os.path.relpath(scope, root) if root != "/" else scope.lstrip("/")
        for name in names:
            if (Path(point) / relative / name).exists():
                return Path(point) / relative / name
    return None


@pytest.fixture
def iface(realstack: rs.RealStack) -> Any:
    config = new_parser()
    config.set("main", "libvirt-hypervisor-uri", realstack.uri)
    interface = LibvirtInterface(config)
    yield interface
    interface.close()


def test_cpu_and_io_by_class_on_real_guests(realstack: rs.RealStack, conn: Any, iface: Any) -> None:
    names = realstack.guests[:2]
    classes = {names[0]: "platinum", names[1]: "vapor"}
    doms = {name: conn.lookupByName(name) for name in names}
    saved = {name: (dom.schedulerParameters(), dom.blkioParameters(0)) for name, dom in doms.items()}
    iface.prefetch()
    entities = []
    for name in names:
        uuid = doms[name].UUIDString()
        tune = iface.getVmCpuTuneInfo(uuid)
        g = guest(name, classes[name], vcpu_quota=tune["vcpu_quota"], vcpu_period=tune["vcpu_period"],
                  vcpu_count=tune["vcpu_count"])  # fmt: skip
        g.properties["uuid"] = uuid
        entities.append(g)
    # the host's CPUs contended: vapor is capped, platinum is not
    controls = evaluate(_impl.program, host(cpu_count=2, cpu_busy=0.99), entities)
    assert controls[names[1]]["vcpu_quota"] > 0 and controls[names[0]]["vcpu_quota"] == -1
    props = {"hypervisor_iface": iface}
    try:
        for controller in ("CpuShares", "CpuTune", "BlkioWeight"):
            load("controller", controller)(props).process(None, entities)
        for name in names:
            sched, blkio = doms[name].schedulerParameters(), doms[name].blkioParameters(0)
            want = controls[name]
            assert sched["cpu_shares"] == want["cpu_shares"], name
            assert sched["vcpu_quota"] == int(want["vcpu_quota"]), name
            assert blkio["weight"] == want["blkio_weight"], name
            pid = realstack.qemu_pid(name)
            # the kernel's view: the vCPU's CPU bandwidth, the scope's CPU and IO weights
            quota = rs.vcpu_cgroup_limits(pid)
            assert quota is not None, f"no vCPU cgroup of {name} (/proc/{pid}/cgroup)"
            assert quota[0] == int(want["vcpu_quota"]), name
            weight = scope_file(pid, "cpu", ("cpu.shares", "cpu.weight"))
            assert weight is not None, f"no cpu.weight of {name}'s scope"
            assert int(weight.read_text()) == want["cpu_shares"], (name, weight)
            io_weight = scope_file(pid, "blkio", ("blkio.bfq.weight", "blkio.weight", "io.bfq.weight", "io.weight"))
            assert io_weight is not None, f"no io weight of {name}'s scope"
            assert io_weight.read_text().split()[-1] == str(want["blkio_weight"]), (name, io_weight.read_text())
        # the controllers send nothing once the values are there
        calls = iface.stats()["calls_by_name"]
        iface.prefetch()
        for controller in ("CpuShares", "BlkioWeight"):
            load("controller", controller)(props).process(None, entities)
        after = iface.stats()["calls_by_name"]
        assert after.get("setSchedulerParameters") == calls.get("setSchedulerParameters")
        assert after.get("setBlkioParameters") == calls.get("setBlkioParameters")
    finally:
        for name, (sched, blkio) in saved.items():
            doms[name].setSchedulerParameters(
                {k: sched[k] for k in ("cpu_shares", "vcpu_quota", "vcpu_period") if k in sched}
            )
            doms[name].setBlkioParameters({"weight": blkio["weight"]}, 0)


def test_guest_cpu_usage_on_a_real_guest(realstack: rs.RealStack, conn: Any, iface: Any) -> None:
    import time

    name = realstack.guests[0]
    uuid = conn.lookupByName(name).UUIDString()
    collector = load("collector", "GuestCpuUsage")(
        {"hypervisor_iface": iface, "uuid": uuid, "pid": realstack.qemu_pid(name)}
    )
    iface.prefetch()
    first = iface.getVmCpuStats(uuid)
    assert first["cpu_time"] > 0 and first["vcpu_count"] >= 1
    collector.collect()
    time.sleep(1.0)
    iface.prefetch()
    data = collector.collect()
    assert 0 < data["cpu_usage"] < 4, data
    assert "cgroup_cpu_some_avg10" in data, data
    # libvirt 9 reports both waits for TCG vCPUs (wait 0: TCG threads never wait on a vCPU)
    assert first["vcpu_wait"] is not None and first["vcpu_delay"] is not None, first
    assert 0 <= data["vcpu_delay"] and 0 <= data["vcpu_wait"], data
