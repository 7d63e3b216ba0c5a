"""oVirt MOM import path ``mom.HypervisorInterfaces``: ``<name>Interface`` modules.

Extends over ``sys.path`` like :mod:`mom.Collectors`.  Implementations:
:mod:`mom.plugins.hypervisors`.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
