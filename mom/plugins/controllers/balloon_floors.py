"""Safety floors under every policy: the clamp of one balloon target (pure functions).

The Balloon controller (:mod:`mom.plugins.controllers.balloon`) passes each target a
policy sets through :func:`clamp_target` before it reaches the hypervisor.  A target is
raised to the guest's floor, the largest of

- ``balloon_min`` (the hypervisor's guarantee),
- the SLA guarantee (``sla_guarantee``, optional: none by default),
- ``min-guest-memory`` (an absolute minimum, never above the guest's maximum),
- what the guest uses now (``mem_available`` minus ``mem_free`` when the hypervisor
  reports it, as vdsm does, else minus ``mem_unused``, libvirt's MemFree) plus
  ``min-guest-free``; a guest without memory statistics is never shrunk (its floor is
  its current size: no inflating blind);

lowered to ``balloon_max``, and moved by at most the change cap (a share of the
guest's maximum) from its current size in one cycle, except that a target is always
raised to the floor: giving memory back never hurts a guest.  All sizes are KiB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

from mom.errors import MomError

__all__ = [
    "FloorSettings",
    "GuestSizes",
    "Clamp",
    "InvalidTarget",
    "NoBalloonInfo",
    "check_target",
    "used_memory",
    "floor_of",
    "clamp_target",
    "REASONS",
]

#: every bound that can change a target, as :attr:`Clamp.reasons` names it
REASONS = (
    "balloon_min",
    "sla_guarantee",
    "min-guest-memory",
    "in-use",
    "no-memory-stats",
    "balloon_max",
    "change-cap",
)


class InvalidTarget(MomError, ValueError):
    """A policy set a balloon target that no clamp can make sense of (negative, NaN, a string)."""


class NoBalloonInfo(MomError):
    """The guest reports no ``balloon_cur`` or ``balloon_max``: nothing can be set safely."""


@dataclass(frozen=True)
class FloorSettings:
    """The floors' knobs (``[main]`` keys in :mod:`mom.config`)."""

    min_guest_memory: int = 262144  #: KiB, ``min-guest-memory``
    min_guest_free: int = 65536  #: KiB above what the guest uses, ``min-guest-free``
    max_change_percent: float = 10.0  #: of balloon_max per cycle, ``balloon-max-change-percent``


@dataclass(frozen=True)
class GuestSizes:
    """What the clamp reads of one guest (KiB; None when not reported)."""

    balloon_cur: int | None
    balloon_max: int | None
    balloon_min: int | None = None
    sla_guarantee: int | None = None
    used: int | None = None  #: see :func:`used_memory`


@dataclass(frozen=True)
class Clamp:
    """The outcome for one target: what was asked, what is set, and which bounds acted."""

    requested: int
    target: int
    floor: int
    cap: int
    reasons: tuple[str, ...]  #: the bounds that changed the target, in :data:`REASONS` order

    @property
    def clamped(self) -> bool:
        return bool(self.reasons)


def check_target(value: Any) -> int:
    """The policy's ``balloon_target`` as whole KiB; :class:`InvalidTarget` if impossible.

    Numbers only (``True`` and strings are policy mistakes, not sizes); not negative,
    NaN or infinite.  0 is possible: the floors then raise it.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidTarget(f"balloon_target {value!r} is not a number (a {type(value).__name__})")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise InvalidTarget(f"balloon_target {value!r} is not a finite number")
    if number < 0:
        raise InvalidTarget(f"balloon_target {value!r} is negative")
    return int(value)


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return int(value)


def used_memory(stats: Any) -> int | None:
    """KiB the guest uses now, from its newest memory statistics; None if unknown.

    ``mem_available`` is the guest's MemTotal (it shrinks with the balloon).  vdsm also
    reports ``mem_free`` (MemFree + Buffers + Cached: the page cache is reclaimable);
    libvirt only ``mem_unused`` (MemFree), so there the page cache counts as used, which
    errs on the guest's side.
    """
    total = _number(stats.get("mem_available"))
    free = _number(stats.get("mem_free"))
    if free is None:
        free = _number(stats.get("mem_unused"))
    if total is None or free is None or total <= 0:
        return None
    return max(0, total - free)


def floor_of(guest: GuestSizes, settings: FloorSettings) -> tuple[int, tuple[str, ...]]:
    """The guest's floor (KiB, at most ``balloon_max``) and the bounds that make it."""
    if guest.balloon_max is None or guest.balloon_cur is None:
        raise NoBalloonInfo("no balloon_cur/balloon_max statistics")
    maximum = guest.balloon_max
    candidates = [
        ("balloon_min", guest.balloon_min or 0),
        ("sla_guarantee", guest.sla_guarantee or 0),
        ("min-guest-memory", min(settings.min_guest_memory, maximum)),
    ]
    if guest.used is None:
        candidates.append(("no-memory-stats", guest.balloon_cur))
    else:
        candidates.append(("in-use", guest.used + settings.min_guest_free))
    floor = min(max(value for _, value in candidates), maximum)
    return floor, tuple(name for name, value in candidates if value >= floor and value > 0)


def _capped_step(distance: int, cap: int) -> int:
    """The step towards a target ``distance`` away (more than ``cap``): the cap, or half
    the distance when a full step would leave less than a cap.  So the last two steps are
    at least half a cap each and the last one lands on the target: a plain cap can leave
    a remainder too small for the policy to ask for again (vdsm's asks for no change under
    0.25 % of the guest's size), the guest stuck just short of the size it was asked for."""
    return cap if distance >= 2 * cap else -(-distance // 2)


def clamp_target(requested: int, guest: GuestSizes, settings: FloorSettings) -> Clamp:
    """``requested`` (a :func:`check_target` result) between the guest's floor and maximum,
    and within the change cap of its current size (floors win over the cap)."""
    floor, floor_names = floor_of(guest, settings)
    maximum = guest.balloon_max
    current = guest.balloon_cur
    assert maximum is not None and current is not None  # floor_of checked
    cap = max(1, int(maximum * settings.max_change_percent / 100.0))
    reasons: list[str] = []
    target = requested
    if target > maximum:
        target = maximum
        reasons.append("balloon_max")
    if target < floor:
        target = floor
        reasons.extend(floor_names)
    if target < current - cap:
        target = current - _capped_step(current - target, cap)
        reasons.append("change-cap")
    elif target > max(current + cap, floor):
        # upwards the floors win over the cap
        target = floor if floor >= current + cap else max(floor, current + _capped_step(target - current, cap))
        reasons.append("change-cap")
    ordered = tuple(name for name in REASONS if name in reasons)
    return Clamp(requested, target, floor, cap, ordered)
