"""Plugin lookup: built-in names, entry points, upstream-style site-local modules."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from mom.errors import PluginNotFoundError
from mom.plugins import registry


@pytest.mark.parametrize("kind", sorted(registry.KINDS))
def test_every_builtin_loads(kind):
    table = registry.KINDS[kind][0]
    for name in table:
        assert registry.load(kind, name) is not None


def test_hypervisor_names_are_lower_cased():
    assert registry.load("hypervisor", "LibVirt") is registry.load("hypervisor", "libvirt")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(PluginNotFoundError) as info:
        registry.load("collector", "HostMemroy")
    assert "unknown collector 'HostMemroy'" in str(info.value)
    assert "HostMemory" in str(info.value) and "GuestIoTuneOptional" in str(info.value)


def test_invalid_name_is_not_imported():
    with pytest.raises(PluginNotFoundError, match="not a valid plugin name"):
        registry.load("collector", "..evil")


def test_vdsm_interfaces_are_known_and_say_what_they_need():
    # vdsmjsonrpcclient needs vdsm's client library (an oVirt host); tests/vdsm runs it on a double
    factory = registry.load("hypervisor", "vdsmjsonrpcclient")
    with pytest.raises(PluginNotFoundError, match=r"vdsm's client library \(vdsm.client\) cannot be imported"):
        factory(None)
    with pytest.raises(PluginNotFoundError, match="'vdsmxmlrpc' used vdsm's XML-RPC API"):
        registry.load("hypervisor", "vdsmxmlrpc")(None)


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    """A directory on sys.path, with the package paths re-extended over it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    import mom.Collectors
    import mom.Controllers

    for package in (mom.Collectors, mom.Controllers):
        monkeypatch.setattr(
            package, "__path__", list(package.__path__) + [str(tmp_path / "mom" / package.__name__.split(".")[1])]
        )
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith(("mom.Collectors.Site", "mom.Controllers.Site", "sitepkg"))]:
        del sys.modules[name]


def test_site_local_collector_written_for_upstream(site_dir):
    (site_dir / "mom" / "Collectors").mkdir(parents=True)
    (site_dir / "mom" / "Collectors" / "SiteUptime.py").write_text(
        textwrap.dedent("""
        from mom.Collectors.Collector import *

        class SiteUptime(Collector):
            def __init__(self, properties):
                self.uptime = open_datafile('/proc/uptime')
            def collect(self):
                self.uptime.seek(0)
                seconds = float(self.uptime.read().split()[0])
                logging.getLogger('mom.SiteUptime').debug('uptime %s', seconds)
                return {'uptime': int(seconds), 'python': sys.version_info[0]}
            def getFields(self):
                return set(['uptime'])
            def getOptionalFields(self):
                return set(['python'])
    """)
    )
    cls = registry.load("collector", "SiteUptime")
    assert cls.__module__ == "mom.Collectors.SiteUptime"
    sample = cls({}).collect()
    assert sample["uptime"] > 0 and sample["python"] == 3


def test_entry_point_plugins(site_dir):
    (site_dir / "sitepkg").mkdir()
    (site_dir / "sitepkg" / "__init__.py").write_text("class Ctl:\n    def __init__(self, properties):\n        pass\n")
    dist = site_dir / "sitepkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sitepkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mom.controllers]\nSiteCtl = sitepkg:Ctl\nBroken = sitepkg:Nothing\n")
    importlib.invalidate_caches()
    assert registry.load("controller", "SiteCtl").__name__ == "Ctl"
    assert "SiteCtl" in registry.known("controller")
    with pytest.raises(PluginNotFoundError, match="entry point 'sitepkg:Nothing' failed to load"):
        registry.load("controller", "Broken")


def test_entry_points_are_read_once(site_dir, monkeypatch):
    # a site-local collector is looked up for every new guest: the entry points (every
    # installed distribution's metadata) are not scanned again each time
    (site_dir / "mom" / "Collectors").mkdir(parents=True)
    (site_dir / "mom" / "Collectors" / "SiteOnce.py").write_text("class SiteOnce:\n    pass\n")
    scans = []
    real = importlib.metadata.entry_points

    def counted(**kwargs):
        scans.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counted)
    for _ in range(3):
        assert registry.load("collector", "SiteOnce").__name__ == "SiteOnce"
    assert scans == [{"group": "mom.collectors"}]


def test_site_module_with_a_broken_import_says_so(site_dir):
    (site_dir / "mom" / "Controllers").mkdir(parents=True)
    (site_dir / "mom" / "Controllers" / "SiteBroken.py").write_text("import no_such_module_here\n")
    with pytest.raises(PluginNotFoundError, match="failed to import: No module named 'no_such_module_here'"):
        registry.load("controller", "SiteBroken")
