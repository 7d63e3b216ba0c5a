"""The plugin tests' fixtures: a libvirt interface on a private test-driver host."""

from tests.plugins.conftest import iface, iface_for, test_host  # noqa: F401
