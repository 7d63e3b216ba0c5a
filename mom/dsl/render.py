"""Render parsed forms back to policy source text, for error messages and tools."""

from __future__ import annotations

from typing import Any

__all__ = ["render"]


def render(node: Any, limit: int = 80) -> str:
    """Source text of a token or form, shortened to about ``limit`` characters.

    Iterative, so a pathologically deep form cannot exhaust the Python stack.
    """
    out: list[str] = []
    size = 0
    # work items: a node to render, or a literal string to emit
    work: list[Any] = [node]
    while work and size <= limit:
        item = work.pop()
        if isinstance(item, str):
            text = item
        elif isinstance(item, list):
            bracket = getattr(item, "bracket", "(")
            items = list(item)
            if bracket == "{" and items and getattr(items[0], "value", None) == "eval" and items[0].line is None:
                items = items[1:]
            closer = {"(": ")", "[": "]", "{": "}"}[bracket]
            work.append(closer)
            for index in range(len(items) - 1, -1, -1):
                work.append(items[index])
                if index:
                    work.append(" ")
            text = bracket
        else:
            kind = getattr(item, "kind", None)
            value = getattr(item, "value", item)
            text = f'"{value}"' if kind == "string" else str(value)
        out.append(text)
        size += len(text)
    result = "".join(out)
    return result if size <= limit and not work else result[: limit - 3] + "..."
