"""oVirt MOM import path ``mom.Controllers``: controllers by upstream name.

Extends over ``sys.path`` like :mod:`mom.Collectors`.  Implementations:
:mod:`mom.plugins.controllers`.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
