"""Policies reading entities: dotted names, rule methods, and the sandbox around them."""

from __future__ import annotations

import pytest

from mom.errors import EntityError, PolicyError
from mom.offline import entity_from_spec
from tests.dsl.same import same


@pytest.fixture
def host():  # type: ignore[no-untyped-def]
    return entity_from_spec(
        {
            "name": "host",
            "properties": {"interval": 5},
            "stats": [{"mem_free": 100, "mem_available": 1000}, {"mem_free": 300, "mem_available": 1000}],
        }
    )


@pytest.fixture
def guests():  # type: ignore[no-untyped-def]
    return [
        entity_from_spec({"name": "g1", "stats": [{"balloon_cur": 10, "mem_unused": 4}]}),
        entity_from_spec({"name": "g2", "stats": [{"balloon_cur": 20, "mem_unused": None}]}),
    ]


def run(impl, text, host, guests):  # type: ignore[no-untyped-def]
    return impl.compile_policy(text).evaluate(host, guests)


CASES = [
    ("Host.mem_free", [300]),
    ('(Host.Stat "mem_free")', [300]),
    ('(Host.StatAvg "mem_free")', [200.0]),
    ('(Host.Prop "interval")', [5]),
    ('(Host.Prop "name")', ["host"]),
    ("Host.mem_free.real", [300]),  # only one level of attributes is followed
    ("(with Guests g g.balloon_cur)", [[10, 20]]),
    ("(with Guests g g.mem_unused)", [[4, None]]),  # None attributes are values
    ('(with Guests g (g.StatAvg "mem_unused"))', [[4.0, 0.0]]),
    ('(with Guests g (g.Control "balloon_target" (* 2 g.balloon_cur)))', [[None, None]]),
    ('(Host.SetVar "v" 7) (Host.GetVar "v") (Host.GetVar "w")', [None, 7, None]),
    # a binding without the attribute is skipped for an outer one that has it
    ("(defvar e 1) (let ((e Host)) (let ((e 5)) e.mem_free))", [1, 300]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reading_entities(impl, host, guests, text, expected):  # type: ignore[no-untyped-def]
    assert same(run(impl, text, host, guests), expected)


def test_controls_land_on_entities(impl, host, guests):  # type: ignore[no-untyped-def]
    run(impl, '(with Guests g (g.Control "balloon_target" (* 2 g.balloon_cur))) (Host.Control "ksm_run" 1)', host, guests)
    assert [g.controls for g in guests] == [{"balloon_target": 20}, {"balloon_target": 40}]
    assert host.controls == {"ksm_run": 1}
    assert guests[0].GetControl("balloon_target") == 20


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("Host.nope", PolicyError, "undefined symbol Host.nope on line 1"),
        ("(Host.Nope 1)", KeyError, "'Host.Nope'"),
        ('(Host.Stat "nope")', KeyError, "\"Field 'nope' is not declared in any collector.\""),
        ('(Host.StatAvg "nope")', KeyError, "\"Field 'nope' is not declared in any collector.\""),
        ('(Host.Prop "nope")', KeyError, "'nope'"),
    ],
)
def test_entity_errors(impl, host, guests, text, error, message):  # type: ignore[no-untyped-def]
    with pytest.raises(error) as caught:
        run(impl, text, host, guests)
    assert type(caught.value) is error
    assert (repr(caught.value.args[0]) if error is KeyError else str(caught.value)) == message


def test_statavg_without_samples_is_an_entity_error(impl):  # type: ignore[no-untyped-def]
    empty = entity_from_spec({"name": "e", "stats": []}, fields=["x"])
    with pytest.raises(EntityError, match="Statistic 'x' not available"):
        run(impl, '(Host.StatAvg "x")', empty, [])


# ## The sandbox: a policy reaches our entities' data and rule methods, nothing else
# (foreign objects: tests/dsl/test_foreign_objects.py)

ESCAPES = [
    "Host.__class__",
    "Host.__dict__",
    "Host._finalize",
    "Host._policy_values",
    "Host.monitor",
    "Host.properties",
    "Host.statistics",
    "(defvar f Host.Stat) f.__func__",
    "(defvar f Host.Stat) f.__self__",
    "(defvar f Host.Stat) f.__globals__",
    '(defvar s "abc") s.__class__',
    '(defvar s "abc") s.format',  # plain values show their public attributes (upstream's), not these
    "(defvar l (with Guests g g)) l.__class__",
    "abs.__self__",
    "debug.__globals__",
    "Guests.__class__",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_attribute_escapes_are_undefined(impl, host, guests, text):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="undefined symbol"):
        run(impl, text, host, guests)


@pytest.mark.parametrize(
    "text",
    [
        '(Host._set_property "x" 1)',
        "(Host.__init__)",
        "(Host._finalize)",
        '(Host.__setattr__ "x" 1)',
        '(defvar s "abc") (s.format_map 1)',
        '(Guests.__class__ 1)',
    ],
)
def test_calls_of_private_methods_find_nothing(impl, host, guests, text):  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError):
        run(impl, text, host, guests)
    assert "x" not in host.properties


def test_upstream_remote_code_execution_chain_is_closed(impl, host, guests):  # type: ignore[no-untyped-def]
    # spec 5.7: on upstream this walks to __import__ and calls os.getpid()
    text = (
        '(defvar f Host.Stat)(defvar fn f.__func__)(defvar g fn.__globals__)'
        '(defvar b (g.get "__builtins__"))(defvar imp (b.get "__import__"))(defvar os (imp "os"))(os.getpid)'
    )
    with pytest.raises(PolicyError) as caught:
        run(impl, text, host, guests)
    assert str(caught.value) == "undefined symbol f.__func__ on line 1"


def test_io_tune_records_expose_limits_and_setters(impl):  # type: ignore[no-untyped-def]
    guest = entity_from_spec(
        {
            "name": "g",
            "stats": [{"x": 1}],
            "io_tune": [{"name": "vda", "path": "/p", "guaranteed": {}, "maximum": {"total_bytes_sec": 9}, "current": {}}],
        }
    )
    text = (
        "(with guest.io_tune t {(defvar m t.maximum) (t.setTotalBytesSec m.total_bytes_sec) "
        "(t.setReadIopsSec m.total_bytes_sec) t.name})"
    )
    program = impl.compile_policy(text)
    for _ in range(2):  # the fast path's second run knows the records' types already
        assert program.execute({"guest": guest}) == [["vda"]]
    tune = guest.io_tune[0]
    assert tune.ioTune() == {"name": "vda", "path": "/p", "ioTune": {"total_bytes_sec": 9, "read_iops_sec": 9}}
    # one level only: t.maximum.total_bytes_sec is t.maximum
    (bags,) = impl.compile_policy("(with guest.io_tune t t.maximum.total_bytes_sec)").execute({"guest": guest})
    assert bags == [tune.maximum]
    with pytest.raises(PolicyError, match="undefined symbol m._policy_values"):
        impl.compile_policy("(with guest.io_tune t (defvar m t.maximum)) m._policy_values").execute({"guest": guest, "m": 1})


@pytest.mark.parametrize("text", ["(with Guests g g.x) (Host.Stat \"x\")", '(with Guests g (g.Stat "nope"))'])
def test_an_evaluation_keeps_no_reference_to_the_tables(impl, text):  # type: ignore[no-untyped-def]
    """The fast path holds each table it reads while it runs; it must let go after,
    whether the policy succeeded or failed."""
    import sys

    from mom.runtime.table import GuestSet, SampleTable

    table = SampleTable(["x"], history=2)
    rows = [table.add_row(name) for name in ("host", "g1", "g2")]
    for row in rows:
        table.append(row, {"x": row})
    host, guests = table.view(rows[0]), GuestSet(table, rows[1:])
    program = impl.compile_policy(text)
    for row in rows:
        table.view(row)  # views are cached on the table and refer to it: make them first
    before = sys.getrefcount(table)
    for _ in range(3):
        try:
            program.evaluate(host, guests)
        except KeyError:
            pass  # the traceback goes with the except block
    assert sys.getrefcount(table) == before


def _io_guest():  # type: ignore[no-untyped-def]
    return entity_from_spec(
        {
            "name": "g",
            "stats": [{"x": 1}],
            "io_tune": [{"name": "vda", "path": "/p", "guaranteed": {}, "maximum": {"total_bytes_sec": 9}, "current": {}}],
        }
    )


def test_io_tune_slots_are_read_at_each_evaluation(impl):  # type: ignore[no-untyped-def]
    """The fast path reads a record's slots (its limits, its current dict) in place:
    a slot given a new value between two evaluations is seen by the second."""
    from mom.plugins.collectors.io_tune import IoTuneVals

    guest = _io_guest()
    tune = guest.io_tune[0]
    program = impl.compile_policy("(with guest.io_tune t {(defvar m t.maximum) (t.setTotalBytesSec m.total_bytes_sec)})")
    program.execute({"guest": guest})
    first = tune._current
    assert first == {"total_bytes_sec": 9}
    tune._current = {}
    tune._policy_values["maximum"] = IoTuneVals({"total_bytes_sec": 11})
    program.execute({"guest": guest})
    assert tune._current == {"total_bytes_sec": 11}
    assert first == {"total_bytes_sec": 9}  # the dict the slot held before is left alone
    tune.maximum._policy_values = {"total_bytes_sec": 12}  # the bag's own slot, replaced
    tune._policy_values["maximum"] = tune.maximum
    program.execute({"guest": guest})
    assert tune._current == {"total_bytes_sec": 12}


def test_an_empty_io_tune_slot_fails_as_the_reference_does(impl):  # type: ignore[no-untyped-def]
    from mom.dsl import program as reference

    outcomes = []
    for implementation in (reference, impl):
        guest = _io_guest()
        del guest.io_tune[0]._current
        with pytest.raises(AttributeError) as caught:
            implementation.compile_policy("(with guest.io_tune t (t.setTotalBytesSec 1))").execute({"guest": guest})
        outcomes.append(str(caught.value))
    assert outcomes[0] == outcomes[1]
