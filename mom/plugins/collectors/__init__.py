"""Collectors: each samples one aspect of the host or of a guest."""
