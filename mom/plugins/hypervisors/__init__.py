"""Hypervisor interfaces: how MOM lists guests, reads their stats and applies controls."""
