"""The one path of every record http402 writes: the `http402` logger, scrubbed on the way.

Every module that logs takes `logger` from here, and the logger carries one filter that
scrubs each record before any handler sees it: its message (arguments merged in), its
traceback (an exception's message may quote a URL with a key in its query, a body that
echoes the key), its stack and the string fields of its `extra`. What is scrubbed is what
`_redaction.Redactor` finds: every credential known where the record is written
(`credentials` around work done for a request, such as a low-balance alert; `for_request`
around a request's recovery flow),
credential-shaped tokens, and in any URL the userinfo, credential query values and a key in
the path. A record's `exc_info` is replaced by its scrubbed text (`exc_text`), which every
`logging.Formatter` prints in its place: a handler never gets the exception object to format
on its own.

Who changes what: `credentials` sets a context variable for the calling thread or task
(`_workers.run` carries it into a hook's worker); the filter only reads it. The redactor is
imported on the first record, not at import: the non-402 path never logs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["awaited", "credentials", "for_request", "known", "logger", "scrubbed"]

T = TypeVar("T")

logger = logging.getLogger("http402")

#: What the work done here is for: credentials (a tuple of them), or requests whose
#: credentials (`_redaction.redactor_of`) are worked out only when a record is written.
_known: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar(
    "http402_credentials", default=()
)

#: A URL in free text (an `HTTPStatusError` quotes the request's URL whole).
_URL = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'"<>()\[\]{}`]+""")

#: A path segment long enough to be a key (`_redaction`'s shortest secret).
_LONG_SEGMENT = re.compile(r"/[^/]{8,}")

#: The attributes every `LogRecord` has: anything else came in `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


@contextlib.contextmanager
def credentials(secrets: Iterable[str]) -> Iterator[None]:
    """Within the block, every record this thread or task writes is scrubbed of `secrets`
    too (as well as of the credentials already known here)."""
    secrets = tuple(secrets)
    if not secrets:
        yield
        return
    token = _known.set((*_known.get(), secrets))
    try:
        yield
    finally:
        _known.reset(token)


async def awaited(secrets: tuple[str, ...], work: Awaitable[T]) -> T:
    """Awaits `work` (a task's whole job), `secrets` known to every record it writes."""
    with credentials(secrets):
        return await work


def known() -> tuple[str, ...]:
    """The credentials known here, to carry into a worker thread (`credentials(known())`)."""
    return _secrets()


def for_request(request: Any, flow: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """`flow` (a recovery flow, driven by a shell), with `request`'s credentials known to
    every record written while it runs, by the flow or by the shell performing its actions."""
    token = _known.set((*_known.get(), request))
    try:
        return (yield from flow)
    finally:
        with contextlib.suppress(ValueError):  # closed from another context (a collector)
            _known.reset(token)


def _secrets() -> tuple[str, ...]:
    from ._redaction import request_secrets

    found: set[str] = set()
    for source in _known.get():
        if isinstance(source, tuple):
            found.update(source)
        else:
            found.update(request_secrets(source))
    return tuple(sorted(found))


def scrubbed(text: str) -> str:
    """`text` as a record may carry it: without the credentials known here,
    credential-shaped tokens, or a credential in a URL."""
    return _scrubber()(text)


def _scrubber() -> Callable[[str], str]:
    from ._redaction import redactor_for, safe_url_for_display

    redact = redactor_for(_secrets())

    def shown(match: re.Match[str]) -> str:
        url = match.group()
        rest = url.partition("://")[2]
        path = rest[rest.find("/") :] if "/" in rest else ""
        if "@" in url or "?" in url or _LONG_SEGMENT.search(path):
            return safe_url_for_display(url)
        return url  # nothing a credential could be in (a scope's `origin:digest` stays)

    def scrub(text: str) -> str:
        text = redact(text)
        if "://" in text:
            text = _URL.sub(shown, text)
        return text

    return scrub


class _Scrub(logging.Filter):
    """Scrubs each record of the `http402` logger in place (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _scrub(record)
        except Exception:  # a record that cannot even be rendered: keep only its origin
            record.msg, record.args = f"http402: a record from {record.module} failed", None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _scrub(record: logging.LogRecord) -> None:
    scrub = _scrubber()
    record.msg, record.args = scrub(record.getMessage()), None
    if record.exc_info and record.exc_info[1] is not None:
        import traceback  # only when something failed

        text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        record.exc_text, record.exc_info = scrub(text), None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    fields: dict[str, Any] = vars(record)
    for name, value in list(fields.items()):
        if name not in _STANDARD and isinstance(value, str):
            fields[name] = scrub(value)


if not any(isinstance(each, _Scrub) for each in logger.filters):
    logger.addFilter(_Scrub())
