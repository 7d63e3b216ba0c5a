"""oVirt MOM import path ``mom.unixrpc``. Implementation: :mod:`mom.rpc.server`, :mod:`mom.rpc.client`."""

from mom.rpc.client import UnixXmlRpcClient
from mom.rpc.server import UnixXmlRpcHandler, UnixXmlRpcServer

__all__ = ["UnixXmlRpcServer", "UnixXmlRpcHandler", "UnixXmlRpcClient"]
