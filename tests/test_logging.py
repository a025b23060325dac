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
