"""A faithful in-process double of vdsm's API, for testing MOM's vdsm interfaces without vdsm.

vdsm's client library cannot be installed off an oVirt host, and vdsm's JSON-RPC runs
over STOMP on TLS; this package stands in for both, at the level MOM uses them:

- :mod:`tests.vdsm_double.vms`: the VMs and vdsm's result shapes (``VmStats``,
  ``balloonInfo``, ``memoryStats``, IO tune), field by field with their sources;
- :mod:`tests.vdsm_double.server`: :class:`VdsmDouble`, the verbs MOM calls, vdsm's error
  codes, switchable behaviours (down, restarting, recovering, slow, failing verbs) and
  a journal of every request;
- :mod:`tests.vdsm_double.client`: a ``vdsm.client`` look-alike (``connect``, namespaces,
  ``ServerError``/``TimeoutError``/``ClientError``/``ConnectionError``);
- :mod:`tests.vdsm_double.shared_dir`: the same double inside a momd child process,
  steered through a directory.

In a test::

    double = VdsmDouble([Vm("uuid-1", "vm1", memory_stats=memory_stats(1048576, 524288))])
    with install(double):
        iface = VdsmJsonRpcClientInterface(config, library=ClientLibrary.from_module(client))
        ...
    double.calls_of("VM.setBalloonTarget")

Test code, not installed with the package: momd uses it only from a checkout, when
``[vdsm] client-module`` names :mod:`tests.vdsm_double.client`.
"""

from tests.vdsm_double.client import install
from tests.vdsm_double.server import Call, Fault, VdsmDouble
from tests.vdsm_double.shared_dir import SharedDir
from tests.vdsm_double.vms import Disk, Vm, memory_stats

__all__ = ["VdsmDouble", "Vm", "Disk", "memory_stats", "Call", "Fault", "install", "SharedDir"]
