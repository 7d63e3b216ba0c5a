"""The Cython fast path: the policy bytecode VM and its program module.

``program`` (Python) is the twin of :mod:`mom.dsl.program`; the extensions are ``vm``
(the machine: scopes, calls, loops), ``code`` (the bytecode loader), ``rows`` (what an
evaluation reads), ``operators`` and ``values``.  Never import this package to choose
an implementation; ``mom._impl`` does that.
"""
