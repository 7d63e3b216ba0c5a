"""Build of the optional Cython fast path (``mom/_fastpath``).

The extension is optional: if it cannot be built, the package installs without it
and ``mom._impl`` falls back to the pure-Python reference, saying so in the log.

Environment (the same names are read at run time by ``mom._impl``):

- ``MOM_PUREPYTHON=1``: do not build the extension.
- ``MOM_REQUIRE_FASTPATH=1``: a failed build is an error.
- ``MOM_CYTHON_DEBUG=1``: bounds, wraparound and initialization checks on, line tracing.
- ``MOM_CYTHON_ANNOTATE=1``: write Cython's annotated HTML to ``build/annotate/``.
"""

from __future__ import annotations

import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


PURE = _flag("MOM_PUREPYTHON")
REQUIRE = _flag("MOM_REQUIRE_FASTPATH")
DEBUG = _flag("MOM_CYTHON_DEBUG")
ANNOTATE = _flag("MOM_CYTHON_ANNOTATE")

if PURE and REQUIRE:
    sys.exit("MOM_PUREPYTHON and MOM_REQUIRE_FASTPATH are both set")


class OptionalBuildExt(build_ext):
    """build_ext that degrades to pure Python unless the fast path is required."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # noqa: BLE001  (any build failure)
            self._fallback(error)

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            self._fallback(error)

    def _fallback(self, error: Exception) -> None:
        if REQUIRE:
            raise error
        print(f"WARNING: the Cython fast path was not built ({error}); mom will use the pure-Python reference")


def extensions() -> list:
    sources = sorted(glob.glob("mom/_fastpath/*.pyx"))
    if PURE or not sources:
        return []
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as error:
        if REQUIRE:
            raise
        print(f"WARNING: Cython or NumPy missing ({error}); building without the fast path")
        return []
    from setuptools import Extension

    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    if DEBUG:
        macros.append(("CYTHON_TRACE_NOGIL", "1"))
    modules = [
        Extension(
            "mom._fastpath." + os.path.splitext(os.path.basename(path))[0],
            [path],
            include_dirs=[numpy.get_include()],
            define_macros=macros,
            # bit-exact floats: never fuse a*b+c (the reference rounds each step)
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
        )
        for path in sources
    ]
    directives = {
        "language_level": 3,
        "embedsignature": True,
        "binding": True,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "nonecheck": False,
        "cdivision": False,
        "linetrace": DEBUG,
    }
    if ANNOTATE:
        os.makedirs("build/annotate", exist_ok=True)
    return cythonize(
        modules,
        compiler_directives=directives,
        annotate=ANNOTATE,
        build_dir="build/annotate" if ANNOTATE else None,
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
