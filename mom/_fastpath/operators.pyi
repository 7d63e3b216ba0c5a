"""Type stubs of the VM's operators (mom/_fastpath/operators.pyx): C-level only, no Python names."""
