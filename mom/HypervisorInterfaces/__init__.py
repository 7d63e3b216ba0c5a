"""oVirt MOM import path ``mom.HypervisorInterfaces``: ``<name>Interface`` modules.

Extends over ``sys.path`` like :mod:`mom.Collectors`.  Implementations:
:mod:`mom.plugins.hypervisors`.
"""

from mom.plugins.site import extend_plugin_path

__path__ = extend_plugin_path(__path__, "HypervisorInterfaces")
