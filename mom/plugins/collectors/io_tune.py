"""IoTune records: the block-IO limits of one guest disk, as policies see them.

The IO-tune collector matches vdsm's IO policies (``guaranteed`` and ``maximum``
limits) to the disks' current settings and hands policies one :class:`IoTune` per
disk.  A policy reads ``tune.maximum.total_bytes_sec`` and calls setters such as
``(tune.setTotalBytesSec 1000)``; the IoTune controller then sends every disk whose
settings changed.  Setters write into the ``current`` dict itself, as upstream's do.
"""

from __future__ import annotations

from typing import Any

from mom.dsl.layout import IO_TUNE_KEYS, IO_TUNE_METHODS, KIND_IO_TUNE

__all__ = ["IoTune", "ValueBag", "IO_TUNE_KEYS"]


class ValueBag:
    """Attribute access to a dict of limits; an absent limit raises AttributeError."""

    __slots__ = ("_policy_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        # the dict itself: policies read limits straight from it (see mom.dsl.sandbox)
        self._policy_values = values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle probe before the slot is set
            raise AttributeError(name)
        try:
            return self._policy_values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"ValueBag({self._policy_values!r})"


def _as_int(value: Any) -> Any:
    return None if value is None else int(value)


class IoTune:
    """One disk: its name and path, its policy limits and its current limits."""

    __slots__ = ("name", "path", "guaranteed", "maximum", "current", "_current", "_policy_values")

    #: what policies may call (see mom.dsl.sandbox): the setters of mom.dsl.layout
    _policy_methods = IO_TUNE_METHODS
    #: the fast path runs the setters on _current itself (mom.dsl.layout)
    _policy_kind = KIND_IO_TUNE

    def __init__(
        self, name: str | None, path: str | None, guaranteed: dict[str, Any], maximum: dict[str, Any], current: dict[str, Any]
    ) -> None:
        self.name = name
        self.path = path
        # Policies find limits fastest when the keys are interned strings (their names
        # are): the collectors build them so, once per domain, not here on every tick.
        self.guaranteed = ValueBag(guaranteed)
        self.maximum = ValueBag(maximum)
        # the state dict itself: setters write into it, ioTune() returns it
        self._current = current
        self.current = ValueBag(current)
        #: the data attributes policies read (the setters are reached through the hook)
        self._policy_values = {
            "name": name,
            "path": path,
            "guaranteed": self.guaranteed,
            "maximum": self.maximum,
            "current": self.current,
        }

    def setTotalBytesSec(self, value: Any) -> None:
        self._current["total_bytes_sec"] = _as_int(value)

    def setReadBytesSec(self, value: Any) -> None:
        self._current["read_bytes_sec"] = _as_int(value)

    def setWriteBytesSec(self, value: Any) -> None:
        self._current["write_bytes_sec"] = _as_int(value)

    def setTotalIopsSec(self, value: Any) -> None:
        self._current["total_iops_sec"] = _as_int(value)

    def setReadIopsSec(self, value: Any) -> None:
        self._current["read_iops_sec"] = _as_int(value)

    def setWriteIopsSec(self, value: Any) -> None:
        self._current["write_iops_sec"] = _as_int(value)

    def ioTune(self) -> dict[str, Any]:
        """What the controller sends for this disk."""
        return {"name": self.name, "path": self.path, "ioTune": self._current}

    def __repr__(self) -> str:
        return f"IoTune({self.name!r}, {self.path!r}, current={self._current!r})"
