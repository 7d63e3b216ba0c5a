"""A real ``momd`` over the session's real guests, for the real-guest test modules.

Every module that runs momd on the shared guests does the same four things: write its
policies and configuration, start momd and wait until it answers with the guests it should
see, and afterwards stop it, put the session's guests back as the next module expects them
(running, at full size, balloon statistics as booted) and check that momd exited cleanly.
:func:`running_momd` is those four; :class:`RunningMomd` is what a test talks to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import libvirt

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, momd_config, wait_for
from tests.integration import realstack as rs

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE


class RunningMomd:
    """The running momd: its process, an RPC client on its socket, and its log."""

    def __init__(self, process: MomdProcess, client: Any, sock: str) -> None:
        self.process, self.client, self.sock = process, client, sock

    def log(self) -> str:
        return self.process.log()

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def until(self, what: str, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
        """wait_for, polling twice a second; on timeout the error carries momd's last log lines."""
        return wait_for(predicate, timeout, 0.5, what=lambda: f"{what} (momd's log ends with:\n{self.tail()}\n)")

    def counters(self) -> dict[str, Any]:
        """The hypervisor interface's counters (``getStatistics()["mom"]["hypervisor"]``)."""
        return self.client.getStatistics()["mom"]["hypervisor"]

    def rounds(self, n: int) -> None:
        """Wait until momd has made ``n`` more collection rounds."""
        start = self.counters()["rounds"]
        self.until(f"{n} rounds", lambda: self.counters()["rounds"] >= start + n)

    def set_parameters(self, text: str | None) -> None:
        assert self.client.setNamedPolicy("01-parameters", text) is True


def write_policies(directory: Path, policies: Mapping[str, str]) -> str:
    """``{file name: text}`` written into ``directory/policies``; returns that path."""
    folder = directory / "policies"
    folder.mkdir()
    for name, text in policies.items():
        (folder / name).write_text(text)
    return str(folder)


@contextmanager
def running_momd(
    stack: rs.RealStack,
    directory: Path,
    *,
    host: str,
    guest: str,
    main: Mapping[str, str],
    sections: Mapping[str, Mapping[str, str]] | None = None,
    expect: Iterable[str] | None = None,
    restore_size: bool = False,
    forbidden: tuple[str, ...] = ("Traceback",),
) -> Iterator[RunningMomd]:
    """momd on ``stack`` (1 s intervals, RPC on a socket in ``directory``), answering.

    :param expect: the guests momd must list before the block runs (the session's by default)
    :param restore_size: afterwards, each session guest back to its full size and waited for
        until its balloon statistics show the size it booted with (for modules that balloon)
    :param forbidden: texts momd's log must not hold when it has stopped
    Afterwards, always: a paused session guest resumed, and the balloon statistics period
    (which GuestMemory sets to the guest monitor's interval) back to the guest's own; then
    momd's exit status must be 0.
    """
    sock = str(directory / "momd.sock")
    conf = directory / "momd.conf"
    momd_config(
        stack.uri, conf, interval="1", rpc_port=sock, host=host, guest=guest, verbosity="info",
        main=main, sections=sections,
    )  # fmt: skip
    wanted = sorted(stack.guests if expect is None else expect)
    booted = {name: stack.wait_mem(name, lambda s: True).mem_total for name in stack.guests} if restore_size else {}
    with MomdProcess(str(conf), str(directory / "momd.log")) as process:
        client = UnixXmlRpcClient(sock, 10)
        try:
            process.wait_answering(lambda: sorted(client.getActiveGuests()) == wanted, 60, 0.2)
            yield RunningMomd(process, client, sock)
        finally:
            status = process.stop()
            # a connection of now: the test may have restarted libvirtd meanwhile
            restore_session_guests(stack, stack.connection(), booted)
    log = process.log()
    assert status == 0, log
    for text in forbidden:
        assert text not in log, log[-3000:]


def restore_session_guests(stack: rs.RealStack, conn: Any, booted: Mapping[str, int]) -> None:
    """The session's guests as the next module expects them; ``booted``: {name: MemTotal at boot}
    for those to be put back to full size (none: only resumed and their statistics period reset)."""
    for name in stack.guests:
        dom = conn.lookupByName(name)
        if not dom.isActive():
            continue  # a module that powers a guest off starts it again itself
        if dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()
        if name in booted:
            dom.setMemory(stack.specs[name].memory_kib)
        dom.setMemoryStatsPeriod(stack.specs[name].stats_period, LIVE)
    for name, mem_total in booted.items():
        dom = conn.lookupByName(name)
        if not dom.isActive():
            continue
        full = stack.specs[name].memory_kib
        wait_for(
            lambda d=dom, f=full, m=mem_total: d.memoryStats()["actual"] == f and d.memoryStats().get("available") == m,
            60,
            0.5,
            what=f"{name} back at full size for the next module",
        )
