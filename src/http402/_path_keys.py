"""API keys carried in a URL's path: which segments of a path are credentials.

Ethereum RPC providers (and webhooks, bot APIs) take the key as a path segment rather than a
header or a query parameter: `https://eth-mainnet.g.alchemy.com/v2/<key>`. Such a segment is
a secret like any header's credential: it is elided wherever a URL is shown
(`_redaction.safe_url_for_display`), scrubbed wherever a server echoes it (`collect_secrets`),
and it names the account in the billing scope (`_replay`).

Two rules find them, both bounded (a segment is looked at only up to `_MAX_SEGMENT`
characters, and a path in its first `_MAX_SEGMENTS` segments, the last holding the rest):

1. **Shape** (`looks_like_key`), for any host: a segment of at least 16 letters and digits
   with a run of at least 8 that mixes letters and digits (or upper and lower case as a
   random string does, not as CamelCase words do), or a UUID. Infura's 32 hex, Alchemy's 32
   base62, QuickNode's 32-40 hex, Ankr's 64 hex, a Telegram bot token all have one. So do
   ids that mix letters and digits (`file-abc123...`, a commit hash): they are elided too,
   as a key cannot be told from such an id; slugs, words, numbers, dates and model names
   (`gpt-4o-mini-2024-07-18`) are not. A segment longer than `_MAX_SEGMENT` is elided
   whole.
2. **Known hosts** (`PATH_KEY_HOSTS`): the segment their documentation puts the key in, of
   any shape (8 characters at least, as every secret).

Where keys are put (`account_key`: a known host's key segment, the path's first segment, or
the second after a version segment, `/v2/<key>`), the segment is the account's key: it
counts in the billing scope, and is a secret scrubbed wherever it is echoed. A key-shaped
id further in (`/v1/files/file-abc123...`) is only elided where the URL is shown: counted,
it would split one account into one scope per resource (and buy once per resource), and
scrubbed, it would hide the id a message quotes.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import attrs

__all__ = [
    "PATH_KEY_HOSTS",
    "PathKeyHost",
    "key_segments",
    "looks_like_key",
    "scope_segments",
    "segments_of",
]


@attrs.frozen
class PathKeyHost:
    """A host family that takes its API key in the path, as its documentation shows it."""

    #: The host, or a suffix of it starting with a dot (`.alchemy.com`).
    host: str
    #: The key is the segment after one of these segments (lower case)...
    after: tuple[str, ...] = ()
    #: ...or the segment at this index (0 is the first), when `after` is empty.
    index: int = 0
    #: Where the documentation shows the URL.
    source: str = ""

    def matches(self, host: str) -> bool:
        return host.endswith(self.host) if self.host.startswith(".") else host == self.host


PATH_KEY_HOSTS: tuple[PathKeyHost, ...] = (
    PathKeyHost(
        ".alchemy.com",
        after=("v2", "v3"),
        source="https://docs.alchemy.com/reference/api-overview "
        "(https://eth-mainnet.g.alchemy.com/v2/{apiKey}; NFT API /nft/v3/{apiKey}/...)",
    ),
    PathKeyHost(
        ".infura.io",
        after=("v3",),
        source="https://docs.metamask.io/services/get-started/endpoints/ "
        "(https://mainnet.infura.io/v3/<YOUR-API-KEY>, wss://.../ws/v3/<YOUR-API-KEY>)",
    ),
    PathKeyHost(
        ".quiknode.pro",
        index=0,
        source="https://www.quicknode.com/docs/ethereum/endpoint-security "
        "(https://your-endpoint-name.ethereum.quiknode.pro/your-auth-token/)",
    ),
    PathKeyHost(
        "rpc.ankr.com",
        index=1,
        source="https://www.ankr.com/docs/api-reference/ "
        "(https://rpc.ankr.com/<chain>/<API_KEY>, https://rpc.ankr.com/multichain/<API_KEY>)",
    ),
    PathKeyHost(
        "go.getblock.io",
        index=0,
        source="https://docs.getblock.io/getting-started/authentication-with-access-tokens "
        "(https://go.getblock.io/<ACCESS-TOKEN>/)",
    ),
)

#: Segments longer than this are not looked into: shown, such a segment is elided whole.
_MAX_SEGMENT = 512
#: Segments of a path looked at; a path of more is cut there when shown.
_MAX_SEGMENTS = 64
_MIN_KEY = 16
_MIN_KNOWN_KEY = 8
_RUN = re.compile(r"[A-Za-z0-9]{8,}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_VERSION = re.compile(r"v[0-9]{1,3}")


def looks_like_key(segment: str) -> bool:
    """`True` for a path segment shaped like a key (see the module's docstring). A segment
    longer than `_MAX_SEGMENT` characters is one (nothing of it is shown)."""
    if len(segment) < _MIN_KEY:
        return False
    if len(segment) > _MAX_SEGMENT:
        return True
    if "%" in segment:
        segment = unquote(segment)
    if _UUID.fullmatch(segment):
        return True
    if sum(c.isascii() and c.isalnum() for c in segment) < _MIN_KEY:
        return False
    return any(_is_random(run) for run in _RUN.findall(segment))


def _is_random(run: str) -> bool:
    """A run of letters and digits as a generator makes them: letters and digits mixed, or
    (20 characters at least) upper and lower case mixed more than words are."""
    letters = sum(c.isalpha() for c in run)
    if 0 < letters < len(run):
        return True
    if len(run) < 20:
        return False
    upper = sum(c.isupper() for c in run)
    return min(upper, len(run) - upper) * 4 >= len(run)


def segments_of(path: str) -> list[str]:
    """The segments of `path` after its leading `/`: at most `_MAX_SEGMENTS`, the last
    holding the rest of a longer path whole."""
    return path.split("/", _MAX_SEGMENTS)[1:]


def _known(host: str, segments: list[str]) -> int | None:
    """The index of the key segment of a known host's path, or `None`."""
    for known in PATH_KEY_HOSTS:
        if not known.matches(host):
            continue
        if known.after:
            for at, segment in enumerate(segments[:-1]):
                if segment.lower() in known.after:
                    return at + 1
            return None
        return known.index if known.index < len(segments) else None
    return None


def key_segments(host: str, segments: list[str]) -> frozenset[int]:
    """The indexes in `segments` (from `segments_of`) of those shown elided: each shaped
    like a key, and the account's key segment (`account_key`)."""
    found = {at for at, segment in enumerate(segments) if looks_like_key(segment)}
    known = account_key(host, segments)
    if known is not None:
        found.add(known)
    return frozenset(found)


def account_key(host: str, segments: list[str]) -> int | None:
    """The index in `segments` of the path's key, where keys are put: a known host's key
    segment (8 characters or more), else a key-shaped first segment, or a key-shaped second
    one after a version segment (`/v2/<key>`). It names the account in the billing scope,
    and is a secret of the request, scrubbed wherever it is echoed; a key-shaped segment
    elsewhere is only elided where the URL is shown (an id there may be quoted in a
    message: "for group 6641131da90d2a046f88fd70")."""
    known = _known(host.lower(), segments)
    if known is not None:
        return known if len(segments[known]) >= _MIN_KNOWN_KEY else None
    if segments and looks_like_key(segments[0]):
        return 0
    versioned = len(segments) > 1 and _VERSION.fullmatch(segments[0].lower())
    return 1 if versioned and looks_like_key(segments[1]) else None


def scope_segments(host: str, path: str) -> list[str]:
    """The path's key (`account_key`) as the billing scope counts it, or nothing."""
    segments = path.split("/", 5)[1:5]
    at = account_key(host, segments)
    return [] if at is None else [segments[at]]
