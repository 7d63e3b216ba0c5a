"""oVirt MOM import path ``mom.Policy.Policy``. Implementation: :mod:`mom.dsl.store`."""

from mom.dsl.store import DEFAULT_POLICY_NAME
from mom.dsl.store import PolicyStore as Policy

__all__ = ["Policy", "DEFAULT_POLICY_NAME"]
