"""The package's shape: modules import each other in one direction, nothing registers
itself by being imported, and the shells import nothing per request."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import http402

PACKAGE = Path(http402.__file__).parent
#: The modules a request goes through: they import everything up front, so that a request
#: never runs an `import` statement.
SHELLS = ("_transport.py", "_async_transport.py", "_shell.py", "_recovery.py", "_actions.py")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package's modules that `path` imports when it runs (at its top or inside a
    function), leaving out imports made only for the type checker."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for_types = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    if path.parent == PACKAGE:
        package = "http402"
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in for_types or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        found.add(base)
        found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_import_circles() -> None:
    """No module of http402 imports, directly or through others, one that imports it."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {
        name: {other for other in _imports(path) if other in paths and other != name}
        for name, path in paths.items()
    }
    # `from . import _metrics` names the package too; a package's own __init__ is not a
    # dependency of its modules' code.
    for edges in graph.values():
        edges.discard("http402")

    def reaches(start: str, goal: str) -> list[str] | None:
        stack, seen = [[start]], {start}
        while stack:
            path = stack.pop()
            for other in graph[path[-1]]:
                if other == goal:
                    return [*path, other]
                if other not in seen:
                    seen.add(other)
                    stack.append([*path, other])
        return None

    circles = [circle for name in graph if (circle := reaches(name, name))]
    assert circles == []


def test_importing_the_httpx2_module_registers_nothing() -> None:
    """`import http402.httpx2` changes no state of the modules loaded before it: the httpx2
    shells pass their exception family to the core, as they pass their response class."""
    probe = (
        "import sys, http402, http402._transport\n"
        "mods = {n: m for n, m in sys.modules.items() if n.startswith('http402')}\n"
        "before = {n: {k: repr(v) for k, v in vars(m).items()} for n, m in mods.items()}\n"
        "import http402.httpx2\n"
        "after = {n: {k: repr(v) for k, v in vars(mods[n]).items()} for n in before}\n"
        "print([n for n in before if before[n] != after[n] and n != 'http402'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_shells_import_nothing_per_request() -> None:
    """No function of the modules a request runs through holds an import statement."""
    local = [
        f"{name}:{node.lineno}"
        for name in SHELLS
        for function in ast.walk(ast.parse((PACKAGE / name).read_text(encoding="utf-8")))
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert local == []
