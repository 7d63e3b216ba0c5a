"""An oVirt host in a directory: momd configured from vdsm's mom.conf.in, vdsm's policies, the vdsm double.

vdsm installs ``mom.conf.in`` with its paths filled in (``@VDSMRUNDIR@``, ``@CONFDIR@``,
``@VDSMLOGDIR@``) and its six policies in ``<confdir>/mom.d``, and starts ``momd -c
<confdir>/mom.conf``.  This does the same under a temporary directory, with three
changes a test needs and says so: every interval of 15 s becomes ``interval`` seconds,
``[vdsm] request-timeout`` may be shortened, and ``[vdsm] client-module`` names the
double.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from typing import Any

from tests.helpers import INTERVAL_KEYS, MomdProcess, wait_for
from tests.shared_data import shared_path
from tests.vdsm_double import SharedDir, VdsmDouble

SHARED = shared_path("data", "vdsm")
POLICIES = ("00-defines", "01-parameters", "02-balloon", "03-ksm", "04-cputune", "05-iotune")
DOUBLE_MODULE = "tests.vdsm_double.client"


def fill_mom_conf(template: str, rundir: str, confdir: str, logdir: str, interval: str, request_timeout: str) -> str:
    """vdsm's template with its paths filled in, the intervals shortened and the double selected."""
    text = template.replace("@VDSMRUNDIR@", rundir).replace("@CONFDIR@", confdir).replace("@VDSMLOGDIR@", logdir)
    assert "@" not in text, "a placeholder of mom.conf.in was not filled in"
    for key in INTERVAL_KEYS:
        text, count = re.subn(rf"^{key}: 15$", f"{key}: {interval}", text, flags=re.M)
        assert count == 1, key
    text, count = re.subn(
        r"^request-timeout=10$", f"request-timeout={request_timeout}\nclient-module={DOUBLE_MODULE}", text, flags=re.M
    )
    assert count == 1
    return text


class MomOnVdsm:
    """momd as vdsm runs it, with :attr:`double` (published with :meth:`publish`) as its vdsm."""

    def __init__(self, directory: Path, double: VdsmDouble, *, interval: str = "1", request_timeout: str = "10"):
        self.directory = directory
        self.double = double
        self.rundir = directory / "run"
        self.confdir = directory / "etc"
        self.logdir = directory / "log"
        for path in (self.rundir, self.confdir / "mom.d", self.logdir):
            path.mkdir(parents=True, exist_ok=True)
        for name in POLICIES:
            shutil.copy(SHARED / f"{name}.policy", self.confdir / "mom.d" / f"{name}.policy")
        self.config_path = self.confdir / "mom.conf"
        self.config_path.write_text(
            fill_mom_conf(
                (SHARED / "mom.conf.in").read_text(),
                str(self.rundir),
                str(self.confdir),
                str(self.logdir),
                interval,
                request_timeout,
            )
        )
        self.sock = str(self.rundir / "mom-vdsm.sock")
        self.log_file = self.logdir / "mom.log"
        self.shared = SharedDir(str(directory / "vdsm"))
        self.process: MomdProcess | None = None

    def publish(self) -> None:
        """Hand the double's current state to the double inside momd."""
        self.shared.write(self.double)

    def start(self) -> MomOnVdsm:
        """Start momd and wait until it logs that it started (stopped again if it does not)."""
        self.publish()
        process = MomdProcess(
            str(self.config_path), str(self.directory / "momd.out"), env=self.shared.environment()
        )
        with contextlib.ExitStack() as on_error:
            self.process = on_error.enter_context(process)
            process.wait_answering(lambda: "MOM starting" in self.log())
            on_error.pop_all()
        return self

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def calls(self, verb: str | None = None, outcome: str | None = "ok") -> list[dict[str, Any]]:
        return self.shared.calls(verb, outcome)

    def wait_for_call(self, verb: str, match: Any = None, *, after: float = 0.0, timeout: float = 30.0) -> dict:
        """The first ``verb`` call (after time ``after``) whose params ``match`` (a dict to equal, or a predicate)."""

        def found() -> dict | None:
            assert self.alive(), self.log()
            for call in self.calls(verb):
                if call["time"] < after:
                    continue
                params = call["params"]
                if match is None or (match(params) if callable(match) else params == match):
                    return call
            return None

        return wait_for(found, timeout=timeout)

    def stop(self) -> int:
        assert self.process is not None
        return self.process.stop()
