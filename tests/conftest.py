from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).parent.parent
PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_payloads() -> Iterator[dict[str, Any]]:
    for path in sorted(PAYLOADS.glob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def reader() -> Iterator[Any]:
    """An in-memory OpenTelemetry metric reader that http402's metrics record to, for one
    test (opentelemetry-sdk is in the tests extra)."""
    from opentelemetry.sdk import metrics as metrics_sdk
    from opentelemetry.sdk.metrics import export

    from http402._metrics import use_meter_provider

    reader = export.InMemoryMetricReader()
    provider = metrics_sdk.MeterProvider(metric_readers=[reader])
    use_meter_provider(provider)
    try:
        yield reader
    finally:
        use_meter_provider(None)
        provider.shutdown()


@attrs.frozen
class MypyRun:
    """What `mypy` said, run as the README's command ran it before it moved into the suite."""

    returncode: int
    output: str


@pytest.fixture(scope="session")
def project_mypy(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    """The project's type check: `python -m mypy` in the checkout, so with `[tool.mypy]`'s
    settings and files (strict; src and tests/typechecks) and its cache (`.mypy_cache`, or
    `MYPY_CACHE_DIR`). It runs once per test run, however many pytest-xdist workers ask: the
    first takes a lock in the run's shared temporary directory, runs it and writes what it
    said there; the others wait for the lock and read it. The tests that type-check other
    files against http402 ask for it first, so that they find http402 and its dependencies
    (openai's and anthropic's thousands of modules) in the cache instead of checking them
    again each."""
    here = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker's base directory is inside the run's own.
    shared = here.parent if os.environ.get("PYTEST_XDIST_WORKER") else here
    result = shared / "project-mypy.json"
    with open(shared / "project-mypy.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            run = subprocess.run(
                [sys.executable, "-m", "mypy"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            said = {"returncode": run.returncode, "output": run.stdout + run.stderr}
            result.write_text(json.dumps(said), encoding="utf-8")
    return MypyRun(**json.loads(result.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The project's type check first (a worker starts it at once; it runs beside the other
    tests, which wait on servers and processes a third of the time), and the tests that
    reuse its cache last, so that no worker waits for it."""

    def place(item: pytest.Item) -> int:
        fixtures = getattr(item, "fixturenames", ())
        if "project_mypy" not in fixtures:
            return 1
        return 0 if item.name == "test_mypy_finds_no_error_in_what_it_checks" else 2

    items.sort(key=place)
