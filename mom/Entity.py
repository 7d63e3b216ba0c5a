"""oVirt MOM import path ``mom.Entity``. Implementation: :mod:`mom.runtime.entity`."""

from mom.errors import EntityError
from mom.runtime.entity import Entity

__all__ = ["Entity", "EntityError"]
