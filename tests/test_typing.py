"""The types of the public API: misspelt options and wrong hooks are rejected by mypy.

`tests/typechecks/usage.py` (every documented call) and `tests/typechecks/rejected.py` are in
`[tool.mypy] files`, so the project's type check (tests/test_project.py) checks both; this
test also checks that each rejected call fails with the error code its `# type: ignore[...]`
names, ignores taken out.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import http402

from .conftest import MypyRun

pytest.importorskip("mypy")
ROOT = Path(__file__).parent.parent
REJECTED = ROOT / "tests" / "typechecks" / "rejected.py"
_IGNORE = re.compile(r"  # type: ignore\[([a-z-]+)\]")


def test_each_rejected_call_fails_with_its_error_code(
    tmp_path: Path, project_mypy: MypyRun
) -> None:
    """`preflight_tll=`, `mode="anotate"`, a string hook, a non-client, a coroutine hook on a
    sync client: mypy rejects each, with the expected code, and nothing else."""
    lines = REJECTED.read_text(encoding="utf-8").splitlines()
    expected = {
        (number, match.group(1))
        for number, line in enumerate(lines, start=1)
        if (match := _IGNORE.search(line))
    }
    assert len(expected) >= 9
    stripped = tmp_path / "rejected.py"
    stripped.write_text("\n".join(_IGNORE.sub("", line) for line in lines) + "\n")
    env = {**os.environ, "MYPYPATH": str(Path(http402.__file__).parents[1])}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(warm_cache(tmp_path / "cache")),
            str(stripped),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    found = {
        (int(number), code)
        for number, code in re.findall(r":(\d+): error: .*\[([a-z-]+)\]$", run.stdout, re.M)
    }
    assert found == expected, run.stdout + run.stderr


def warm_cache(path: Path) -> Path:
    """A copy at `path` of the cache the project's type check left (`project_mypy`: the
    project's settings, so that
    http402 and its dependencies are not checked again), or an empty one. Each database is
    copied through SQLite's backup, a consistent snapshot even while another test's mypy
    writes to it."""
    cache = Path(os.environ.get("MYPY_CACHE_DIR", ROOT / ".mypy_cache"))
    path.mkdir()
    for source in cache.rglob("*") if cache.is_dir() else ():
        target = path / source.relative_to(cache)
        if source.name.endswith(("-wal", "-shm", "-journal")):
            # SQLite's side files of a database another test's mypy has open: its backup
            # below already holds what they hold, and they come and go while it writes.
            continue
        if source.is_dir():
            target.mkdir(exist_ok=True)
        elif source.suffix == ".db":
            target.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(source) as old, sqlite3.connect(target) as new:
                old.backup(new)
            old.close()
            new.close()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return path
