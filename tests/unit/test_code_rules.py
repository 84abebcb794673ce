"""Rules of the house that a reader of one module cannot check alone."""

from __future__ import annotations

import ast
from pathlib import Path

import caldavd

ROOT = Path(caldavd.__file__).parent


def test_production_code_never_narrows_with_assert() -> None:
    """``python -O`` removes asserts, and with them the check: a condition the code relies
    on is an ``if`` that raises."""
    modules = sorted(ROOT.rglob("*.py"))
    assert len(modules) > 50, "caldavd's modules not found"
    found = [f"{path.relative_to(ROOT.parent)}:{node.lineno}" for path in modules
             for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.Assert)]
    assert not found, found


def test_the_calendar_component_types_are_spelled_once() -> None:
    """RFC 4791 §5.2.3's component types: caldav/components.py, nowhere else."""
    spelled = [path.relative_to(ROOT.parent) for path in sorted(ROOT.rglob("*.py"))
               if '"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"' in path.read_text()]
    assert [str(path) for path in spelled] == ["caldavd/caldav/components.py"]
