"""XML-RPC marshalling details upstream clients rely on: ``<i8>`` for large integers.

:func:`enable_i8` patches :class:`xmlrpc.client.Marshaller` for the whole process, as
upstream's does: integers outside the 32-bit range go out as ``<i8>`` instead of
failing with ``int exceeds XML-RPC limits`` (memory in KiB passes 2**31 on big hosts).
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any, Callable

__all__ = ["enable_i8", "dump_int_i8", "plain"]

_INT32 = 2**31


def dump_int_i8(marshaller: xmlrpc.client.Marshaller, value: int, write: Callable[[str], Any]) -> None:
    """``<i8>`` when ``value >= 2**31 or value <= -2**31``, else ``<int>``."""
    if value >= _INT32 or value <= -_INT32:
        write("<value><i8>")
    else:
        write("<value><int>")
    write(str(int(value)))
    if value >= _INT32 or value <= -_INT32:
        write("</i8></value>\n")
    else:
        write("</int></value>\n")


def enable_i8() -> None:
    """Marshal large ints as ``<i8>`` process-wide (bool is unaffected)."""
    xmlrpc.client.Marshaller.dispatch[int] = dump_int_i8


def plain(value: Any) -> Any:
    """``value`` as XML-RPC can send it: containers copied, objects reduced to dicts.

    Samples may hold IoTune records (GuestIoTune); they go out as structs of their
    name, path and limits.  None stays None (the UNIX transport allows it).
    """
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    values = getattr(value, "_policy_values", None)
    if isinstance(values, dict):
        return {str(key): plain(item) for key, item in values.items()}
    return str(value)
