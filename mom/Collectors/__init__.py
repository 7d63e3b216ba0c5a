"""oVirt MOM import path ``mom.Collectors``: collectors by upstream name.

The package path extends over ``sys.path``, so a site-local collector written for
upstream (``<dir>/mom/Collectors/MyCollector.py`` with ``<dir>`` on ``PYTHONPATH``)
loads as ``mom.Collectors.MyCollector``.  Implementations: :mod:`mom.plugins.collectors`.
"""

from mom.plugins.site import extend_plugin_path

__path__ = extend_plugin_path(__path__, "Collectors")
