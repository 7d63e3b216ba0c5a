"""momd's CPU use in steady state: a real momd on a test-driver host, every interval 1 s.

``python -m bench.momd_cpu [GUESTS] [SECONDS]`` (default 1000 guests, 60 s) starts momd
(vdsm's collectors, the shipped policies, the Balloon and IoTune controllers, as
:class:`tests.helpers.LibvirtTickRig` configures it), waits until every guest is ready
and the balloons have settled, then reads the process's user + system CPU time
(``/proc/PID/stat``, what getrusage would say of the child) over ``SECONDS``: printed as
a percentage of one core, for the fast path and then the pure-Python reference
(``MOM_PUREPYTHON=1``).  A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import (
    _TEST_DRIVER_IOTUNE,
    OVIRT_QOS_METADATA,
    LibvirtTickRig,
    MomdProcess,
    libvirt_test_host,
    momd_config,
)

SETTLE_SECONDS = 20.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(guests: int, seconds: float, env: dict[str, str]) -> float:
    """Percent of one core momd used over ``seconds`` of steady state."""
    with tempfile.TemporaryDirectory() as directory:
        host = os.path.join(directory, "host.xml")
        libvirt_test_host(host, guests, metadata=OVIRT_QOS_METADATA, iotune=_TEST_DRIVER_IOTUNE)
        sock = os.path.join(directory, "momd.sock")
        conf = os.path.join(directory, "momd.conf")
        momd_config(
            f"test://{host}",
            conf,
            interval="1",
            rpc_port=sock,
            host=LibvirtTickRig.HOST_COLLECTORS,
            guest=LibvirtTickRig.GUEST_COLLECTORS,
            verbosity="warning",
            main={"policy-dir": LibvirtTickRig.POLICY_DIR, "controllers": LibvirtTickRig.CONTROLLERS},
        )
        with MomdProcess(conf, os.path.join(directory, "momd.log"), env=env) as momd:
            client = UnixXmlRpcClient(sock, 30)
            momd.wait_answering(lambda: len(client.getActiveGuests()) == guests, timeout=300, step=0.5)
            time.sleep(SETTLE_SECONDS)  # the balloons grown to full size, the IO limits set
            pid = momd.process.pid
            before, started = cpu_seconds(pid), time.monotonic()
            time.sleep(seconds)
            used, elapsed = cpu_seconds(pid) - before, time.monotonic() - started
            momd.stop()
    return 100.0 * used / elapsed


def main(argv: list[str]) -> None:
    guests = int(argv[0]) if argv else 1000
    seconds = float(argv[1]) if len(argv) > 1 else 60.0
    for label, env in (("fast path", {}), ("reference", {"MOM_PUREPYTHON": "1"})):
        percent = measure(guests, seconds, env)
        print(f"{label:>10}: {guests} guests, interval 1 s: momd used {percent:.1f} % of one core over {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
