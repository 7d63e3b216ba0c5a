"""What no policy can override: which guest may be powered off or migrated, and how often.

:func:`refusal` answers, for one request, why it may not run (None: it may).  The
checks, in order: the guest's class (platinum and gold never; otherwise the class
table's ``power-off``/``migrate`` key), ``lifecycle-actions = off``, then the rate
limits: one power-off per ``power-off-interval``, one migration at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from mom.sla.classes import PROTECTED_CLASSES, SlaClass

__all__ = ["Request", "Limits", "refusal", "MODES", "POWER_OFF", "MIGRATE", "RESTORE"]

POWER_OFF = "power-off"
MIGRATE = "migrate"
RESTORE = "restore"
#: [lifecycle] lifecycle-actions
MODES = ("off", "log-only", "on")


@dataclass(frozen=True)
class Request:
    """A policy's request for one guest."""

    guest: str  # its name
    uuid: str
    action: str  # POWER_OFF or MIGRATE
    #: MIGRATE: the peer asked for ('' or "1": any configured peer)
    target: str = ""


@dataclass(frozen=True)
class Limits:
    """The rate limits' state now (monotonic seconds)."""

    now: float
    #: when the last power-off was started (done or dry run); None: never
    last_power_off: float | None
    power_off_interval: float
    power_off_running: bool
    migration_running: bool


def refusal(request: Request, sla_class: SlaClass | None, mode: str, limits: Limits) -> str | None:
    """Why ``request`` may not run now, or None."""
    if sla_class is None:
        return "the guest's SLA class is not known (add the GuestSla collector)"
    name = sla_class.name
    if name in PROTECTED_CLASSES:
        return f"class {name} is never powered off or migrated"
    if request.action == POWER_OFF and not sla_class.power_off:
        return f"class {name} does not allow power-off"
    if request.action == MIGRATE and not sla_class.migrate:
        return f"class {name} does not allow migration"
    if mode == "off":
        return "lifecycle-actions = off"
    if request.action == POWER_OFF:
        if limits.power_off_running:
            return "a power-off is still running"
        if limits.last_power_off is not None:
            wait = limits.last_power_off + limits.power_off_interval - limits.now
            if wait > 0:
                return f"one power-off per {limits.power_off_interval:g} s (next in {wait:.0f} s)"
    if request.action == MIGRATE and limits.migration_running:
        return "a migration is still running"
    return None
