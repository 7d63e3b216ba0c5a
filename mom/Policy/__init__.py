"""oVirt MOM import path ``mom.Policy``. Implementation: :mod:`mom.dsl`."""

from mom.Policy import Parser, Policy

__all__ = ["Parser", "Policy"]
