"""The operators' view of the SLA allocator: what its last cycle gave each guest and class.

The policy's ``sla_balloon`` call (:mod:`mom.dsl.builtins_sla`) keeps its last inputs and
:class:`~mom.sla.allocator.Allocation`; :func:`sla_status` turns them into plain values for
the RPC (``getSlaStatus``), ``momctl sla`` and the Prometheus gauges (:mod:`mom.metrics`).
All sizes are KiB.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from mom.sla.allocator import PLATINUM, Mode, PressureState

__all__ = ["CLASS_TOTALS", "sla_balloon_of", "sla_status"]

#: per class, summed over its guests (besides the guest count)
CLASS_TOTALS = ("guaranteed", "allocated", "current", "target", "reclaimed", "shortfall")
_MODES = {Mode.HOLD: "hold", Mode.RECLAIM: "reclaim", Mode.RELEASE: "release"}
_STATES = {PressureState.NORMAL: "normal", PressureState.PRESSURE: "pressure"}


def sla_balloon_of(policy_store: Any) -> Any:
    """The ``sla_balloon`` of the program a policy store runs (None: no such program yet)."""
    functions = getattr(getattr(policy_store, "code", None), "program_functions", None) or {}
    return functions.get("sla_balloon")


def _class_of(columns: Any, index: int) -> str:
    entity = columns.entity(index)
    value = getattr(entity, "sla_class", None)
    return value if isinstance(value, str) else "?"


def _guest_mode(shrink: bool, grow: bool, excluded: bool, rank: int) -> str:
    if excluded:
        return "held"  # no balloon or memory statistics (never inflated blind), or a stuck balloon
    if rank == PLATINUM:
        return "fixed" if not grow else "grow"
    return "shrink" if shrink else "grow" if grow else "hold"


def sla_status(last: Mapping[str, Any] | None, classes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The last cycle: ``{"cycle": {...}, "classes": {name: {...}}, "guests": [...]}``.

    ``cycle`` is empty when no cycle ran the allocator yet (no ``sla_balloon`` in the
    policy, or before its first cycle); ``classes`` lists every configured class, with
    zeros for those without guests.
    """
    totals: dict[str, dict[str, int]] = {
        name: {"guests": 0, **{key: 0 for key in CLASS_TOTALS}} for name in (classes or {})
    }
    if last is None:
        return {"cycle": {}, "classes": totals, "guests": []}
    columns, inputs, result = last["columns"], last["inputs"], last["result"]
    names = columns.names(last.get("table_names"))
    guests = []
    n = len(result.target)
    lists = {key: np.asarray(value).tolist() for key, value in inputs.items()}
    target, allocation = result.target.tolist(), result.allocation.tolist()
    shortfall = np.asarray(last.get("shortfall", result.shortfall)).tolist()
    given_up = last.get("given_up", result.given_up)
    if "guarantee" in last:
        lists["guarantee"] = np.asarray(last["guarantee"]).tolist()
    shrink, grow = result.shrink.tolist(), result.grow.tolist()
    for i in range(n):
        sla_class = last["classes"][i] if "classes" in last else _class_of(columns, i)
        row = {
            "name": names[i],
            "class": sla_class,
            "priority": lists["priority"][i],
            "guarantee": lists["guarantee"][i],
            "current": lists["current"][i],
            "target": target[i],
            "allocation": allocation[i],
            "shortfall": shortfall[i],
            "balloon_max": lists["balloon_max"][i],
            "mode": _guest_mode(shrink[i], grow[i], bool(lists["excluded"][i]), lists["reclaim_rank"][i]),
        }
        guests.append(row)
        total = totals.setdefault(sla_class, {"guests": 0, **{key: 0 for key in CLASS_TOTALS}})
        total["guests"] += 1
        total["guaranteed"] += row["guarantee"]
        total["allocated"] += row["allocation"]
        total["current"] += row["current"]
        total["target"] += row["target"]
        total["reclaimed"] += row["balloon_max"] - row["current"]
        total["shortfall"] += row["shortfall"]
    host = last["host"]
    cycle = {
        "mode": "rebalance" if last.get("rebalance") else _MODES[Mode(result.mode)],
        "state": _STATES[PressureState(result.state)],
        "available": host["available"],
        "host_free": host["host_free"],
        "threshold": host["threshold"],
        "band": host["band"],
        "guaranteed": int(sum(row["guarantee"] for row in guests)),
        "shortfall": int(sum(shortfall)),
        "unmet": int(result.unmet),
        "given_up": [guests[int(i)]["name"] for i in given_up],
        "level": float(result.level) if np.isfinite(result.level) else None,
    }
    return {"cycle": cycle, "classes": totals, "guests": guests}
