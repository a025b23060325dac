"""The README's and the docs' code blocks still say what the code does.

Every ```python block of README.md and docs/ is type-checked by mypy, each as a module of its
own, with the few names the docs take for granted (`my_billing`, `top_up`, `client`...)
declared; a removed option, a renamed attribute or a wrong argument type fails here. Blocks
that can run without the network do: the test recipes (their `test_*` functions are called,
with the fixtures they name) and the blocks marked `<!-- test: run -->` just above their fence.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import inspect
import linecache
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import http402

from .conftest import MypyRun

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^(?P<mark><!-- test: run -->\n)?```python\n(?P<code>.*?)^```$", re.M | re.S)

#: The names a page takes for granted: your own billing and wallet, a hook defined in an
#: earlier block, the client built a few lines up. They are `Any` to the type checker.
GIVEN = frozenset(
    {
        "AcmeAdapter",
        "DEEPSEEK_API_KEY",
        "USDC_BASE",
        "async_client",
        "async_inner",
        "auth",
        "client",
        "coordinator",
        "error",
        "headers",
        "inner",
        "key",
        "my_billing",
        "my_wallet",
        "pager",
        "pay",
        "registry",
        "response",
        "top_up",
        "transport",
    }
)


#: Modules a block may use without importing them, as a page's earlier block did.
IMPORTED = {
    "anthropic": "import anthropic",
    "asyncio": "import asyncio",
    "FakeProvider": "from http402.testing import FakeProvider",
    "gate": "from http402.testing import gate",
    "look_alike": "from http402.testing import look_alike",
    "http402": "import http402\nimport http402.httpx2\nimport http402.testing",
    "httpx": "import httpx",
    "httpx2": "import httpx2",
    "openai": "import openai",
    "redis": "import redis",
}


@attrs.frozen
class Block:
    """One ```python block: where it is, its code, and whether it is marked to run."""

    page: Path
    line: int
    code: str
    run: bool

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks() -> Iterator[Block]:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start("code")) + 1
            yield Block(page, line, match.group("code"), bool(match.group("mark")))


BLOCKS = list(blocks())


def free_names(code: str) -> set[str]:
    """Names a block reads but never binds, imports or gets from builtins."""
    tree = ast.parse(code)
    bound: set[str] = set(dir(builtins))
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            if not isinstance(node, ast.ClassDef):
                arguments = node.args
                every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
                bound.update(a.arg for a in every)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound


def test_the_docs_have_code_blocks_and_each_parses() -> None:
    """Every block is Python that parses, and only takes the `GIVEN` names for granted."""
    assert len(BLOCKS) >= 40
    wrong = []
    for block in BLOCKS:
        try:
            unknown = free_names(block.code) - GIVEN - IMPORTED.keys()
        except SyntaxError as exc:
            wrong.append(f"{block.name}: not Python ({exc})")
            continue
        if unknown:
            wrong.append(f"{block.name} uses names it never defines: {sorted(unknown)}")
    assert not wrong, "\n".join(wrong)


def _module(block: Block) -> str:
    """The block as a module: the names it takes for granted declared `Any` first."""
    free = free_names(block.code)
    head = ["from typing import Any", *(IMPORTED[name] for name in sorted(free & IMPORTED.keys()))]
    head += [f"{name}: Any = None" for name in sorted(free & GIVEN)]
    return "\n".join(head) + f"\n# {block.name}\n" + block.code


def test_every_block_type_checks(tmp_path: Path, project_mypy: MypyRun) -> None:
    """mypy finds no error in any block, with the project's own package and stubs."""
    package = tmp_path / "docs_blocks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    paths = []
    for number, block in enumerate(BLOCKS):
        path = package / f"block_{number:03d}.py"
        path.write_text(_module(block), encoding="utf-8")
        paths.append(path)
    # The project's own settings, so that the project's type check (`project_mypy`, run
    # first) has cached http402 and its dependencies for this one; the blocks are
    # prose-sized examples, checked but not held to `--strict`'s annotations.
    config = tmp_path / "mypy.ini"
    config.write_text(_MYPY_INI, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            os.environ.get("MYPY_CACHE_DIR", str(ROOT / ".mypy_cache")),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "MYPYPATH": str(Path(http402.__file__).parents[1])},
    )
    errors = [
        _located(line)
        for line in run.stdout.splitlines()
        if ": error:" in line and not _optional_import(line)
    ]
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert not errors, "\n".join(errors)


_MYPY_INI = """\
[mypy]
strict = True
python_version = 3.10

[mypy-docs_blocks.*]
disallow_untyped_defs = False
disallow_incomplete_defs = False
disallow_untyped_calls = False
check_untyped_defs = True
warn_return_any = False
disallow_any_generics = False
"""


def _optional_import(line: str) -> bool:
    """A missing third-party module a page shows with its own install line (Prometheus'
    exporter): not one of the project's, and not in the tests extra."""
    match = re.search(r'module named "([\w.]+)"\s+\[import-not-found\]', line)
    return match is not None and match.group(1).partition(".")[0] != "http402"


def _located(line: str) -> str:
    """A mypy error with the page and line of the block instead of the temporary file."""
    match = re.match(r"(?:.*/)?block_(\d+)\.py:(\d+): (.*)", line)
    if match is None:
        return line
    block = BLOCKS[int(match.group(1))]
    head = len(_module(block).splitlines()) - len(block.code.splitlines())
    line = block.line + int(match.group(2)) - head - 1
    return f"{block.page.relative_to(ROOT)}:{line}: {match.group(3)}"


RUNNABLE = [b for b in BLOCKS if b.run or re.search(r"^(async )?def test_", b.code, re.M)]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.name for b in RUNNABLE])
def test_blocks_that_can_run_do(
    block: Block, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A marked block runs as a script; a test recipe's `test_*` functions pass when called
    with the fixtures they name."""
    namespace: dict[str, Any] = {"__name__": f"docs_block_{block.line}"}
    for name in free_names(block.code) & IMPORTED.keys():
        exec(IMPORTED[name], namespace)
    # Registered, so that a failing assertion's traceback shows the page's own lines.
    linecache.cache[block.name] = (len(block.code), None, block.code.splitlines(True), block.name)
    exec(compile(block.code, block.name, "exec"), namespace)
    tests = {n: f for n, f in namespace.items() if n.startswith("test_") and callable(f)}
    assert block.run or tests, block.name
    for function in tests.values():
        arguments = {p: _fixture(p, tmp_path) for p in inspect.signature(function).parameters}
        result = function(**arguments)
        if inspect.iscoroutine(result):
            asyncio.run(result)
    capsys.readouterr()


def _fixture(name: str, tmp_path: Path) -> Any:
    """The fixtures the docs' test recipes name."""
    fixtures: dict[str, Callable[[], Any]] = {
        "http402_provider": lambda: http402.testing.FakeProvider(),
        "tmp_path": lambda: tmp_path,
    }
    assert name in fixtures, f"a docs test recipe asks for an unknown fixture {name!r}"
    return fixtures[name]()
