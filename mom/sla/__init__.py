"""Service levels for guests: classes, priorities, guarantees, and the memory allocator.

The allocator's reference is :mod:`mom.sla.allocator`; its Cython twin is
``mom._fastpath.allocator``, chosen in :mod:`mom._impl` (``_impl.allocator``).
"""
