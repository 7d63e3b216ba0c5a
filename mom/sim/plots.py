"""PNG plots of a simulation run (matplotlib, Agg backend: no screen needed).

``overview.png`` stacks seven panels over simulated time, and each panel is also saved
alone: ``host-memory.png`` (where the host's RAM goes, and the policy's pressure
threshold), ``guests.png`` (all guests' balloon sizes and targets against their RSS on
the host and the memory in use inside them), ``balloons.png`` (balloon sizes, targets and memory in use per guest group,
in percent of the group's boot memory), ``swap.png`` (host and guest swap),
``ksm.png`` (KSM savings and ksmd's CPU), ``actions.png`` (balloon and KSM calls per
policy cycle, and the guests powered off, started again and migrated), ``cpu.png`` (CPUs
each group asked for and got).  Periods under memory pressure are shaded in every panel.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from mom.sim.record import Recording

__all__ = ["render", "PANELS"]

GIB = 1024.0**2


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _minutes(recording: Recording) -> np.ndarray:
    return recording.times() / 60.0


def _shade_pressure(ax: Any, recording: Recording, threshold: float) -> None:
    free = (recording.series("free") + recording.series("cache")) / recording.series("total")
    ax.fill_between(
        _minutes(recording),
        0,
        1,
        where=free < threshold,
        transform=ax.get_xaxis_transform(),
        color="#f4cccc",
        alpha=0.35,
        linewidth=0,
        step="post",
    )


def _host_memory(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)
    guests = (recording.series("guest_resident") - recording.series("ksm_saved")) / GIB
    layers = [
        (recording.series("overhead") / GIB, "host and QEMU", "#999999"),
        (guests, "guests (RSS less KSM savings)", "#4a7ebb"),
        (recording.series("cache") / GIB, "page cache", "#9fc5e8"),
        (recording.series("free") / GIB, "free", "#d9ead3"),
    ]
    ax.stackplot(
        t,
        *[layer[0] for layer in layers],
        labels=[layer[1] for layer in layers],
        colors=[layer[2] for layer in layers],
        linewidth=0,
    )
    total = recording.series("total")[0] / GIB
    ax.axhline(
        total * (1 - threshold),
        color="#cc0000",
        linestyle="--",
        linewidth=1,
        label=f"pressure: free + cache below {threshold:.0%}",
    )
    ax.set_ylim(0, total * 1.02)
    ax.set_ylabel("GiB")
    ax.set_title("Host memory")
    ax.legend(loc="lower left", fontsize=7, ncol=3, framealpha=0.8)


#: each group's lines in the balloons panel: (series, width, style, label)
_GROUP_LINES = (
    ("balloon_cur", 1.6, "-", "balloon size"),
    ("balloon_target", 0.8, "--", "target"),
    ("used", 0.8, ":", "in use"),
)


def _balloons(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    for index, group in enumerate(recording.groups):
        color = colors[index % len(colors)]
        boot = recording.group_series(group, "balloon_max")
        for series, width, style, what in _GROUP_LINES:
            ax.plot(
                t,
                100 * recording.group_series(group, series) / boot,
                color=color,
                linewidth=width,
                linestyle=style,
                label=f"{group}: {what}",
            )
        ax.axhline(
            100 * recording.group_series(group, "balloon_min")[0] / boot[0], color=color, linewidth=0.5, alpha=0.5
        )
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of boot memory")
    ax.set_title("Guest groups: balloon size (solid), target (dashed), memory in use (dotted), floor (thin)")
    ax.legend(loc="lower left", fontsize=6, ncol=len(recording.groups), framealpha=0.8)


def _guests(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)

    def total(name: str) -> np.ndarray:
        return sum(recording.group_series(group, name) for group in recording.groups) / GIB

    ax.plot(t, total("balloon_max"), color="#999999", linewidth=0.8, label="boot memory")
    ax.plot(t, total("balloon_cur"), color="#1f4e79", linewidth=1.6, label="balloon size (guest memory)")
    ax.plot(t, total("balloon_target"), color="#1f4e79", linewidth=0.8, linestyle="--", label="balloon target")
    ax.plot(t, total("rss"), color="#cc4125", linewidth=1.2, label="RSS on the host (incl. host swap)")
    ax.plot(t, total("used"), color="#6aa84f", linewidth=1.2, label="in use inside (kernel, apps, cache)")
    ax.plot(t, total("balloon_min"), color="#999999", linewidth=0.8, linestyle=":", label="guaranteed (balloon_min)")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("GiB")
    ax.set_title("All guests: balloon vs RSS vs memory in use")
    ax.legend(loc="lower left", fontsize=7, ncol=3, framealpha=0.8)


def _swap(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)
    ax.plot(t, recording.series("swap_used") / GIB, color="#cc0000", label="host swap in use")
    ax.plot(t, recording.series("guest_swap") / GIB, color="#e69138", label="guests' own swap in use")
    ax.set_ylabel("GiB")
    ax.set_ylim(bottom=0)
    ax.set_title("Swap")
    ax.legend(loc="upper left", fontsize=7)


def _ksm(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)
    ax.plot(t, recording.series("ksm_saved") / GIB, color="#38761d", label="saved by merging (GiB)")
    ax.set_ylabel("GiB")
    ax.set_ylim(bottom=0)
    cpu = ax.twinx()
    cpu.plot(t, recording.series("ksmd_cpu"), color="#674ea7", linewidth=0.7, alpha=0.8, label="ksmd CPU (%)")
    cpu.set_ylabel("ksmd CPU, % of one")
    cpu.set_ylim(0, max(5.0, float(recording.series("ksmd_cpu").max()) * 1.2))
    scans = recording.series("ksm_full_scans")
    marks = np.flatnonzero(np.diff(scans) > 0) + 1
    if len(marks):
        ax.plot(
            t[marks],
            np.full(len(marks), 0.97),
            "|",
            color="#38761d",
            markersize=9,
            label="full scan done",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_title("KSM")
    lines = ax.get_legend_handles_labels()
    more = cpu.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=7)


_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)  # as the balloons panel

#: the Lifecycle's actions in the actions panel: (series, marker, color, label)
_LIFECYCLE_MARKS = (
    ("power_off", "o", "#990000", "guest powered off"),
    ("restore", "^", "#38761d", "guest started again"),
    ("migrate", ">", "#674ea7", "guest migrated"),
)


def _cpu(ax: Any, recording: Recording, threshold: float) -> None:
    t = _minutes(recording)
    if not any(column.any() for column in recording.cpu.values()):
        ax.set_title("CPU (no CPU demand in this scenario)")
        return
    for index, group in enumerate(recording.groups):
        demand, got = recording.cpu_series(group, "cpu_demand"), recording.cpu_series(group, "cpu_got")
        if not demand.any():
            continue
        color = _COLORS[index % len(_COLORS)]
        ax.plot(t, got, color=color, linewidth=1.0, label=f"{group}: got")
        ax.plot(t, demand, color=color, linewidth=0.8, linestyle="--", label=f"{group}: asked")
    ax.set_ylabel("CPUs")
    ax.set_ylim(bottom=0)
    ax.set_title("CPU per group: asked (dashed) and got (shares and quotas applied)")
    ax.legend(loc="upper right", fontsize=7, ncol=2)


def _actions(ax: Any, recording: Recording, threshold: float) -> None:
    actions = recording.actions
    t = np.array(actions["time"]) / 60.0
    if len(t) == 0:
        ax.set_title("Actions per policy cycle (none)")
        return
    ax.step(t, actions["inflate"], where="post", color="#cc0000", linewidth=0.9, label="balloon inflations")
    ax.step(t, actions["deflate"], where="post", color="#3d85c6", linewidth=0.9, label="balloon deflations")
    ksm = np.flatnonzero(np.array(actions["ksm_tune"]) > 0)
    if len(ksm):
        top = max(1, max(max(actions["inflate"]), max(actions["deflate"])))
        ax.plot(t[ksm], np.full(len(ksm), top * 1.05), "v", color="#38761d", markersize=4, label="KSM retuned")
    top = max(1, max(max(actions["inflate"]), max(actions["deflate"])))
    for name, marker, color, label in _LIFECYCLE_MARKS:
        done = np.array(actions.get(name, []))
        at = np.flatnonzero(done > 0)
        if len(at):
            ax.plot(
                t[at],
                np.full(len(at), top * 1.12),
                marker,
                color=color,
                markersize=5,
                label=f"{label} ({int(done.sum())})",
            )
    failed = np.flatnonzero(np.array(actions["policy_ok"]) == 0)
    if len(failed):
        ax.plot(t[failed], np.zeros(len(failed)), "x", color="black", label="policy failed")
    ax.set_ylabel("calls per cycle")
    ax.set_ylim(bottom=0)
    ax.set_title("Actions per policy cycle")
    ax.legend(loc="upper right", fontsize=7)


#: file name -> panel
PANELS: dict[str, Callable[[Any, Recording, float], None]] = {
    "host-memory.png": _host_memory,
    "guests.png": _guests,
    "balloons.png": _balloons,
    "swap.png": _swap,
    "ksm.png": _ksm,
    "actions.png": _actions,
    "cpu.png": _cpu,
}


def render(recording: Recording, directory: str, *, title: str, threshold: float, panels: bool = True) -> list[str]:
    """Write ``overview.png`` (and each panel alone if ``panels``) into ``directory``."""
    plt = _pyplot()
    os.makedirs(directory, exist_ok=True)
    paths = []
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(11, 19), sharex=True)
    for ax, draw in zip(axes, PANELS.values()):
        _shade_pressure(ax, recording, threshold)
        draw(ax, recording, threshold)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("simulated minutes")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    path = os.path.join(directory, "overview.png")
    figure.savefig(path, dpi=90)
    plt.close(figure)
    paths.append(path)
    if panels:
        for name, draw in PANELS.items():
            figure, ax = plt.subplots(figsize=(11, 3.6))
            _shade_pressure(ax, recording, threshold)
            draw(ax, recording, threshold)
            ax.grid(True, alpha=0.3)
            ax.set_xlabel("simulated minutes")
            figure.tight_layout()
            path = os.path.join(directory, name)
            figure.savefig(path, dpi=90)
            plt.close(figure)
            paths.append(path)
    return paths
