"""The Cython fast path: the policy bytecode VM (vm) and its Python-facing engine.

Never import this package to choose an implementation; ``mom._impl`` does that.
"""
