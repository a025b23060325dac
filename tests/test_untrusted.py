"""The parsers of untrusted input: bounded, strict, and never raising."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from http402._untrusted import (
    BodyReader,
    as_amount,
    decode_base64_json,
    decode_text,
    loads_json,
    parse_retry_after,
    parse_www_authenticate,
    safe_action_url,
)

NOW = 1_800_000_000.0  # Fri, 15 Jan 2027 08:00:00 GMT


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("0", 0.0), ("30", 30.0), ("120", 120.0), ("3600", 3600.0), (" 7 ", 7.0)],
    )
    def test_delay_seconds(self, value: str, seconds: float) -> None:
        """Digits are seconds."""
        assert parse_retry_after(value, now=NOW) == seconds

    @pytest.mark.parametrize(
        "value",
        [
            "-1",
            "1.5",
            "1e3",
            "+5",
            "0x10",
            "soon",
            "",
            "Sun, 31 Feb 2027 08:49:37 GMT",
            "Sun, 06 Nov 2027 25:49:37 GMT",
            "2027-11-06T08:49:37Z",
            "Sun, 06 Nov 2027 08:49:37 PST",
            "٣",
        ],
    )
    def test_garbage_and_too_long_are_ignored(self, value: str) -> None:
        """Anything outside RFC 9110's grammar is `None`."""
        assert parse_retry_after(value, now=NOW) is None

    @pytest.mark.parametrize("value", ["604801", "8640000", "99999999999", "9" * 5000])
    def test_a_wait_past_a_week_is_said_as_a_week(self, value: str) -> None:
        """Case 184: a wait beyond the cap is the cap, never dropped (dropped, it had called
        the hook for the longest waits only, while an hour's wait called none)."""
        assert parse_retry_after(value, now=NOW) == 7 * 24 * 3600.0

    def test_none(self) -> None:
        """No header, no wait."""
        assert parse_retry_after(None) is None

    @pytest.mark.parametrize(
        "value",
        [
            "Fri, 15 Jan 2027 08:00:30 GMT",  # IMF-fixdate
            "Friday, 15-Jan-27 08:00:30 GMT",  # obsolete RFC 850
            "Fri Jan 15 08:00:30 2027",  # obsolete asctime
        ],
    )
    def test_http_dates_in_every_form(self, value: str) -> None:
        """All three HTTP-date forms count from `now`."""
        assert parse_retry_after(value, now=NOW) == pytest.approx(30.0)

    def test_a_date_in_the_past_means_now(self) -> None:
        """A date that has passed asks for no wait."""
        assert parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now=NOW + 3600) == 0.0


class TestActionURL:
    @pytest.mark.parametrize(
        "url",
        [
            "https://openrouter.ai/settings/credits",
            "https://billing.example.com:8443/top-up?plan=pro#now",
            "http://127.0.0.1:8402/top-up",
            "http://localhost/billing",
            "http://[::1]:9000/billing",
        ],
    )
    def test_safe_links_are_kept(self, url: str) -> None:
        """`https` with a host, or plain `http` on loopback."""
        assert safe_action_url(url) == url

    @pytest.mark.parametrize(
        "url",
        [
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http://billing.example.com/top-up",
            "http://10.0.0.1/top-up",
            "https://user:secret@billing.example.com/",
            "https://user@billing.example.com/",
            "https:///no-host",
            "//billing.example.com/top-up",
            "ftp://billing.example.com/",
            "https://billing.example.com\\@evil.test/",
            "https://exa mple.com/",
            "https://billing.example.com/\r\nSet-Cookie: a=b",
            "https://billing.example.com:99999/",
            "https://" + "a" * 3000 + ".com/",
            "",
            None,
            42,
        ],
    )
    def test_unsafe_links_are_dropped(self, url: object) -> None:
        """Other schemes, userinfo, control characters, bad ports and huge URLs are `None`."""
        assert safe_action_url(url) is None


class TestJSON:
    def test_money_stays_exact(self) -> None:
        """Non-integers become `Decimal`, never `float`."""
        assert loads_json('{"balance": 0.1}') == {"balance": Decimal("0.1")}

    @pytest.mark.parametrize(
        "text",
        [
            "[" * 100_000 + "]" * 100_000,
            '{"a":' * 40 + "1" + "}" * 40,
            '{"n": NaN}',
            '{"n": Infinity}',
            '{"n": -Infinity}',
            '{"n": 1' + "0" * 5000 + "}",
            '{"n": 1e999999}',
            '{"n": 0.' + "1" * 5000 + "}",
            '{"error": ',
            "",
        ],
    )
    def test_unsafe_json_is_refused(self, text: str) -> None:
        """Deep nesting, non-finite or absurd numbers and bad syntax raise `ValueError`."""
        with pytest.raises(ValueError):
            loads_json(text)

    def test_brackets_inside_strings_do_not_count_as_nesting(self) -> None:
        """A message full of brackets is not deep JSON."""
        text = '{"message": "' + "[{" * 100 + '"}'
        assert loads_json(text) == {"message": "[{" * 100}

    def test_nesting_is_refused_one_level_past_the_limit(self) -> None:
        """32 levels of objects and arrays are read; 33 are refused, however the brackets
        mix and wherever they stand in the body."""
        deep = "[" * 16 + '{"a":' * 16 + "1" + "}" * 16 + "]" * 16
        assert loads_json(deep) is not None
        padding = '"' + "x" * 70_000 + '"'
        too_deep = "[" * 17 + '{"a":' * 16 + padding + "}" * 16 + "]" * 17
        with pytest.raises(ValueError):
            loads_json(too_deep)
        with pytest.raises(ValueError):
            loads_json("[" + padding + ", " + "[" * 32 + "]" * 32 + "]")

    def test_shallow_nesting_is_fine(self) -> None:
        """Real payloads nest about four deep."""
        assert loads_json('{"a": {"b": {"c": {"d": [1]}}}}') == {"a": {"b": {"c": {"d": [1]}}}}


class TestBodyReader:
    def test_identity_is_cut_at_the_limit(self) -> None:
        """More than `limit` bytes are cut and marked truncated."""
        reader = BodyReader(None, limit=10)
        assert reader.feed(b"0123456789abcdef") is True
        assert reader.body == b"0123456789"
        assert reader.truncated

    def test_a_small_body_is_read_whole(self) -> None:
        """A body under the limit is kept whole, not truncated."""
        reader = BodyReader("identity", limit=100)
        assert reader.feed(b"hello") is False
        reader.finish()
        assert (reader.body, reader.truncated, reader.complete) == (b"hello", False, True)

    def test_gzip_bomb_never_expands_past_the_limit(self) -> None:
        """64 MiB of zeros in a 64 KiB gzip decode to at most `limit` bytes."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        chunk = bytes(1 << 20)
        bomb = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
        reader = BodyReader("gzip", limit=64 * 1024)
        for start in range(0, len(bomb), 16 * 1024):
            if reader.feed(bomb[start : start + 16 * 1024]):
                break
        assert len(reader.body) == 64 * 1024
        assert reader.truncated

    def test_deflate_with_and_without_the_zlib_wrapper(self) -> None:
        """`deflate` is decoded whether it comes zlib-wrapped or raw."""
        for data in (zlib.compress(b"payment required"), _raw_deflate(b"payment required")):
            reader = BodyReader("deflate", limit=1000)
            reader.feed(data)
            assert reader.body == b"payment required"

    def test_corrupt_gzip_is_undecodable_not_an_error(self) -> None:
        """Bytes that are not gzip mark the body undecodable."""
        reader = BodyReader("gzip", limit=1000)
        assert reader.feed(b"this is not gzip at all") is True
        assert reader.undecodable

    def test_unknown_encoding_keeps_raw_chunks_for_pass_through(self) -> None:
        """An encoding we cannot decode leaves the body empty but the raw bytes kept."""
        reader = BodyReader("compress", limit=1000)
        reader.feed(b"\x1f\x9d...")
        assert reader.undecodable
        assert reader.body == b""
        assert reader.raw_chunks == [b"\x1f\x9d..."]

    def test_raw_bytes_are_bounded_too(self) -> None:
        """Compressed input larger than the limit stops the read."""
        reader = BodyReader("gzip", limit=100)
        data = gzip.compress(bytes(range(256)) * 10, compresslevel=0)
        assert reader.feed(data[:150]) is True

    def test_reading_stops_when_the_time_is_up(self) -> None:
        """Past `max_seconds`, the next chunk ends the read and the body is truncated."""
        reader = BodyReader(None, limit=1000, max_seconds=0.0)
        rest = reader.read(iter([b"a", b"b", b"c"]), OSError)
        assert (reader.body, reader.truncated, reader.complete) == (b"a", True, False)
        assert list(rest) == [b"b", b"c"]

    def test_a_whole_stream_is_read_complete(self) -> None:
        """A stream that ends within both limits is read whole and not truncated."""
        reader = BodyReader(None, limit=1000, max_seconds=None)
        assert list(reader.read(iter([b"ab", b"", b"cd"]), OSError)) == []
        assert (reader.body, reader.truncated, reader.complete) == (b"abcd", False, True)

    def test_a_broken_stream_keeps_what_was_read(self) -> None:
        """A stream that raises keeps its bytes, marked truncated; its rest raises again."""

        def broken() -> Iterator[bytes]:
            yield b'{"error": '
            raise ConnectionResetError("peer went away")

        reader = BodyReader(None, limit=1000)
        rest = reader.read(broken(), OSError)
        assert (reader.body, reader.truncated) == (b'{"error": ', True)
        assert isinstance(reader.broken, ConnectionResetError)
        with pytest.raises(ConnectionResetError):
            next(rest)

    @pytest.mark.anyio
    async def test_an_async_broken_stream_keeps_what_was_read(self) -> None:
        """`aread` keeps the bytes of a broken async stream, and its rest raises again."""

        async def broken() -> AsyncIterator[bytes]:
            yield b"partial"
            raise ConnectionResetError("peer went away")

        reader = BodyReader(None, limit=1000)
        rest = await reader.aread(broken(), OSError)
        assert (reader.body, reader.truncated) == (b"partial", True)
        with pytest.raises(ConnectionResetError):
            await rest.__anext__()


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class TestHeaders:
    def test_www_authenticate_any_order_and_several_challenges(self) -> None:
        """Parameters in any order, several challenges, a token68 credential."""
        challenges = parse_www_authenticate(
            ['L402 invoice="lnbc1", macaroon="AGIA==", Bearer realm="api"', "Negotiate abc=="]
        )
        assert challenges == [
            ("L402", {"invoice": "lnbc1", "macaroon": "AGIA=="}),
            ("Bearer", {"realm": "api"}),
            ("Negotiate", {"": "abc=="}),
        ]

    def test_quoted_pairs_are_unescaped(self) -> None:
        """`\\"` inside a quoted string is a quote."""
        assert parse_www_authenticate(['Basic realm="a \\"b\\" c"']) == [
            ("Basic", {"realm": 'a "b" c'})
        ]

    @pytest.mark.parametrize(
        "value", ['"""', "=x", ",,,", 'L402 macaroon="unterminated', "\x00\x01", "a" * 20_000]
    )
    def test_garbage_never_raises(self, value: str) -> None:
        """Whatever comes in, a list comes out."""
        assert isinstance(parse_www_authenticate([value]), list)

    def test_base64_json_is_strict(self) -> None:
        """Only valid, bounded, standard base64 of JSON decodes."""
        assert decode_base64_json("eyJhIjoxfQ==") == {"a": 1}
        assert decode_base64_json("eyJhIjoxfQ") is None  # missing padding
        assert decode_base64_json("not base64!") is None
        assert decode_base64_json("bm90IGpzb24=") is None  # "not json"
        assert decode_base64_json("A" * 20_000) is None

    def test_text_decoding_never_raises(self) -> None:
        """Invalid UTF-8 and unknown charsets decode leniently."""
        assert decode_text(b"\xff\xfeok", "text/plain") == "\ufffd\ufffdok"
        assert decode_text(b"caf\xe9", "text/plain; charset=latin-1") == "café"
        assert decode_text(b"ok", "text/plain; charset=no-such-charset") == "ok"

    @pytest.mark.parametrize(
        ("value", "amount"),
        [(5, Decimal(5)), ("1,000.50", Decimal("1000.50")), (Decimal("0.1"), Decimal("0.1"))],
    )
    def test_amounts(self, value: object, amount: Decimal) -> None:
        """Numbers and numeric strings become exact amounts."""
        assert as_amount(value) == amount

    @pytest.mark.parametrize("value", [True, None, "abc", "1" * 100, 1.5, [1], "NaN"])
    def test_non_amounts(self, value: object) -> None:
        """Booleans, floats, words and huge strings are not amounts."""
        assert as_amount(value) is None
