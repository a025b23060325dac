"""A short nemesis run (`benchmarks/nemesis.py`): a flush, a freeze (SIGSTOP) and a restart
thrown at a real redis-server mid-hook, each in an episode of three worker processes sending
requests to an account whose credits ran out and to x402 endpoints with hostile offers; every
invariant the script checks must hold (at most one top-up, spending within the window's cap
for each asset, no offer at or below zero or over the bound paid, no request held past its
deadline, no worker crashed). The three episodes run at once, each a `nemesis.py` of its own
with its own redis-server and provider, so the test takes as long as its slowest episode,
not the three in a row. The nightly run is `python benchmarks/nemesis.py` (every fault kind,
more processes and requests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .test_fleet import server_binary

ROOT = Path(__file__).parent.parent
FAULTS = ("flush", "sigstop", "restart")


def test_a_short_nemesis_run_breaks_no_invariant() -> None:
    server_binary()
    options = ["--seed", "7", "--episodes", "1", "--processes", "3", "--requests", "8"]
    runs = {
        fault: subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "nemesis.py"), *options, "--faults", fault],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for fault in FAULTS
    }
    for fault, run in runs.items():
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, out
        rows = [line.split() for line in out.splitlines() if line[:3].strip().isdigit()]
        assert [row[1] for row in rows] == [fault], out
        assert rows[0][2] == "1", out  # one top-up
