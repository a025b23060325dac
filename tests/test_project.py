"""The package's public face and the project's promises about itself."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import http402

from .conftest import MypyRun

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent


def test_mypy_finds_no_error_in_what_it_checks(project_mypy: MypyRun) -> None:
    """The type check: `mypy` with the project's settings (strict) over every file of
    `[tool.mypy] files`, run once per test run beside the other tests (see `project_mypy`);
    the README's command runs it as part of the suite. An error in any file fails it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    checked = sum(
        len([*(ROOT / name).rglob("*.py"), *(ROOT / name).rglob("*.pyi")])
        for name in config["files"]
    )
    assert checked > 80
    assert project_mypy.returncode == 0, project_mypy.output
    assert f"Success: no issues found in {checked} source files" in project_mypy.output


def test_all_is_exactly_what_is_exported() -> None:
    """`__all__` lists every public name of the package and nothing else; lazy ones resolve."""
    public = {
        name
        for name, value in vars(http402).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert public <= set(http402.__all__)
    for name in http402.__all__:
        assert getattr(http402, name) is not None, name
    assert sorted(http402.__all__) == http402.__all__
    assert len(http402.__all__) == len(set(http402.__all__))
    assert set(http402.__all__) <= set(dir(http402))


def test_unknown_attributes_raise_attribute_error() -> None:
    """A name the package does not have is an `AttributeError`, as for any module."""
    with pytest.raises(AttributeError, match="no_such_name"):
        http402.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_the_version_is_the_distribution_version() -> None:
    """`http402.__version__` is the installed distribution's version, read on first use."""
    try:
        expected = importlib.metadata.version("http402")
    except importlib.metadata.PackageNotFoundError:
        expected = "0.0.0"
    assert http402.__version__ == expected


# What `import http402` must not load (they load on first use, with the first transport or
# the first call that needs them; benchmarks/import_time.py measures the difference).
LAZY_MODULES = (
    "redis",
    "valkey",
    "opentelemetry",
    "tenacity",
    "anyio",
    "importlib.metadata",
    "http402._redis",
    "http402._balance",
    "http402._burn",
    "http402._preflight",
    "http402._recovery",
    "http402._actions",
    "http402._episodes",
    "http402._policies",
)


def test_import_http402_loads_no_optional_module() -> None:
    """A fresh `import http402` leaves the optional and heavy modules unloaded."""
    probe = f"import sys, http402; print(' '.join(m for m in {LAZY_MODULES!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == []


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    """The README opens with two commands, one running the demo and one the tests; CI runs
    the second word for word, as a line of its own, and the docs' home page shows the same."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(\w*)\n(.*?)\n```", readme, re.DOTALL)
    assert [language for language, _ in blocks[:2]] == ["bash", "bash"]
    demo, tests = blocks[0][1], blocks[1][1]
    assert "\n" not in demo and "\n" not in tests
    assert demo.startswith("python3 -m venv .venv && ")
    assert demo.endswith(" && python -m http402 demo")
    assert tests.startswith("python3 -m venv .venv && ")
    assert " -m pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()
    home = (ROOT / "docs" / "index.md").read_text()
    assert f"```bash\n{demo}\n```" in home
    assert f"```bash\n{tests}\n```" in home
    assert readme.index(demo) < readme.index("## ")


def test_the_dependency_list_in_the_docs_is_the_package_s() -> None:
    """Every runtime dependency of the distribution is named where the docs list them."""
    from importlib.metadata import requires

    needed = {
        re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0]
        for line in requires("http402") or ()
        if "extra ==" not in line
    }
    assert needed >= {"httpx", "attrs", "tenacity", "anyio", "sniffio"}
    for page in ("README.md", "docs/index.md", "docs/getting-started.md"):
        text = (ROOT / page).read_text()
        install = text[text.index("## Install") :]
        install = install[: install.index("\n## ", 4)]
        missing = sorted(name for name in needed if name not in install)
        assert not missing, f"{page}'s Install section does not name {missing}"
