"""Type stubs of the VM's values (mom/_fastpath/values.pyx): C-level only, no Python names."""
