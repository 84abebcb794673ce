"""The layers of README "Layout": which package may import which.

Every import in every module counts, also those inside functions (an import made late to
save start-up time is still a dependency).  A package not in the table fails the test, so
a new one has to be placed in the layers on purpose."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import caldavd

ROOT = Path(caldavd.__file__).parent

# What each package may import besides itself ("caldavd" alone: the package's __init__).
_BASE = {"caldavd", "config"}
ALLOWED: dict[str, set[str]] = {
    "config": {"caldavd"},
    "dav": _BASE,
    "caldav": _BASE | {"dav"},
    "store": _BASE | {"dav", "caldav"},
    "cache": _BASE,
    "directory": _BASE | {"cache"},
    "proxy": _BASE | {"store", "directory"},
    "attachments": _BASE | {"dav", "caldav", "store"},
    "ops": _BASE | {"dav", "store", "cache", "attachments"},
    "scheduling": _BASE | {"dav", "caldav", "store", "directory", "proxy"},
    "http": _BASE | {"dav", "caldav", "store", "cache", "directory", "proxy", "attachments",
                     "ops", "scheduling"},
    "cli": _BASE | {"store"},
    "server": _BASE | {"dav", "caldav", "store", "cache", "directory", "proxy", "attachments",
                       "ops", "scheduling", "http", "cli"},
    "tools": _BASE | {"dav", "caldav", "store", "cache", "directory", "proxy", "attachments",
                      "ops", "scheduling", "http", "cli", "server"},
    "harness": _BASE | {"dav", "caldav", "store", "cache", "directory", "proxy", "attachments",
                        "ops", "scheduling", "http", "cli", "server", "tools"},
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "caldavd"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "caldavd" or name.startswith("caldavd."):
                yield node.lineno, name


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_every_package_is_placed_in_the_layers() -> None:
    packages = {_package(module) for module, _ in _modules()} - {"caldavd"}
    assert packages, "no caldavd modules found"
    assert packages <= set(ALLOWED), f"not in the layers: {sorted(packages - set(ALLOWED))}"


def test_no_package_imports_a_layer_it_may_not() -> None:
    wrong = []
    for module, path in _modules():
        own = _package(module)
        allowed = ALLOWED.get(own, set()) | {own}
        for line, imported in _imports(path):
            if _package(imported) not in allowed:
                wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_store_contract_does_not_import_its_implementation() -> None:
    wrong = [f"{path.name}:{line}" for module, path in _modules()
             if module.startswith("caldavd.store.") and ".postgres" not in module
             for line, imported in _imports(path) if imported.startswith("caldavd.store.postgres")]
    assert not wrong, wrong


def test_an_operator_tool_never_imports_a_development_harness() -> None:
    """The tools ship for operators; caldavd-cluster and the benchmark helpers do not
    have to work for them to work (caldavd-stats --cluster reads a file, not the harness)."""
    tools = [(path, imported) for module, path in _modules() if _package(module) == "tools"
             for _, imported in _imports(path)]
    assert tools, "no tool imports anything: the test looks in the wrong place"
    assert not [path.name for path, imported in tools if _package(imported) == "harness"]
