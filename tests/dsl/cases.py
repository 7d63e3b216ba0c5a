"""The policy language, pinned case by case (spec section 5): source -> results or error.

Each case is ``(source, expected)``.  ``expected`` is the list of values of the
top-level forms, compared with their exact types (an int stays an int, ``2.0`` is not
``2``), or :class:`Raises` with the exception type and its exact ``str()``.
Cases run with no variables bound except those in :data:`BINDINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mom.dsl.builtins import STACK_FUNCTIONS
from mom.errors import PolicyError


@dataclass(frozen=True)
class Raises:
    type: type[BaseException]
    message: str


#: variables bound in the root scope for every case
BINDINGS = {"numbers": [1, 2, 3], "empty": []}

ARITY = "arity mismatch in doc parsing of '%s' on line %d"
NOT_ENOUGH = "not enough arguments for '%s' on line %d"


def arity(function: str, line: int = 1) -> Raises:
    return Raises(PolicyError, ARITY % (function, line))


def not_enough(function: str, line: int = 1) -> Raises:
    return Raises(PolicyError, NOT_ENOUGH % (function, line))


def undefined(name: str, line: int = 1) -> Raises:
    return Raises(PolicyError, f"undefined symbol {name} on line {line}")


# ## 5.1 Scanner: every token rule, in upstream's order
SCANNER = [
    ("-5", [-5]),
    ("(- 10 5)", [5]),
    ("(- 1-2)", [3]),  # 1, then -2
    ("(+ 1 -0x10)", arity("c_add")),  # '-' is an operator before hex: (+ 1 - 16)
    ("(+ 1 -0o7)", arity("c_add")),
    ("(defvar abc 3) 10abc", [3, 10, 3]),  # 10, then the symbol abc
    ("\n\n125f56", undefined("f56", 3)),  # upstream's test: 125, then f56
    ("(defvar O7 9) 0O7", [9, 0, 9]),  # 0, then the symbol O7
    ("(defvar b1 8) 0b1", [8, 0, 8]),
    ("1.5.3", [1.5, 0.3]),
    ("'it''s'", ["it", "s"]),
    ("0x1F 0X1f 0x0", [31, 31, 0]),
    ("0o17", [15]),
    ("0o9", Raises(ValueError, "invalid literal for int() with base 0: '0o9'")),
    ("(if 0 0o9 1)", [1]),  # converted only when evaluated
    (".3 -.5 00.5 10.0e3", [0.3, -0.5, 0.5, 10000.0]),
    ("100e-2 1e3 -2E2", [1.0, 1000.0, -200.0]),  # an integer with exponent is a float
    ("0 -0 7", [0, 0, 7]),
    ("123456789012345678901234567890", [123456789012345678901234567890]),
    # unknown characters silently end the input (upstream's rule 12)
    ("5 1e 6", [5]),
    ("007", []),
    ("1 @ 2", [1]),
    ("1. 2", [1]),
    ("(+ 1 2) $ (unbalanced", [3]),
    ("0xg 1", []),
    ("0o 1", []),
    ("... 1", []),
    ("4 = 5", [4]),
    ("4 ! 5", [4]),
    ("4 ; 5", [4]),
    ("4 # comment", [4]),
    # comments and line numbers: a comment's newline is not counted, whitespace's are
    ("# comment\n5", [5]),
    ("# one\n# two\n(+ 1 x)", undefined("x", 1)),
    ("\n\n  x", undefined("x", 3)),
    ("1\n# c\n\ny", undefined("y", 3)),  # physically line 4
    # strings: both quotes, raw text (no escapes), lines inside are not counted
    ('"a\\"b"', ['a\\"b']),
    ("'a\\'b'", ["a\\'b"]),
    ('"double" \'single\'', ["double", "single"]),
    ('"two\nlines"\nz', undefined("z", 2)),
    ('""', [""]),
    # symbols take dashes and dots; the word operators are symbols
    ("(defvar a-b 4) a-b", [4, 4]),
    ("(defvar apply_NUMA_policy 1) apply_NUMA_policy", [1, 1]),
    ("(defvar and 5) (and 1 2)", Raises(TypeError, "'int' object is not callable")),
    ("(<= 1 2) (>= 1 2) (<< 1 2) (>> 8 2) (== 1 1) (!= 1 1)", [True, False, 4, 2, True, False]),
]

# ## 5.2 Grammar: (), [] and {}
GRAMMAR = [
    ("[+ 1 2]", [3]),
    ("{1 2}", [2]),
    ("(+ [- 5 1] {1 2})", [6]),
    ("()", Raises(IndexError, "list index out of range")),
    ("[]", Raises(IndexError, "list index out of range")),
    ("{}", Raises(IndexError, "list index out of range")),
    ("(+ 1 2", Raises(PolicyError, "parse error")),
    (")", Raises(PolicyError, "parse error")),
    ("(]", Raises(PolicyError, "parse error")),
    ("(+ 1 2))", Raises(PolicyError, "parse error")),
    ("{(+ 1 2]", Raises(PolicyError, "parse error")),
    # upstream raises IndexError on text without tokens; that is fixed: no forms
    ("", []),
    ("   \n\t ", []),
    ("# only a comment\n", []),
    ("# only a comment without newline", []),
]

# ## 5.3 Evaluation of atoms and lists
EVALUATION = [
    ("nil", [None]),
    ("(defvar nil 5) nil", [5, None]),  # nil is checked before variables
    ("+", Raises(PolicyError, 'Unexpected token type "operator" on line 1')),
    ("(+ 1 +)", Raises(PolicyError, 'Unexpected token type "operator" on line 1')),
    ("((+ 1) 2)", Raises(PolicyError, "Expected simple token as arg 1")),
    ("(1 2)", Raises(PolicyError, 'Unexpected token type in arg 1 "number" on line 1')),
    ('("s" 1)', Raises(PolicyError, 'Unexpected token type in arg 1 "string" on line 1')),
    ("(add 1 2) (lt 1 2) (eq 1 1) (div 1 4) (shl 1 3) (neq 1 2)", [3, True, True, 0.25, 8, True]),
    ("(eval 1 2 3)", [3]),
    ("(eval)", Raises(IndexError, "list index out of range")),
    ("(nosuch 1)", Raises(KeyError, "'nosuch'")),
    ("(def f (a) a) (f 1 2)", Raises(PolicyError, 'Function "f" invoked with incorrect arity on line 1')),
    ("(def f (a) a)\n(f)", Raises(PolicyError, 'Function "f" invoked with incorrect arity on line 2')),
    # variables before builtins and functions
    ("(defvar add 5) (+ 1 2)", Raises(TypeError, "'int' object is not callable")),
    ("(def g () 1) (defvar g 1) (g)", Raises(TypeError, "'int' object is not callable")),
    ("(defvar add nil) (+ 1 2)", [None, 3]),  # a variable holding nil is ignored
    ("(defvar eval 1) {1 2}", Raises(TypeError, "'int' object is not callable")),
    ("(defvar if 1) (if 1 2 3)", Raises(TypeError, "'int' object is not callable")),
    ("(let ((mul 2)) (* 3 4))", Raises(TypeError, "'int' object is not callable")),
    ("(let ((mul 2)) 1) (* 3 4)", [1, 12]),  # the shadow ends with its scope
    # a user function is called with raw argument code, evaluated in the new scope (let*)
    ("(defvar a 5) (def f (a b) b) (f 1 a)", [5, "f", 1]),
    ("(def f (a b) (+ a b)) (f 1 (* a 10))", ["f", 11]),
    ("(def f (a a) a) (f 1 2)", ["f", 1]),  # a duplicate parameter keeps its first binding
    ("(def f () 7) (f)", ["f", 7]),
]

# ## 5.4 Builtins
BUILTIN_CASES = [
    ("(def f (x) x)", ["f"]),
    ("(defun f (x) (* x 2)) (f 4)", ["f", 8]),
    ("(def outer () (def inner () 7)) (outer) (inner)", ["outer", "inner", 7]),
    ("(def f (x) 1 2)", arity("c_def")),
    ("(defun f (x))", arity("c_def")),
    ("(def 1 (x) x)", Raises(PolicyError, "malformed expression on line 1")),
    ("(def f x 1) (f 2)", Raises(TypeError, "object of type 'Token' has no len()")),
    ('(def f "x" 1) (f 2)', Raises(TypeError, "object of type 'Token' has no len()")),
    ("(def f 5 1) (f 2)", Raises(TypeError, "object of type 'NumericToken' has no len()")),  # a number's token
    ("(def f (1) 1) (f 2)", Raises(PolicyError, "Expecting list of (symbol value) in let")),
    # defvar is set-if-absent in the innermost scope
    ("(defvar x 1) (defvar x 2) x", [1, 1, 1]),
    ("(defvar x 1) (def f () {(defvar x 2) x}) (f) x", [1, "f", 2, 1]),
    ("(def f () (defvar local 1)) (f) local", undefined("local")),
    ("(defvar x)", arity("c_defvar")),
    ("(defvar 1 2)", Raises(PolicyError, "malformed expression on line 1")),
    ("(defvar (x) 2)", Raises(PolicyError, "malformed expression on line 1")),
    ("(defvar + 2)", Raises(PolicyError, "malformed expression on line 1")),
    ("(defvar x.y 3)", [3]),
    # set assigns the innermost binding; it never creates one
    ("(defvar x 1) (set x 2) x", [1, 2, 2]),
    ("(defvar x 1) (setq x 3) x", [1, 3, 3]),
    ("(set y 1)", Raises(PolicyError, "undefined symbol y")),
    ("(set Entity.a 1)", Raises(PolicyError, "undefined symbol Entity.a")),
    ("(defvar x 1) (def f () (set x 5)) (f) x", [1, "f", 5, 5]),
    ("(defvar x 1) (def f (x) (set x 5)) (f 0) x", [1, "f", 5, 1]),
    ("(set x)", arity("c_set")),
    ("(setq 1 2)", Raises(PolicyError, "malformed expression on line 1")),
    # let
    ("(let ((a 1) (b 2)) (+ a b))", [3]),
    ("(let ((a 1) (b a)) (+ a b))", [2]),
    ("(let ((a 1)) 2 a)", [1]),
    ("(let ((a 1) (a 2)) a)", [1]),
    ("(let () 5)", [5]),
    ("(let ((q 1)) q) q", undefined("q")),
    ("(let x 1)", Raises(PolicyError, "Expecting list as arg 1 in let")),
    ("(let ((a)) 1)", Raises(PolicyError, "Expecting list of tuples in arg1 of let")),
    ("(let (a) 1)", Raises(PolicyError, "Expecting list of tuples in arg1 of let")),
    ("(let ((1 2)) 1)", Raises(PolicyError, "Expecting list of (symbol value) in let")),
    ("(let (((a) 1)) 1)", Raises(AttributeError, "'list' object has no attribute 'kind'")),
    ("(let ())", not_enough("c_let")),
    ("(let)", not_enough("c_let")),
    # with: one scope per item, the list of results
    ("(with numbers x (* x 2))", [[2, 4, 6]]),
    ("(with empty x (/ 1 0))", [[]]),
    ("(defvar x 9) (with numbers x x) x", [9, [1, 2, 3], 9]),
    ("(defvar b 0) (with numbers x (defvar b x)) b", [0, [1, 2, 3], 0]),  # the loop's scope ends
    ("(with numbers x {(defvar y x) y})", [[1, 2, 3]]),  # a fresh scope per item
    ("(defvar y 0) (with numbers x {(if (== x 2) (defvar y 7) 0) y}) y", [0, [0, 7, 0], 0]),
    ("(defvar x 9) (with numbers x (with numbers x x)) x", [9, [[1, 2, 3]] * 3, 9]),
    ("(defvar x 9) (with numbers x {(set x (* x 5)) x}) x", [9, [5, 10, 15], 9]),
    ("(with numbers x x) x", Raises(PolicyError, "undefined symbol x on line 1")),
    ("(with nosuch x 1)", Raises(TypeError, "%d format: a real number is required, not NoneType")),
    ("(with numbers 5 1)", Raises(PolicyError, "malformed expression on line 1")),
    ("(with numbers x)", arity("c_with")),
    # if: exactly three arguments, Python truthiness, only the chosen branch
    ('(if 1 2 3) (if 0 2 3) (if "" 2 3) (if "x" 2 3) (if nil 2 3)', [2, 3, 3, 2, 3]),
    ("(if 1 5 (/ 1 0))", [5]),
    ("(if 1 2)", arity("c_if")),
    ("(if 1 2 3 4)", arity("c_if")),
    # arithmetic: Python's operators, true division
    ('(/ 11 2) (/ 10 5) (* 3 "Hey ") (- 10 3) (+ 1.5 1) (* 2 3)', [5.5, 2.0, "Hey Hey Hey ", 7, 2.5, 6]),
    ('(+ "a" "b") (* 0.1 3) (- 0.3 0.1)', ["ab", 0.30000000000000004, 0.19999999999999998]),
    ("(/ 1 0)", Raises(ZeroDivisionError, "division by zero")),
    ("(/ 1.0 0)", Raises(ZeroDivisionError, "float division by zero")),
    ('(+ 1 "a")', Raises(TypeError, "unsupported operand type(s) for +: 'int' and 'str'")),
    ("(+ 1)", arity("c_add")),
    ("(- 1 2 3)", arity("c_sub")),
    ("(*)", arity("c_mul")),
    ("(/ 1)", arity("c_div")),
    # comparisons and shifts
    ("(< 1 2) (> 1 2) (<= 2 2) (>= 1 2) (== 0x0 0) (!= 1 1) (== 1 1.0)", [True, False, True, False, True, False, True]),
    ('(< 1 "a")', Raises(TypeError, "'<' not supported between instances of 'int' and 'str'")),
    ("(<< 1 4) (>> 32 2) (>> -8 1)", [16, 8, -4]),
    ("(<< 1 -1)", Raises(ValueError, "negative shift count")),
    ("(< 1)", arity("c_lt")),
    ("(== 1)", arity("c_eq")),
    ("(<< 1)", arity("c_shl")),
    # and / or evaluate every argument (no short circuit)
    ('(and 1 2 3) (and 1 0 3) (or 0 "" 5) (or 0 0) (and 7) (or nil)', [3, 0, 5, 0, 7, None]),
    ("(and 0 (/ 1 0))", Raises(ZeroDivisionError, "division by zero")),
    ("(or 1 (/ 1 0))", Raises(ZeroDivisionError, "division by zero")),
    ("(defvar n 0) (def bump () (set n (+ n 1))) (and 0 (bump)) (or 1 (bump) (bump)) n", [0, "bump", 0, 1, 3]),
    ("(and)", not_enough("c_and")),
    ("(or)", not_enough("c_or")),
    # not, min, max, null, valid
    ("(not 0) (not 1) (not nil)", [True, False, True]),
    ("(not)", arity("c_not")),
    ("(not 1 2)", arity("c_not")),
    ("(min 3 1 2) (max 3 1 2) (min 5) (max 1.5 2)", [1, 3, 5, 2]),
    ("(min)", not_enough("c_min")),
    ("(max)", not_enough("c_max")),
    ('(min 1 "a")', Raises(TypeError, "'<' not supported between instances of 'str' and 'int'")),
    ('(null) (null nil) (null "") (null 0) (null nil "") (null 1) (null empty) (null numbers)',
     [True, True, True, False, True, False, True, False]),
    ("(valid) (valid 1) (valid nil) (valid 1 nil 2) (valid 0 \"\")", [True, True, False, False, True]),
    # the stack functions
    ("(abs -5) (abs -2.5) (abs 3)", [5, 2.5, 3]),
    # upstream's abs is a static method of its ExternalFunctions class
    ("(abs 1 2)", Raises(TypeError, "ExternalFunctions.abs() takes 1 positional argument but 2 were given")),
    ("(abs)", Raises(TypeError, "ExternalFunctions.abs() missing 1 required positional argument: 'x'")),
    ("(max abs 1)", Raises(TypeError, "'>' not supported between instances of 'int' and 'function'")),
    ("(< debug 1)", Raises(TypeError, "'<' not supported between instances of 'function' and 'int'")),
    ("(debug 1 2)", [2]),
    ("(debug)", Raises(IndexError, "tuple index out of range")),
    ("(defvar abs 5) abs", [STACK_FUNCTIONS["abs"], STACK_FUNCTIONS["abs"]]),  # abs is already in the root scope: defvar keeps it
    # the line in a message is the head's
    ("\n(+ 1)", arity("c_add", 2)),
    ("(+\n 1)", arity("c_add", 1)),
]

# ## 5.5 Scopes: dynamic scoping
SCOPES = [
    ("(def g () a) (def f (a) (g)) (f 7)", ["g", "f", 7]),
    ("(defvar a 1) (def g () a) (def f (a) (g)) (f 7) (g)", [1, "g", "f", 7, 1]),
    ("(def g () (set a 3)) (def f (a) {(g) a}) (f 7)", ["g", "f", 3]),
    ("(def f (x) (g x)) (def g (y) (+ x y)) (f 2)", ["f", "g", 4]),
    ("(with numbers n (let ((m (* n 10))) (+ n m)))", [[11, 22, 33]]),
]

ALL = SCANNER + GRAMMAR + EVALUATION + BUILTIN_CASES + SCOPES
