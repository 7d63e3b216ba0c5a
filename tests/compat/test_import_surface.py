"""Upstream's import surface (spec 1.1-1.3): what ``import mom`` gives, shims = registry."""

from __future__ import annotations

import importlib
import os
import socketserver
import subprocess
import sys
import types

import pytest

import mom
from mom.plugins import registry

PACKAGE_DIR = os.path.dirname(mom.__file__)


def test_import_mom_surface():
    assert isinstance(mom.MOM, type)
    for name in ("MOMFuncs", "HostMonitor", "GuestManager", "PolicyEngine", "RPCServer"):
        assert isinstance(getattr(mom, name), type), name  # the class, not the module
    assert callable(mom.enable_i8)
    assert mom.EXPORTED_ATTRIBUTE == "__mom_exported__"
    assert (
        mom.ConnectionError is importlib.import_module("mom.HypervisorInterfaces.HypervisorInterface").ConnectionError
    )
    assert callable(mom.log_set_verbosity)
    assert mom.logging is importlib.import_module("logging")
    for name in (
        "Entity",
        "Monitor",
        "Plotter",
        "GuestMonitor",
        "LogUtils",
        "unixrpc",
        "Collectors",
        "HypervisorInterfaces",
        "Policy",
    ):
        assert isinstance(getattr(mom, name), types.ModuleType), name
    assert mom.Policy.Policy.Policy().get_string() == "0"
    assert mom.Entity.Entity and mom.Monitor.Monitor


def test_import_mom_is_light():
    code = (
        "import sys, mom; "
        "print(sorted(m for m in sys.modules if m == 'libvirt' or m.startswith(('mom.Controllers', "
        "'mom.plugins.hypervisors.libvirt', 'mom.optional'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_collector_star_import_supplies_what_upstream_collectors_use():
    namespace: dict = {}
    exec("from mom.Collectors.Collector import *", namespace)
    for name in (
        "Collector",
        "get_collectors",
        "CollectionError",
        "FatalError",
        "open_datafile",
        "parse_int",
        "count_occurrences",
        "logging",
        "re",
        "sys",
    ):
        assert name in namespace, name
    assert namespace["CollectionError"]("x").msg == "x" and namespace["FatalError"]("y").msg == "y"
    hv: dict = {}
    exec("from mom.HypervisorInterfaces.HypervisorInterface import *", hv)
    assert {"HypervisorInterface", "HypervisorInterfaceError", "ConnectionError"} <= set(hv)


def test_guestd_imports():
    """upstream's mom-guestd: ``from mom.Collectors.GuestNetworkDaemon import _Server``, the
    server our mom-guestd runs too."""
    from mom.cli import guestd
    from mom.Collectors.GuestNetworkDaemon import _Server

    assert _Server is guestd._Server
    assert issubclass(_Server, socketserver.TCPServer)


@pytest.mark.parametrize("kind", sorted(registry.KINDS))
def test_each_upstream_import_path_is_the_registry_object(kind):
    table = registry.KINDS[kind][0]
    for name in table:
        module_name, attr = registry.upstream_path(kind, name)
        module = importlib.import_module(module_name)
        assert getattr(module, attr) is registry.load(kind, name), (module_name, attr)


def test_every_shim_file_is_in_the_registry():
    for kind, directory, suffix in (
        ("collector", "Collectors", ""),
        ("controller", "Controllers", ""),
        ("hypervisor", "HypervisorInterfaces", "Interface"),
    ):
        names = {
            f[: -len(suffix + ".py")]
            for f in os.listdir(os.path.join(PACKAGE_DIR, directory))
            if f.endswith(suffix + ".py") and not f.startswith("_")
        }
        names -= {"Collector", "Hypervisor"}  # the base modules (HypervisorInterface.py)
        assert names == set(registry.KINDS[kind][0]), kind


def test_sibling_names_do_not_clash_case_insensitively():
    for root, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        names = [os.path.splitext(f)[0] for f in files if f.endswith((".py", ".pyx", ".pxd", ".pyi"))] + dirs
        stems = {}
        for name in set(names):
            folded = name.casefold()
            assert folded not in stems, f"{root}: {name!r} and {stems[folded]!r} clash on case-insensitive filesystems"
            stems[folded] = name
