"""Billing gates inside a 200 `text/event-stream`: the look-ahead, sans-IO.

Some APIs accept a streaming request with a 200 and report "out of credits" as the stream's
first event: OpenAI's Responses API sends `response.created`, `response.in_progress`, then an
`error` event (`insufficient_quota`) and `response.failed`; OpenAI-compatible gateways pass
an upstream's error as a `data: {"error": {...}}` chunk. No output has reached the caller yet,
so the gate can be treated like the same gate on a 4xx: typed, topped up once, replayed.

`LookAhead` reads a stream's opening events only while they carry no output (comments,
keep-alives, `ping`, lifecycle events), at most `PEEK_LIMIT` decoded bytes and for the same
time as a 4xx body, and stops at the first event that carries output, at an error event, or
at the bound. What counts as "no output" comes from recorded streams of each family (see
`tests/payloads/streams/`); anything not known to be empty counts as output, so an unknown
stream is never held back beyond its first event. `Watch` follows the rest of a stream that
was handed back, to count a billing error that comes after output began (it is never replayed).

`EventParser` is an incremental parser of the event-stream format (WHATWG HTML, "Interpreting
an event stream"): `data`, `event`, `id` and `retry` fields, comments, CR, LF and CRLF line
ends (split across chunks too), multi-line data, a leading BOM; an event left unterminated
when the stream ends is dropped, as the standard says.

Nothing here does I/O: `LookAhead.read` and `aread` only pull from the stream they are handed,
like `BodyReader.read`.
"""

from __future__ import annotations

import enum
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from ._logs import logger as _logger
from ._untrusted import DEFAULT_MAX_BODY_SECONDS, BodyReader, loads_json

if TYPE_CHECKING:
    from ._adapters import AdapterRegistry
    from ._models import PaymentRequired

__all__ = [
    "EVENT_STREAM_STARTS",
    "PEEK_LIMIT",
    "AsyncFollowed",
    "Event",
    "EventParser",
    "Followed",
    "LookAhead",
    "Stop",
    "Watch",
    "classify_error_event",
    "is_event_stream",
    "look_back",
    "says_event_stream",
]


#: How much of a stream's decoded opening is read for a gate: a gate comes in the first few
#: events, and OpenAI's recorded one, with its two lifecycle events, is under 3 KiB.
PEEK_LIMIT = 8 * 1024
#: The longest line a `Watch` keeps while it follows a stream after output began; a longer one
#: (a base64 image, a long tool argument) is skipped: an error event is short.
WATCH_LINE_LIMIT = 64 * 1024

_BOM = b"\xef\xbb\xbf"
_DONE = "[DONE]"
#: The first byte of a `text/event-stream` value (optional whitespace first), as the one-byte
#: slice `value[:1]` gives it: most content types are settled there (`application/json`).
EVENT_STREAM_STARTS = frozenset((b"t", b"T", b" ", b"\t"))
#: Event types (the `event:` field, or the payload's `type`) that carry no output: keep-alives
#: and the lifecycle events sent before a model produces anything (OpenAI Responses, Anthropic).
_NO_OUTPUT_TYPES = frozenset(
    {"ping", "response.created", "response.in_progress", "response.queued", "message_start"}
)
#: Event types that report a failure: OpenAI's and Anthropic's `error`, OpenAI's
#: `response.failed` (whose `response.error` says why).
_ERROR_TYPES = frozenset({"error", "response.failed"})


def is_event_stream(content_type: str | None) -> bool:
    """`True` for a `text/event-stream` media type, whatever its parameters."""
    if not content_type:
        return False
    return content_type.partition(";")[0].strip().lower() == "text/event-stream"


def says_event_stream(headers: Any) -> bool:
    """`True` when a response's headers say `text/event-stream`.

    httpx's and httpx2's header list is read as it is stored (`(raw name, lowercased name,
    value)` since httpx 0.18): the public `headers.get` costs eight times as much, as it
    lowercases, encodes and joins. Headers of any other shape are read through `get`.
    """
    items = getattr(headers, "_list", None)
    if not isinstance(items, list):
        return is_event_stream(headers.get("content-type"))
    for _, name, value in items:
        if name == b"content-type":
            return says_event_stream_value(value)
    return False


def says_event_stream_value(value: bytes) -> bool:
    """`True` when a raw `Content-Type` value is `text/event-stream` (parameters aside)."""
    # Most values start with another letter ("application/json"): no more to do.
    return value[:1] in EVENT_STREAM_STARTS and (
        value.partition(b";")[0].strip().lower() == b"text/event-stream"
    )


@attrs.frozen
class Event:
    """One dispatched server-sent event."""

    #: The `event` field, `"message"` when it was not given.
    type: str
    #: The `data` lines, joined with `\n`.
    data: str
    #: The last event ID seen so far in the stream (`""` when none).
    id: str = ""


class EventParser:
    """Turns the bytes of an event stream into `Event`s, chunk by chunk.

    A line may be split across chunks, a CR at the end of one chunk and an LF at the start of
    the next make one line end, and an event is dispatched at the blank line that ends it.
    The caller bounds what it feeds (the look-ahead feeds at most `PEEK_LIMIT` bytes); a
    `max_line` drops any longer line instead of keeping it.
    """

    __slots__ = (
        "_after_cr",
        "_data",
        "_dropping",
        "_event",
        "_last_id",
        "_partial",
        "_started",
        "keep",
        "max_line",
        "retry",
    )

    def __init__(self, max_line: int | None = None) -> None:
        self._partial = bytearray()  # the unterminated end of what was fed
        self._data: list[bytes] = []
        self._event = b""
        self._last_id = ""
        self._after_cr = False  # what was fed ended with CR: an LF next is its pair
        self._started = False  # the BOM check is done
        #: Lines longer than this are dropped (`None`: no limit).
        self.max_line = max_line
        #: Decides from an event's raw type and data lines whether to dispatch it at all
        #: (`None`: every event); what is not kept costs no decoding.
        self.keep: Callable[[bytes, list[bytes]], bool] | None = None
        self._dropping = False  # in a line longer than `max_line`, until its end
        #: The last valid `retry` field (milliseconds), or `None`.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Takes the next bytes of the stream; returns the events they complete, in order."""
        return list(self.events(chunk))

    def events(self, chunk: bytes) -> Iterator[Event]:
        """`feed`, lazily: each event is parsed when it is asked for. Read it to its end
        before feeding more (the end of the chunk is kept only then)."""
        if not self._started:
            chunk = bytes(self._partial) + chunk
            self._partial.clear()
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._partial += chunk  # too short to tell whether a BOM opens the stream
                return
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        if not chunk:
            return
        self._after_cr = chunk[-1:] == b"\r"
        if b"\n" not in chunk and b"\r" not in chunk:
            self._keep(chunk)  # the middle of a line: nothing to split
            return
        if self._partial:
            chunk = bytes(self._partial) + chunk
            self._partial.clear()
        # `bytes.splitlines` splits on CR, LF and CRLF only, as the format does.
        lines = chunk.splitlines(True)
        tail = lines.pop() if lines[-1][-1:] not in (b"\n", b"\r") else b""
        for line in lines:
            if self._dropping:
                self._dropping = False  # the end of a line too long to keep
                continue
            line = line.rstrip(b"\r\n")
            if not line:
                event = self._dispatch()
                if event is not None:
                    yield event
            elif line[0] != 58:  # not a ":" comment
                self._field(line)
        if tail:
            self._keep(tail)

    def _keep(self, piece: bytes) -> None:
        """Keeps the unterminated end of a line, or drops it past `max_line`."""
        if self._dropping:
            return
        self._partial += piece
        if self.max_line is not None and len(self._partial) > self.max_line:
            self._partial.clear()
            self._dropping = True

    def _field(self, line: bytes) -> None:
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value
        elif field == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif field == b"retry" and value.isdigit():
            self.retry = int(value)

    def _dispatch(self) -> Event | None:
        data, self._data = self._data, []
        event, self._event = self._event, b""
        if not data or (self.keep is not None and not self.keep(event, data)):
            return None
        return Event(
            type=event.decode("utf-8", "replace") or "message",
            data=b"\n".join(data).decode("utf-8", "replace"),
            id=self._last_id,
        )


class Stop(enum.Enum):
    """Why the look-ahead stopped reading."""

    #: An event carries output: the stream is the caller's from here.
    OUTPUT = "output"
    #: An error event: its payload decides whether this is a gate.
    ERROR = "error"
    #: The stream ended (or said `[DONE]`) before any output.
    END = "end"
    #: `PEEK_LIMIT` bytes or the read deadline, with no output and no error yet.
    BOUND = "bound"


class LookAhead(BodyReader):
    """Reads a 200 event stream's opening events while they carry no output.

    A `BodyReader` (it decodes while bounded and keeps the raw chunks to hand back) that also
    parses what it decodes: feed it the raw chunks (`feed`, or `read` / `aread` to pull them)
    and it stops at the first event that carries output, at an error event, at the end, or at
    the bound; `stop` says which.

    Args:
        content_encoding: The response's `Content-Encoding`.
        limit: The most decoded bytes read (default `PEEK_LIMIT`).
        max_seconds: How long to read, checked as each chunk arrives (a stall between two
            chunks is bounded by the client's read timeout); `None`: no limit.
        clock: The monotonic clock the deadline is read from; tests pass a fake one.
    """

    __slots__ = (
        "_clock",
        "_parsed",
        "_parser",
        "_peek_deadline",
        "_stop",
        "_unread",
        "error",
        "events",
    )

    def __init__(
        self,
        content_encoding: str | None = None,
        *,
        limit: int = PEEK_LIMIT,
        max_seconds: float | None = DEFAULT_MAX_BODY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(content_encoding, limit, None)
        self._parser = EventParser()
        self._parsed = 0
        self._clock = clock
        self._peek_deadline = None if max_seconds is None else clock() + max_seconds
        self._stop: Stop | None = None
        # The events of the last chunk after the one that stopped reading, not yet parsed.
        self._unread: Iterator[Event] = iter(())
        #: The error event's payload to classify, as JSON text, when `stop` is `ERROR`.
        self.error: bytes | None = None
        #: How many events were read.
        self.events = 0

    @property
    def stop(self) -> Stop | None:
        """Why reading stopped; `None` while it goes on."""
        if self._stop is not None:
            return self._stop
        if self.broken is not None:
            return Stop.BOUND
        return Stop.END if self.complete else None

    def feed(self, chunk: bytes) -> bool:
        """Takes one raw chunk; `True` means stop reading (`stop` says why)."""
        if self._stop is not None:
            return True
        full = super().feed(chunk)
        body = self.body
        fresh, self._parsed = body[self._parsed :], len(body)
        pending = self._parser.events(fresh)
        for event in pending:
            self.events += 1
            kind, payload = judge(event)
            if kind is not None:
                self._stop, self.error = kind, payload
                self._unread = pending
                return True
        late = self._peek_deadline is not None and self._clock() > self._peek_deadline
        if full or late:
            self._stop = Stop.BOUND
            return True
        return False

    def watch(self) -> Watch:
        """A `Watch` that goes on from where this look-ahead stopped: the same parser (a line
        may be cut between the last chunk read and the next), and the events that chunk
        completed after the one that stopped it."""
        return Watch(self._parser, self._unread)


def judge(event: Event) -> tuple[Stop | None, bytes | None]:
    """What one event means to the look-ahead: `(None, None)` while it carries no output,
    `(Stop.ERROR, payload)` for an error (the payload to classify, or `None`), `(Stop.END,
    None)` for `[DONE]`, and `(Stop.OUTPUT, None)` for anything else."""
    data = event.data
    if data == _DONE:
        return Stop.END, None
    if not data.strip():
        return (Stop.ERROR, None) if event.type == "error" else (None, None)
    try:
        payload = loads_json(data)
    except ValueError:
        payload = None
    kind = event.type if event.type != "message" else None
    if isinstance(payload, dict):
        declared = payload.get("type")
        if kind is None and isinstance(declared, str):
            kind = declared
        if kind in _ERROR_TYPES or (kind is None and _has_error(payload)):
            return Stop.ERROR, _error_payload(kind, payload, data)
        if kind in _NO_OUTPUT_TYPES or (kind is not None and _only_metadata(payload)):
            return None, None
        if kind == "content_block_start" and _carries_nothing(payload.get("content_block")):
            return None, None  # Anthropic opens an empty text or thinking block first
        if kind is None and _is_silent_chunk(payload):
            return None, None
        if kind is None:
            ended = _ended_by_the_provider(payload)
            if ended is not None:
                return Stop.ERROR, ended
        return Stop.OUTPUT, None
    if kind in _ERROR_TYPES:
        return Stop.ERROR, data.encode("utf-8")
    if kind in _NO_OUTPUT_TYPES:
        return None, None
    return Stop.OUTPUT, None


#: Keys that name or date a stream, a request or a response, never what a model produced.
_METADATA_KEY = re.compile(
    r"(?:id|object|model|created|created_at|createdAt|sequence_number|timestamp"
    r"|[a-z0-9]+(?:_id|Id))\Z"
)


def _only_metadata(payload: dict[str, Any]) -> bool:
    """A typed event whose other members are identifiers and timestamps alone (a request id
    sent first, as `{"type": "meta", "requestId": "..."}`): it says which stream this is, not
    what was produced, so it is no output. Any other member, or a nested value, is output."""
    return all(
        key == "type"
        or (
            _METADATA_KEY.match(key) is not None
            and (value is None or isinstance(value, (str, int, float)))
            and not isinstance(value, bool)
        )
        for key, value in payload.items()
    )


def _has_error(payload: dict[str, Any]) -> bool:
    """A chunk that carries an error: `{"error": {...}}` (OpenAI, OpenRouter, gateways) or
    vLLM's `{"object": "error", "message": ...}`."""
    error = payload.get("error")
    return (error is not None and error != "" and error != {}) or payload.get("object") == "error"


def _error_payload(kind: str | None, payload: dict[str, Any], data: str) -> bytes | None:
    """The part of an error event to classify: the error alone, never the response or the
    choices next to it (a `response.failed` repeats the request's instructions, which are
    the application's words, not the provider's)."""
    if kind == "response.failed":
        response = payload.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        return None if not error else _dumps({"error": error})
    if kind == "error" or "error" not in payload:
        return data.encode("utf-8")
    return _dumps({"error": payload["error"]})


def _dumps(value: object) -> bytes:
    return json.dumps(value, default=str, separators=(",", ":")).encode("utf-8")


def _carries_nothing(value: object, skip: frozenset[str] = frozenset({"type"})) -> bool:
    """`True` for `None`, an empty string, list or mapping, or a mapping whose values (its
    `skip` keys aside) all carry nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, dict):
        return all(_carries_nothing(v) for k, v in value.items() if k not in skip)
    return False


_DELTA_SKIP = frozenset({"role"})


def _is_silent_chunk(payload: dict[str, Any]) -> bool:
    """A chat-completions chunk with no output yet: no choices (a prompt-filter or usage
    chunk), or choices whose delta holds only a role and empty values."""
    choices = payload.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        if not isinstance(choice, dict):
            return False
        if "delta" in choice:
            if not _carries_nothing(choice["delta"], _DELTA_SKIP):
                return False
        elif not _carries_nothing(choice.get("text")):
            return False  # a legacy completions chunk
    return True


#: How a chat completion's choice ends by the model's own doing, as OpenAI's API states it and
#: the gateways that copy it (and the Anthropic and Hugging Face names some of them pass on):
#: the output is the model's. Any other reason is the provider's own.
_MODEL_FINISH_REASONS = frozenset(
    {
        "stop",
        "length",
        "tool_calls",
        "function_call",
        "content_filter",
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "eos_token",
    }
)


def _ended_by_the_provider(payload: dict[str, Any]) -> bytes | None:
    """The error that the first output chunk states when every choice in it ends for a
    reason of the provider's own, not the model's (`_MODEL_FINISH_REASONS`): the chunk is
    then the provider's refusal written as output, its `finish_reason` a code and its text
    the provider's words, read as an error event's (strictly). CSGHub's AI gateway answered
    a stream whose balance ran out with one chunk, `finish_reason: "insufficient_balance"`,
    its delta "**Insufficient balance** ... Recharge your account", then `[DONE]`
    (payloads20). `None` for any other chunk: the look-ahead judges only events before the
    output, so no model's output has reached the caller when this one is read."""
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        return None
    reason = text = None
    for choice in choices:
        if not isinstance(choice, dict):
            return None
        ended = choice.get("finish_reason")
        if not isinstance(ended, str) or not ended or ended.lower() in _MODEL_FINISH_REASONS:
            return None
        if reason is None:
            reason = ended
            said = choice.get("delta") if "delta" in choice else choice.get("message")
            content = said.get("content") if isinstance(said, dict) else choice.get("text")
            text = content if isinstance(content, str) and content else None
    error: dict[str, Any] = {"code": reason}
    if text is not None:
        error["message"] = text
    return _dumps({"error": error})


class Watch:
    """Follows a stream after it was handed back, and reports a billing error event that
    comes after output began: it is counted, never replayed (the caller has output).

    Lines longer than `WATCH_LINE_LIMIT` are skipped; only events that mention an error are
    parsed as JSON.
    """

    __slots__ = ("_parser", "_unread")

    def __init__(self, parser: EventParser | None = None, unread: Iterable[Event] = ()) -> None:
        self._parser = parser if parser is not None else EventParser()
        self._parser.max_line = WATCH_LINE_LIMIT
        # Set before the unread events are parsed: those that cannot be errors are not built.
        self._parser.keep = _may_be_error
        self._unread = iter(unread)

    def unread(self) -> Iterator[bytes]:
        """The error payloads among the events already read but not yet looked at."""
        unread, self._unread = self._unread, iter(())
        return _errors_in(unread)

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Takes the next raw bytes; yields the payload of each error event they complete."""
        return _errors_in(self._parser.feed(chunk))


_RAW_ERROR_TYPES = frozenset(t.encode() for t in _ERROR_TYPES)


def _may_be_error(event: bytes, data: list[bytes]) -> bool:
    """A named event other than an error's (`response.output_text.delta`,
    `content_block_delta`) is output; an unnamed one may be an error only if it says so."""
    if event and event != b"message":
        return event in _RAW_ERROR_TYPES
    return any(b"error" in line for line in data)


def _errors_in(events: Iterable[Event]) -> Iterator[bytes]:
    for event in events:
        if not _may_be_error(event.type.encode(), [event.data.encode()]):
            continue
        kind, payload = judge(event)
        if kind is Stop.ERROR and payload is not None:
            yield payload


class Followed:
    """The rest of a stream handed back after the look-ahead: its chunks as they come, each
    looked at by a `Watch` before it is passed on (the SDK may stop at the error event, and
    never ask for another chunk); `seen` gets each error payload. A failure to look never
    costs the stream."""

    __slots__ = ("_chunks", "_seen", "_watch")

    def __init__(
        self, chunks: Iterator[bytes], watch: Watch, seen: Callable[[bytes], None]
    ) -> None:
        self._chunks = chunks
        self._watch = watch
        self._seen = seen

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        _look(self._watch, chunk, self._seen)
        return chunk


class AsyncFollowed:
    """`Followed` for an async stream."""

    __slots__ = ("_chunks", "_seen", "_watch")

    def __init__(
        self, chunks: AsyncIterator[bytes], watch: Watch, seen: Callable[[bytes], None]
    ) -> None:
        self._chunks = chunks
        self._watch = watch
        self._seen = seen

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._chunks.__anext__()
        _look(self._watch, chunk, self._seen)
        return chunk


def _look(watch: Watch, chunk: bytes, seen: Callable[[bytes], None]) -> None:
    try:
        for payload in watch.feed(chunk):
            seen(payload)
    except Exception:
        _logger.debug("http402: could not follow a stream's events", exc_info=True)


def look_back(watch: Watch, seen: Callable[[bytes], None]) -> None:
    """Hands `seen` the error payloads of the events already read past the look-ahead's stop
    (the chunk that held the first output may hold an error event after it too)."""
    try:
        for payload in watch.unread():
            seen(payload)
    except Exception:
        _logger.debug("http402: could not follow a stream's events", exc_info=True)


def classify_error_event(
    payload: bytes,
    *,
    host: str,
    url: str,
    request_headers: Iterable[tuple[str, str]],
    registry: AdapterRegistry | None = None,
    request_body: tuple[bytes, str] | None = None,
) -> PaymentRequired | None:
    """The gate that an error event's payload states, read strictly (strong evidence only,
    as for a status other than 402); `None` for a rate limit, an overload, a server error.

    Its `status_code` is 200, the stream's own; credentials of the request are scrubbed
    from its fields as from a body's.
    """
    from ._classify import classify_event
    from ._redaction import collect_secrets

    pairs = list(request_headers)
    return classify_event(
        payload,
        host=host,
        registry=registry,
        secrets=lambda: collect_secrets(url, pairs, request_body),
    )
