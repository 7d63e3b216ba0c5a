"""Fixtures for the plugin tests: a libvirt interface on the in-process test driver."""

from __future__ import annotations

import pytest

from mom.config import new_parser
from mom.plugins.hypervisors.libvirt import LibvirtInterface
from tests.helpers import libvirt_test_host


@pytest.fixture
def test_host(tmp_path):
    """A private test-driver host with three guests: (uri, [(name, uuid)])."""
    path = tmp_path / "host.xml"
    guests = libvirt_test_host(str(path), 3)
    return f"test://{path}", guests


def make_iface(uri: str, *, events: bool = True, main: dict[str, str] | None = None) -> LibvirtInterface:
    """The libvirt interface for ``uri``, with more ``[main]`` keys and domain events or not."""
    config = new_parser()
    config.set("main", "libvirt-hypervisor-uri", uri)
    for key, value in (main or {}).items():
        config.set("main", key, value)
    return LibvirtInterface(config, events=events)


@pytest.fixture
def iface_for():
    """A factory: ``iface_for(uri, events=True, main=None)``, the libvirt interface for a URI (closed at teardown)."""
    made = []

    def factory(uri: str, **options) -> LibvirtInterface:
        made.append(make_iface(uri, **options))
        return made[-1]

    yield factory
    for interface in made:
        interface.close()


@pytest.fixture
def iface(test_host):
    interface = make_iface(test_host[0])
    yield interface
    interface.close()

