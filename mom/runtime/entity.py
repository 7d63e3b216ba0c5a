"""Entity: what a policy sees of the host or of one guest (upstream ``mom.Entity``).

An entity holds the monitor's properties, its recent statistics (oldest first, newest
last), per-cycle variables, and the controls the policy sets.  ``_finalize`` exposes
the newest sample's declared fields as attributes (``guest.balloon_cur``).  Only those
fields and the rule methods are visible to policies (see :mod:`mom.dsl.sandbox`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable

from mom.dsl.layout import KIND_ENTITY, RULE_METHODS
from mom.errors import EntityError

__all__ = ["Entity", "mean_of"]

#: the property types :meth:`Entity.Prop` gives (anything else stays with the daemon)
_PLAIN_PROPERTIES = frozenset({str, int, float, bool})

_log = logging.getLogger("mom.Entity")


def mean_of(values: Iterable[Any]) -> float:
    """``StatAvg``'s mean: of the values that are not None, as a float; 0.0 if none."""
    total: Any = 0
    count = 0
    # an explicit loop, oldest first: sum() of floats is compensated from CPython
    # 3.12 on, which upstream (3.11) and the fast path are not
    for value in values:
        if value is not None:
            total = total + value
            count += 1
    if count == 0:
        return 0.0
    return float(total / count)


class Entity:
    """The host or one guest, as one policy evaluation sees it."""

    # the state every entity has in slots; the fields _finalize sets (and anything
    # else) go to the instance dict
    __slots__ = (
        "properties", "variables", "statistics", "controls", "monitor",
        "_policy_values", "_valid", "__dict__", "__weakref__",
    )  # fmt: skip

    #: what policies may call (see mom.dsl.sandbox); the readable fields are the
    #: newest sample's declared statistics, in _policy_values
    _policy_methods = RULE_METHODS
    #: the fast path reads _valid, statistics and controls itself (mom.dsl.layout)
    _policy_kind = KIND_ENTITY

    def __init__(self, monitor: Any = None) -> None:
        self.properties: dict[str, Any] = {}
        self.variables: dict[str, Any] = {}
        self.statistics: list[dict[str, Any]] = []
        self.controls: dict[str, Any] = {}
        self.monitor = monitor
        # set by _finalize: the fields policies may read, and the declared field names
        self._policy_values: dict[str, Any] = {}
        self._valid: frozenset[str] | None = None

    # ## Upstream's assembly

    def _set_property(self, name: str, value: Any) -> None:
        self.properties[name] = value

    def _set_variable(self, name: str, value: Any) -> None:
        self.variables[name] = value

    def _set_statistics(self, stats: list[dict[str, Any]]) -> None:
        self.statistics = list(stats)

    def _store_variables(self) -> None:
        """Upstream hook to persist variables across cycles; never called upstream."""

    def _valid_fields(self) -> frozenset[str]:
        if self._valid is not None:
            return self._valid
        monitor = self.monitor
        if monitor is None:
            return frozenset(self.statistics[-1]) if self.statistics else frozenset()
        return frozenset(monitor.fields or ()) | frozenset(monitor.optional_fields or ())

    def _finalize(self) -> None:
        """Expose the newest sample's declared fields as attributes."""
        valid = self._valid_fields()
        self._valid = valid
        values: dict[str, Any] = {}
        if self.statistics:
            for key, value in self.statistics[-1].items():
                if key in valid:
                    setattr(self, key, value)
                    values[sys.intern(key) if type(key) is str else key] = value  # see mom.dsl.bytecode
                else:
                    _log.debug("Ignoring unknown field '%s'", key)
        self._policy_values = values

    # ## Rule methods

    def Prop(self, name: str) -> Any:
        """A property of the monitored object (``name``, ``uuid``, ``pid``...).

        Only plain values (strings, numbers, booleans, None): the monitors also keep the
        hypervisor interface and the SLA registry among the properties, for their
        collectors, and a policy reaching them could call them (power off a platinum
        guest, hold a lock): KeyError for those, as for a property that is not there.
        """
        value = self.properties[name]
        if value is not None and type(value) not in _PLAIN_PROPERTIES:
            raise KeyError(f"Property '{name}' is not a plain value (a policy reads strings and numbers only)")
        return value

    def _declared(self, name: str) -> None:
        valid = self._valid if self._valid is not None else self._valid_fields()
        if name not in valid:
            raise KeyError("Field '%s' is not declared in any collector." % name)

    def Stat(self, name: str, default: Any = None) -> Any:
        """The newest value of a statistic; None before the first sample."""
        self._declared(name)
        if not self.statistics:
            return None
        return self.statistics[-1].get(name, default)

    def StatAvg(self, name: str) -> float:
        """Mean of a statistic over the history, skipping samples where it is None."""
        self._declared(name)
        values = self._history(name)
        if not values:
            raise EntityError("Statistic '%s' not available" % name)
        return mean_of(values)

    def _history(self, name: str) -> list[Any]:
        """A statistic's values, oldest first (None where a sample lacks it)."""
        return [row.get(name) for row in self.statistics]

    # the argument is ``val``, as upstream's: a call without it says so
    def SetVar(self, name: str, val: Any) -> None:
        self.variables[name] = val

    def GetVar(self, name: str) -> Any:
        return self.variables.get(name)

    def Control(self, name: str, val: Any) -> None:
        """Ask the controllers to apply ``val`` (e.g. ``balloon_target``)."""
        self.controls[name] = val

    def GetControl(self, name: str) -> Any:
        return self.controls.get(name)

    def _disp(self, name: str = "") -> str:
        """A readable dump of the entity, logged at debug and returned."""
        lines = [f"Entity {name}".rstrip(), f"  properties: {self.properties}", f"  variables: {self.variables}"]
        if self.statistics:
            lines.append(f"  statistics (newest of {len(self.statistics)}): {self.statistics[-1]}")
        lines.append(f"  controls: {self.controls}")
        text = "\n".join(lines)
        _log.debug("%s", text)
        return text
