"""The summary of a simulation run: a few numbers that say how the policy did.

:func:`summarize` computes them from a :class:`~mom.sim.runner.RunResult` (everything
but the wall-clock figures is deterministic); :func:`format_table` prints them as an
aligned table, overall and per guest group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mom.sim.runner import RunResult

__all__ = ["summarize", "format_table"]

GIB = 1024.0**2


def _seconds(mask: np.ndarray, tick: float) -> float:
    # the first sample is the start (t = 0); each later one stands for one tick
    return float(mask[1:].sum()) * tick


def summarize(result: RunResult) -> dict[str, Any]:
    """The run's figures, as plain JSON-able values."""
    recording, host = result.recording, result.host
    scenario = host.scenario
    tick = scenario.tick
    threshold = scenario.daemon.pressure_threshold
    total = recording.series("total")
    free = recording.series("free") + recording.series("cache")
    actions = recording.actions
    minimum = host.balloons.minimum
    groups = []
    for index, name in enumerate(recording.groups):
        mask = host.group_index == index
        boot = recording.group_series(name, "balloon_max")
        size = recording.group_series(name, "balloon_cur") / boot
        groups.append(
            {
                "group": name,
                "guests": int(mask.sum()),
                "workload": scenario.groups[index].workload,
                "balloon_min_pct": round(100 * float(size.min()), 1),
                "balloon_end_pct": round(100 * float(size[-1]), 1),
                "guest_swap_peak_gib": round(float(recording.group_series(name, "guest_swap").max()) / GIB, 2),
                "stuck_balloons": int((host.balloons.stuck(host.time) & mask).sum()),
                "oom_kills": int(host.guests.oom_kills[mask].sum()),
            }
        )
        groups[-1].update(_lifecycle_group(host, mask))
        groups[-1].update(_cpu_group(recording, name, tick))
    below = recording.series("below_floor")
    summary = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "guests": host.n,
        "simulated_seconds": float(host.time),
        "host_memory_gib": round(host.host.total / GIB, 1),
        "overcommit": round(float(host.balloons.maximum.sum() + host.host.overhead) / host.host.total, 2),
        "pressure_threshold": threshold,
        "time_under_pressure_s": _seconds(free / total < threshold, tick),
        "lowest_free_pct": round(100 * float((free / total).min()), 2),
        "host_swap_peak_gib": round(float(recording.series("swap_used").max()) / GIB, 2),
        "host_swapped_out_gib": round(float(recording.series("swapped_out").sum()) / GIB, 2),
        "time_host_swapping_s": _seconds(recording.series("swapped_out") > 0, tick),
        "guest_swap_peak_gib": round(float(recording.series("guest_swap").max()) / GIB, 2),
        "guests_swapping_peak": int(recording.series("guests_swapping").max()),
        "guests_below_floor_peak": int(below.max()),
        "guests_ever_below_floor": int((host.balloons.lowest_seen < minimum).sum()),
        "guest_oom_kills": int(host.guests.oom_kills.sum()),
        "ksm_saved_peak_gib": round(float(recording.series("ksm_saved").max()) / GIB, 2),
        "ksm_full_scans": int(host.ksm.full_scans),
        "ksmd_cpu_seconds": round(host.ksm.cpu_seconds, 1),
        "policy_cycles": result.policy_cycles,
        "policy_failures": result.policy_failures,
        "balloon_inflations": int(sum(actions["inflate"])),
        "balloon_deflations": int(sum(actions["deflate"])),
        "balloon_inflated_gib": round(sum(actions["inflate_kib"]) / GIB, 1),
        "balloon_deflated_gib": round(sum(actions["deflate_kib"]) / GIB, 1),
        "ksm_tunings": int(sum(actions["ksm_tune"])),
        "cpu_tunings": int(sum(actions["cpu_tune"])),
        "stuck_balloons": int(host.balloons.stuck(host.time).sum()),
        "stuck_balloons_detected": len(result.daemon_stuck),
        "balloon_targets_clamped": int(sum(result.balloon.get("clamped_targets", {}).values())),
        "balloon_targets_refused": int(result.balloon.get("invalid_targets", 0)),
        "errors_logged": dict(sorted(result.errors.items())),
        "groups": groups,
        "wall_seconds": round(result.elapsed, 2),
        "speedup": round(float(host.time) / result.elapsed, 1) if result.elapsed > 0 else None,
    }
    power = host.power
    summary.update(
        {
            # power-offs: vapor guests, unless a class table lets other classes be powered off
            "vapor_power_offs": int(power.powered_off.sum()),
            "restores": int(power.restored.sum()),
            "migrations": int(power.migrated.sum()),
            "peers_free_gib": {uri: round(free / GIB, 1) for uri, free in power.peer_free.items()},
            # what the Lifecycle controller audited: "action result" -> count
            "lifecycle_audit": dict(result.lifecycle),
        }
    )
    return summary


def _lifecycle_group(host: Any, mask: np.ndarray) -> dict[str, int]:
    power = host.power
    return {
        "powered_off": int(power.powered_off[mask].sum()),
        "restored": int(power.restored[mask].sum()),
        "migrated": int(power.migrated[mask].sum()),
    }


def _cpu_group(recording: Any, name: str, tick: float) -> dict[str, float]:
    """CPUs the group's guests asked for and got, on average over the run (and the share)."""
    demand, got = recording.cpu_series(name, "cpu_demand")[1:], recording.cpu_series(name, "cpu_got")[1:]
    wanted = float(demand.mean()) if len(demand) else 0.0
    given = float(got.mean()) if len(got) else 0.0
    return {
        "cpu_demand": round(wanted, 2),
        "cpu_got": round(given, 2),
        "cpu_got_pct": round(100.0 * given / wanted, 1) if wanted > 0 else 100.0,
    }


#: (key, label, unit) of the overall table, in order
_ROWS = (
    ("guests", "guests", ""),
    ("overcommit", "overcommitment (boot memory / RAM)", "x"),
    ("time_under_pressure_s", "time under pressure", "s"),
    ("lowest_free_pct", "lowest free memory (free + cache)", "%"),
    ("host_swap_peak_gib", "host swap, peak", "GiB"),
    ("time_host_swapping_s", "time the host swapped out", "s"),
    ("guest_swap_peak_gib", "guests' own swap, peak (all guests)", "GiB"),
    ("guests_swapping_peak", "guests swapping at once, peak", ""),
    ("guests_below_floor_peak", "guests below their floor (balloon_min), peak", ""),
    ("guest_oom_kills", "guest OOM kills", ""),
    ("ksm_saved_peak_gib", "KSM savings, peak", "GiB"),
    ("ksm_full_scans", "KSM full scans", ""),
    ("ksmd_cpu_seconds", "ksmd CPU time", "s"),
    ("policy_cycles", "policy cycles", ""),
    ("policy_failures", "policy cycles without action (failed)", ""),
    ("balloon_inflations", "balloon inflations (calls)", ""),
    ("balloon_deflations", "balloon deflations (calls)", ""),
    ("ksm_tunings", "KSM retunings", ""),
    ("cpu_tunings", "vCPU tunings", ""),
    ("stuck_balloons", "stuck balloon drivers", ""),
    ("stuck_balloons_detected", "stuck balloons the daemon holds off", ""),
    ("balloon_targets_clamped", "balloon targets clamped by the floors", ""),
    ("balloon_targets_refused", "balloon targets refused (not a size)", ""),
    ("vapor_power_offs", "guests powered off (Lifecycle)", ""),
    ("restores", "guests started again (Lifecycle)", ""),
    ("migrations", "guests migrated to a peer (Lifecycle)", ""),
)

_GROUP_COLUMNS = (
    ("group", "group"),
    ("guests", "guests"),
    ("workload", "workload"),
    ("balloon_min_pct", "smallest balloon %"),
    ("balloon_end_pct", "balloon at end %"),
    ("guest_swap_peak_gib", "guest swap peak GiB"),
    ("stuck_balloons", "stuck"),
    ("oom_kills", "OOM kills"),
    ("powered_off", "off"),
    ("restored", "restored"),
    ("migrated", "migrated"),
    ("cpu_demand", "CPUs asked"),
    ("cpu_got", "CPUs got"),
)


def format_table(summary: dict[str, Any]) -> str:
    """The summary as text: one row per figure, then one row per guest group."""
    lines = [
        f"Scenario {summary['scenario']} (seed {summary['seed']}): {summary['simulated_seconds']:g} simulated "
        f"seconds, {summary['host_memory_gib']:g} GiB host, pressure below {summary['pressure_threshold']:.0%} free",
        "",
    ]
    width = max(len(label) for _, label, _ in _ROWS)
    for key, label, unit in _ROWS:
        value = summary[key]
        text = f"{value:g}" if isinstance(value, float) else str(value)
        lines.append(f"  {label:<{width}}  {text:>10} {unit}".rstrip())
    errors = summary["errors_logged"]
    lines.append(f"  {'errors logged by the daemon':<{width}}  {sum(errors.values()):>10}")
    for name, count in errors.items():
        lines.append(f"    {name}: {count}")
    lines.append("")
    cells = [[label for _, label in _GROUP_COLUMNS]]
    for group in summary["groups"]:
        cells.append(
            [f"{group[key]:g}" if isinstance(group[key], float) else str(group[key]) for key, _ in _GROUP_COLUMNS]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(_GROUP_COLUMNS))]
    for index, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(cell.ljust(w) if i in (0, 2) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if summary.get("wall_seconds") is not None:
        lines.append("")
        lines.append(f"  ran in {summary['wall_seconds']:g} s of wall-clock time ({summary['speedup']:g}x real time)")
    return "\n".join(lines) + "\n"
