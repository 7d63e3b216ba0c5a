"""Scenario files: a small TOML file describing a simulated host, its guests and the daemon.

Sizes are KiB as integers, or text with a binary unit (``"512M"``, ``"2G"``, ``"1.5T"``,
``"64K"``).  Times are simulated seconds.  Everything but ``[[group]]`` has a default;
see ``scenarios/dense-host.toml`` for a commented example and the README's Simulator
section for every key.  A bad value is a :class:`ScenarioError` naming the file, the key
and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from mom.errors import ConfigError
from mom.policy_sets import DEFAULT_SET, resolve_policy_dir, shipped_set_dir

__all__ = [
    "ScenarioError",
    "Scenario",
    "HostSpec",
    "KsmSpec",
    "DaemonSpec",
    "GroupSpec",
    "WORKLOADS",
    "load_scenario",
    "parse_scenario",
    "parse_size",
    "per_guest",
]

KIB_PER = {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT])(?:i?B)?\s*$", re.I)


class ScenarioError(ConfigError):
    """A scenario file that cannot be used (the message names the file and the key)."""


def parse_size(value: Any) -> int:
    """KiB from an integer (KiB) or text with a unit (``"2G"``); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(value)
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(round(float(match.group(1)) * KIB_PER[match.group(2).upper()]))
    raise ValueError(value)


#: workload presets: what each kind sets unless the group overrides it (fractions of the
#: guest's memory; rates per simulated hour)
WORKLOADS: dict[str, dict[str, float]] = {
    # a service with a stable working set and small fluctuations
    "steady": {"level": 0.45, "noise": 0.02, "burst-rate": 0.0, "burst-level": 0.0, "growth": 0.0},
    # mostly quiet, with bursts (batch jobs, cron, builds) that need much more memory
    "bursty": {"level": 0.25, "noise": 0.02, "burst-rate": 2.0, "burst-level": 0.45, "growth": 0.0},
    # a working set that grows (caches warming, a leak) until the process restarts
    "growing": {"level": 0.20, "noise": 0.01, "burst-rate": 0.0, "burst-level": 0.0, "growth": 0.5},
    # booted and doing nothing
    "idle": {"level": 0.06, "noise": 0.005, "burst-rate": 0.0, "burst-level": 0.0, "growth": 0.0},
}


@dataclass(frozen=True)
class HostSpec:
    """The host (sizes in KiB, rates in KiB per second)."""

    memory: int = 256 * 1024**2  #: RAM (MemTotal)
    swap: int = 32 * 1024**2  #: swap space
    cpus: int = 64  #: CPUs (HostCpu's cpu_count)
    overhead: int = 4 * 1024**2  #: the host's own memory (kernel, services)
    guest_overhead: int = 48 * 1024  #: per guest: QEMU's own memory beside the guest's
    page_cache: int = 8 * 1024**2  #: page cache at the start
    page_cache_max: int = 24 * 1024**2  #: the cache grows into free memory up to this
    page_cache_min: int = 512 * 1024  #: reclaim never goes below this (hot files)
    page_cache_growth: int = 16 * 1024  #: cache growth while memory is free (host IO)
    min_free: int = 256 * 1024  #: the kernel's low watermark: reclaim starts below it
    swap_in_rate: int = 8 * 1024  #: how fast an active guest touches its swapped pages again


@dataclass(frozen=True)
class KsmSpec:
    """Kernel samepage merging (the knobs' starting values and the cost model)."""

    run: int = 0
    pages_to_scan: int = 100
    sleep_millisecs: int = 20
    #: ksmd's CPU time per scanned page, microseconds
    page_cost_us: float = 2.0
    #: how many guests share one merged page, on average: one kept copy (``pages_shared``)
    #: stands for ``sharers - 1`` saved ones (``pages_sharing``), so merging saves
    #: ``1 - 1 / sharers`` of the mergeable memory (at least 1.01)
    sharers: float = 8.0
    #: fraction of merged pages a fully active guest writes to (breaking the merge) per hour
    churn: float = 0.3
    #: fraction of scanned pages that change too fast to merge
    volatile: float = 0.02
    #: how fast ``run = 2`` splits merged pages again (KiB of savings per second)
    unmerge_rate: int = 512 * 1024


@dataclass(frozen=True)
class DaemonSpec:
    """How momd runs: intervals (simulated seconds), plugins, policies."""

    # vdsm's mom.conf, with the simulated host's collectors
    host_monitor_interval: float = 15
    guest_monitor_interval: float = 15
    guest_manager_interval: float = 15
    policy_engine_interval: float = 15
    sample_history_length: int = 10
    controllers: tuple[str, ...] = ("Balloon", "KSM", "CpuTune", "IoTune")
    host_collectors: tuple[str, ...] = ("SimHostMemory", "SimHostKSM", "SimHostCpu")
    guest_collectors: tuple[str, ...] = (
        "GuestMemoryOptional",
        "GuestBalloonOptional",
        "GuestCpuTune",
        "GuestIoTuneOptional",
    )
    #: a policy directory (relative to the scenario file) or a shipped set's name
    #: (:mod:`mom.policy_sets`); empty: the default set
    policy_dir: str = ""
    #: replaces the ``01-parameters`` policy, as vdsm's setNamedPolicy does
    parameters: str = ""
    #: the policy's pressure threshold (free fraction), for the summary's "time under pressure"
    pressure_threshold: float = 0.20
    #: named policies set after start (``[daemon.policies]``: name -> policy text), as
    #: vdsm's setNamedPolicy sets them, beside the policy directory's
    policies: tuple[tuple[str, str], ...] = ()
    #: mom.conf's ``[lifecycle]`` keys (``[daemon.lifecycle]``), as text
    lifecycle: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    """Guests alike: their size, workload and balloon driver."""

    name: str
    count: int
    memory: int  #: boot memory, KiB (balloon_max)
    min_memory: int  #: guaranteed memory, KiB (balloon_min)
    workload: str
    level: float  #: working set, fraction of memory
    noise: float  #: random walk around it, fraction of memory
    burst_rate: float  #: bursts per hour
    burst_level: float  #: a burst's extra memory, fraction of memory
    burst_duration: float  #: mean seconds a burst lasts
    growth: float  #: growth of the working set, fraction of memory per hour
    restart_rate: float  #: restarts (growth reset) per hour
    activity: float  #: 0 idle .. 1 busy: how hot its pages are (swap, KSM churn)
    share: float  #: fraction of its touched memory identical to other guests' (KSM)
    balloon_rate: int  #: KiB per second its balloon driver moves
    balloon_lag: float  #: seconds before its driver reacts to a new target
    stuck: float  #: fraction of its drivers that stop responding at some point
    swap: int  #: the guest's own swap space, KiB
    cpu_limit: float  #: vcpu_user_limit, percent
    vcpus: int
    #: load over time: (seconds, factor) points, linear in between, scaling the working set
    load: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    #: the guests' SLA class for the daemon's ``[sla] rules`` ("": the daemon's default)
    sla_class: str = ""
    #: CPU demand (:mod:`mom.sim.cpu`): busy fraction of its vCPUs, scaled by the load
    cpu_demand: float = 0.0
    #: random variation of the CPU demand around it, fraction of its vCPUs
    cpu_noise: float = 0.0


def per_guest(
    groups: Sequence[GroupSpec], group_index: np.ndarray, attribute: str, dtype: Any = np.float64
) -> np.ndarray:
    """Each guest's value of a :class:`GroupSpec` attribute (``group_index``: each guest's group)."""
    return np.array([getattr(group, attribute) for group in groups], dtype=dtype)[group_index]


@dataclass(frozen=True)
class Scenario:
    """A whole scenario; ``path`` is where it was read from (for relative paths)."""

    name: str
    groups: tuple[GroupSpec, ...]
    description: str = ""
    seed: int = 1
    duration: float = 3600.0
    tick: float = 1.0
    host: HostSpec = field(default_factory=HostSpec)
    ksm: KsmSpec = field(default_factory=KsmSpec)
    daemon: DaemonSpec = field(default_factory=DaemonSpec)
    path: str = ""
    #: other hosts guests may migrate to (``[peers]``): (URI, free KiB), in file order
    peers: tuple[tuple[str, int], ...] = ()

    @property
    def guest_count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def ticks(self) -> int:
        return int(round(self.duration / self.tick))

    def policy_dir(self) -> str:
        """The policy directory to load: the scenario's (a path or a set), else the default set."""
        if self.daemon.policy_dir:
            base = os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()
            return os.path.normpath(resolve_policy_dir(self.daemon.policy_dir, base))
        return shipped_set_dir(DEFAULT_SET)

    def replace(self, **changes: Any) -> "Scenario":
        return dataclasses.replace(self, **changes)


# ## Parsing


class _Reader:
    """Typed access to one table of the file, with the key path for error messages."""

    def __init__(self, data: Mapping[str, Any], where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: {where}: expected a table, got {type(data).__name__}")
        self.data = dict(data)
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def _fail(self, key: str, value: Any, expected: str) -> ScenarioError:
        path = f"{self.where}.{key}" if self.where else key
        return ScenarioError(f"{self.source}: {path} = {value!r}: expected {expected}")

    def get(self, key: str, default: Any, convert: Any, expected: str) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return convert(value)
        except (ValueError, TypeError):
            raise self._fail(key, value, expected) from None

    def size(self, key: str, default: int) -> int:
        return self.get(key, default, parse_size, "a size: KiB or text like '512M', '2G'")

    def number(self, key: str, default: float, low: float = 0.0, high: float = math.inf) -> float:
        def convert(value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(value)
            if not (low <= value <= high) or value != value:
                raise ValueError(value)
            return float(value)

        bounds = f"a number from {low} to {high}" if high != math.inf else f"a number >= {low}"
        return self.get(key, default, convert, bounds)

    def integer(self, key: str, default: int, low: int = 0) -> int:
        def convert(value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(value)
            if value < low:
                raise ValueError(value)
            return value

        return self.get(key, default, convert, f"an integer >= {low}")

    def text(self, key: str, default: str) -> str:
        def convert(value: Any) -> str:
            if not isinstance(value, str):
                raise TypeError(value)
            return value

        return self.get(key, default, convert, "a string")

    def names(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        def convert(value: Any) -> tuple[str, ...]:
            if isinstance(value, str):
                value = value.split(",")
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise TypeError(value)
            return tuple(item.strip() for item in value if item.strip())

        return self.get(key, default, convert, "a list of names")

    def table(self, key: str) -> "_Reader":
        self.used.add(key)
        where = f"{self.where}.{key}" if self.where else key
        return _Reader(self.data.get(key, {}), where, self.source)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            where = f" in {self.where}" if self.where else ""
            raise ScenarioError(
                f"{self.source}: unknown key{'s' if len(unknown) > 1 else ''}{where}: {', '.join(unknown)}"
            )


def _load_points(value: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise TypeError(value)
    points = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise TypeError(value)
        at, factor = item
        if isinstance(at, bool) or isinstance(factor, bool):
            raise TypeError(value)
        if not isinstance(at, (int, float)) or not isinstance(factor, (int, float)) or at < 0 or factor < 0:
            raise ValueError(value)
        points.append((float(at), float(factor)))
    if any(b[0] <= a[0] for a, b in zip(points, points[1:])):
        raise ValueError(value)
    return tuple(points)


_LOAD_EXPECTED = "a list of [seconds, factor] pairs, seconds increasing, both >= 0"


def _host(reader: _Reader) -> HostSpec:
    d = HostSpec()
    spec = HostSpec(
        memory=reader.size("memory", d.memory),
        swap=reader.size("swap", d.swap),
        cpus=reader.integer("cpus", d.cpus, 1),
        overhead=reader.size("overhead", d.overhead),
        guest_overhead=reader.size("guest-overhead", d.guest_overhead),
        page_cache=reader.size("page-cache", d.page_cache),
        page_cache_max=reader.size("page-cache-max", d.page_cache_max),
        page_cache_min=reader.size("page-cache-min", d.page_cache_min),
        page_cache_growth=reader.size("page-cache-growth", d.page_cache_growth),
        min_free=reader.size("min-free", d.min_free),
        swap_in_rate=reader.size("swap-in-rate", d.swap_in_rate),
    )
    reader.finish()
    if not spec.page_cache_min <= spec.page_cache <= spec.page_cache_max:
        raise ScenarioError(f"{reader.source}: host: page-cache-min <= page-cache <= page-cache-max does not hold")
    if spec.memory <= 0:
        raise ScenarioError(f"{reader.source}: host.memory must be positive")
    return spec


def _ksm(reader: _Reader) -> KsmSpec:
    d = KsmSpec()
    spec = KsmSpec(
        run=reader.integer("run", d.run),
        pages_to_scan=reader.integer("pages-to-scan", d.pages_to_scan),
        sleep_millisecs=reader.integer("sleep-millisecs", d.sleep_millisecs),
        page_cost_us=reader.number("page-cost-us", d.page_cost_us),
        sharers=reader.number("sharers", d.sharers, 1.01),
        churn=reader.number("churn", d.churn),
        volatile=reader.number("volatile", d.volatile, 0.0, 1.0),
        unmerge_rate=reader.size("unmerge-rate", d.unmerge_rate),
    )
    reader.finish()
    if spec.run not in (0, 1, 2):
        raise ScenarioError(f"{reader.source}: ksm.run = {spec.run}: expected 0, 1 or 2")
    return spec


def _daemon(reader: _Reader) -> DaemonSpec:
    d = DaemonSpec()
    spec = DaemonSpec(
        host_monitor_interval=reader.number("host-monitor-interval", d.host_monitor_interval, 1e-9),
        guest_monitor_interval=reader.number("guest-monitor-interval", d.guest_monitor_interval, 1e-9),
        guest_manager_interval=reader.number("guest-manager-interval", d.guest_manager_interval, 1e-9),
        policy_engine_interval=reader.number("policy-engine-interval", d.policy_engine_interval, 1e-9),
        sample_history_length=reader.integer("sample-history-length", d.sample_history_length, 1),
        controllers=reader.names("controllers", d.controllers),
        host_collectors=reader.names("host-collectors", d.host_collectors),
        guest_collectors=reader.names("guest-collectors", d.guest_collectors),
        policy_dir=reader.text("policy-dir", d.policy_dir),
        parameters=reader.text("parameters", d.parameters),
        pressure_threshold=reader.number("pressure-threshold", d.pressure_threshold, 0.0, 1.0),
        policies=_text_table(reader.table("policies")),
        lifecycle=_text_table(reader.table("lifecycle"), scalars=True),
    )
    reader.finish()
    return spec


def _text_table(reader: _Reader, scalars: bool = False) -> tuple[tuple[str, str], ...]:
    """A table of texts (``scalars``: numbers and booleans too, as mom.conf text)."""
    items = []
    for key in list(reader.data):
        value = reader.data[key]
        if scalars and isinstance(value, bool):
            value = "true" if value else "false"
        elif scalars and isinstance(value, (int, float)):
            value = str(value)
        reader.data[key] = value
        items.append((key, reader.text(key, "")))
    reader.finish()
    return tuple(items)


def _peers(reader: _Reader) -> tuple[tuple[str, int], ...]:
    """``[peers]``: URI = free memory (a size)."""
    peers = tuple((uri, reader.size(uri, 0)) for uri in list(reader.data))
    reader.finish()
    return peers


def _group(reader: _Reader, index: int, default_load: tuple[tuple[float, float], ...]) -> GroupSpec:
    name = reader.text("name", f"group{index}")
    workload = reader.text("workload", "steady")
    if workload not in WORKLOADS:
        raise ScenarioError(
            f"{reader.source}: {reader.where}.workload = {workload!r}: expected one of {', '.join(WORKLOADS)}"
        )
    preset = WORKLOADS[workload]
    memory = reader.size("memory", 2 * 1024**2)
    if memory < 128 * 1024:
        raise ScenarioError(f"{reader.source}: {reader.where}.memory: at least 128M")
    spec = GroupSpec(
        name=name,
        count=reader.integer("count", 1, 1),
        memory=memory,
        min_memory=reader.size("min-memory", memory // 2),
        workload=workload,
        level=reader.number("level", preset["level"], 0.0, 1.0),
        noise=reader.number("noise", preset["noise"], 0.0, 1.0),
        burst_rate=reader.number("burst-rate", preset["burst-rate"]),
        burst_level=reader.number("burst-level", preset["burst-level"], 0.0, 1.0),
        burst_duration=reader.number("burst-duration", 300.0, 1e-9),
        growth=reader.number("growth", preset["growth"]),
        restart_rate=reader.number("restart-rate", 0.5 if preset["growth"] else 0.0),
        activity=reader.number("activity", 0.1 if workload == "idle" else 0.6, 0.0, 1.0),
        share=reader.number("share", 0.15, 0.0, 0.9),
        balloon_rate=reader.size("balloon-rate", 128 * 1024),
        balloon_lag=reader.number("balloon-lag", 2.0),
        stuck=reader.number("stuck", 0.0, 0.0, 1.0),
        swap=reader.size("swap", memory // 2),
        cpu_limit=reader.number("cpu-limit", 100.0, 0.0, 100.0),
        vcpus=reader.integer("vcpus", 2, 1),
        load=reader.get("load", default_load, _load_points, _LOAD_EXPECTED),
        sla_class=reader.get("sla-class", "", _class_name, "an SLA class name (letters, digits, - and _)"),
        cpu_demand=reader.number("cpu-demand", 0.0, 0.0, 1.0),
        cpu_noise=reader.number("cpu-noise", 0.0, 0.0, 1.0),
    )
    reader.finish()
    if spec.min_memory > spec.memory:
        raise ScenarioError(f"{reader.source}: {reader.where}: min-memory is larger than memory")
    return spec


def _class_name(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    if value and not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", value):
        raise ValueError(value)
    return value


def _multiple(source: str, key: str, value: float, tick: float) -> None:
    ratio = value / tick
    if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
        raise ScenarioError(f"{source}: daemon.{key} = {value}: expected a multiple of tick ({tick})")


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>", path: str = "") -> Scenario:
    """A :class:`Scenario` from parsed TOML data; :class:`ScenarioError` if it is wrong."""
    top = _Reader(data, "", source)
    name = top.text("name", os.path.splitext(os.path.basename(path))[0] if path else "scenario")
    description = top.text("description", "")
    seed = top.integer("seed", 1)
    duration = top.number("duration", 3600.0, 1e-9)
    tick = top.number("tick", 1.0, 1e-9)
    default_load = top.get("load", ((0.0, 1.0),), _load_points, _LOAD_EXPECTED)
    host = _host(top.table("host"))
    ksm = _ksm(top.table("ksm"))
    daemon = _daemon(top.table("daemon"))
    peers = _peers(top.table("peers"))
    top.used.add("group")
    raw_groups = data.get("group")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise ScenarioError(f"{source}: no [[group]] of guests")
    groups = tuple(
        _group(_Reader(raw, f"group[{index}]", source), index, default_load) for index, raw in enumerate(raw_groups)
    )
    names = [group.name for group in groups]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{source}: group names must be unique: {names}")
    top.finish()
    if duration < tick:
        raise ScenarioError(f"{source}: duration ({duration}) is shorter than one tick ({tick})")
    for key in ("host_monitor_interval", "guest_monitor_interval", "guest_manager_interval", "policy_engine_interval"):
        _multiple(source, key.replace("_", "-"), getattr(daemon, key), tick)
    return Scenario(
        name=name,
        description=description,
        seed=seed,
        duration=duration,
        tick=tick,
        host=host,
        ksm=ksm,
        daemon=daemon,
        groups=groups,
        path=path,
        peers=peers,
    )


def load_scenario(path: str) -> Scenario:
    """Read and check a scenario file."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from error
    return parse_scenario(data, path, path)
