"""A short nemesis run (`benchmarks/nemesis.py`): three worker processes against a real
redis-server, with a flush, a freeze and a restart thrown mid-hook, and hostile offers; every
invariant it checks must hold. The nightly run is `python benchmarks/nemesis.py`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .test_fleet import server_binary

ROOT = Path(__file__).parent.parent


def test_a_short_nemesis_run_breaks_no_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    server_binary()
    spec = importlib.util.spec_from_file_location("nemesis", ROOT / "benchmarks" / "nemesis.py")
    assert spec is not None and spec.loader is not None
    nemesis = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nemesis)
    options = ["--seed", "7", "--episodes", "3", "--faults", "flush,sigstop,restart"]
    options += ["--processes", "3", "--requests", "8", "--budget", "120"]
    status = nemesis.main(options)
    out = capsys.readouterr().out
    assert status == 0, out
    rows = [line for line in out.splitlines() if line[:3].strip().isdigit()]
    assert sorted(row.split()[1] for row in rows) == ["flush", "restart", "sigstop"]
    assert all(row.split()[2] == "1" for row in rows), out  # one top-up per episode
