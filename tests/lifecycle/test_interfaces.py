"""The interfaces' lifecycle calls: libvirt's test driver, and vdsm's verbs on the vdsm double."""

from __future__ import annotations

import configparser
import dataclasses
from types import SimpleNamespace

import libvirt
import pytest

from mom.config import Settings
from mom.errors import HypervisorInterfaceError
from mom.plugins.controllers.lifecycle import Lifecycle
from mom.plugins.hypervisors.vdsm_client import ClientLibrary
from mom.plugins.hypervisors.vdsm_jsonrpc_client import VdsmJsonRpcClientInterface
from mom.sla.state import StateFile
from tests.helpers import Clock, libvirt_test_host
from tests.lifecycle.fakes import GIB, guest, host
from tests.lifecycle.fakes import Clock as MonotonicClock
from tests.plugins.conftest import make_iface
from tests.vdsm_double import VdsmDouble, Vm, client, install

UUID = "5a4b1c7e-0000-4000-8000-000000000001"


@pytest.fixture
def libvirt_host(tmp_path):
    path = tmp_path / "host.xml"
    guests = libvirt_test_host(str(path), 2)
    iface = make_iface(f"test://{path}")
    yield iface, guests
    iface.close()


def state_of(iface, uuid):
    return iface.conn.lookupByUUIDString(uuid).state()[0]


def test_libvirt_destroy_and_start_again(libvirt_host):
    iface, [(_, uuid), _] = libvirt_host
    info = iface.getVmLifecycleInfo(uuid)
    assert info["persistent"] and info["active"] and info["xml"] == ""
    assert iface.destroyVm(uuid) == "destroyed"
    assert state_of(iface, uuid) == libvirt.VIR_DOMAIN_SHUTOFF
    assert iface.startVm(uuid) == "started"
    assert state_of(iface, uuid) == libvirt.VIR_DOMAIN_RUNNING


def test_libvirt_acpi_shutdown(libvirt_host):
    iface, [(_, uuid), _] = libvirt_host
    # the test driver's guests honour a shutdown at once
    assert iface.shutdownVm(uuid, 5).startswith("shut down by ACPI")
    assert state_of(iface, uuid) == libvirt.VIR_DOMAIN_SHUTOFF


def test_libvirt_managed_save_resumes_on_start(libvirt_host):
    iface, [(_, uuid), _] = libvirt_host
    iface.managedSaveVm(uuid)
    assert state_of(iface, uuid) == libvirt.VIR_DOMAIN_SHUTOFF
    assert iface.conn.lookupByUUIDString(uuid).hasManagedSaveImage(0)
    assert iface.startVm(uuid) == "resumed from its managed save image"


def test_libvirt_start_of_an_undefined_domain_says_so(libvirt_host):
    iface, [(_, uuid), _] = libvirt_host
    domain = iface.conn.lookupByUUIDString(uuid)
    domain.destroy()
    domain.undefine()
    with pytest.raises(HypervisorInterfaceError, match="no longer defined"):
        iface.startVm(uuid)


def test_libvirt_peer_that_is_down_is_an_interface_error(libvirt_host, tmp_path):
    iface, _ = libvirt_host
    with pytest.raises(HypervisorInterfaceError, match="cannot connect"):
        iface.getPeerFreeMemory(f"qemu+unix:///system?socket={tmp_path}/no-such-sock")


def test_libvirt_migration_the_driver_refuses_leaves_the_guest(libvirt_host, tmp_path):
    iface, [(_, uuid), _] = libvirt_host
    with pytest.raises(HypervisorInterfaceError):
        iface.migrateVm(uuid, f"qemu+unix:///system?socket={tmp_path}/no-such-sock", 10, True, 5)
    assert state_of(iface, uuid) == libvirt.VIR_DOMAIN_RUNNING


@pytest.fixture
def vdsm():
    double = VdsmDouble([Vm(UUID, "vm1", memory_kib=2097152)])
    with install(double):
        iface = VdsmJsonRpcClientInterface(
            configparser.ConfigParser(), library=ClientLibrary.from_module(client), clock=Clock()
        )
        yield double, iface
        iface.close()


def test_vdsm_shutdown_with_vdsms_parameters(vdsm):
    double, iface = vdsm
    assert iface.lifecycle_actions == {"shutdown", "destroy"}
    iface.shutdownVm(UUID, 120, delay=30, message="short of memory", force=True)
    [call] = double.calls_of("VM.shutdown")
    assert call.params == {"vmID": UUID, "delay": "30", "message": "short of memory", "timeout": "120", "force": True}
    assert double.vm(UUID).status == "Down"


def test_vdsm_destroy(vdsm):
    double, iface = vdsm
    iface.destroyVm(UUID)
    assert double.calls_of("VM.destroy")[0].params == {"vmID": UUID}


def test_a_vdsm_call_that_fails_is_audited_and_the_daemon_goes_on(vdsm):
    double, iface = vdsm
    double.server_errors["VM.shutdown"] = [1, "Virtual machine does not exist"]
    settings = dataclasses.replace(Settings(), lifecycle_actions="on")
    controller = Lifecycle(
        {"hypervisor_iface": iface, "settings": settings, "sla_registry": SimpleNamespace(state=StateFile(""))},
        clock=MonotonicClock(),
    )
    victim = guest("vm1", UUID, "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(10)
    record = controller.audit.last()[-1]
    assert record.result == "failed"
    assert "VM.shutdown" in record.detail and "does not exist" in record.detail
    assert double.vm(UUID).status == "Up"
