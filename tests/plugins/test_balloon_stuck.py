"""StuckTracker: no progress towards a target for a while marks a balloon stuck; retries back off."""

from __future__ import annotations

from mom.plugins.controllers.balloon_stuck import MAX_BACKOFF_FACTOR, StuckTracker

MIB = 1024


def tracker():
    return StuckTracker(stuck_after=30, retry_after=100)


def test_a_balloon_that_moves_is_never_stuck():
    t = tracker()
    t.pushed("g", 1000 * MIB, 2000 * MIB, 0)
    for now, size in ((10, 1900), (40, 1800), (70, 1700), (100, 1600)):
        assert t.observe("g", size * MIB, now) is None
        t.pushed("g", 1000 * MIB, size * MIB, now)
    assert t.stuck() == frozenset()


def test_no_progress_for_stuck_after_marks_it_once_then_it_recovers():
    t = tracker()
    t.pushed("g", 1000 * MIB, 2000 * MIB, 0)
    assert t.observe("g", 2000 * MIB, 20) is None
    event = t.observe("g", 2000 * MIB, 30)
    assert (event.kind, event.guest, event.seconds) == ("stuck", "g", 30)
    assert t.stuck() == {"g"}
    assert t.observe("g", 2000 * MIB, 40) is None  # reported once
    event = t.observe("g", 1500 * MIB, 50)
    assert (event.kind, event.seconds) == ("recovered", 20)
    assert t.stuck() == frozenset() and t.marked_total == 1


def test_a_target_reached_ends_the_watch():
    t = tracker()
    t.pushed("g", 1000 * MIB, 1000 * MIB + 100, 0)  # within the tolerance: nothing to watch
    assert t.observe("g", 1000 * MIB, 100) is None
    t.pushed("g", 900 * MIB, 1000 * MIB, 100)
    assert t.observe("g", 900 * MIB, 110) is None
    assert t.observe("g", 900 * MIB, 500) is None
    assert t.stuck() == frozenset()


def test_a_stuck_balloon_is_retried_after_a_doubling_back_off():
    t = tracker()
    t.pushed("g", 1000 * MIB, 2000 * MIB, 0)
    t.observe("g", 2000 * MIB, 30)
    assert not t.may_push("g", 100)
    assert t.may_push("g", 130)  # stuck at 30, retry after 100 s
    t.pushed("g", 1000 * MIB, 2000 * MIB, 130)
    assert t.retries_total == 1
    assert not t.may_push("g", 300)
    assert t.may_push("g", 330)  # then 200 s
    waits = []
    last = 330
    for _ in range(6):
        t.pushed("g", 1000 * MIB, 2000 * MIB, last)
        nxt = last + 1
        while not t.may_push("g", nxt):
            nxt += 1
        waits.append(nxt - last)
        last = nxt
    assert waits[-1] == 100 * MAX_BACKOFF_FACTOR  # capped


def test_gone_guests_are_forgotten():
    t = tracker()
    t.pushed("g", 1000 * MIB, 2000 * MIB, 0)
    t.observe("g", 2000 * MIB, 30)
    t.forget(set())
    assert t.stuck() == frozenset() and t.may_push("g", 31)
