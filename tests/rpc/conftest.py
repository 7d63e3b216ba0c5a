"""Real momd processes for the RPC tests: one on a UNIX socket, one on TCP with a token.

:func:`running_momd` starts others with their own ``[main]`` keys.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

import pytest

from mom.rpc.client import UnixXmlRpcClient, tcp_client
from tests.helpers import MomdProcess, free_tcp_port, libvirt_test_host, momd_config

TOKEN = "correct horse battery staple"

DEFINES = "(defvar True 1)\n(defvar False 0)\n(defvar ksmEnabled False)\n(defvar name 'nobody')\n"


def write_config(directory, rpc_port: str, **main: str) -> str:
    host_xml = directory / "host.xml"
    libvirt_test_host(str(host_xml), 2)
    policy_dir = directory / "policies"
    policy_dir.mkdir(exist_ok=True)
    (policy_dir / "00-defines.policy").write_text(DEFINES)
    (policy_dir / "01-parameters.policy").write_text("# replaced by vdsm at run time\n")
    path = directory / "mom.conf"
    momd_config(
        f"test://{host_xml}",
        path,
        interval="0.3",
        rpc_port=rpc_port,
        host="HostMemory, HostKSM, HostCpu",
        guest="GuestMemoryOptional, GuestBalloonOptional",
        main={"hypervisor-interface": "libvirt", "policy-dir": str(policy_dir), "controllers": "Balloon", **main},
    )
    return str(path)


@pytest.fixture(scope="module")
def unix_momd(tmp_path_factory):
    """(process, socket path) of a momd serving a UNIX socket."""
    directory = tmp_path_factory.mktemp("unix-momd")
    sock = str(directory / "mom-vdsm.sock")
    with MomdProcess(write_config(directory, sock), str(directory / "momd.log")) as process:
        process.wait_answering(lambda: UnixXmlRpcClient(sock, 2).ping())
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
    with MomdProcess(config, str(directory / "momd.log")) as process:
        process.wait_answering(lambda: tcp_client(port, token=TOKEN, timeout=2).ping())
        yield process, port, TOKEN
        assert process.stop() == 0, process.log()


@contextlib.contextmanager
def running_momd(directory, rpc_port: str, probe: Callable[[], Any], **main: str) -> Iterator[MomdProcess]:
    """A momd on ``rpc_port`` (a port or a socket path) with more ``[main]`` keys, answering ``probe``."""
    with MomdProcess(write_config(directory, rpc_port, **main), str(directory / "momd.log")) as process:
        process.wait_answering(probe)
        yield process
        assert process.stop() == 0, process.log()
