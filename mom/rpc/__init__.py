"""The XML-RPC API: exported methods, servers (TCP and UNIX socket), clients."""
