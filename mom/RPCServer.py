"""oVirt MOM import path ``mom.RPCServer``. Implementation: :mod:`mom.rpc.server`."""

from mom.rpc.server import RPCServer

__all__ = ["RPCServer"]
