"""mom: a fast, safe drop-in replacement for oVirt's Memory Overcommitment Manager.

``import mom`` gives upstream's import surface (spec 1.1): ``mom.MOM``,
``mom.enable_i8``, the classes ``mom.MOMFuncs``, ``mom.HostMonitor``,
``mom.GuestManager``, ``mom.PolicyEngine`` and ``mom.RPCServer`` (the package
attributes are the classes, as upstream rebinds them), and the submodules upstream
loads as a side effect (vdsm's policy validator uses ``mom.Entity.Entity``,
``mom.Monitor.Monitor`` and ``mom.Policy.Policy.Policy``).  libvirt is not imported.
"""

import logging
import logging.handlers  # upstream scripts use logging.handlers without importing it

__version__ = "0.1.0"

from mom import (  # noqa: E402  (submodules upstream loads on import)
    Collectors,
    Entity,
    GuestMonitor,  # noqa: E402
    HypervisorInterfaces,
    LogUtils,
    Monitor,
    Plotter,
    Policy,
    unixrpc,
)
from mom.Collectors import Collector, HostKSM  # noqa: E402,F401
from mom.GuestManager import GuestManager  # noqa: E402
from mom.HostMonitor import HostMonitor  # noqa: E402
from mom.HypervisorInterfaces.HypervisorInterface import ConnectionError  # noqa: E402,A004
from mom.LogUtils import log_set_verbosity  # noqa: E402
from mom.MOMFuncs import EXPORTED_ATTRIBUTE, MOMFuncs  # noqa: E402
from mom.PolicyEngine import PolicyEngine  # noqa: E402
from mom.rpc.marshalling import enable_i8  # noqa: E402
from mom.RPCServer import RPCServer  # noqa: E402
from mom.runtime.app import MOM  # noqa: E402

__all__ = [
    "MOM",
    "MOMFuncs",
    "enable_i8",
    "EXPORTED_ATTRIBUTE",
    "HostMonitor",
    "GuestManager",
    "PolicyEngine",
    "RPCServer",
    "ConnectionError",
    "log_set_verbosity",
    "logging",
    "Entity",
    "Monitor",
    "Plotter",
    "GuestMonitor",
    "LogUtils",
    "unixrpc",
    "Collectors",
    "HypervisorInterfaces",
    "Policy",
    "__version__",
]
