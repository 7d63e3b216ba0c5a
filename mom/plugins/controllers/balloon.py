"""Balloon controller: sets each guest's balloon to the policy's ``balloon_target``."""

from __future__ import annotations

from typing import Any, Iterable

from mom.plugins.controllers.base import Controller

__all__ = ["Balloon"]


class Balloon(Controller):
    """Reads the guest control ``balloon_target`` (KiB) and calls ``setVmBalloonTarget``.

    The call is made even when the value is unchanged: thresholds belong in the policy.
    """

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        self.for_each_guest(self.guests_with(guests, "balloon_target"), self.process_guest)

    def process_guest(self, guest: Any) -> None:
        target = guest.GetControl("balloon_target")
        if target is None:
            return
        target = int(target)
        name = guest.properties.get("name")
        self.logger.info("Ballooning guest:%s from %s to %s", name, getattr(guest, "balloon_cur", None), target)
        self.apply(name, {"balloon_target": target}, "setVmBalloonTarget", guest.Prop("uuid"), target)
