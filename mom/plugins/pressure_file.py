"""Reading the kernel's pressure stall files (PSI: ``/proc/pressure/*``, a cgroup's ``*.pressure``).

Each has a ``some`` line (at least one task stalled) and, for memory and io (and cpu since
Linux 5.13), a ``full`` line (every non-idle task stalled): ``avg10=… avg60=… avg300=…``
in percent of wall time, ``total=`` in microseconds since boot.  The keys returned
(``some_avg10``, ..., ``full_total``) are those of the safety branch's
``mom.plugins.psi.parse_psi``, so the two can become one.
"""

from __future__ import annotations

__all__ = ["parse_pressure", "read_pressure"]


def parse_pressure(text: str) -> dict[str, float | int]:
    """``{"some_avg10": 0.12, ..., "some_total": 123, "full_...": ...}``; a line or key the
    kernel does not give is absent; ValueError for a value that is not a number."""
    values: dict[str, float | int] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("some", "full"):
            continue
        for item in rest.split():
            key, sep, value = item.partition("=")
            if not sep:
                continue
            if key == "total":
                values[f"{kind}_total"] = int(value)
            elif key.startswith("avg"):
                values[f"{kind}_{key}"] = float(value)
    return values


def read_pressure(path: str) -> dict[str, float | int]:
    """:func:`parse_pressure` of one file; OSError (no PSI: ENOENT, psi=0: EOPNOTSUPP) or
    ValueError (not a pressure file) for the caller to report once."""
    with open(path, encoding="ascii") as handle:
        return parse_pressure(handle.read())
