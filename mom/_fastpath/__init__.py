"""The Cython fast path: the policy bytecode VM (vm) and its program module (program,
the twin of mom.dsl.program).

Never import this package to choose an implementation; ``mom._impl`` does that.
"""
