"""The sans-IO stream look-ahead: the event-stream parser, what counts as output in each
family (from the recorded streams in `tests/payloads/streams/`), the bounds, and the strict
reading of an error event's payload."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import http402
from http402._registry import default_registry
from http402._streams import (
    PEEK_LIMIT,
    Event,
    EventParser,
    LookAhead,
    Stop,
    Watch,
    classify_error_event,
    is_event_stream,
    judge,
    says_event_stream,
)

STREAMS = Path(__file__).parent / "payloads" / "streams"
TRANSCRIPTS = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(STREAMS.glob("*.json"))]
GATES = [t for t in TRANSCRIPTS if t["expected"]["is_payment_gate"]]
LOOK_ALIKES = [t for t in TRANSCRIPTS if not t["expected"]["is_payment_gate"]]


def ids(transcripts: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in transcripts]


def body_of(transcript: dict[str, Any]) -> bytes:
    return str(transcript["response"]["body"]).encode("utf-8")


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def parse(chunks: list[bytes]) -> list[Event]:
    parser = EventParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def look(chunks: list[bytes], **options: Any) -> LookAhead:
    ahead = LookAhead(**options)
    ahead.read(iter(chunks), httpx.TransportError)
    return ahead


def classify(transcript: dict[str, Any], payload: bytes, host: str | None = None) -> Any:
    url = httpx.URL(transcript["request"]["url"])
    if host is not None:
        url = url.copy_with(host=host)
    return classify_error_event(
        payload, host=url.host, url=str(url), request_headers=[], registry=default_registry
    )


class TestEventParser:
    """The event-stream format, as WHATWG HTML's "Interpreting an event stream" states it."""

    def test_data_lines_join_with_newlines(self) -> None:
        """Several `data` lines make one event whose data is joined by LF."""
        assert parse([b"data: one\ndata: two\n\n"]) == [Event("message", "one\ntwo")]

    def test_one_leading_space_is_dropped(self) -> None:
        """Only the single space after the colon is dropped."""
        events = parse([b"data:x\n\ndata: x\n\ndata:  x\n\n"])
        assert [e.data for e in events] == ["x", "x", " x"]

    def test_event_type(self) -> None:
        """`event` names the type; it resets after each dispatch."""
        events = parse([b"event: error\ndata: a\n\ndata: b\n\n"])
        assert [(e.type, e.data) for e in events] == [("error", "a"), ("message", "b")]

    def test_comments_are_not_events(self) -> None:
        """A comment line is ignored, and a block of comments dispatches nothing."""
        assert parse([b": OPENROUTER PROCESSING\n\n:ping\n\ndata: x\n\n"]) == [
            Event("message", "x")
        ]

    def test_no_data_no_event(self) -> None:
        """A block with no `data` dispatches nothing, and its `event` type is forgotten."""
        assert parse([b"event: ping\n\ndata: x\n\n"]) == [Event("message", "x")]

    def test_empty_data_is_an_event(self) -> None:
        """`data` with an empty value still makes an event (with empty data)."""
        assert parse([b"data\n\n"]) == [Event("message", "")]

    @pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
    def test_line_endings(self, ending: bytes) -> None:
        """LF, CR and CRLF each end a line."""
        frame = b"event: a" + ending + b"data: x" + ending + ending
        assert parse([frame]) == [Event("a", "x")]

    def test_crlf_split_across_chunks_is_one_line_end(self) -> None:
        """A CR at the end of one chunk and an LF at the start of the next end one line, not
        two (which would dispatch early)."""
        events = parse([b"data: a\r", b"\ndata: b\r\n\r\n"])
        assert events == [Event("message", "a\nb")]

    def test_a_cr_inside_a_chunk_does_not_swallow_the_next_chunks_lf(self) -> None:
        """Only a CR that ends a chunk pairs with an LF that starts the next one."""
        assert parse([b"data: a\rdata: b", b"\n\n"]) == [Event("message", "a\nb")]

    def test_cr_then_lf_then_cr_is_two_line_ends(self) -> None:
        """`\\n\\r` is two line ends: the second is a blank line that dispatches."""
        assert parse([b"data: two\n\rdata: unfinished"]) == [Event("message", "two")]

    def test_unterminated_event_is_dropped(self) -> None:
        """An event still open when the stream ends is never dispatched."""
        assert parse([b"data: complete\n\ndata: open\n"]) == [Event("message", "complete")]

    def test_bom_is_skipped_once(self) -> None:
        """A UTF-8 BOM that opens the stream is not part of the first field, even split."""
        assert parse([b"\xef\xbb", b"\xbfdata: x\n\n"]) == [Event("message", "x")]
        assert parse([b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n"]) == []  # a second BOM is text

    def test_id_and_retry(self) -> None:
        """`id` persists across events unless it holds NUL; `retry` takes digits only."""
        parser = EventParser()
        events = parser.feed(b"id: 7\nretry: 1500\ndata: a\n\nid: x\x00y\nretry: 2s\ndata: b\n\n")
        assert [e.id for e in events] == ["7", "7"]
        assert parser.retry == 1500

    def test_field_without_colon(self) -> None:
        """A line with no colon is a field with an empty value; unknown fields are ignored."""
        assert parse([b"data\nfoo: bar\ndata: x\n\n"]) == [Event("message", "\nx")]

    def test_invalid_utf8_never_raises(self) -> None:
        """Bytes that are not UTF-8 are replaced, never raised on."""
        assert parse([b"data: \xff\xfe\n\n"]) == [Event("message", "\ufffd\ufffd")]

    def test_a_line_past_max_line_is_dropped(self) -> None:
        """With `max_line`, a longer line is skipped to its end and parsing goes on."""
        parser = EventParser(max_line=16)
        events = parser.feed(b"data: " + b"x" * 40)
        events += parser.feed(b"x" * 40 + b"\n\ndata: ok\n\n")
        assert events == [Event("message", "ok")]

    def test_a_long_line_after_complete_lines_is_dropped_alone(self) -> None:
        """The events before a line that runs past `max_line` are kept, and so are those
        after its end."""
        parser = EventParser(max_line=16)
        assert parser.feed(b"data: ok\n\ndata: " + b"x" * 40) == [Event("message", "ok")]
        assert parser.feed(b"x\n\ndata: two\n\n") == [Event("message", "two")]

    @settings(max_examples=60, deadline=None)
    @given(cuts=st.lists(st.integers(min_value=0), max_size=12), index=st.integers(0, 100))
    def test_every_chunking_parses_alike(self, cuts: list[int], index: int) -> None:
        """A recorded stream parses to the same events however it is cut into chunks."""
        data = body_of(TRANSCRIPTS[index % len(TRANSCRIPTS)])
        assert parse(split(data, cuts)) == parse([data])


class TestWhatIsOutput:
    """Where the look-ahead stops in each recorded stream: the first event that carries
    output, an error event, or the end."""

    @pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=ids(TRANSCRIPTS))
    def test_stops_where_the_transcript_says(self, transcript: dict[str, Any]) -> None:
        """The look-ahead stops at the recorded stream's first output, error or end."""
        ahead = look([body_of(transcript)])
        expected = transcript["expected"]["look_ahead"]
        assert (ahead.stop.value if ahead.stop else None, ahead.events) == (
            expected["stops_at"],
            expected["events_read"],
        )

    @settings(max_examples=40, deadline=None)
    @given(cuts=st.lists(st.integers(min_value=0), max_size=10), index=st.integers(0, 100))
    def test_chunking_does_not_move_the_stop(self, cuts: list[int], index: int) -> None:
        """However the stream is chunked, the look-ahead stops at the same event."""
        transcript = TRANSCRIPTS[index % len(TRANSCRIPTS)]
        whole = look([body_of(transcript)])
        cut = look(split(body_of(transcript), cuts))
        assert (cut.stop, cut.events, cut.error) == (whole.stop, whole.events, whole.error)

    @pytest.mark.parametrize(
        ("event", "stop"),
        [
            # OpenAI Responses: the two lifecycle events before output, and the first item.
            (Event("response.created", '{"type":"response.created","response":{}}'), None),
            (Event("message", '{"type":"response.in_progress","response":{}}'), None),
            (Event("message", '{"type":"response.queued","response":{}}'), None),
            (Event("message", '{"type":"response.output_item.added","item":{}}'), Stop.OUTPUT),
            # Anthropic: message_start, an empty block and ping carry nothing; a tool block does.
            (Event("message_start", '{"type":"message_start","message":{}}'), None),
            (Event("ping", '{"type": "ping"}'), None),
            (
                Event(
                    "message",
                    '{"type":"content_block_start","content_block":{"type":"thinking","thinking":""}}',
                ),
                None,
            ),
            (
                Event(
                    "message",
                    '{"type":"content_block_start","content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}',
                ),
                Stop.OUTPUT,
            ),
            # Chat completions: a role-only delta, no choices (Azure's prompt filter), content.
            (Event("message", '{"choices":[{"delta":{"role":"assistant","content":""}}]}'), None),
            (Event("message", '{"choices":[],"prompt_filter_results":[{}]}'), None),
            (Event("message", '{"choices":[{"delta":{"content":"Hi"}}]}'), Stop.OUTPUT),
            (Event("message", '{"choices":[{"text":"Hi"}]}'), Stop.OUTPUT),
            # A typed event of identifiers and timestamps alone says which stream this is, not
            # what was produced (Bike4Mind's `meta` before its first delta); anything else in it,
            # or a nested value, is output.
            (Event("message", '{"type":"meta","requestId":"r1"}'), None),
            (Event("meta", '{"type":"meta","request_id":"r1","created_at":1760000000}'), None),
            (Event("message", '{"type":"meta","requestId":"r1","text":"Hi"}'), Stop.OUTPUT),
            (Event("message", '{"type":"meta","requestId":{"id":"r1"}}'), Stop.OUTPUT),
            (Event("message", '{"type":"meta","requestId":"r1","done":true}'), Stop.OUTPUT),
            (Event("message", '{"requestId":"r1"}'), Stop.OUTPUT),
            # Anything unknown is output: an unknown stream is never held back.
            (Event("message", "plain text"), Stop.OUTPUT),
            (Event("message", '{"candidates":[]}'), Stop.OUTPUT),
            (Event("message", "[1, 2]"), Stop.OUTPUT),
            # Keep-alives and the end.
            (Event("message", ""), None),
            (Event("message", "[DONE]"), Stop.END),
            # Errors, in each family's shape; vLLM's `object: error` too.
            (Event("error", ""), Stop.ERROR),
            (Event("message", '{"object":"error","message":"m","code":400}'), Stop.ERROR),
            (Event("message", '{"error":"quota"}'), Stop.ERROR),
            (Event("message", '{"error":null,"choices":[{"delta":{"content":"x"}}]}'), Stop.OUTPUT),
            # A first chunk whose every choice ends for a reason of the provider's own is its
            # error written as output (CSGHub's `insufficient_balance`); one the model ended
            # ("stop", "length", a filter) is output, and so is a choice that goes on.
            (
                Event(
                    "message",
                    '{"choices":[{"delta":{"content":"No balance"},'
                    '"finish_reason":"insufficient_balance"}]}',
                ),
                Stop.ERROR,
            ),
            (
                Event("message", '{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}'),
                Stop.OUTPUT,
            ),
            (Event("message", '{"choices":[{"text":"Hi","finish_reason":"length"}]}'), Stop.OUTPUT),
            (
                Event(
                    "message",
                    '{"choices":[{"delta":{"content":"x"},"finish_reason":"content_filter"}]}',
                ),
                Stop.OUTPUT,
            ),
            (
                Event(
                    "message",
                    '{"choices":[{"delta":{"content":"a"},"finish_reason":"insufficient_balance"},'
                    '{"delta":{"content":"b"},"finish_reason":null}]}',
                ),
                Stop.OUTPUT,
            ),
        ],
    )
    def test_judge(self, event: Event, stop: Stop | None) -> None:
        """Each family's lifecycle events carry no output; content, tools and unknowns do."""
        assert judge(event)[0] is stop

    def test_failed_response_is_read_for_its_error_alone(self) -> None:
        """A `response.failed` is classified from `response.error` only: its instructions are
        the application's words, and would read as billing if they were about billing."""
        data = json.dumps(
            {
                "type": "response.failed",
                "response": {
                    "instructions": "Tell users their credit balance is too low to continue.",
                    "error": {"code": "server_error", "message": "The model failed."},
                },
            }
        )
        stop, payload = judge(Event("message", data))
        assert stop is Stop.ERROR
        assert payload is not None and b"credit" not in payload
        assert (
            classify_error_event(
                payload,
                host="api.openai.com",
                url="https://api.openai.com/v1/responses",
                request_headers=[],
                registry=default_registry,
            )
            is None
        )

    def test_a_chunk_ended_by_the_provider_is_read_as_its_error(self) -> None:
        """The error read is the finish reason as a code and the chunk's text as its words,
        nothing else of the chunk; a finish reason that names no gate is no gate."""
        data = (
            '{"id":"c1","choices":[{"delta":{"content":"Insufficient balance","role":""},'
            '"finish_reason":"insufficient_balance","index":0}],"model":"m"}'
        )
        stop, payload = judge(Event("message", data))
        assert stop is Stop.ERROR and payload is not None
        assert json.loads(payload) == {
            "error": {"code": "insufficient_balance", "message": "Insufficient balance"}
        }
        transcript = GATES[0]
        assert classify(transcript, payload) is not None
        timed_out = data.replace("insufficient_balance", "gateway_timeout")
        other = judge(Event("message", timed_out.replace("Insufficient balance", "Timed out")))
        assert other[0] is Stop.ERROR and other[1] is not None
        assert classify(transcript, other[1]) is None

    def test_chat_error_chunk_is_read_without_its_choices(self) -> None:
        """An error chunk's payload is its `error`; content beside it is not read."""
        data = '{"error":{"message":"boom"},"choices":[{"delta":{"content":"credits"}}]}'
        assert judge(Event("message", data)) == (Stop.ERROR, b'{"error":{"message":"boom"}}')


class TestBounds:
    """The look-ahead reads at most `PEEK_LIMIT` decoded bytes, for at most the body deadline."""

    def test_byte_bound(self) -> None:
        """Keep-alives past 8 KiB stop the look-ahead, with nothing decided."""
        pings = b'event: ping\ndata: {"type": "ping"}\n\n' * 1000
        ahead = look([pings[i : i + 512] for i in range(0, len(pings), 512)])
        assert ahead.stop is Stop.BOUND
        assert ahead.error is None
        assert sum(map(len, ahead.raw_chunks)) <= PEEK_LIMIT + 512

    def test_no_chunk_past_the_bound_is_read(self) -> None:
        """Once the bound is reached, the next chunk stays in the stream, unread."""
        pings = [b": keep-alive\n\n" * 64] * 40
        chunks = iter(pings)
        ahead = LookAhead()
        rest = ahead.read(chunks, httpx.TransportError)
        taken = len(ahead.raw_chunks)
        assert taken < len(pings)
        assert len(list(rest)) == len(pings) - taken

    def test_deadline(self) -> None:
        """A stream dripping keep-alives stops being read once the deadline is past."""
        now = [0.0]
        ahead = LookAhead(max_seconds=5.0, clock=lambda: now[0])
        assert not ahead.feed(b": keep-alive\n\n")
        now[0] = 5.5
        assert ahead.feed(b": keep-alive\n\n")
        assert ahead.stop is Stop.BOUND

    def test_no_deadline(self) -> None:
        """`max_seconds=None` reads until a decision or the byte bound."""
        ahead = LookAhead(max_seconds=None, clock=lambda: 1e12)
        assert not ahead.feed(b": keep-alive\n\n")

    def test_broken_stream(self) -> None:
        """A stream that breaks during the look-ahead is handed back with its error: the bytes
        read first, then the same error again."""

        def chunks() -> Iterator[bytes]:
            yield b'event: response.created\ndata: {"type":"response.created"}\n\n'
            raise httpx.ReadError("reset")

        ahead = LookAhead()
        rest = ahead.read(chunks(), httpx.TransportError)
        assert ahead.stop is Stop.BOUND and isinstance(ahead.broken, httpx.ReadError)
        with pytest.raises(httpx.ReadError):
            next(rest)

    def test_end_before_output(self) -> None:
        """A stream that ends before any output was read whole."""
        ahead = look([b": only a comment\n\n"])
        assert ahead.stop is Stop.END and ahead.complete

    def test_compressed_stream_is_decoded(self) -> None:
        """A gzip-encoded stream is decoded (bounded) before it is parsed."""
        gate = GATES[0]
        ahead = look([gzip.compress(body_of(gate))], content_encoding="gzip")
        assert ahead.stop is Stop.ERROR
        assert classify(gate, ahead.error or b"") is not None

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("text/event-stream", True),
            ("text/event-stream; charset=utf-8", True),
            (" Text/Event-Stream ;charset=UTF-8", True),
            ("application/json", False),
            ("text/event-streams", False),
            ("", False),
            (None, False),
        ],
    )
    def test_is_event_stream(self, value: str | None, expected: bool) -> None:
        """Only the `text/event-stream` media type is peeked, whatever its parameters."""
        assert is_event_stream(value) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Content-Type": "text/event-stream; charset=utf-8"}, True),
        ({"content-type": " TEXT/EVENT-STREAM"}, True),
        ({"content-type": "application/json"}, False),
        ({"x-content-type": "text/event-stream"}, False),
        ({}, False),
    ],
)
@pytest.mark.parametrize("kind", ["httpx", "httpx2", "mapping"])
def test_says_event_stream(headers: dict[str, str], expected: bool, kind: str) -> None:
    """The header check read on every 200 gives the same answer for httpx's and httpx2's
    headers, read as stored, and for any other mapping, read through `get`."""
    import httpx2

    made: Any = {"httpx": httpx.Headers, "httpx2": httpx2.Headers}.get(
        kind, lambda h: {k.lower(): v for k, v in h.items()}
    )(headers)
    assert says_event_stream(made) is expected


class TestClassification:
    """An error event is read with the rule table's strict reading."""

    @pytest.mark.parametrize("transcript", GATES, ids=ids(GATES))
    @pytest.mark.parametrize("host", [None, "127.0.0.1", "llm-gateway.internal"])
    def test_gates(self, transcript: dict[str, Any], host: str | None) -> None:
        """Each recorded gate classifies to its reason and fields, from the provider's own
        host and through a gateway on any other."""
        ahead = look([body_of(transcript)])
        assert ahead.stop is Stop.ERROR and ahead.error is not None
        payment = classify(transcript, ahead.error, host)
        expected = transcript["expected"]
        assert payment is not None
        assert payment.reason.value == expected["reason"]
        assert payment.status_code == 200
        for name, value in expected["fields"].items():
            assert getattr(payment, name) == value, name

    @pytest.mark.parametrize("transcript", LOOK_ALIKES, ids=ids(LOOK_ALIKES))
    def test_look_alikes(self, transcript: dict[str, Any]) -> None:
        """Rate limits, overloads and server errors stay what they are; normal streams hold
        no error to read before their output."""
        ahead = look([body_of(transcript)])
        assert ahead.error is None or classify(transcript, ahead.error) is None

    def test_secrets_are_scrubbed(self) -> None:
        """A credential that an error event echoes is redacted from the answer."""
        payload = (
            b'{"error":{"code":"insufficient_quota",'
            b'"message":"No credits left for key sk-live-abcdef123456"}}'
        )
        payment = classify_error_event(
            payload,
            host="api.openai.com",
            url="https://api.openai.com/v1/responses",
            request_headers=[("authorization", "Bearer sk-live-abcdef123456")],
            registry=default_registry,
        )
        assert payment is not None and payment.message is not None
        assert "abcdef123456" not in payment.message


class TestWatch:
    """After output began, errors are followed (to count them), never replayed."""

    def test_mid_stream_error_is_reported(self) -> None:
        """An error event after output yields its payload."""
        transcript = next(
            t
            for t in TRANSCRIPTS
            if t["id"] == "openai-chat-server-error-after-output-200-negative"
        )
        watch = Watch()
        payloads = [
            p
            for chunk in split(body_of(transcript), [50, 300, 301, 900])
            for p in watch.feed(chunk)
        ]
        assert len(payloads) == 1 and b"server_error" in payloads[0]

    def test_output_mentioning_error_is_not_an_error(self) -> None:
        """Output text that says "error" is no error event."""
        watch = Watch()
        chunk = b'data: {"choices":[{"delta":{"content":"an error occurred"}}]}\n\n'
        assert list(watch.feed(chunk)) == []


def test_http402_classify_still_ignores_a_streamed_200() -> None:
    """`http402.classify` on a 200 event-stream response (not an exception) answers `None`:
    a response's own body decides, and a 200's is not read."""
    response = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=body_of(GATES[0]),
        request=httpx.Request("POST", "https://api.openai.com/v1/responses"),
    )
    assert http402.classify(response) is None
