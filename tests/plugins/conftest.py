"""Fixtures for the plugin tests: a libvirt interface on the in-process test driver."""

from __future__ import annotations

import pytest

from mom.config import new_parser
from mom.plugins.hypervisors.libvirt import LibvirtInterface
from mom.testing import libvirt_test_host


@pytest.fixture
def test_host(tmp_path):
    """A private test-driver host with three guests: (uri, [(name, uuid)])."""
    path = tmp_path / "host.xml"
    guests = libvirt_test_host(str(path), 3)
    return f"test://{path}", guests


def make_iface(uri: str) -> LibvirtInterface:
    config = new_parser()
    config.set("main", "libvirt-hypervisor-uri", uri)
    return LibvirtInterface(config)


@pytest.fixture
def iface_for():
    """A factory: the libvirt interface for a URI (closed at teardown)."""
    made = []

    def factory(uri: str) -> LibvirtInterface:
        made.append(make_iface(uri))
        return made[-1]

    yield factory
    for interface in made:
        interface.close()


@pytest.fixture
def iface(test_host):
    interface = make_iface(test_host[0])
    yield interface
    interface.close()

