"""Controllers: each turns the controls a policy set into hypervisor calls."""
