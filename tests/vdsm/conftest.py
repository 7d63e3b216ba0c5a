"""Fixtures for the vdsm interface tests: a vdsm double, a hand-driven clock, interfaces on them."""

from __future__ import annotations

import configparser

import pytest

from mom.plugins.hypervisors.vdsm_client import ClientLibrary
from mom.plugins.hypervisors.vdsm_jsonrpc_client import VdsmJsonRpcClientInterface
from tests.helpers import Clock
from tests.vdsm_double import Disk, VdsmDouble, Vm, client, install, memory_stats

UUID_1 = "5a4b1c7e-0000-4000-8000-000000000001"
UUID_2 = "5a4b1c7e-0000-4000-8000-000000000002"
UUID_DOWN = "5a4b1c7e-0000-4000-8000-0000000000dd"


def two_vms() -> list[Vm]:
    """vm1: guest agent, balloon, a disk with an IO policy; vm2: no agent yet; a VM that is down."""
    return [
        Vm(
            UUID_1,
            "vm1",
            pid=4242,
            memory_kib=2097152,
            balloon_cur=1572864,
            balloon_min=524288,
            memory_stats=memory_stats(1572864, 262144, swap_in=3, swap_out=4, majflt=5, minflt=40),
            vcpu_count=2,
            vcpu_quota=50000,
            vcpu_period=100000,
            vcpu_user_limit=50,
            disks=[
                Disk(
                    "vda",
                    "/rhev/data-center/mnt/blockSD/sd/images/vm1-vda",
                    io_tune={"total_bytes_sec": 0, "read_bytes_sec": 0, "write_bytes_sec": 0,
                             "total_iops_sec": 0, "read_iops_sec": 0, "write_iops_sec": 0},
                    guaranteed={"total_bytes_sec": 1048576, "total_iops_sec": 100},
                    maximum={"total_bytes_sec": 10485760, "total_iops_sec": 1000},
                )
            ],
        ),
        Vm(UUID_2, "vm2", pid=4343, memory_kib=1048576, balloon_ready=False, memory_stats=None, vcpu_count=None),
        Vm(UUID_DOWN, "vm-down", status="Down"),
    ]  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def double() -> VdsmDouble:
    return VdsmDouble(two_vms())


@pytest.fixture
def make_iface(double, clock):
    """``make_iface(cls=..., **vdsm_keys)``: an interface on ``double`` (closed at teardown)."""
    made = []
    with install(double):

        def make(cls=VdsmJsonRpcClientInterface, **vdsm_keys: str):
            config = configparser.ConfigParser()
            config.read_dict({"vdsm": {key.replace("_", "-"): value for key, value in vdsm_keys.items()}})
            iface = cls(config, library=ClientLibrary.from_module(client), clock=clock)
            made.append(iface)
            return iface

        yield make
        for iface in made:
            iface.close()


@pytest.fixture
def iface(make_iface):
    return make_iface()

