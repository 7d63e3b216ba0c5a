"""oVirt MOM import path ``mom.Controllers``: controllers by upstream name.

Extends over ``sys.path`` like :mod:`mom.Collectors`.  Implementations:
:mod:`mom.plugins.controllers`.
"""

from mom.plugins.site import extend_plugin_path

__path__ = extend_plugin_path(__path__, "Controllers")
