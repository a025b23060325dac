"""A short run of `benchmarks/load.py` over real loopback sockets, with gate bursts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

LOAD_PY = Path(__file__).parent.parent / "benchmarks" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    """The benchmark module, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("http402_benchmarks_load", LOAD_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_gate_bursts_under_load_lose_nothing_and_leak_nothing(load: ModuleType) -> None:
    """8 threads x 50 sync and 50 tasks x 5 async requests through 2-3 dry spells each all
    end 200, with one top-up per hook call, at most one hook call per burst per transport, no
    connection left in use and no server socket left open. Each side runs on virtual time (an
    account and a clock of its own that move only when its transport waits): the outcome
    depends on the order of events, never on how busy the machine is."""
    settings = load.LoadSettings(
        threads=8,
        sync_requests=50,
        tasks=50,
        async_requests=5,
        bursts=3,
        timeout=60,
        virtual_time=True,
    )
    result = load.run_load(settings)
    report = load.summary(result)

    assert result.requests == 650, report
    assert result.lost == 0, report
    for side in result.sides:
        assert side.done, report
        assert side.ok == side.planned, report
        assert not side.failures, report
        assert side.pool is not None, report
        assert side.pool.in_use == side.pool.queued == side.pool.after_close == 0, report
        assert side.pool.connections <= settings.max_connections, report
    assert result.leaked == 0, report
    assert result.server_sockets_left in (0, None), report
    assert result.served_200 == result.ok == 650, report  # each request charged exactly once
    assert result.top_ups == len(result.hook_calls), report
    assert result.most_hook_calls_in_a_burst == 1, report  # each transport coalesces its own
    for side in result.sides:
        assert side.bursts >= 2, report
        assert 1 <= result.hook_calls_of(side.name) <= side.bursts, report
    assert result.events["gave_up"] == 0, report


def test_the_command_line_prints_a_passing_summary(
    load: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main()` with small flags (one sync thread, no async task, virtual time) prints the
    table and exits 0."""
    argv = ["--threads", "1", "--sync-requests", "20", "--tasks", "0", "--bursts", "2"]
    assert load.main([*argv, "--timeout", "30", "--virtual-time"]) == 0
    out = capsys.readouterr().out
    assert "virtual time, an account per side" in out
    for row in ("throughput req/s", "latency p95 ms", "hook calls", "leaked connections"):
        assert row in out
    assert out.rstrip().endswith("PASS")
