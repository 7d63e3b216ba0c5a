"""mom.dsl.syntax, the front end: what each form is, what a malformed one raises and
when, and the import order it leaves in mom/dsl."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mom.dsl import syntax as s
from mom.dsl.reader import read
from mom.errors import PolicyError
from tests.dsl.cases import BINDINGS


def node(text: str) -> s.Expr:
    [form] = read(text).forms
    return s.expression(form)


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("12", s.Literal, {"value": 12}),
        ("0x10", s.Literal, {"value": 16}),
        ("1e3", s.Literal, {"value": 1000.0}),
        ('"a b"', s.Literal, {"value": "a b"}),
        ("nil", s.Literal, {"value": None}),
        ("x", s.Symbol, {"name": "x", "line": 1}),
        ("Host.mem.free", s.Attribute, {"name": "Host.mem.free", "head": "Host", "attr": "mem", "sealed": False}),
        ("x._secret", s.Attribute, {"attr": "_secret", "sealed": True}),
        ("x.", s.Attribute, {"attr": "", "sealed": True}),
        ("0o9", s.BadNumber, {"message": "invalid literal for int() with base 0: '0o9'"}),
        ("+", s.BadToken, {"kind": "operator", "line": 1}),
        ("()", s.EmptyForm, {}),
        ("((f) 1)", s.FormHead, {}),
        ('("f" 1)', s.TokenHead, {"kind": "string"}),
        ("(f 1 x)", s.Call, {"name": "f"}),
        ("(abs -1)", s.Call, {"name": "abs"}),
        ("(Host.Stat \"x\")", s.MethodCall, {"name": "Host.Stat", "head": "Host", "attr": "Stat", "sealed": False}),
        ("(eval 1 2)", s.Eval, {"name": "eval"}),
        ("{1 2}", s.Eval, {"name": "eval", "line": None}),
        ("{}", s.EmptyEval, {"name": "eval"}),
        ("(+ 1 2)", s.Binary, {"name": "add"}),
        ("(shl 1 2)", s.Binary, {"name": "shl"}),
        ("(not 1)", s.Not, {"name": "not"}),
        ("(and 1 2 3)", s.Variadic, {"name": "and"}),
        ("(valid)", s.Variadic, {"name": "valid"}),
        ("(if 1 2 3)", s.If, {"name": "if"}),
        ("(defvar x 1)", s.Defvar, {"name": "defvar"}),
        ("(setq x 1)", s.Set, {"name": "setq"}),
        ("(defun f (a) a)", s.Def, {"name": "defun"}),
        ("(let ((a 1)) a)", s.Let, {"name": "let", "failure": None}),
        ("(let a 1)", s.LetWithoutList, {"name": "let"}),
        ("(with Guests g 1)", s.With, {"name": "with"}),
        ("(+ 1)", s.BadCall, {"name": "add", "message": "arity mismatch in doc parsing of 'c_add' on line 1"}),
        ("(defvar 1 2)", s.BadCall, {"message": "malformed expression on line 1"}),
    ],
)
def test_each_form_is_classified_once(text: str, kind: type, fields: dict[str, object]) -> None:
    found = node(text)
    assert type(found) is kind
    for name, value in fields.items():
        assert getattr(found, name) == value, name


def test_nodes_keep_the_readers_token_or_form_and_its_children():
    found = node("(if (< x 1) (f x) {})")
    assert isinstance(found, s.If)
    assert found.origin.offset == 0 and found.origin.end == 21
    assert isinstance(found.condition, s.Binary) and found.condition.origin.offset == 4
    assert [type(arg) for arg in found.arguments()] == [s.Binary, s.Call, s.EmptyEval]
    assert found.arguments() == [found.condition, found.then, found.otherwise]
    # what a variable named like the builtin would be called with: the same forms, read anew
    assert [type(arg) for arg in s.Compound.arguments(found)] == [type(arg) for arg in found.arguments()]


def test_let_keeps_the_bindings_before_its_first_malformed_one():
    found = node("(let ((a 1) (b 2) (3 4) (c 5)) a)")
    assert isinstance(found, s.Let)
    assert [target.name for target, _ in found.bindings] == ["a", "b"]
    assert isinstance(found.failure, s.NotAName)
    assert type(found.failure.error()) is PolicyError


def test_def_params_are_names_or_the_error_binding_them_raises():
    found = node("(def f (a (b) 1) 0)")
    assert isinstance(found, s.Def) and found.params is not None
    first, second, third = found.params
    assert isinstance(first, s.Symbol) and first.name == "a"
    assert isinstance(second, s.NotAName) and isinstance(third, s.NotAName)
    assert str(second.error()) == "'list' object has no attribute 'kind'" and type(second.error()) is AttributeError
    assert str(third.error()) == "Expecting list of (symbol value) in let"
    assert node("(def f x 0)").params is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("0o9", ValueError, "invalid literal for int() with base 0: '0o9'"),
        ("+", PolicyError, 'Unexpected token type "operator" on line 1'),
        ("()", IndexError, "list index out of range"),
        ("((f) 1)", PolicyError, "Expected simple token as arg 1"),
        ("(1 2)", PolicyError, 'Unexpected token type in arg 1 "number" on line 1'),
        ("{}", IndexError, "list index out of range"),
        ("(if 1)", PolicyError, "arity mismatch in doc parsing of 'c_if' on line 1"),
        ("(let 1 2)", PolicyError, "Expecting list as arg 1 in let"),
    ],
)
def test_a_malformed_form_raises_a_fresh_upstream_error_each_time(text: str, error: type, message: str) -> None:
    found = node(text)
    assert isinstance(found, s.Malformed)
    first, second = found.error(), found.error()
    assert type(first) is error and str(first) == message
    assert first is not second


MALFORMED = ["0o9", "+", "()", "((f) 1)", "(1 2)", "{}", "(if 1)", "(let 1 2)", "(let ((1 2)) 3)", "(let (((a) 1)) 3)",
             "(def f (1) 0) (f 1)", "(def f x 0) (f 1)", "(defvar (x) 1)", "(x._y 1)", "x._y"]  # fmt: skip


@pytest.mark.parametrize("text", MALFORMED)
def test_a_malformed_form_fails_only_when_it_is_evaluated(impl, text: str) -> None:  # type: ignore[no-untyped-def]
    """Upstream raises when it evaluates a form: in a branch not taken, or in a
    function never called, a malformed form changes nothing, deep or not."""
    quiet = f"(if 0 (+ 1 (not {{{text}}})) 7) (def never () (let ((a {{{text}}})) a)) (with empty e {{{text}}})"
    assert impl.compile_policy(quiet).execute(dict(BINDINGS)) == [7, "never", []]
    with pytest.raises(Exception) as caught:
        impl.compile_policy(f"(defvar before 1) (if 1 (+ 1 {{{text}}}) 7)").execute(dict(BINDINGS))
    assert type(caught.value) in (PolicyError, ValueError, IndexError, AttributeError, TypeError, KeyError)


def test_walk_reaches_every_node_that_can_run_in_source_order():
    nodes = s.expressions(read("(defvar a (+ 1 2)) (f a ((g 1)))").forms)
    walked = [type(n).__name__ + ":" + getattr(n, "name", "") for n in s.walk(nodes)]
    # nothing inside the malformed ((g 1)) is ever evaluated: it is one node
    assert walked == ["Defvar:defvar", "Symbol:a", "Binary:add", "Literal:", "Literal:", "Call:f", "Symbol:a", "FormHead:"]


def test_walk_is_iterative():
    depth = 5000
    nodes = [s.Not(None, "not", 1, s.Literal(None, 0))]
    for _ in range(depth):
        nodes = [s.Not(None, "not", 1, nodes[0])]
    assert sum(1 for _ in s.walk(nodes)) == depth + 2


# ## The layers of mom/dsl


DSL = Path(__file__).resolve().parents[2] / "mom" / "dsl"


def imports_of(path: Path) -> set[str]:
    """Every mom.dsl module ``path`` imports, at any level of the file (function bodies too)."""
    found = set()
    for item in ast.walk(ast.parse(path.read_text())):
        if isinstance(item, ast.ImportFrom) and item.module:
            if item.module == "mom.dsl":
                found.update(f"mom.dsl.{alias.name}" for alias in item.names)
            elif item.module.startswith("mom.dsl."):
                found.add(item.module)
        elif isinstance(item, ast.Import):
            found.update(alias.name for alias in item.names if alias.name.startswith("mom.dsl."))
    return found


def test_mom_dsl_imports_have_no_cycle():
    graph = {f"mom.dsl.{path.stem}": imports_of(path) for path in DSL.glob("*.py") if path.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join(path + (module,))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, path + (module,))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
    # the front end sits below the three back ends, and knows none of them
    assert {"mom.dsl.compiler", "mom.dsl.bytecode", "mom.dsl.lint"}.isdisjoint(graph["mom.dsl.syntax"])
    assert all("mom.dsl.syntax" in graph[back] for back in ("mom.dsl.compiler", "mom.dsl.bytecode", "mom.dsl.lint"))
