"""SLA classes: what each guarantees, in which order it is reclaimed, and its free-memory margin.

The shipped table (:data:`DEFAULT_CLASSES`) is overridden or extended by one
``[sla-class NAME]`` section per class in ``mom.conf`` (:func:`parse_class_sections`).
A guarantee is a fraction of the guest's maximum memory (``balloon_max``), never below
its ``balloon_min`` (:func:`guarantee_kib`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from mom.errors import ConfigError, MomError

__all__ = [
    "SlaError",
    "SlaClass",
    "Guarantee",
    "DEFAULT_CLASSES",
    "DEFAULT_CLASS",
    "PROTECTED_CLASSES",
    "CLASS_SECTION_PREFIX",
    "CLASS_KEYS",
    "parse_fraction",
    "parse_guarantee",
    "parse_class_sections",
    "guarantee_kib",
    "margin_kib",
    "resource_fields",
    "RESOURCE_FIELDS",
]

#: ``[sla-class gold]``
CLASS_SECTION_PREFIX = "sla-class "
#: the class of a guest nothing says anything about (``[sla] default-class`` changes it)
DEFAULT_CLASS = "standard"

_CLASS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class SlaError(MomError, ValueError):
    """An SLA value that cannot be used (unknown class, bad priority, bad guarantee...)."""


@dataclass(frozen=True)
class SlaClass:
    """One row of the class table."""

    name: str
    #: fraction of balloon_max kept whatever the pressure (0: balloon_min only)
    guarantee: float
    #: reclaimed in ascending order: 0 first (vapor) ... 40 last (platinum)
    reclaim_order: int
    #: free memory a guest keeps above what it uses, fraction of its balloon_max
    margin: float
    #: the guest may be powered off when a policy asks (mom.lifecycle acts on it)
    power_off: bool = False
    description: str = ""
    # ## CPU, block IO, network (issue 13; README "CPU, IO, network and NUMA by class")
    #: relative CPU weight (libvirt cpu_shares)
    cpu_shares: int = 1024
    #: fraction of its vCPUs the class is promised under contention
    cpu_guarantee: float = 0.0
    #: under host CPU contention each vCPU is capped at this fraction of a CPU (0: never capped)
    cpu_cap: float = 0.0
    #: relative block IO weight (libvirt blkio weight, 100..1000)
    blkio_weight: int = 500
    #: under host IO pressure each disk is capped at this many bytes/s and IO/s (0: never)
    io_cap_bytes: int = 0
    io_cap_iops: int = 0
    #: per interface (average KiB/s, peak KiB/s, burst KiB), inbound and outbound; 0: unlimited
    net_inbound: tuple[int, int, int] = (0, 0, 0)
    net_outbound: tuple[int, int, int] = (0, 0, 0)
    #: the guest may be migrated to a peer when a policy asks (mom.lifecycle)
    migrate: bool = False


#: classes no policy and no configuration may power off, destroy or migrate (issue 12)
PROTECTED_CLASSES = frozenset({"platinum", "gold"})

_MIB = 1024 * 1024
#: the shipped classes (issue 11); the margin of 0.20 is vdsm's 20 % free-memory threshold.
#: CPU/IO/network (issue 13): platinum and compute weigh most and are never capped; a 1 Gbit/s
#: interface is 125000 KiB/s
DEFAULT_CLASSES: Mapping[str, SlaClass] = {
    c.name: c
    for c in (
        SlaClass(
            "platinum", 1.0, 40, 0.20, False, "all of its memory: never ballooned",
            cpu_shares=2048, cpu_guarantee=1.0, blkio_weight=1000,
        ),
        SlaClass(
            "gold", 0.75, 30, 0.20, False, "75 % of its memory",
            cpu_shares=1536, cpu_guarantee=0.75, blkio_weight=750,
        ),
        SlaClass(
            "standard", 0.0, 20, 0.20, False, "balloon_min, as upstream MOM",
            cpu_shares=1024, cpu_cap=0.5, blkio_weight=500, io_cap_bytes=50 * _MIB, io_cap_iops=1000,
            net_inbound=(125000, 250000, 1024), net_outbound=(125000, 250000, 1024),
            migrate=True,
        ),
        SlaClass(
            "compute", 0.0, 10, 0.10, False, "balloon_min; reclaimed early, with a smaller margin",
            cpu_shares=2048, cpu_guarantee=1.0, blkio_weight=500, migrate=True,
        ),
        SlaClass(
            "vapor", 0.0, 0, 0.05, True, "no guarantee; reclaimed first, may be powered off",
            cpu_shares=256, cpu_cap=0.25, blkio_weight=100, io_cap_bytes=10 * _MIB, io_cap_iops=200,
            net_inbound=(12500, 25000, 256), net_outbound=(12500, 25000, 256),
            migrate=True,
        ),
    )
}  # fmt: skip


def resource_fields(sla_class: SlaClass) -> dict[str, int | float]:
    """The class's CPU, IO and network values as guest fields (GuestSla gives them)."""
    fields: dict[str, int | float] = {
        "sla_cpu_shares": sla_class.cpu_shares,
        "sla_cpu_guarantee": sla_class.cpu_guarantee,
        "sla_cpu_cap": sla_class.cpu_cap,
        "sla_blkio_weight": sla_class.blkio_weight,
        "sla_io_cap_bytes": sla_class.io_cap_bytes,
        "sla_io_cap_iops": sla_class.io_cap_iops,
    }
    for way, values in (("in", sla_class.net_inbound), ("out", sla_class.net_outbound)):
        for what, value in zip(("average", "peak", "burst"), values):
            fields[f"sla_net_{way}_{what}"] = value
    return fields


#: the field names of :func:`resource_fields`
RESOURCE_FIELDS = frozenset(resource_fields(SlaClass("x", 0.0, 0, 0.0)))


# ## Values


def parse_fraction(text: str) -> float:
    """``"0.75"``, ``"75%"`` or ``"75 %"`` as 0.75; ValueError (with the reason) outside 0..1."""
    raw = text.strip()
    percent = raw.endswith("%")
    number = raw[:-1].strip() if percent else raw
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a fraction (0.75) or a percentage (75%)") from None
    if percent:
        value /= 100
    if not 0 <= value <= 1:  # also refuses NaN
        raise ValueError(f"{text!r} is outside 0..1 (0 %..100 %)")
    return value


_SIZE = re.compile(r"^\s*(\d+)\s*(KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_KIB_PER = {"kib": 1, "mib": 1024, "gib": 1024**2, "tib": 1024**3}


@dataclass(frozen=True)
class Guarantee:
    """An explicit guarantee of one guest: a fraction of its balloon_max, or a size."""

    fraction: float | None = None
    kib: int | None = None

    def __str__(self) -> str:
        """The text form :func:`parse_guarantee` reads back."""
        if self.kib is not None:
            return f"{self.kib}KiB"
        return f"{(self.fraction or 0.0) * 100:g}%"


def parse_guarantee(value: object) -> Guarantee:
    """An explicit guarantee: ``"75%"``, ``"0.75"``, a number in 0..1, or a size (``"2GiB"``).

    An integer above 1 is refused: a size needs its unit, so 2048 is not taken for KiB.
    """
    if isinstance(value, bool):
        raise SlaError(f"guarantee {value!r}: expected a fraction, a percentage or a size such as '2GiB'")
    if isinstance(value, (int, float)):
        if not 0 <= value <= 1:
            raise SlaError(f"guarantee {value!r}: a number must be a fraction in 0..1 (a size needs a unit: '2GiB')")
        return Guarantee(fraction=float(value))
    if not isinstance(value, str):
        raise SlaError(f"guarantee {value!r}: expected a fraction, a percentage or a size such as '2GiB'")
    size = _SIZE.match(value)
    if size:
        return Guarantee(kib=int(size.group(1)) * _KIB_PER[size.group(2).lower()])
    try:
        return Guarantee(fraction=parse_fraction(value))
    except ValueError as error:
        raise SlaError(f"guarantee: {error}; or give a size such as '2GiB'") from None


def guarantee_kib(balloon_max: int, balloon_min: int, sla_class: SlaClass, explicit: Guarantee | None = None) -> int:
    """The memory (KiB) a guest keeps: its explicit guarantee, else its class's share of
    ``balloon_max``; never below ``balloon_min``, never above ``balloon_max``."""
    if explicit is not None and explicit.kib is not None:
        wanted = explicit.kib
    else:
        fraction = sla_class.guarantee if explicit is None or explicit.fraction is None else explicit.fraction
        wanted = int(fraction * balloon_max)
    return max(0, min(balloon_max, max(balloon_min, wanted)))


def margin_kib(balloon_max: int, sla_class: SlaClass) -> int:
    """The free memory (KiB) a guest of this class keeps above what it uses."""
    return int(sla_class.margin * balloon_max)


# ## The [sla-class NAME] sections

#: key -> (SlaClass attribute, converter, expected, help); the README lists them
CLASS_KEYS: Mapping[str, tuple[str, Callable[[str], object], str, str]] = {
    "guarantee": (
        "guarantee",
        parse_fraction,
        "a fraction (0.75) or a percentage (75%)",
        "memory kept, of balloon_max",
    ),
    "reclaim-order": ("reclaim_order", int, "an integer (lower: reclaimed first)", "reclaim rank"),
    "margin": (
        "margin",
        parse_fraction,
        "a fraction (0.1) or a percentage (10%)",
        "free-memory margin, of balloon_max",
    ),
    "power-off": ("power_off", lambda text: _boolean(text), "a boolean (true/false)", "may be powered off"),
    "migrate": ("migrate", lambda text: _boolean(text), "a boolean (true/false)", "may be migrated to a peer"),
    "description": ("description", str, "a string", "free text for momctl and the logs"),
    "cpu-shares": ("cpu_shares", lambda text: _bounded_int(text, 2, 262144), "an integer 2..262144", "CPU weight"),
    "cpu-guarantee": ("cpu_guarantee", parse_fraction, "a fraction or a percentage", "of its vCPUs, promised"),
    "cpu-cap": ("cpu_cap", parse_fraction, "a fraction or a percentage (0: never)", "vCPU cap under contention"),
    "blkio-weight": ("blkio_weight", lambda text: _bounded_int(text, 100, 1000), "an integer 100..1000", "IO weight"),
    "io-cap-bytes": ("io_cap_bytes", lambda text: _bounded_int(text, 0, 2**53), "bytes/s (0: never)", "disk cap"),
    "io-cap-iops": ("io_cap_iops", lambda text: _bounded_int(text, 0, 2**53), "IO/s (0: never)", "disk cap"),
    "net-inbound": ("net_inbound", lambda text: _bandwidth(text), "average,peak,burst (KiB/s, KiB/s, KiB)", "in"),
    "net-outbound": ("net_outbound", lambda text: _bandwidth(text), "average,peak,burst (KiB/s, KiB/s, KiB)", "out"),
}


def _bounded_int(text: str, low: int, high: int) -> int:
    value = int(text.strip())
    if not low <= value <= high:
        raise ValueError(f"'{text.strip()}' is outside {low}..{high}")
    return value


def _bandwidth(text: str) -> tuple[int, int, int]:
    parts = [part.strip() for part in text.replace(",", " ").split()]
    if len(parts) != 3:
        raise ValueError(f"'{text.strip()}' is not three numbers: average, peak, burst")
    average, peak, burst = (_bounded_int(part, 0, 2**32 - 1) for part in parts)
    return average, peak, burst

_BOOLEANS = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}


def _boolean(text: str) -> bool:
    return _BOOLEANS[text.strip().lower()]


def parse_class_sections(
    sections: Mapping[str, Mapping[str, str]], where: Callable[[str, str], str]
) -> tuple[dict[str, SlaClass], list[str]]:
    """The class table: the shipped classes, changed and extended by ``[sla-class NAME]``.

    :param sections: section name (``"sla-class gold"``) -> its raw keys
    :param where: ``where(section, key)`` names the file a key came from
    :returns: the table and the warnings (unknown keys)
    :raises ConfigError: a bad class name or value, naming the file, section and key
    """
    table = dict(DEFAULT_CLASSES)
    warnings: list[str] = []
    for section, keys in sections.items():
        name = section[len(CLASS_SECTION_PREFIX) :].strip()
        if not _CLASS_NAME.match(name):
            raise ConfigError(
                f"{where(section, '')}: [{section}]: class name {name!r} must be 1-32 lower-case letters,"
                " digits, '-' or '_', starting with a letter"
            )
        # a new class starts from standard's values; a shipped one from its own
        sla_class = table.get(name) or replace(DEFAULT_CLASSES[DEFAULT_CLASS], name=name, description="")
        changes: dict[str, object] = {}
        for key, text in keys.items():
            spec = CLASS_KEYS.get(key)
            if spec is None:
                warnings.append(f"unknown option '{key}' in section '{section}' of '{where(section, key)}' (ignored)")
                continue
            attr, convert, expected, _ = spec
            try:
                changes[attr] = convert(text)
            except (ValueError, KeyError) as error:
                reason = f" ({error})" if isinstance(error, ValueError) and str(error).startswith("'") else ""
                raise ConfigError(
                    f"{where(section, key)}: [{section}] {key} = {text!r}: expected {expected}{reason}"
                ) from None
        if name in PROTECTED_CLASSES and (changes.get("power_off") or changes.get("migrate")):
            key = "power-off" if changes.get("power_off") else "migrate"
            raise ConfigError(
                f"{where(section, key)}: [{section}] {key} = {keys[key]!r}: class {name} is never powered off"
                " or migrated (README 'Lifecycle actions')"
            )
        table[name] = replace(sla_class, **changes)  # type: ignore[arg-type]
    return table, warnings
