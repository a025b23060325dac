"""Parsers for bytes and headers from the network: bounded, strict, and never raising.

Everything here is pure (no I/O of its own: `BodyReader.read` only pulls from the stream it
is handed) and returns `None` for input it cannot use. The limits and where they come from
are listed in DESIGN.md under "Defaults".
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime
import functools
import ipaddress
import json
import re
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._redaction import Redactor

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_BODY_SECONDS",
    "MAX_HEADER_PAYLOAD_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_DIGITS",
    "MAX_RETRY_AFTER",
    "BodyReader",
    "as_amount",
    "bounded_message",
    "bounded_text",
    "decode_base64_json",
    "decode_base64url_json",
    "decode_text",
    "loads_json",
    "parse_retry_after",
    "parse_www_authenticate",
    "safe_action_url",
    "shown_text",
]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: A gate's body is read for at most this long: a server that drips it must not pin a request.
DEFAULT_MAX_BODY_SECONDS = 5.0
MAX_HEADER_PAYLOAD_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 4300
#: The longest `Retry-After` said (a week): beyond the propagation window it is not waited
#: for, but kept in `payment.retry_after` to say when to come back; a longer wait is said as
#: this one (never dropped: a wait past any window calls no hook, case 184).
MAX_RETRY_AFTER = 7 * 24 * 3600.0
MAX_TEXT_FIELD = 2000
_MAX_URL_LENGTH = 2048

# A string token is matched "unrolled" and may run to the end unclosed, so one pass over the
# text is linear even for a body cut inside a long string of escaped quotes.
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_WEEKDAYS = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# RFC 9110 section 5.6.7: IMF-fixdate, and the two obsolete forms a recipient must accept.
_IMF_FIXDATE = re.compile(rf"{_WEEKDAYS}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT")
_RFC850_DATE = re.compile(
    rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT"
)
_ASCTIME_DATE = re.compile(rf"{_WEEKDAYS} {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_MAX_CHALLENGES = 16
_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_TOKEN = re.compile(rf"{_TCHAR}+")
_SPACES = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]+")
# The quoted-string is written "unrolled" ([^"\\]* runs) so long values match in one step.
_AUTH_PARAM = re.compile(rf'({_TCHAR}+)[ \t]*=[ \t]*(?:({_TCHAR}+)|"([^"\\]*(?:\\.[^"\\]*)*)")')
_TOKEN68 = re.compile(r"[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*(?=,|$)")
_UNQUOTE = re.compile(r"\\(.)")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# Whitespace around a line break, a tab or another control character; or a Unicode space.
# Line breaks, tabs and other control characters: each run becomes one space (linear: no
# leading repetition for the engine to retry from every position of a long run of blanks).
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


class BodyReader:
    """Decodes a response body chunk by chunk, keeping at most `limit` decoded bytes, for at
    most `max_seconds`.

    The bound holds *while* decoding: a gzip bomb never expands past `limit + 1` bytes in
    memory, because each decompression call is given the room left, not the whole chunk.
    The time limit is checked as each chunk arrives, so a body dripped a few bytes at a time
    stops being read once it is up; a stall between two chunks is bounded by the client's
    own read timeout. The raw chunks read so far are kept too, so a response that turns out
    not to be a payment gate can be handed back with nothing lost.

    `read()` (or `aread()`) feeds a stream's chunks until enough is read, the time is up, or
    the stream ends or breaks. Lower level: feed chunks with `feed()` until it returns `True`
    (enough read) or the stream ends, then call `finish()`.
    """

    __slots__ = (
        "_deadline",
        "_decoded",
        "_decoder",
        "_limit",
        "_raw_size",
        "broken",
        "complete",
        "raw_chunks",
        "truncated",
        "undecodable",
    )

    def __init__(
        self,
        content_encoding: str | None,
        limit: int = DEFAULT_MAX_BODY_BYTES,
        max_seconds: float | None = DEFAULT_MAX_BODY_SECONDS,
    ) -> None:
        self._limit = limit
        self._deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self._decoded = bytearray()
        self._raw_size = 0
        self._decoder = _decoder_for(content_encoding)
        self.raw_chunks: list[bytes] = []
        #: The whole stream was read.
        self.complete = False
        #: More body existed than `limit` allowed to keep, the time was up before the end,
        #: or the stream broke before the end: the body kept is what was read.
        self.truncated = False
        #: The error that broke the stream while it was read, if it broke.
        self.broken: BaseException | None = None
        #: The content encoding was unknown or the compressed data was corrupt.
        self.undecodable = self._decoder is _UNSUPPORTED

    @property
    def body(self) -> bytes:
        """The decoded body, at most `limit` bytes."""
        return bytes(self._decoded)

    def read(
        self, chunks: Iterator[bytes], errors: type[BaseException] | tuple[type[BaseException], ...]
    ) -> Iterator[bytes]:
        """Feeds `chunks` until enough is read, the time is up, or the stream ends or raises one
        of `errors`; returns the rest of the stream, which raises that error again when read.

        Args:
            chunks: The raw stream.
            errors: What a broken stream raises (`httpx.TransportError`): the body read so
                far is kept, marked `truncated`.
        """
        try:
            for chunk in chunks:
                if self.feed(chunk):
                    return chunks
        except errors as exc:
            self._break(exc)
            return _raising(exc)
        self.finish()
        return chunks

    async def aread(
        self,
        chunks: AsyncIterator[bytes],
        errors: type[BaseException] | tuple[type[BaseException], ...],
    ) -> AsyncIterator[bytes]:
        """`read()` for an async stream."""
        try:
            async for chunk in chunks:
                if self.feed(chunk):
                    return chunks
        except errors as exc:
            self._break(exc)
            return _araising(exc)
        self.finish()
        return chunks

    def feed(self, chunk: bytes) -> bool:
        """Takes one raw chunk; `True` means stop reading, the body kept is final."""
        if not chunk:
            return self._stop_if_late()
        self.raw_chunks.append(chunk)
        self._raw_size += len(chunk)
        if self.undecodable:
            # Nothing more can be learned from the body; keep reading only to the raw limit.
            return self._stop_if_raw_limit() or self._stop_if_late()
        room = self._limit + 1 - len(self._decoded)
        try:
            out = self._decoder.decode(chunk, room)
        except (zlib.error, ValueError):
            self.undecodable = True
            return True
        self._decoded += out
        if len(self._decoded) > self._limit:
            del self._decoded[self._limit :]
            self.truncated = True
            return True
        return self._stop_if_raw_limit() or self._stop_if_late()

    def finish(self) -> None:
        """Marks the stream as fully read."""
        self.complete = True

    def _break(self, exc: BaseException) -> None:
        self.broken = exc
        self.truncated = True

    def _stop_if_raw_limit(self) -> bool:
        # Compressed data is smaller than what it decodes to, so more raw bytes than the decoded
        # limit means the body would not fit anyway.
        if self._raw_size > self._limit:
            self.truncated = True
            return True
        return False

    def _stop_if_late(self) -> bool:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.truncated = True
            return True
        return False


def _raising(exc: BaseException) -> Iterator[bytes]:
    """The rest of a stream that broke: it raises its error again."""
    raise exc
    yield b""  # pragma: no cover - makes this a generator


async def _araising(exc: BaseException) -> AsyncIterator[bytes]:
    raise exc
    yield b""  # pragma: no cover - makes this an async generator


class _Identity:
    __slots__ = ()

    def decode(self, chunk: bytes, room: int) -> bytes:
        return chunk[:room]


class _Zlib:
    """gzip and deflate, decompressed with `max_length` so output never exceeds `room`."""

    __slots__ = ("_head", "_obj", "_sniff")

    def __init__(self, wbits: int, sniff_deflate: bool = False) -> None:
        self._obj = zlib.decompressobj(wbits)
        # "deflate" is often sent as a raw deflate stream without the zlib wrapper; which one
        # it is shows in the first two bytes, which may arrive in separate chunks.
        self._sniff = sniff_deflate
        self._head = b""

    def decode(self, chunk: bytes, room: int) -> bytes:
        if self._obj.eof:
            return b""
        if self._sniff:
            self._head += chunk
            if len(self._head) < 2:
                return b""
            chunk, self._head, self._sniff = self._head, b"", False
            if _is_zlib_header(chunk):
                try:
                    return self._obj.decompress(chunk, room)
                except zlib.error:
                    pass  # raw deflate whose first bytes happen to read as a zlib header
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(chunk, room)


def _is_zlib_header(data: bytes) -> bool:
    """RFC 1950: deflate method (8), a window of at most 32 KiB, and a checksum of the two."""
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


class _Unsupported:
    __slots__ = ()

    def decode(self, chunk: bytes, room: int) -> bytes:  # pragma: no cover - never called
        return b""


_UNSUPPORTED = _Unsupported()
_IDENTITY = _Identity()


def _decoder_for(content_encoding: str | None) -> _Identity | _Zlib | _Unsupported:
    if not content_encoding:
        return _IDENTITY
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _IDENTITY
    if len(codings) > 1:
        return _UNSUPPORTED
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS, sniff_deflate=True)
    return _UNSUPPORTED


def decode_text(body: bytes, content_type: str | None) -> str:
    """The body as text, in its declared charset or UTF-8; bad bytes become U+FFFD."""
    encoding = "utf-8"
    if content_type and "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=", 1)[1].split(";", 1)[0].strip(" \"'")
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            encoding = "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        # Some codecs (idna, punycode, undefined) refuse errors="replace" or any input.
        return body.decode("utf-8", errors="replace")


class _RejectedJSON(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _RejectedJSON(f"non-finite number {name}")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS + 1:
        raise _RejectedJSON("integer too long")
    return int(text)


def _parse_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_DIGITS + 8:
        raise _RejectedJSON("number too long")
    try:
        value = Decimal(text)
    except ArithmeticError as exc:  # an exponent beyond Decimal's range
        raise _RejectedJSON("number out of range") from exc
    if not value.is_finite() or abs(value.adjusted()) > MAX_NUMBER_DIGITS:
        raise _RejectedJSON("number out of range")
    return value


# Built once: `json.loads` with hooks builds a decoder (and its scanner) on every call. Where
# the interpreter caps the digits of an integer itself (3.11, 3.10.7 and later, unless the
# application lifted it), the scanner parses integers on its own: a hook costs a Python call
# per integer, and a body of thousands of numbers paid for it several times over.
_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_decimal, parse_constant=_reject_constant
)
_FAST_DECODER = json.JSONDecoder(parse_float=_parse_decimal, parse_constant=_reject_constant)
_INT_DIGITS_CAP: Callable[[], int] | None = getattr(sys, "get_int_max_str_digits", None)
# What the nesting check keeps of a body: quotes and brackets, square ones made curly (the
# bytes of other characters, multi-byte ones included, are never one of these).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_CURLY = bytes.maketrans(b"[]", b"{}")


_JSON_SPACE = " \t\n\r"


def loads_json(text: str) -> Any:
    """Parses JSON from an untrusted body; raises `ValueError` for anything unsafe or invalid.

    Nesting is capped at `MAX_JSON_DEPTH`, numbers must be finite with at most
    `MAX_NUMBER_DIGITS` digits, and non-integers become `Decimal` so money stays exact.
    """
    # A body with few brackets cannot nest deeply: only look when it could.
    if _more_brackets_than(text, MAX_JSON_DEPTH) and not _nests_within_limit(text):
        raise _RejectedJSON("JSON nested too deeply, or its brackets do not match")
    decoder = _DECODER
    if _INT_DIGITS_CAP is not None and 0 < _INT_DIGITS_CAP() <= MAX_NUMBER_DIGITS:
        decoder = _FAST_DECODER  # the interpreter refuses a longer integer (`ValueError`)
    try:
        # `raw_decode` and a check of what follows, rather than `decode`: the same answer
        # without its two whitespace patterns (JSON whitespace is the four characters).
        start = len(text) - len(text.lstrip(_JSON_SPACE))
        value, end = decoder.raw_decode(text, start)
    except RecursionError as exc:  # pragma: no cover - the depth scan above comes first
        raise _RejectedJSON("JSON nested too deeply") from exc
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        raise _RejectedJSON("extra data after the JSON value")
    return value


#: The longest text whose brackets `_more_brackets_than` counts rather than finds.
_COUNTED_BRACKETS = 1024


def _more_brackets_than(text: str, limit: int) -> bool:
    """`True` when `text` holds more than `limit` opening brackets. Found one by one with
    `str.find` (a `memchr` over the text), which stops at the first `limit + 1`: a tenth of
    what counting every bracket of a 64 KiB body costs (`str.count` reads it char by char).
    A short body is counted: two calls cost less than a loop of finds over a few brackets."""
    if len(text) <= _COUNTED_BRACKETS:
        return text.count("{") + text.count("[") > limit
    found = 0
    find = text.find
    for bracket in "{[":
        at = find(bracket)
        while at != -1:
            found += 1
            if found > limit:
                return True
            at = find(bracket, at + 1)
    return False


def _nests_within_limit(text: str) -> bool:
    """`True` when the brackets outside strings nest at most `MAX_JSON_DEPTH` deep and match.

    All in C, whatever the body: escaped backslashes and quotes are dropped, then every
    character but quotes and brackets; what lies between a quote and the next is a string's
    content (a string cut off runs to the end). Square brackets are made curly (a mismatch is
    invalid JSON, refused by the parser anyway), so each pass takes away the innermost pairs,
    exactly one level.
    """
    if "\\" in text:
        text = text.replace("\\\\", "").replace('\\"', "")
    skeleton = text.encode("utf-8", "surrogatepass").translate(_CURLY, _NOT_STRUCTURE)
    brackets = b"".join(skeleton.split(b'"')[::2]) if b'"' in skeleton else skeleton
    for _ in range(MAX_JSON_DEPTH):
        inner = brackets.replace(b"{}", b"")
        if len(inner) == len(brackets):
            break
        brackets = inner
    return not brackets


def decode_base64_json(value: str) -> Any:
    """Decodes strict base64 of JSON from a header (x402's `PAYMENT-REQUIRED`); `None` if bad."""
    if len(value) > MAX_HEADER_PAYLOAD_BYTES:
        return None
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
        return loads_json(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeError):
        return None


def decode_base64url_json(value: str) -> Any:
    """Decodes base64url (padding optional) of JSON, as the `Payment` scheme sends; or `None`."""
    if len(value) > MAX_HEADER_PAYLOAD_BYTES or not _BASE64URL.fullmatch(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return loads_json(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeError):
        return None


def parse_www_authenticate(values: list[str]) -> list[tuple[str, dict[str, str]]]:
    """The challenges of `WWW-Authenticate` header values, by RFC 9110 section 11.6.1.

    Returns `(scheme, params)` pairs in order; scheme names keep their case, parameter names
    are lower-cased; a `token68` credential is kept under the key `""`. Parsing stops at the
    first thing that does not fit the grammar, keeping what came before it.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    budget = MAX_HEADER_PAYLOAD_BYTES
    for value in values:
        budget -= len(value)
        if budget < 0:
            break
        _parse_challenges(value, challenges)
        if len(challenges) >= _MAX_CHALLENGES:
            del challenges[_MAX_CHALLENGES:]
            break
    return challenges


def _parse_challenges(value: str, out: list[tuple[str, dict[str, str]]]) -> None:
    pos, end = 0, len(value)
    current: dict[str, str] | None = None
    while pos < end:
        match = _SEPARATORS.match(value, pos)
        pos = match.end() if match else pos
        if pos >= end:
            return
        param = _AUTH_PARAM.match(value, pos)
        if param and current is not None:
            name, token, quoted = param.group(1), param.group(2), param.group(3)
            text = token if token is not None else _UNQUOTE.sub(r"\1", quoted or "")
            current.setdefault(name.lower(), text)
            pos = param.end()
            continue
        scheme = _TOKEN.match(value, pos)
        if not scheme:
            return
        current = {}
        out.append((scheme.group(), current))
        pos = scheme.end()
        token68 = _TOKEN68.match(value, pos)
        if token68 and not _AUTH_PARAM.match(value, _SPACES.match(value, pos).end()):  # type: ignore[union-attr]
            current[""] = token68.group(1)
            pos = token68.end()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value, by RFC 9110's grammar, capped.

    Digits or an HTTP-date; anything else is `None`. A wait beyond `MAX_RETRY_AFTER` is
    that cap: a server that says "come back in a month" is at least as far past any
    propagation window as one that says a week (dropping it had called the hook for the
    longest waits only, case 184).
    """
    if value is None:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        # More than ten digits is more than 300 years: the cap, without reading the number.
        seconds = float(int(value)) if len(value) <= 10 else MAX_RETRY_AFTER
    else:
        when = _parse_http_date(value)
        if when is None:
            return None
        seconds = max(0.0, when - (time.time() if now is None else now))
    return min(seconds, MAX_RETRY_AFTER)


def _parse_http_date(value: str) -> float | None:
    if match := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hh, mm, ss = match.groups()
    elif match := _RFC850_DATE.fullmatch(value):
        day, month, yy, hh, mm, ss = match.groups()
        # RFC 9110: a two-digit year more than 50 years in the future is in the past century.
        year_now = time.gmtime().tm_year
        year_int = 2000 + int(yy)
        year = str(year_int - 100 if year_int > year_now + 50 else year_int)
    elif match := _ASCTIME_DATE.fullmatch(value):
        month, day, hh, mm, ss, year = match.groups()
    else:
        return None
    try:
        when = datetime.datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hh),
            int(mm),
            int(ss),
            tzinfo=datetime.timezone.utc,
        )
    except ValueError:
        return None
    return when.timestamp()


def as_amount(value: object) -> Decimal | None:
    """A finite, bounded number from a JSON value or a numeric string; else `None`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if len(text) > 64 or not _NUMBER.fullmatch(text):
            return None
        try:
            return Decimal(text)
        except (InvalidOperation, ArithmeticError):  # pragma: no cover - the regex bounds it
            return None
    return None


def bounded_text(value: object, limit: int = MAX_TEXT_FIELD) -> str | None:
    """A non-empty string field, stripped and cut to `limit` characters; else `None`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        try:
            value = str(value)
        except ValueError:  # an int beyond the interpreter's digit limit
            return None
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if not value:
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def bounded_message(value: object, limit: int = MAX_TEXT_FIELD) -> str | None:
    """A provider's message as `bounded_text` makes it, but with its own spacing kept.

    Line breaks and tabs (with the blanks around them) become one space, as does any other
    control character; runs of plain spaces stay, so a message reads as the provider wrote
    it ("The instrument presented  was declined" keeps PayPal's double space).
    """
    if not isinstance(value, str):
        return bounded_text(value, limit)
    # Only the start of a long value can end up in the result: look at no more than that.
    value = value.lstrip()[: limit * 2]
    # Every character `_BREAKS` matches is unprintable: most messages skip the pattern.
    if not value.isprintable() and _BREAKS.search(value) is not None:
        value = " ".join(part.strip(" ") for part in _BREAKS.split(value))
    value = value.strip()
    if not value:
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def shown_text(value: object, redact: Redactor, limit: int, *, spacing: bool = False) -> str | None:
    """A text from the network as it may be shown or stored: blanks collapsed (with
    `spacing`, a message's own runs of spaces kept, as `bounded_message` does), scrubbed of
    credentials by `redact` first, then cut to `limit` characters with no piece of a secret
    left at the cut. Every text a response brings that is shown or kept (a gate's fields, a
    settlement's reason, a probe's message) passes here; `None` for no text.

    A value that was cut before (by an adapter, marked `…`) has the piece of a secret left at
    that cut scrubbed too.
    """
    if value is None:
        return None
    if type(value) is str and len(value) <= MAX_TEXT_FIELD * 2:
        return _shown_str(redact, value, limit, spacing)
    text = (bounded_message if spacing else bounded_text)(value, MAX_TEXT_FIELD * 2)
    return None if text is None else redact.bounded(text, limit)


@functools.lru_cache(maxsize=256)
def _shown_str(redact: Redactor, value: str, limit: int, spacing: bool) -> str | None:
    # Cached: a provider sends the same few codes and messages, and `redactor_for` hands
    # out one redactor per set of credentials.
    text = (bounded_message if spacing else bounded_text)(value, MAX_TEXT_FIELD * 2)
    return None if text is None else redact.bounded(text, limit)


def safe_action_url(value: object) -> str | None:
    """`value` if it is a link that is safe to show: `https` with a host and no userinfo.

    Plain `http` is allowed only for loopback hosts. Nothing is ever fetched or followed.
    """
    if not isinstance(value, str) or not value or len(value) > _MAX_URL_LENGTH:
        return None
    return _safe_url(value)


@functools.lru_cache(maxsize=512)
def _safe_url(value: str) -> str | None:
    # Cached: a gate's link is checked when it is read and again when the answer is
    # completed, and a provider sends the same few links over and over.
    if _CONTROL.search(value) or "\\" in value:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if not host or parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    scheme = parts.scheme.lower()
    if scheme == "https":
        return value
    if scheme == "http" and _is_loopback(host):
        return value
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
