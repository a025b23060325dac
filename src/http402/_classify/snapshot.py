"""What an adapter sees of a response: `ResponseSnapshot`, and the pipeline's readings of it.

A snapshot is made once per response and handed to each adapter in turn; the pipeline keeps
what it read of it (the parsed JSON, its fields, the prefilter's answer) on the snapshot, so
that the adapters tried after the first read the body once between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._untrusted import decode_text, loads_json, parse_www_authenticate

if TYPE_CHECKING:
    from .readers import Reading

__all__ = ["ResponseSnapshot"]

_NOT_PARSED: Any = object()


class ResponseSnapshot:
    """What an adapter sees of a response: status, headers, the bounded decoded body, and the
    request's method and URL. It does no I/O. The request's credentials travel along in
    `secrets` only so that classification can scrub them from messages; adapters must not
    read them.

    Args:
        status_code: The HTTP status.
        headers: Header `(name, value)` pairs; names are matched case-insensitively.
        body: The decoded body, already bounded by the reader.
        method: The request method.
        url: The request URL, or a function that gives it when first asked (most responses
            are never read, and need no URL).
        host: The request's host, if already known (else read from `url`).
        truncated: `True` when the body was longer than the bound and was cut.
        secrets: The request's credential values, for redaction, or a function that
            collects them when first asked (most responses never need them).
    """

    __slots__ = (
        "_challenges",
        "_headers",
        "_json",
        "_lowered",
        "_may_hold_evidence",
        "_reading",
        "_secrets",
        "_shape",
        "_text",
        "_url",
        "body",
        "host",
        "method",
        "status_code",
        "truncated",
    )

    def __init__(
        self,
        *,
        status_code: int,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        method: str = "GET",
        url: str | Callable[[], str] = "",
        host: str | None = None,
        truncated: bool = False,
        secrets: tuple[str, ...] | Callable[[], tuple[str, ...]] = (),
    ) -> None:
        self.status_code = status_code
        collected: dict[str, list[str]] = {}
        for name, value in headers:
            key = name.lower()
            values = collected.get(key)
            if values is None:
                collected[key] = [value]  # no list built and thrown away, as setdefault would
            else:
                values.append(value)
        self._headers = collected
        self.body = body
        self.method = method.upper()
        self._url = url
        if host is None:
            try:
                host = urlsplit(self.url).hostname or ""
            except ValueError:
                host = ""
        self.host = host.lower()
        self.truncated = truncated
        self._secrets = secrets
        self._text: str | None = None
        # The pipeline's readings, kept for the next adapter that asks (`readers.py`).
        self._reading: Reading | None = None
        self._shape: str | None = None
        self._may_hold_evidence: bool | None = None
        self._lowered: str | None = None
        self._json: Any = _NOT_PARSED
        self._challenges: list[tuple[str, dict[str, str]]] | None = None

    @property
    def url(self) -> str:
        """The request URL."""
        url = self._url
        if not isinstance(url, str):
            url = self._url = url() if callable(url) else str(url)
        return url

    @property
    def secrets(self) -> tuple[str, ...]:
        """The request's credentials, for redaction only; adapters must not use them."""
        secrets = self._secrets
        if callable(secrets):
            secrets = self._secrets = secrets()
        return secrets

    def header(self, name: str) -> str | None:
        """The first value of header `name`, or `None`."""
        values = self._headers.get(name.lower())
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        """Every value of header `name`, in the order received."""
        return list(self._headers.get(name.lower(), ()))

    @property
    def headers(self) -> Mapping[str, list[str]]:
        """All headers as a read-only mapping of lower-case name to values."""
        return MappingProxyType(self._headers)

    @property
    def text(self) -> str:
        """The body as text, decoded leniently (bad bytes become U+FFFD)."""
        if self._text is None:
            self._text = decode_text(self.body, self.header("content-type"))
        return self._text

    @property
    def json(self) -> Any:
        """The body parsed as JSON within the safety limits, or `None` if it is not JSON."""
        if self._json is _NOT_PARSED:
            self._json = None
            text = self.text.lstrip().lstrip("\ufeff")  # a byte order mark, as httpx allows
            # An object, an array, or a string (a gateway's `"You have no credits..."`).
            if text[:1] in ("{", "[", '"'):
                try:
                    self._json = loads_json(text)
                except ValueError:
                    self._json = None
        return self._json

    @property
    def challenges(self) -> list[tuple[str, dict[str, str]]]:
        """The `WWW-Authenticate` challenges, as `(scheme, params)` pairs, parsed once."""
        if self._challenges is None:
            self._challenges = parse_www_authenticate(self.header_list("www-authenticate"))
        return self._challenges

    def __repr__(self) -> str:
        return f"<ResponseSnapshot {self.status_code} {self.method} {self.host}>"
