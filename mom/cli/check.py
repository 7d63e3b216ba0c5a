"""``mom-policy check``: read, compile and lint policy files as one program.

Each file is read on its own, so every finding has that file's real line and column;
the files are then checked together, in the order given, as MOM evaluates their
concatenation.  Output lines are ``FILE:LINE:COL: SEVERITY: MESSAGE [CODE]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mom.cli.evaluate import PolicyFile
from mom.dsl.limits import DEFAULT_LIMITS
from mom.dsl.lint import ERROR, NOTE, WARNING, Diagnostic, lint, read_unit
from mom.dsl.program import Program
from mom.dsl.reader import ReadResult, Source
from mom.errors import PolicyError, describe_error

__all__ = ["Finding", "check_files", "format_finding"]


@dataclass(frozen=True)
class Finding:
    """A diagnostic placed in its file."""

    path: str
    line: int
    column: int
    severity: str
    message: str
    code: str


def check_files(files: Sequence[PolicyFile]) -> list[Finding]:
    """Every finding for the files, as one program in the given order."""
    diagnostics: list[Diagnostic] = []
    units: list[tuple[str, ReadResult | None]] = []
    sources: list[Source] = []
    total = 0
    for index, policy in enumerate(files):
        # MOM joins the policies with newlines; the limit applies to the whole
        total += len(policy.text) + (1 if index else 0)
        if total > DEFAULT_LIMITS.max_source_chars:
            diagnostics.append(
                Diagnostic(
                    ERROR, "too-large",
                    f"the policies together exceed {DEFAULT_LIMITS.max_source_chars} characters: MOM refuses them",
                    index, max(0, len(policy.text) - (total - DEFAULT_LIMITS.max_source_chars)),
                )
            )
            total = -(1 << 62)  # report once
        result, found = read_unit(policy.text, index)
        diagnostics.extend(found)
        sources.append(result.source if result is not None else Source(policy.text))
        if result is None:
            diagnostics.append(
                Diagnostic(
                    NOTE, "incomplete",
                    "this file does not parse, so the names it defines are unknown: "
                    "checks for undefined names and unused definitions are skipped",
                    index, found[-1].offset,  # right after the parse error
                )
            )
        else:
            try:
                Program(result.forms, result.source, result.discarded_at, DEFAULT_LIMITS)
            except PolicyError as error:
                diagnostics.append(
                    Diagnostic(
                        ERROR, "compile-error", str(error), index,
                        0 if error.position is None else result.source.offset(*error.position),
                    )
                )
            except Exception as error:  # noqa: BLE001  (a compiler bug: report it, keep checking)
                diagnostics.append(
                    Diagnostic(ERROR, "compile-error", f"the compiler failed: {describe_error(error)}", index, 0)
                )
        units.append((policy.path, result))
    diagnostics.extend(lint(units))
    diagnostics.sort(key=lambda d: (d.unit, d.offset))
    findings = []
    for diagnostic in diagnostics:
        line, column = sources[diagnostic.unit].position(diagnostic.offset)
        findings.append(
            Finding(files[diagnostic.unit].path, line, column, diagnostic.severity, diagnostic.message, diagnostic.code)
        )
    return findings


def format_finding(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.severity}: {finding.message} [{finding.code}]"


def summary(findings: Sequence[Finding], nfiles: int) -> str:
    counts = {ERROR: 0, WARNING: 0, NOTE: 0}
    for finding in findings:
        counts[finding.severity] += 1
    parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items()]
    return f"{', '.join(parts)} in {nfiles} file{'s' if nfiles != 1 else ''}"
