"""http402 logs like a library: quiet unless the application configured logging."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import httpx
import pytest

import http402

# An adapter that raises is skipped with a WARNING record on the `http402` logger.
_WARNS = textwrap.dedent(
    """
    import httpx, http402

    class Broken:
        name = "broken"
        def classify(self, response):
            raise RuntimeError("boom")

    registry = http402.AdapterRegistry()
    registry.register(Broken())
    payment = http402.classify(httpx.Response(402, request=httpx.Request("GET", "https://a.example")),
                               registry=registry)
    print(payment.reason.value)
    """
)


def test_an_application_without_logging_sees_nothing_on_stderr() -> None:
    """With no logging configured, a WARNING from http402 does not reach stderr (the
    `NullHandler` keeps logging's last-resort handler quiet)."""
    run = subprocess.run(
        [sys.executable, "-c", _WARNS], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "unknown"
    assert run.stderr == ""


def test_the_same_record_reaches_a_configured_handler(caplog: pytest.LogCaptureFixture) -> None:
    """The `NullHandler` takes nothing away: the application's handlers still get the record."""
    handlers = logging.getLogger("http402").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)

    class Broken:
        name = "broken"

        def classify(self, response: object) -> None:
            raise RuntimeError("boom")

    registry = http402.AdapterRegistry()
    registry.register(Broken())
    response = httpx.Response(402, request=httpx.Request("GET", "https://a.example"))
    with caplog.at_level(logging.WARNING, logger="http402"):
        http402.classify(response, registry=registry)
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "adapter 'broken' failed" in caplog.records[0].getMessage()


def _gated_until(sends: int) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A provider whose gate lifts on the `sends`-th request (never, for 0)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if sends and len(seen) >= sends:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json={"error": {"code": 402, "message": "Insufficient credits"}})

    return httpx.MockTransport(handler), seen


def _client(transport: httpx.MockTransport, within: float) -> httpx.Client:
    return http402.wrap(
        httpx.Client(transport=transport),
        on_payment_required=lambda error: http402.Retry(within=within),
        sleep=lambda seconds: None,
        retry=http402.RetryPolicy(within=within, max_replays=3),
    )


def test_one_numbering_of_attempts_when_a_replay_gets_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 4th send gets through: the request and response extensions, and the log record
    of the recovery, all say attempt 4."""
    transport, seen = _gated_until(4)
    with caplog.at_level(logging.INFO, logger="http402"):
        response = _client(transport, 60).post("https://openrouter.ai/api/v1/chat/completions")
    assert response.status_code == 200
    assert len(seen) == 4
    assert [r.extensions.get("http402.replay") for r in seen] == [
        None,
        {"attempt": 2},
        {"attempt": 3},
        {"attempt": 4},
    ]
    assert response.extensions["http402.replay"] == {"attempt": 4}
    recovered = [r for r in caplog.records if getattr(r, "http402_event", "") == "recovered"]
    assert [r.attempt for r in recovered] == [4]  # type: ignore[attr-defined]


def test_one_numbering_of_attempts_when_the_window_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A gate that never lifts: `error.attempts` is the number of sends, the last replay's
    extension says the same number, and so does the log record of giving up."""
    transport, seen = _gated_until(0)
    with (
        caplog.at_level(logging.INFO, logger="http402"),
        pytest.raises(http402.PaymentRequiredError) as caught,
    ):
        _client(transport, 60).post("https://openrouter.ai/api/v1/chat/completions")
    sends = len(seen)
    assert sends > 1
    assert caught.value.attempts == sends
    assert seen[-1].extensions["http402.replay"] == {"attempt": sends}
    attempts = [getattr(r, "attempt", None) for r in caplog.records if r.name == "http402"]
    assert max(a for a in attempts if a is not None) == sends


def test_an_event_with_no_gate_names_no_gate(caplog: pytest.LogCaptureFixture) -> None:
    """A record about a store, a probe or a hold (no gate met) says its event and words, not
    a gate's `(None, provider None, attempt 1, waited 0.0 s)`; the fields stay for handlers."""
    from http402._telemetry import report

    with caplog.at_level(logging.WARNING, logger="http402"):
        report("release_failed", "the store did not answer", None, scope="s", level=logging.WARNING)
    (record,) = caplog.records
    assert record.getMessage() == "http402 release_failed: the store did not answer"
    assert record.__dict__["billing_gate_reason"] is None
    assert record.__dict__["http402_event"] == "release_failed"
