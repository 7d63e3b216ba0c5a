"""What a simulation run leaves behind: time series of the model and of the daemon's actions.

:class:`Recording` keeps, per tick, the host's memory (the model's truth) and per guest
group the balloon sizes, targets and memory use; per policy cycle, the actions taken;
per host sample, what the daemon collected.  :meth:`Recording.write` saves them as
plot-dir data files in MOM's format (``# time\\t name\\t ...`` then tab-separated rows),
with simulated seconds as the time column, so a seed reproduces them byte for byte.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from mom.sim.lifecycle import MIGRATED, OFF
from mom.sim.model import SimHost

__all__ = ["Recording", "HOST_SERIES", "GROUP_SERIES", "ACTION_SERIES", "write_dat"]

#: per-tick host series (KiB unless named otherwise)
HOST_SERIES = (
    "total",
    "free",  # MemFree
    "cache",  # host page cache
    "overhead",  # host and QEMU memory
    "guest_resident",  # guest pages in RAM (before KSM)
    "ksm_saved",
    "swap_used",
    "swapped_out",  # KiB swapped out this tick
    "shortfall",  # KiB asked for and not found this tick
    "committed",  # what holding every guest's used memory in RAM would take
    "ksm_run",
    "ksm_pages_to_scan",
    "ksm_full_scans",
    "ksmd_cpu",  # percent of one CPU
    "guest_swap",  # sum of the guests' own swap use
    "guests_swapping",  # guests with pages in their own swap
    "below_floor",  # guests below balloon_min
    "stuck_balloons",
    "oom_kills",  # cumulative, all guests
    "guests_off",  # guests powered off now (the Lifecycle controller's)
    "guests_migrated",  # guests gone to a peer so far
)

#: per-tick series of each guest group (sums over its guests, KiB)
GROUP_SERIES = ("balloon_max", "balloon_min", "balloon_cur", "balloon_target", "used", "anon", "rss", "guest_swap")

#: per-tick CPU series of each guest group (sums over its guests, CPUs; mom.sim.cpu)
CPU_SERIES = ("cpu_demand", "cpu_got")

#: the sim interface's lifecycle calls -> the per-cycle count they go to
LIFECYCLE_CALLS = {
    "shutdownVm": "power_off",
    "destroyVm": "power_off",
    "managedSaveVm": "power_off",
    "startVm": "restore",
    "migrateVm": "migrate",
}
#: per policy cycle, the lifecycle actions done
LIFECYCLE_SERIES = ("power_off", "restore", "migrate")

#: per policy cycle
ACTION_SERIES = ("policy_ok", "inflate", "deflate", "inflate_kib", "deflate_kib", "ksm_tune", "cpu_tune")


def write_dat(path: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plot-dir data file: MOM's header line, then one tab-separated line per row."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# time\t " + "\t ".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(_text(value) for value in row) + "\n")


def _text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


class Recording:
    """Preallocated arrays, filled as the run goes."""

    def __init__(self, host: SimHost) -> None:
        ticks = host.scenario.ticks + 1  # the start, then every tick
        self.groups = list(host.group_names)
        self.time = np.zeros(ticks)
        self.host = {name: np.zeros(ticks) for name in HOST_SERIES}
        self.group = {(group, name): np.zeros(ticks) for group in self.groups for name in GROUP_SERIES}
        self.count = 0
        self.actions: dict[str, list[Any]] = {"time": [], **{name: [] for name in ACTION_SERIES}}
        for name in LIFECYCLE_SERIES:
            self.actions[name] = []
        self.cpu = {(group, name): np.zeros(ticks) for group in self.groups for name in CPU_SERIES}
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self._group_index = host.group_index

    # ## Filling

    def tick(self, host: SimHost) -> None:
        """Record the model's state now."""
        i = self.count
        self.count += 1
        self.time[i] = host.time
        memory, guests, balloons, ksm = host.host, host.guests, host.balloons, host.ksm
        values = {
            "total": memory.total,
            "free": memory.free,
            "cache": memory.cache,
            "overhead": memory.overhead,
            "guest_resident": int(memory.resident.sum()),
            "ksm_saved": memory.ksm_saved,
            "swap_used": memory.swap_used,
            "swapped_out": memory.swapped_out_now,
            "shortfall": memory.shortfall_now,
            "committed": host.committed(),
            "ksm_run": ksm.run,
            "ksm_pages_to_scan": ksm.pages_to_scan,
            "ksm_full_scans": ksm.full_scans,
            "ksmd_cpu": ksm.cpu_percent,
            "guest_swap": int(guests.swapped.sum()),
            "guests_swapping": int((guests.swapped > 0).sum()),
            "below_floor": int((balloons.actual < balloons.minimum).sum()),
            "stuck_balloons": int(balloons.stuck(host.time).sum()),
            "oom_kills": int(guests.oom_kills.sum()),
            "guests_off": int((host.power.state == OFF).sum()),
            "guests_migrated": int((host.power.state == MIGRATED).sum()),
        }
        for name, value in values.items():
            self.host[name][i] = value
        columns = {
            "balloon_max": balloons.maximum,
            "balloon_min": balloons.minimum,
            "balloon_cur": balloons.actual,
            "balloon_target": balloons.target,
            "used": guests.used(),
            "anon": guests.anon,
            "rss": memory.touched,
            "guest_swap": guests.swapped,
        }
        groups = len(self.groups)
        for name, column in columns.items():
            sums = np.bincount(self._group_index, weights=column, minlength=groups)
            for g, group in enumerate(self.groups):
                self.group[(group, name)][i] = sums[g]
        if host.cpu.active:
            for name, column in (("cpu_demand", host.cpu.demand), ("cpu_got", host.cpu.got)):
                sums = np.bincount(self._group_index, weights=column, minlength=groups)
                for g, group in enumerate(self.groups):
                    self.cpu[(group, name)][i] = sums[g]

    def sample(self, now: float, data: dict[str, Any] | None) -> None:
        """A host sample the daemon collected (None: the collection failed)."""
        if data is not None:
            self.samples.append((now, dict(data)))

    def policy_cycle(self, now: float, ok: bool, actions: Sequence[tuple[float, str, int, Any]], host: SimHost) -> None:
        """One PolicyEngine cycle and the hypervisor calls it made (``actions`` since the last)."""
        counts = dict.fromkeys(ACTION_SERIES + LIFECYCLE_SERIES, 0)
        counts["policy_ok"] = int(ok)
        previous = host.balloons.actual
        for _, method, index, value in actions:
            if method == "setVmBalloonTarget":
                change = int(value) - int(previous[index])
                if change < 0:
                    counts["inflate"] += 1
                    counts["inflate_kib"] -= change
                elif change > 0:
                    counts["deflate"] += 1
                    counts["deflate_kib"] += change
            elif method == "ksmTune":
                counts["ksm_tune"] += 1
            elif method == "setVmCpuTune":
                counts["cpu_tune"] += 1
            elif method in LIFECYCLE_CALLS:
                counts[LIFECYCLE_CALLS[method]] += 1
        self.actions["time"].append(now)
        for name in ACTION_SERIES + LIFECYCLE_SERIES:
            self.actions[name].append(counts[name])

    # ## Views

    def series(self, name: str) -> np.ndarray:
        return self.host[name][: self.count]

    def group_series(self, group: str, name: str) -> np.ndarray:
        return self.group[(group, name)][: self.count]

    def cpu_series(self, group: str, name: str) -> np.ndarray:
        """A group's CPU series (CPU_SERIES; zeros if no guest has a CPU demand)."""
        return self.cpu[(group, name)][: self.count]

    def times(self) -> np.ndarray:
        return self.time[: self.count]

    # ## Files

    def write(self, directory: str) -> list[str]:
        """The data files, in ``directory``; their paths."""
        os.makedirs(directory, exist_ok=True)
        paths = []
        path = os.path.join(directory, "model-host.dat")
        columns = [self.series(name) for name in HOST_SERIES]
        write_dat(path, HOST_SERIES, zip(self.times(), *columns))
        paths.append(path)
        path = os.path.join(directory, "model-groups.dat")
        names = [f"{group}.{name}" for group in self.groups for name in GROUP_SERIES]
        columns = [self.group_series(group, name) for group in self.groups for name in GROUP_SERIES]
        write_dat(path, names, zip(self.times(), *columns))
        paths.append(path)
        path = os.path.join(directory, "actions.dat")
        series = ACTION_SERIES + LIFECYCLE_SERIES
        write_dat(path, series, zip(self.actions["time"], *(self.actions[name] for name in series)))
        paths.append(path)
        if any(column.any() for column in self.cpu.values()):
            path = os.path.join(directory, "model-cpu.dat")
            names = [f"{group}.{name}" for group in self.groups for name in CPU_SERIES]
            columns = [self.cpu_series(group, name) for group in self.groups for name in CPU_SERIES]
            write_dat(path, names, zip(self.times(), *columns))
            paths.append(path)
        if self.samples:
            path = os.path.join(directory, "HostMonitor.dat")
            fields = sorted(self.samples[0][1])
            write_dat(path, fields, ([now] + [data.get(f) for f in fields] for now, data in self.samples))
            paths.append(path)
        return paths
