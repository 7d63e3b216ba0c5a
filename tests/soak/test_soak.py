"""A simulated hour at 1,000 guests through momd's code (the day-long form: ``make soak``).

Every tick checks the model's invariants (a broken one raises); the daemon must fail
no policy cycle and log no error, and its memory (tracemalloc, by the daemon's code)
must stop growing once the run is warm: over the second half hour it may move by
sampling noise, not by a leak's steady climb.
"""

from __future__ import annotations

from tests.soak.soak import soak


def test_an_hour_at_a_thousand_guests():
    result = soak(duration=3600, samples=12, warm_up=0.5)
    run = result.run
    assert run.policy_cycles == 240 and run.policy_failures == 0
    assert run.errors == {}, run.error_samples
    print(result.report())
    half = len(result.daemon_bytes) // 2
    grown = result.daemon_bytes[-1] - result.daemon_bytes[half]
    assert grown < 256 * 1024, result.report()  # a leak of even 1 KiB per guest per cycle would be 30 MiB here
