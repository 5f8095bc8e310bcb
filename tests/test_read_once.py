"""A failure message reports the value the check judged: no assertion of the suite calls
the same function in its condition and in its message (a second read of the server or the
page can differ from the first, and the message would then describe another value)."""

from __future__ import annotations

import ast

from e2e.harness.options import ROOT

# Builtins that only transform what they are given: calling one twice reads nothing again.
PURE = frozenset(
    {"len", "sorted", "str", "int", "float", "bool", "set", "list", "tuple", "dict", "repr"}
    | {"round", "min", "max", "sum", "any", "all", "abs"}
)


def _calls(node: ast.AST) -> set[str]:
    found = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name) and call.func.id in PURE:
            continue
        found.add(ast.unparse(call))
    return found


def read_twice(source: str) -> list[tuple[int, str]]:
    """(line, call) of each assertion whose message calls what its condition called."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and node.msg is not None:
            found += [(node.lineno, c) for c in sorted(_calls(node.test) & _calls(node.msg))]
    return found


def test_a_check_that_reads_twice_should_be_found() -> None:
    source = "assert periods_of(target.rows(), s) == [1], explain(periods_of(target.rows(), s))"
    assert read_twice(source) == [(1, "periods_of(target.rows(), s)"), (1, "target.rows()")]
    assert read_twice("seen = rows()\nassert seen == [1], f'{seen} {len(seen)}'") == []


def test_every_check_of_the_suite_should_report_the_value_it_judged() -> None:
    twice = {
        f"{path.relative_to(ROOT)}:{line}": call
        for path in sorted((ROOT / "e2e").rglob("*.py"))
        for line, call in read_twice(path.read_text(encoding="utf-8"))
    }
    assert not twice, f"assertions that read again for their message (read once): {twice}"
