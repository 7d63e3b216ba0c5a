"""Collectors, controllers and hypervisor interfaces, found by their upstream names."""
