"""momd configurations for the command-line tests (libvirt's test driver, no VMs)."""

from __future__ import annotations

import pytest

from mom.testing import libvirt_test_host


@pytest.fixture
def momd_conf(tmp_path):
    """``momd_conf(rpc_port, main={...}, extra='')``: the path of a fresh configuration."""

    def write(rpc_port: str, main: dict | None = None, extra: str = "") -> str:
        host_xml = tmp_path / "host.xml"
        libvirt_test_host(str(host_xml), 2)
        values = {
            "main-loop-interval": "0.3",
            "host-monitor-interval": "0.2",
            "guest-manager-interval": "0.2",
            "guest-monitor-interval": "0.2",
            "policy-engine-interval": "0.2",
            "libvirt-hypervisor-uri": f"test://{host_xml}",
            "rpc-port": rpc_port,
        }
        values.update(main or {})
        text = "[main]\n" + "".join(f"{key}: {value}\n" for key, value in values.items())
        text += "[logging]\nverbosity: debug\n[host]\ncollectors: HostMemory, HostKSM, HostTime\n"
        text += "[guest]\ncollectors: GuestMemory, GuestBalloon\n" + extra
        path = tmp_path / "mom.conf"
        path.write_text(text)
        return str(path)

    return write
