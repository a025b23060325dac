"""The command line, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CLI_DOCS = Path(__file__).parent.parent / "docs" / "cli.md"


def test_demo_runs_against_a_real_loopback_server_and_exits_zero() -> None:
    """`python -m http402 demo` spends credits until a 402, shows the typed error, then tops
    up through the provider's API, waits for the credits to propagate and replays; then a
    burn-rate warning and a preflight refusal."""
    result = subprocess.run(
        [sys.executable, "-m", "http402", "demo"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"a paid API on http://127\.0\.0\.1:\d+", out)
    assert "call 2: 200 OK, 20 credits left" in out
    assert "raised InsufficientCreditsError" in out
    assert re.search(r"credits_required\s+40", out)
    assert re.search(r"credits_available\s+20", out)
    assert "hook: POST /billing/top-up -> pending" in out
    assert "still 402 while the top-up propagates" in out
    assert re.search(r"replayed: 200 OK after [0-9.]+ s, 180 credits left", out)
    assert "on_low_balance: time_left:" in out
    assert re.search(r"refused before sending \(InsufficientCreditsError, attempts=0\)", out)
    assert "demo-" not in out, "the demo's API key must not be printed"
    assert _transcript(out) == _transcript(_documented_demo()), "docs/cli.md has drifted"


def _documented_demo() -> str:
    """The demo transcript shown in `docs/cli.md`."""
    match = re.search(r"```text\n(http402 demo: .*?)```", CLI_DOCS.read_text(), re.DOTALL)
    assert match is not None, "docs/cli.md shows no demo transcript"
    return match.group(1)


def _transcript(out: str) -> list[str]:
    """The demo's lines without what changes from run to run: the port, the request id,
    durations, and how many waits the propagation took."""
    out = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", out)
    out = re.sub(r"req_[0-9a-f]+", "req_ID", out)
    out = re.sub(r"\d+\.\d+ s\b", "N s", out)
    lines = [line.rstrip() for line in out.splitlines() if line.strip()]
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def test_no_command_is_a_usage_error() -> None:
    """Without a command, the CLI says how to use it and exits 2."""
    result = subprocess.run(
        [sys.executable, "-m", "http402"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "usage: http402" in result.stderr
