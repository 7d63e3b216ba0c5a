"""Real momd processes for the RPC tests: one on a UNIX socket, one on TCP with a token."""

from __future__ import annotations

import os

import pytest

from mom.rpc.client import UnixXmlRpcClient, tcp_client
from mom.testing import MomdProcess, free_tcp_port, libvirt_test_host, wait_for

TOKEN = "correct horse battery staple"

DEFINES = "(defvar True 1)\n(defvar False 0)\n(defvar ksmEnabled False)\n(defvar name 'nobody')\n"


def write_config(directory, rpc_port: str, **main: str) -> str:
    host_xml = directory / "host.xml"
    libvirt_test_host(str(host_xml), 2)
    policy_dir = directory / "policies"
    policy_dir.mkdir(exist_ok=True)
    (policy_dir / "00-defines.policy").write_text(DEFINES)
    (policy_dir / "01-parameters.policy").write_text("# replaced by vdsm at run time\n")
    values = {
        "main-loop-interval": "0.5",
        "host-monitor-interval": "0.3",
        "guest-manager-interval": "0.3",
        "guest-monitor-interval": "0.3",
        "policy-engine-interval": "0.3",
        "hypervisor-interface": "libvirt",
        "libvirt-hypervisor-uri": f"test://{host_xml}",
        "policy-dir": str(policy_dir),
        "rpc-port": rpc_port,
        "controllers": "Balloon",
    }
    values.update(main)
    text = "[main]\n" + "".join(f"{key}: {value}\n" for key, value in values.items())
    text += "[logging]\nverbosity: debug\n[host]\ncollectors: HostMemory, HostKSM, HostCpu\n"
    text += "[guest]\ncollectors: GuestMemoryOptional, GuestBalloonOptional\n"
    path = directory / "mom.conf"
    path.write_text(text)
    return str(path)


def start(directory, config_path, ready) -> MomdProcess:
    process = MomdProcess(config_path, str(directory / "momd.log")).start()

    def answers():
        assert process.alive(), process.log()
        try:
            return ready()
        except OSError:
            return False

    wait_for(answers, timeout=30)
    return process


@pytest.fixture(scope="module")
def unix_momd(tmp_path_factory):
    """(process, socket path) of a momd serving a UNIX socket."""
    directory = tmp_path_factory.mktemp("unix-momd")
    sock = str(directory / "mom-vdsm.sock")
    process = start(directory, write_config(directory, sock), lambda: UnixXmlRpcClient(sock, 2).ping())
    yield process, sock
    assert process.stop() == 0, process.log()


@pytest.fixture(scope="module")
def tcp_momd(tmp_path_factory):
    """(process, port, token) of a momd serving TCP with a token (1 s request timeout)."""
    directory = tmp_path_factory.mktemp("tcp-momd")
    port = free_tcp_port()
    token_file = directory / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    config = write_config(
        directory,
        str(port),
        **{"rpc-token-file": str(token_file), "rpc-request-timeout": "1", "rpc-max-request-bytes": "65536"},
    )
    process = start(directory, config, lambda: tcp_client(port, token=TOKEN, timeout=2).ping())
    yield process, port, TOKEN
    assert process.stop() == 0, process.log()
