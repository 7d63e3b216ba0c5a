"""Two runs of one scenario side by side (``make run``: vdsm's policies and the SLA set).

``python -m mom.sim.compare A/summary.json B/summary.json`` prints the figures that say
what a policy set buys: pressure, swap, OOM kills, balloon reversals, guarantee
violations, and per group the smallest balloon and the guest swap.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

__all__ = ["ROWS", "GROUP_ROWS", "format_side_by_side", "main"]

#: (key, label) of the overall figures compared
ROWS = (
    ("time_under_pressure_s", "time under pressure (s)"),
    ("lowest_free_pct", "lowest free memory (%)"),
    ("host_swap_peak_gib", "host swap, peak (GiB)"),
    ("guest_swap_peak_gib", "guests' own swap, peak (GiB)"),
    ("guest_oom_kills", "guest OOM kills"),
    ("balloon_reversals", "balloon target reversals"),
    ("guarantee_violations", "guest-seconds below the SLA guarantee"),
    ("balloon_inflations", "balloon inflations (calls)"),
    ("balloon_deflations", "balloon deflations (calls)"),
)
#: (key, label) per group
GROUP_ROWS = (
    ("balloon_min_pct", "smallest balloon %"),
    ("guest_swap_peak_gib", "guest swap peak GiB"),
    ("oom_kills", "OOM kills"),
    ("seconds_below_guarantee", "s below guarantee"),
)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_side_by_side(first: dict[str, Any], second: dict[str, Any], names: Sequence[str] = ("A", "B")) -> str:
    """A table: one row per figure, one column per run (then one row per group and figure)."""
    rows = [("", names[0], names[1])]
    rows += [(label, _text(first.get(key)), _text(second.get(key))) for key, label in ROWS]
    groups_b = {group["group"]: group for group in second.get("groups", [])}
    for group in first.get("groups", []):
        other = groups_b.get(group["group"], {})
        title = f"{group['group']} ({group.get('sla', '-')}, {group['guests']} guests)"
        for key, label in GROUP_ROWS:
            rows.append((f"{title}: {label}", _text(group.get(key)), _text(other.get(key))))
            title = " " * len(title)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"Scenario {first.get('scenario')} (seed {first.get('seed')}): {names[0]} against {names[1]}", ""]
    for index, (label, a, b) in enumerate(rows):
        lines.append(f"  {label:<{widths[0]}}  {a:>{widths[1]}}  {b:>{widths[2]}}".rstrip())
        if index == 0:
            lines.append("  " + "-" * (sum(widths) + 4))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 4):
        print("usage: python -m mom.sim.compare A/summary.json B/summary.json [NAME_A NAME_B]", file=sys.stderr)
        return 2
    summaries = []
    for path in args[:2]:
        with open(path, encoding="utf-8") as handle:
            summaries.append(json.load(handle))
    names = args[2:4] if len(args) == 4 else [path.rsplit("/", 2)[-2] if "/" in path else path for path in args[:2]]
    print(format_side_by_side(summaries[0], summaries[1], names), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
