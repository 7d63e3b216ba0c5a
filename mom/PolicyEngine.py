"""oVirt MOM import path ``mom.PolicyEngine``. Implementation: :mod:`mom.runtime.engine`."""

from mom.runtime.engine import PolicyEngine

__all__ = ["PolicyEngine"]
