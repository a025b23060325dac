"""The command line, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from http402._cli import main

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
    assert "low balance (time_left):" in out
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


ACME = """
import http402

class AcmeAdapter:
    name = "acme"
    hosts = ("api.acme.example",)
    statuses = (402, 403)

    def classify(self, response):
        body = response.json
        if isinstance(body, dict) and body.get("error") == "wallet_empty":
            return http402.PaymentRequired(
                reason=http402.Reason.INSUFFICIENT_CREDITS, provider=self.name
            )
        return None

class Nameless:
    def classify(self, response):
        return None

openai_again = AcmeAdapter()
openai_again.name = "openai"
"""


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as `python -I -m http402` runs it: the current directory is not on the path
    unless the CLI puts it there for `--adapter`."""
    return subprocess.run(
        [sys.executable, "-I", "-m", "http402", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_explain_loads_a_custom_adapter_from_module_and_attribute(tmp_path: Path) -> None:
    """`--adapter module:Class` recognises a gate that no built-in adapter knows, without
    installing it as a plugin; the same body without it is no gate."""
    (tmp_path / "cli_acme_adapters.py").write_text(ACME)
    (tmp_path / "body.json").write_text('{"error": "wallet_empty"}')
    where = ("--status", "403", "--url", "https://api.acme.example/v1/run")
    without = _cli(tmp_path, "explain", "body.json", *where)
    assert without.returncode == 1, without.stderr
    adapter = ("--adapter", "cli_acme_adapters:AcmeAdapter")
    found = _cli(tmp_path, "explain", "body.json", *where, *adapter)
    assert found.returncode == 0, found.stderr
    assert "insufficient_credits" in found.stdout
    assert "acme" in found.stdout


def test_adapters_lists_a_custom_adapter_first(tmp_path: Path) -> None:
    """`http402 adapters --adapter ...` shows it where it is tried: before the built-ins."""
    (tmp_path / "cli_acme_adapters.py").write_text(ACME)
    listing = _cli(tmp_path, "adapters", "--json", "--adapter", "cli_acme_adapters:AcmeAdapter")
    assert listing.returncode == 0, listing.stderr
    assert '"name": "acme"' in listing.stdout.split("},")[0]


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no_such_module_here:Adapter", "cannot import 'no_such_module_here'"),
        ("cli_acme_adapters:Missing", "has no 'Missing'"),
        ("cli_acme_adapters:Nameless", "needs a non-empty str `name`"),
        ("cli_acme_adapters:openai_again", "openai"),
        ("cli_acme_adapters", "is not 'module:attribute'"),
    ],
)
def test_an_adapter_that_cannot_be_used_is_a_usage_error(
    tmp_path: Path,
    spec: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A module that is missing, a missing attribute, an object that is no adapter, or a name
    already registered: exit 2 with one line saying why."""
    (tmp_path / "cli_acme_adapters.py").write_text(ACME)
    (tmp_path / "body.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    try:
        code = main(["explain", "body.json", "--adapter", spec])
    finally:
        sys.modules.pop("cli_acme_adapters", None)  # each test's own module, never shared
    err = capsys.readouterr().err
    assert code == 2
    assert said in err
    assert "Traceback" not in err
