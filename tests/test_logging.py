"""http402 logs like a library: quiet unless the application configured logging."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import http402
import http402._logs

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


#: A key the provider takes in the query (SerpApi's `?api_key=`), and a passphrase sent as a
#: header: neither is shaped like a key, so only knowing the request's credentials finds it.
QUERY_KEY = "wq7Rb2Lm9Xc4Vn8Tz3Kd"
PASSPHRASE = "correct horse battery staple"


class _Written(logging.Handler):
    """Formats each record of the `http402` logger as any logging config would (message
    and traceback), and says when the low-balance hook's failure was written."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.hook_failed = threading.Event()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        if "low-balance hook raised" in record.getMessage():
            self.hook_failed.set()


@contextlib.contextmanager
def _written() -> Iterator[_Written]:
    handler = _Written()
    logger = logging.getLogger("http402")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _provider(http: Any) -> Any:
    def answer(request: Any) -> Any:
        if request.url.path.endswith("/top-up"):
            return http.Response(503, json={"error": "billing backend unavailable"})
        return http.Response(200, json={}, headers={"X-Credits-Remaining": "40"})

    return http.MockTransport(answer)


def _top_up(http: Any) -> Callable[[http402.LowBalance], None]:
    """The application's low-balance top-up: the provider's billing API with the same key,
    and `raise_for_status()`, whose message quotes the URL whole; its error quotes the
    passphrase too."""

    def top_up(alert: http402.LowBalance) -> None:
        billing = http.Client(transport=_provider(http))
        response = billing.post(
            "https://api.search.example/v1/top-up", params={"api_key": QUERY_KEY}
        )
        try:
            response.raise_for_status()
        except http.HTTPStatusError as exc:
            raise RuntimeError(f"top-up refused for passphrase {PASSPHRASE!r}") from exc

    return top_up


def _leaks(texts: list[str]) -> list[str]:
    return [text for text in texts if QUERY_KEY in text or PASSPHRASE in text]


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_low_balance_hooks_failure_is_logged_without_the_requests_credentials(
    library: str,
) -> None:
    """The low-balance hook raises, quoting in its traceback the key of the request whose
    balance fired it (in a URL's query) and its passphrase (in words): the record http402
    writes, message and traceback as a formatter prints them, holds neither (case 94)."""
    http = pytest.importorskip(library)
    client = http402.wrap(
        http.Client(transport=_provider(http), headers={"CB-ACCESS-PASSPHRASE": PASSPHRASE}),
        low_balance=http402.LowBalanceWatch(_top_up(http), below=100),
    )
    with _written() as written:
        response = client.get(
            "https://api.search.example/v1/search", params={"api_key": QUERY_KEY, "q": "x"}
        )
        assert response.status_code == 200
        assert written.hook_failed.wait(30)
    text = "\n".join(written.texts)
    assert "RuntimeError" in text and "HTTPStatusError" in text  # the traceback is there
    assert "[redacted]" in text
    assert _leaks(written.texts) == []


@pytest.mark.anyio
@pytest.mark.parametrize("coroutine", [True, False])
async def test_an_async_low_balance_hooks_failure_is_logged_without_the_requests_credentials(
    coroutine: bool,
) -> None:
    """The async twin: a coroutine hook (in its task) and a plain one (in a worker thread)."""
    plain = _top_up(httpx)

    async def as_coroutine(alert: http402.LowBalance) -> None:
        plain(alert)

    client = http402.wrap(
        httpx.AsyncClient(transport=_provider(httpx), headers={"CB-ACCESS-PASSPHRASE": PASSPHRASE}),
        low_balance=http402.LowBalanceWatch(as_coroutine if coroutine else plain, below=100),
    )
    with _written() as written:
        response = await client.get(
            "https://api.search.example/v1/search", params={"api_key": QUERY_KEY, "q": "x"}
        )
        assert response.status_code == 200
        with anyio.fail_after(30):
            while not written.hook_failed.is_set():
                await anyio.sleep(0)  # a turn of the loop: the hook's task runs
    assert "RuntimeError" in "\n".join(written.texts)
    assert _leaks(written.texts) == []


def test_every_record_of_the_http402_logger_is_scrubbed() -> None:
    """One path: whatever a module of http402 (or anyone) writes on the `http402` logger, its
    message, its arguments, its traceback, its stack and its `extra` fields are scrubbed of the
    credentials known where it is written, of key-shaped tokens, and of credentials in URLs;
    a handler never gets the exception object itself."""
    url = f"https://user:{QUERY_KEY}@api.example.com/v1?api_key={QUERY_KEY}&q=1"
    logger = logging.getLogger("http402")
    try:
        raise ValueError(f"refused {url} for {PASSPHRASE}")
    except ValueError as exc:
        error = exc
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(keep)
    try:
        with http402._logs.credentials((PASSPHRASE,)):
            logger.warning(
                "calling %s",
                url,
                exc_info=error,
                stack_info=True,
                extra={"scope": f"echo {PASSPHRASE}"},
            )
        logger.warning("no credential known here: %s", url, exc_info=error)
    finally:
        logger.removeHandler(keep)
    assert [record.exc_info for record in records] == [None, None]
    first, second = (keep.format(record) for record in records)
    for text in (first, second):
        assert QUERY_KEY not in text and "ValueError" in text
    assert PASSPHRASE not in first + (records[0].stack_info or "") + records[0].__dict__["scope"]
    assert PASSPHRASE in second  # words are secrets only where they are known to be
    assert "api.example.com" in first  # the URL is still shown, without its credentials


def test_every_module_logs_through_the_one_scrubbed_logger() -> None:
    """No module of http402 takes a logger of its own: each writes through `_logs.logger`,
    whose filter is the one path of every record."""
    package = Path(http402.__file__).parent
    own = [
        path.name
        for path in package.rglob("*.py")
        if "getLogger(" in path.read_text() and path.name not in ("_logs.py", "__init__.py")
    ]
    assert own == []
    assert any(type(f).__name__ == "_Scrub" for f in logging.getLogger("http402").filters)
