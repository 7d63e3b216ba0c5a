"""``python -m tests.vdsm_double [DIR]``: the vdsm double for a momd started by hand, from a checkout.

Publishes two VMs in ``DIR`` (default ``run/vdsm-double``), one short of memory and
limited to half its CPU, one with memory to spare, then prints each request momd sends
until interrupted (Ctrl-C).  momd uses the double when its configuration says ``[vdsm]
client-module = tests.vdsm_double.client`` (``examples/momd-vdsm.conf``) and its
environment ``MOM_VDSM_DOUBLE_DIR=DIR``; it must run from the top of the checkout with
``python -m mom.cli.momd``, since the double is not installed with the package.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tests.vdsm_double.client import DOUBLE_DIR_ENV
from tests.vdsm_double.server import VdsmDouble
from tests.vdsm_double.shared_dir import JOURNAL, SharedDir
from tests.vdsm_double.vms import Vm, memory_stats


def demo_vms() -> list[Vm]:
    return [
        Vm("5a4b1c7e-0000-4000-8000-000000000001", "vm-busy", pid=3001, memory_kib=2097152, balloon_min=1048576,
           memory_stats=memory_stats(2097152, 0, majflt=2, minflt=30), vcpu_count=2, vcpu_user_limit=50),
        Vm("5a4b1c7e-0000-4000-8000-000000000002", "vm-idle", pid=3002, memory_kib=2097152, balloon_min=1048576,
           memory_stats=memory_stats(2097152, 1572864), vcpu_count=2),
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    directory = argv[0] if argv else os.path.join("run", "vdsm-double")
    shared = SharedDir(directory)
    shared.write(VdsmDouble(demo_vms()))
    print(f"vdsm double in {directory}: {', '.join(vm.name for vm in demo_vms())}; now start momd on it:")
    print(f"  {DOUBLE_DIR_ENV}={directory} .venv/bin/python -m mom.cli.momd -c examples/momd-vdsm.conf")
    journal = os.path.join(directory, JOURNAL)
    seen = 0
    try:
        while True:
            try:
                with open(journal, encoding="utf-8") as handle:
                    lines = handle.readlines()
            except FileNotFoundError:
                lines = []
            for line in lines[seen:]:
                call = json.loads(line)
                print(f"{call['verb']} {json.dumps(call['params'])} -> {call['outcome']}", flush=True)
            seen = len(lines)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
