"""Foreign objects in a policy's scope behave as upstream's (issue 16), inside the sandbox.

An integrator of upstream MOM puts plain Python objects on the evaluator's stack
(``evaluator.stack.set('Entity', obj, True)``); a policy reads their public attributes
and properties and calls their public methods.  Strings, numbers and the lists a
``with`` returns are foreign objects too.  The sandbox stays: no ``_`` name, our own
entities show only what they declare, nothing that reaches code or frames.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import pytest

from mom.errors import PolicyError
from mom.offline import entity_from_spec
from mom.Policy import Parser
from tests.dsl.same import same


class Plain:
    """An integrator's object: declares nothing to the sandbox."""

    klass = dict  # a type: never handed out
    runner = staticmethod(os.popen)  # a module's Python function: never handed out
    partial = functools.partial(os.system, "true")  # nor a partial of one
    module = os  # a module: never handed out
    evaluate = eval  # a function of the builtins module: never handed out

    def __init__(self) -> None:
        self.a = 12
        self.b = 7
        self.items = [1, 2]
        self._secret = "s"

    def mod(self, x: int, y: int) -> int:
        """A method that changes the object: upstream lets a policy call it."""
        self.a = x % y
        return self.a

    @property
    def num(self) -> None:
        return None

    def gen(self) -> Any:
        yield 1

    def trace(self) -> Any:
        try:
            raise ValueError("x")
        except ValueError:
            return sys.exc_info()[2]

    def frame(self) -> Any:
        return sys._getframe()


class Named:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


def run(impl: Any, text: str, entity: Plain | None = None) -> list[Any]:
    bindings = {"Entity": entity or Plain(), "guest": entity or Plain(), "Guests": [Named("g1"), Named("g2")]}
    return impl.compile_policy(text).execute(bindings)


# the table: policy, upstream's result
TABLE = [
    ("Entity.a", [12]),
    ("(Entity.mod Entity.b 4) Entity.a", [3, 3]),
    ("guest.num (== guest.num nil) (valid guest.num)", [None, True, False]),
    ("(with Guests g (g.name))", [["g1", "g2"]]),
    ("(let ((l (with Guests g 1))) (l.count 1))", [2]),
    ('(let ((s "abc")) (s.upper))', ["ABC"]),
    ("(let ((x 5)) x.real)", [5]),
    # and around it
    ('(defvar s "a,b") (s.split ",")', ["a,b", ["a", "b"]]),
    ("(defvar x 2.5) (x.is_integer) (x.as_integer_ratio)", [2.5, False, (5, 2)]),
    ("(defvar t (== 1 1)) t.real", [True, 1]),
    ("(defvar x 255) (x.bit_length)", [255, 8]),
    # an outer binding that has the attribute, past an inner one without it
    ("(let ((Entity 5)) Entity.a)", [12]),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_foreign_objects_behave_as_upstream(impl, text, expected):  # type: ignore[no-untyped-def]
    assert same(run(impl, text), expected)


def test_a_method_call_changes_the_object(impl):  # type: ignore[no-untyped-def]
    entity = Plain()
    assert run(impl, "(Entity.mod Entity.b 4)", entity) == [3]
    assert entity.a == 3


def test_parser_api_with_an_object_on_the_stack():
    """Upstream's own way: the object set on the evaluator's stack (the reference)."""
    evaluator = Parser.Evaluator()
    entity = Plain()
    evaluator.stack.set("Entity", entity, True)
    assert Parser.eval(evaluator, "Entity.a (Entity.mod Entity.b 4) Entity.a") == [12, 3, 3]
    assert entity.a == 3


# ## The sandbox stays

SEALED = [
    "Entity._secret",
    "Entity.__dict__",
    "Entity.__class__",
    "Entity.klass",
    "Entity.module",
    "Entity.evaluate",
    '(defvar s "{0.__class__}") s.format',
    '(defvar s "{0.__class__}") s.format_map',
    "(defvar m Entity.mod) m.__func__",
    "(defvar m Entity.mod) m.__self__",
    "(defvar g (Entity.gen)) g.gi_frame",
    "(defvar g (Entity.gen)) g.gi_code",
    "(defvar t (Entity.trace)) t.tb_frame",
    "(defvar t (Entity.trace)) t.tb_next",
    "(defvar f (Entity.frame)) f.f_globals",
    "(defvar f (Entity.frame)) f.f_back",
    "(defvar f (Entity.frame)) f.f_lineno",  # nothing at all of a frame
    "(defvar p (Entity.mod 1 2)) p.__class__",
    '(defvar s "a") s.center',  # a result of any asked size: the size limits hold
    "(defvar x 1) x.to_bytes",
    # ... and what grows a value past the size limits from small arguments
    '(defvar s "a") s.replace',
    '(defvar s ",") s.join',
    "(defvar l Entity.items) l.append",
    "(defvar l Entity.items) l.extend",
    "(defvar l Entity.items) l.insert",
    # a plain function or a partial kept on an integrator's object: never handed out
    "Entity.runner",
    "Entity.partial",
    # our own objects show only what they declare
    "Host.monitor",
    "Host.statistics",
    "Host.properties",
    "(defvar f Host.Stat) f.__func__",
]


@pytest.mark.parametrize("text", SEALED)
def test_what_reaches_code_or_frames_stays_undefined(impl, text):  # type: ignore[no-untyped-def]
    host = entity_from_spec({"name": "host", "stats": [{"mem_free": 1}]})
    with pytest.raises(PolicyError, match="undefined symbol"):
        impl.compile_policy(text).execute({"Entity": Plain(), "Host": host})


@pytest.mark.parametrize(
    "text",
    [
        '(defvar s "{0.__class__}") (s.format 1)',
        '(defvar s "{0.__class__}") (s.format_map 1)',
        "(Entity.klass 1)",
        '(Entity.evaluate "1")',
        "(Entity._secret)",
        '(Entity.module.system "true")',
    ],
)
def test_calls_of_what_is_sealed_find_nothing(impl, text):  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError):
        impl.compile_policy(text).execute({"Entity": Plain()})


def test_a_type_or_module_on_the_stack_shows_nothing(impl):  # type: ignore[no-untyped-def]
    # an integrator binding a module itself still gets nothing through it
    for text in ["os.system", "str.mro", "str.maketrans"]:
        with pytest.raises(PolicyError, match="undefined symbol"):
            impl.compile_policy(text).execute({"os": os, "str": str})
