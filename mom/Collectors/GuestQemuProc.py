"""oVirt MOM import path ``mom.Collectors.GuestQemuProc``. Implementation: :mod:`mom.plugins.collectors.guest_qemu_proc`."""

from mom.plugins.collectors.guest_qemu_proc import GuestQemuProc

__all__ = ["GuestQemuProc"]
