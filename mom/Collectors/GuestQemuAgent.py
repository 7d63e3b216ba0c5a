"""oVirt MOM import path ``mom.Collectors.GuestQemuAgent``. Implementation: :mod:`mom.plugins.collectors.guest_qemu_agent`."""

from mom.plugins.collectors.guest_qemu_agent import GuestQemuAgent

__all__ = ["GuestQemuAgent"]
