"""Imports point down: the policy language (mom/dsl) and the fast path (mom/_fastpath)
know nothing of the daemon, its plugins or its RPC, nor of the implementation switch.

Every module is read as text: ``.py`` files through ``ast`` (imports anywhere in the
file, inside functions too), ``.pyx``/``.pxd`` files line by line for ``import`` and
``cimport`` statements.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("mom/dsl", "mom/_fastpath")
#: what the bottom layers may import from the package: each other, the error classes, and
#: the SLA allocator's reference (pure math over arrays: the twin shares its constants and
#: error texts, C3), which imports nothing of the package itself (checked below)
ALLOWED = ("mom.dsl", "mom._fastpath", "mom.errors", "mom.sla.allocator")

# `from X import a, b`, `from X cimport a`, `import X`, `cimport X` (one statement a line;
# a parenthesised name list continues on the next lines, which name no module)
CYTHON_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+c?import\b|c?import\s+([\w.]+(?:\s*,\s*[\w.]+)*))", re.M)


def sources() -> list[Path]:
    found = []
    for layer in LAYERS:
        found += sorted(path for path in (ROOT / layer).rglob("*") if path.suffix in (".py", ".pyx", ".pxd"))
    return found


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parent.parts)


def resolve(module: str, level: int, path: Path) -> str:
    """The absolute name of a (possibly relative) import in ``path``."""
    if not level:
        return module
    base = package_of(path).split(".")
    base = base[: len(base) - level + 1]
    return ".".join(base + ([module] if module else []))


def imported_modules(path: Path) -> list[str]:
    text = path.read_text()
    if path.suffix == ".py":
        names = []
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names.append(resolve(node.module or "", node.level, path))
        return names
    names = []
    for match in CYTHON_IMPORT.finditer(text):
        if match.group(1) is not None:
            module = match.group(1)
            level = len(module) - len(module.lstrip("."))
            names.append(resolve(module.lstrip("."), level, path))
        else:
            names += [name.strip() for name in match.group(2).split(",")]
    return names


def is_allowed(module: str) -> bool:
    if module != "mom" and not module.startswith("mom."):
        return True  # the standard library, numpy, cython
    return any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED)


def test_the_walk_finds_the_layers_modules_and_their_imports():
    paths = {path.relative_to(ROOT).as_posix() for path in sources()}
    assert {"mom/dsl/compiler.py", "mom/dsl/layout.py", "mom/_fastpath/vm.pyx", "mom/_fastpath/layout.pxd"} <= paths
    rows = imported_modules(ROOT / "mom/_fastpath/rows.pyx")
    assert {"mom._fastpath.layout", "mom._fastpath.values", "mom.dsl.layout", "numpy"} <= set(rows)


def test_the_rule_sees_what_it_forbids(tmp_path):
    """The checker itself: each form of import that reaches up is caught."""
    package = tmp_path / "mom" / "dsl"
    package.mkdir(parents=True)
    python = package / "bad.py"
    python.write_text("def f():\n    from mom.runtime import table\n    import mom.plugins.registry\nfrom ..rpc import api\n")
    cython = package / "bad.pyx"
    cython.write_text("from mom.runtime.table cimport X\nimport os, mom.rpc.server\nfrom mom.dsl import reader\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert sorted(m for m in imported_modules(python) if not is_allowed(m)) == ["mom.plugins.registry", "mom.rpc", "mom.runtime"]
        assert [m for m in imported_modules(cython) if not is_allowed(m)] == ["mom.runtime.table", "mom.rpc.server"]
    finally:
        ROOT = saved


@pytest.mark.parametrize("path", sources(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_language_and_the_fast_path_import_nothing_above_them(path):
    upward = [module for module in imported_modules(path) if not is_allowed(module)]
    assert upward == [], f"{path.relative_to(ROOT)} imports {upward}: only {ALLOWED} (and non-mom modules) are allowed"


def test_the_allocator_reference_imports_nothing_of_the_package():
    path = ROOT / "mom" / "sla" / "allocator.py"
    assert [m for m in imported_modules(path) if m == "mom" or m.startswith("mom.")] == []
