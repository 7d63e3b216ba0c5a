"""oVirt MOM import path ``mom.Policy.Policy``. Implementation: :mod:`mom.runtime.policy_store`."""

from mom.runtime.policy_store import DEFAULT_POLICY_NAME
from mom.runtime.policy_store import PolicyStore as Policy

__all__ = ["Policy", "DEFAULT_POLICY_NAME"]
