from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, NoReturn

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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one pytest-xdist worker per core and one more. A worker spends about half
    its time waiting on real servers and processes (measured on an idle 2-core machine: 58 s
    and 42 s of CPU in 113 s); the extra worker runs tests in those waits, for the ~7 s of
    CPU it takes to collect the suite. `PYTEST_XDIST_AUTO_NUM_WORKERS` still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1


#: The project's type check as a process of its own: `python -m mypy` in the checkout, what it
#: said written (atomically) to the file named by its first argument, at the niceness its
#: second adds. In the background it runs niced: it takes the CPU the tests leave (their waits
#: on servers and processes), not the CPU of tests whose processes and servers must keep pace
#: with each other (the fleet's, the nemesis run).
_MYPY_RUN = """\
import json, os, subprocess, sys
os.nice(int(sys.argv[2]))
run = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True)
said = {"returncode": run.returncode, "output": run.stdout + run.stderr}
with open(sys.argv[1] + ".part", "w", encoding="utf-8") as file:
    json.dump(said, file)
os.replace(sys.argv[1] + ".part", sys.argv[1])
"""
_MYPY_LOCK = "project-mypy.lock"
_MYPY_RESULT = "project-mypy.json"
_TEST_PROJECT = Path(__file__).parent / "test_project.py"
_early_mypy: subprocess.Popen[bytes] | None = None


def _runs_the_type_check(config: pytest.Config) -> bool:
    """Whether this run will include the project's type check: a run of the suite, of its
    directory or of tests/test_project.py (not of single tests), not narrowed by `-k` or
    `-m`, not `--collect-only`."""
    if hasattr(config, "workerinput") or config.option.collectonly:
        return False
    if config.option.keyword or config.option.markexpr:
        return False
    here = config.invocation_params.dir
    paths = [(here / arg).resolve() for arg in config.args if "::" not in arg]
    return any(path == _TEST_PROJECT or path in _TEST_PROJECT.parents for path in paths)


@pytest.hookimpl(trylast=True)  # after the tmp_path plugin has set up the run's base directory
def pytest_configure(config: pytest.Config) -> None:
    """Starts the project's type check at once, in the background, when this run includes it
    (once per run: in pytest-xdist's controller, which runs no test, or in the only process).
    Its ~15 s of one core then overlap collection and the suite's waits on servers and
    processes instead of holding a worker; `project_mypy` waits for it (a lock the background
    process holds until it has written what mypy said) and `test_mypy_...` runs last."""
    global _early_mypy
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None and hasattr(config, "workerinput"):
        _share_assertion_rewrites(config, factory.getbasetemp().parent)
    if factory is None or not _runs_the_type_check(config):
        return
    shared = factory.getbasetemp()
    with open(shared / _MYPY_LOCK, "a") as lock:
        # Taken here, before any worker exists, and held by the child (an inherited copy of
        # the descriptor) until it exits: no worker can find the lock free before the result.
        fcntl.flock(lock, fcntl.LOCK_EX)
        _early_mypy = subprocess.Popen(
            [sys.executable, "-c", _MYPY_RUN, str(shared / _MYPY_RESULT), "10"],
            cwd=ROOT,
            pass_fds=(lock.fileno(),),
            start_new_session=True,
        )


def _share_assertion_rewrites(config: pytest.Config, shared: Path) -> None:
    """Each pytest-xdist worker rewrites the asserts of a share of the test modules it will
    collect, before collecting, into pytest's cache of rewritten modules (`__pycache__/*-pytest-
    *.pyc`, checked by source hash), where the others' imports find them: otherwise every worker
    rewrites every module (~3 s of CPU each; 3 workers, all at once: none finds another's). A
    worker takes a module by creating its claim in the run's shared directory; it starts at
    its own offset in the list, and a module claimed but not written yet when a worker imports
    it is rewritten there, as before. Written also under `PYTHONDONTWRITEBYTECODE` (the cache
    is the sharing; `.gitignore` has `__pycache__/`). Any surprise in pytest's private
    rewriting API leaves the rewriting to pytest."""
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
        patterns = config.getini("python_files")
        index, count = int(config.workerinput["workerid"][2:]), config.workerinput["workercount"]
    except (ImportError, KeyError, ValueError, AttributeError):
        return
    if config.getoption("assertmode") != "rewrite":
        return
    here = config.invocation_params.dir
    modules: dict[Path, None] = {}
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        found = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        modules.update(
            (module, None)
            for module in found
            if module.is_relative_to(ROOT) and any(fnmatch(module.name, p) for p in patterns)
        )
    listed = list(modules)
    start = len(listed) * index // max(count, 1)
    claims = shared / "assertion-rewrites"
    claims.mkdir(exist_ok=True)
    for module in listed[start:] + listed[:start]:
        cache = get_cache_dir(module)
        pyc = cache / (module.name[:-3] + PYC_TAIL)
        claim = claims / hashlib.sha256(str(pyc).encode()).hexdigest()
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        if _read_pyc(module, pyc) is not None:
            continue
        try:
            cache.mkdir(exist_ok=True)
            source, code = _rewrite_test(module, config)
        except (OSError, SyntaxError):
            continue  # pytest reports it when it imports the module
        _write_pyc(state, code, source, pyc)


@pytest.hookimpl(trylast=True)  # a worker's end, below, comes after every other plugin's
def pytest_unconfigure(config: pytest.Config) -> None:
    """Ends a background type check no test waited for (a run interrupted or deselecting it),
    and a pytest-xdist worker at once (`_end_worker`)."""
    global _early_mypy
    process, _early_mypy = _early_mypy, None
    if process is not None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        process.wait()
    if hasattr(config, "workerinput"):
        _end_worker()


def _end_worker() -> NoReturn:
    """Ends a pytest-xdist worker's process once its pytest is done, without tearing its
    interpreter down. By then it has sent the controller every report and its "finished"
    message (sent as they are made, in the calling thread); the controller waits for every
    worker's process to end before it reports. A normal exit first waits for the hooks that
    tests left running (the transport's hook workers are not daemons: they finish at exit, by
    design) and then frees the thousands of modules a worker imported (openai's, anthropic's,
    hypothesis's...): the run's last 3-10 s on 2 cores, one core idle."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@pytest.fixture(scope="session")
def project_mypy(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    """The project's type check: `python -m mypy` in the checkout, so with `[tool.mypy]`'s
    settings and files (strict; src and tests/typechecks) and its cache (`.mypy_cache`, or
    `MYPY_CACHE_DIR`). It runs once per test run, however many pytest-xdist workers ask:
    started at the run's start (`pytest_configure`) when the run includes it; otherwise the
    first worker to ask takes a lock in the run's shared temporary directory, runs it and
    writes what it said there. Everyone else waits for the lock and reads it. The tests that
    type-check other files against http402 ask for it, so that they find http402 and its
    dependencies (openai's and anthropic's thousands of modules) in the cache instead of
    checking them again each."""
    here = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker's base directory is inside the run's own.
    shared = here.parent if os.environ.get("PYTEST_XDIST_WORKER") else here
    result = shared / _MYPY_RESULT
    with open(shared / _MYPY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            subprocess.run(
                [sys.executable, "-c", _MYPY_RUN, str(result), "0"], cwd=ROOT, check=True
            )
    return MypyRun(**json.loads(result.read_text(encoding="utf-8")))


#: The files that use the real `openai` and `anthropic` SDKs (tests/lazy.py): run together,
#: by one pytest-xdist worker, so that one worker imports them.
_SDK_FILES = ("tests/test_sdks.py::", "tests/test_streams_sdks.py::")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The nemesis first, the SDK tests next, and the project's type check with the tests
    that reuse its cache last. The nemesis is the longest test (a fleet of processes on a
    real redis-server, most of it waiting): started last, it ran alone at the end while the
    other workers were done. The SDK tests follow it at the head of the first worker's
    share (`--dist worksteal` gives each worker a third of the suite in this order; one that
    runs out takes the tail of another's), so that the SDKs (~1.7 s of CPU to import) are
    imported by that worker alone. The type check started with the run (`pytest_configure`)
    and is done by the end, so no worker waits for it."""

    def order(item: pytest.Item) -> int:
        if "project_mypy" in getattr(item, "fixturenames", ()):
            return 3
        if item.nodeid.startswith("tests/test_nemesis.py"):
            return 0
        return 1 if item.nodeid.startswith(_SDK_FILES) else 2

    items.sort(key=order)
