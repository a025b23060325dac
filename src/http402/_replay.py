"""Replay rules: which requests can be sent again, how, and whose billing they share.

A 402 means the server refused before acting, so the HTTP method does not matter; what
matters is whether the body can be sent again whole. A replay reuses the request's own body
stream (never a copy rebuilt from `.content`), keeps every header the caller set, adds the
hook's headers, and is marked in `request.extensions`. The caller's request is not mutated.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
import secrets
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, unquote_plus

import attrs
import httpx

from ._models import Retry
from ._path_keys import scope_segments
from ._redaction import (
    CREDENTIAL_NAMES,
    HOOK_HEADERS_EXTENSION,
    changes_per_request,
    credential_kind,
    credential_view,
    name_parts,
)

__all__ = [
    "REPLAY_EXTENSION",
    "SDK_RETRY_HEADER",
    "Call",
    "KeyedScope",
    "ScopeFunction",
    "as_sent",
    "as_sent_async",
    "call_of",
    "credential_identity",
    "credential_view",
    "default_scope",
    "digest_body",
    "replay_of",
    "request_target",
    "why_not_replayable",
]

#: `request.extensions` key marking a replay: `{"attempt": n}`, `n` counting every send of the
#: request, the first included (the first replay is attempt 2), as `error.attempts` and the
#: `attempt` of log records do.
REPLAY_EXTENSION = "http402.replay"

#: Maps a request to its billing scope: requests of one scope share an account-level gate.
ScopeFunction = Callable[[httpx.Request], str]

#: The header with which every Stainless-generated SDK (`openai`, `anthropic`, ...) numbers
#: the attempts of one call: `0`, then `1`, `2`... for its own retries (their
#: `_build_headers`). Nothing else in a retry differs from the call's first attempt.
SDK_RETRY_HEADER = "x-stainless-retry-count"


@attrs.frozen
class Call:
    """One call of an SDK, across the attempts its own retries make."""

    #: A digest of the billing scope, method, URL and body: the same for every attempt.
    key: str
    #: Which attempt this is: `0` for the call's first, `n` for its n-th retry.
    retry: int


def call_of(request: httpx.Request, scope: str) -> Call | None:
    """The SDK call `request` is an attempt of, or `None` when it says of none (no
    `x-stainless-retry-count`).

    A call is its scope, method, URL and body, whatever form the body takes on each attempt:
    a multipart body (a file upload) is rebuilt by the SDK with a fresh random boundary on
    every attempt, so the boundary is left out; a multipart stream not read yet is rendered
    again to be keyed, its file fields rewound as httpx rewinds them to send. A body that
    cannot be read at all (a stream that cannot be sent again) is keyed as *any* such body
    to its scope, method and URL: two different calls of that kind may then be taken for
    one, and a retry of the second gets the first's answer, which only ever declines
    (a hook's failure, a hold, a refusal): it fails closed, never paying twice.
    """
    count = request.headers.get(SDK_RETRY_HEADER)
    if count is None or not (count.isascii() and count.isdigit()) or len(count) > 6:
        return None
    digest = hashlib.sha256()
    for part in (scope, request.method, request_target(str(request.url))):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    if not digest_body(request, digest):
        digest.update(_UNKEYED)
    return Call(key=f"call:{digest.hexdigest()[:32]}", retry=int(count))


def request_target(url: str) -> str:
    """`url` as what a request asks for: without the query parameters whose value changes
    with every request (`changes_per_request`: a `signature`, a `timestamp`, a `nonce`...),
    the rest as sent. An API that signs each call in its query (`?timestamp=...&signature=`)
    sends one call under a new URL every time; the billing scope leaves those values out,
    and so do the keys of what the call asks for (an offer naming no resource, a top-up's
    need, an SDK call), by this one definition: the same call re-signed is the same call,
    and a hold on it holds (case 131)."""
    base, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = rest.partition("#")
    kept = [
        pair
        for pair in query.split("&")
        if not changes_per_request(unquote_plus(pair.partition("=")[0]), "query")
    ]
    target = f"{base}?{'&'.join(kept)}" if kept else base
    return f"{target}{hash_mark}{fragment}"


#: What stands in a call's key for a body that cannot be read (a body read is fed as
#: `body\0` and its digest, so the two never meet).
_UNKEYED = b"\0a body that cannot be read again"
#: What stands for a multipart boundary in a call's key.
_BOUNDARY = b"\0boundary\0"


def digest_body(request: httpx.Request, digest: Any) -> bool:
    """Feeds `request`'s body to `digest`, a multipart boundary left out; `False` (having
    fed nothing) when the body cannot be read without spending it."""
    chunks: Iterable[bytes]
    try:
        chunks = (request.content,)
    except Exception:  # a stream not read: only a multipart one can be rendered again
        stream = request.stream
        if getattr(stream, "fields", None) is None or why_not_replayable(stream) is not None:
            return False
        chunks = stream  # type: ignore[assignment]
    boundary = _multipart_boundary(request.headers.get("content-type"))
    body = hashlib.sha256()
    try:
        for chunk in chunks:
            body.update(chunk if boundary is None else chunk.replace(boundary, _BOUNDARY))
    except Exception:  # a file field that could not be read again
        return False
    digest.update(b"body\0" + body.digest())
    return True


def _multipart_boundary(content_type: str | None) -> bytes | None:
    """`--` and the boundary of a multipart `Content-Type`, as it appears in the body."""
    if not content_type or not content_type[:10].lower().startswith("multipart/"):
        return None
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip().strip('"')
            return b"--" + value.encode("latin-1", "replace") if value else None
    return None


class KeyedScope:
    """The default billing scope under a key: the origin, plus a keyed digest (HMAC-SHA256,
    16 hex) of every credential the request carries (never the credentials themselves).

    Credential headers, each cookie, credential query parameters, the URL's userinfo, a key
    in its path (`/v2/<key>`) and a key field of a body in memory (`_body_credentials`) all
    count: two API keys (or two session cookies) on one
    host are two billing scopes; one key across many paths is one. What changes with each
    request (a payment proof, a request signature, an idempotency key, a load balancer's
    cookie, the per-request claims and signature of a JWT) is left out, so that it does not
    split one account into many.

    The digest is keyed so that nobody holding only what http402 writes (logs, span events,
    Redis keys) can test guesses of a credential against it: an unkeyed hash of a password
    is undone by a dictionary. `key` is this process's own (`PROCESS_KEY`), or the fleet's
    (`RedisCoordinator.scope_key`), so that every process of a fleet agrees; a shell keys
    its scope before it first computes one (`key` is `None` until then).
    """

    __slots__ = ("key", "provisional")

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        #: `True` while a fleet's scope runs under this process's key, its store having
        #: not answered when the key was first needed (the shells say when it may change).
        self.provisional = False

    def __call__(self, request: httpx.Request) -> str:
        url = request.url
        credentials = sorted(_scope_credentials(request))
        digest = "-"
        if credentials:
            material = "\0".join(credentials).encode("utf-8", "surrogatepass")
            key = PROCESS_KEY if self.key is None else self.key
            digest = hmac.new(key, material, hashlib.sha256).hexdigest()[:16]
        return f"{url.scheme}://{url.host}:{url.port or ''}#{digest}"


#: This process's key for billing scopes: random, never written anywhere. A forked child
#: keeps it (it is as secret there), so parent and child still agree.
PROCESS_KEY = secrets.token_bytes(32)

#: The billing scope of a request in this process (`KeyedScope` under `PROCESS_KEY`), the
#: default `scope=` of a transport.
default_scope = KeyedScope(PROCESS_KEY)


#: Cookies that CDNs, bot filters and load balancers set on their own and rotate (on
#: responses, per visit, per backend): they name no account, and counting them made one key
#: a new scope at each rotation, the hold of a top-up that did not show never holding the
#: next gate (case 175). The world is a list here: each vendor documents its names, matched
#: as lower-case prefixes (a vendor's names carry a site or pool id after them).
EDGE_COOKIES = (
    # Cloudflare: __cf_bm, __cflb, __cfruid, _cfuvid, cf_clearance, cf_chl_*, cf_ob_info
    # (developers.cloudflare.com/fundamentals/reference/policies-compliances/cloudflare-cookies/)
    "__cf",
    "_cf",
    "cf_",
    # Akamai Bot Manager: ak_bmsc, bm_sv, bm_sz, bm_mi, bm_so, bm_s, bm_lso, _abck; Akamai
    # visitor prioritization akavpau_* (techdocs.akamai.com, Bot Manager and Visitor
    # Prioritization Cloudlet cookies)
    "ak_bmsc",
    "bm_",
    "_abck",
    "akavpau_",
    # Imperva (Incapsula): incap_ses_<id>, visid_incap_<id>, nlbi_<id>, ___utmvc, reese84
    # (docs.imperva.com, Cloud Application Security: "Cookies set by Imperva")
    "incap_ses_",
    "visid_incap_",
    "nlbi_",
    "___utmvc",
    "reese84",
    # DataDome: datadome (docs.datadome.co, "DataDome cookie")
    "datadome",
    # HUMAN (PerimeterX): _px, _px2, _px3, _pxhd, _pxvid, _pxde, pxcts (docs.humansecurity.com)
    "_px",
    "pxcts",
    # AWS Elastic Load Balancing stickiness: AWSELB, AWSELBCORS (Classic), AWSALB,
    # AWSALBCORS, AWSALBTG, AWSALBTGCORS, AWSALBAPP-<n> (docs.aws.amazon.com, Elastic Load
    # Balancing: sticky sessions)
    "awselb",
    "awsalb",
    # Azure: App Service's ARRAffinity, ARRAffinitySameSite; Application Gateway's
    # ApplicationGatewayAffinity, ApplicationGatewayAffinityCORS (learn.microsoft.com)
    "arraffinity",
    "applicationgatewayaffinity",
    # Google Cloud Load Balancing's generated cookie affinity: GCLB, GCILB
    # (cloud.google.com/load-balancing/docs/backend-service, session affinity)
    "gclb",
    "gcilb",
    # F5 BIG-IP persistence: BIGipServer<pool> (my.f5.com K6917); Citrix ADC: NSC_*
    "bigipserver",
    "nsc_",
    # Analytics set beside them, no account either: Google Analytics _ga, _gid, __utm*
    "_ga",
    "_gid",
    "__utm",
)


def _scope_credentials(request: httpx.Request) -> set[str]:
    """Who the request's credentials say its caller is: the set of what names the account
    in each credential's value (`credential_identity`), wherever and under whatever name it
    travels. The same key sent in a header, in the query, in the body or in the URL's path,
    under any scheme, is one caller (case 183: Tavily's key in its body and in
    `Authorization: Bearer`, Google's `?key=` and `x-goog-api-key`, `Bearer` and `bearer`
    bought a top-up each for one exhaustion); two keys, or a key and another credential
    beside it, are other callers. Only account credentials count: what `CREDENTIAL_NAMES`
    calls an account's credential, not a per-request one (a proof, a signature, an
    idempotency key, a one-time password)."""
    found: set[str] = set()
    sessions: set[str] = set()
    for name, value in request.headers.multi_items():
        lowered = name.lower()
        if lowered == "cookie":
            for _, cookie in _cookies(value):
                found.update(credential_identity(cookie))
            continue
        # An `Authorization: Payment ...` is a proof, new with every request.
        if value.lstrip().lower().startswith("payment "):
            continue
        names = _names_the_account(lowered, "header")
        if names:
            (found if names == _CALLER else sessions).update(credential_identity(value))
    url = request.url
    for name, value in url.params.multi_items():
        names = _names_the_account(name, "query")
        if names:
            (found if names == _CALLER else sessions).update(credential_identity(value))
    if url.userinfo:
        # as `Authorization: Basic` carries it, decoded: the same user and password
        found.add(unquote(url.userinfo.decode("ascii", "replace")))
    raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    found.update(scope_segments(url.host, raw_path))
    for value in _body_credentials(request):
        found.update(credential_identity(value))
    found.discard("")
    # Which of the caller's accounts is billed, when one key reaches several (case 180).
    selected = {
        f"{name.lower()}\0{value.strip()}"
        for name, value in request.headers.multi_items()
        if name.lower() in ACCOUNT_SELECTORS and value.strip()
    }
    selected.update(
        f"{name.lower()}\0{value}"
        for name, value in url.params.multi_items()
        if name.lower() in ACCOUNT_SELECTOR_PARAMETERS and value
    )
    # A session names a conversation (Helicone's `Helicone-Session-Id`, a chat backend's
    # `X-Session-Id`: case 177) or a login: the caller only when nothing else names it.
    return (found or (sessions - {""})) | selected


#: Headers that choose WHICH of the caller's accounts a request bills, with no credential in
#: them: one key of a user in two organizations or projects reaches two quotas and two
#: bills, so the selector is part of the scope (case 180: organization A's exhausted quota,
#: its known gate, refused organization B's funded request unsent). OpenAI's
#: `OpenAI-Organization` and `OpenAI-Project` ("usage from these API requests will count
#: as usage for the specified organization and project", platform.openai.com API
#: reference, Authentication); Google's `X-Goog-User-Project`, the quota project billed for
#: a call made with a user's credentials (cloud.google.com/docs/quotas/set-quota-project;
#: google-auth sends it); Stripe's `Stripe-Account`, the connected account a platform's
#: key acts for (docs.stripe.com/connect/authentication).
ACCOUNT_SELECTORS = frozenset(
    {"openai-organization", "openai-project", "x-goog-user-project", "stripe-account"}
)
#: Query parameters that choose the billed account: Google Cloud Storage's `userProject`,
#: the project billed for a Requester Pays request (cloud.google.com/storage/docs/requester-pays).
ACCOUNT_SELECTOR_PARAMETERS = frozenset({"userproject"})


def _body_credentials(request: httpx.Request) -> list[str]:
    """The value of each credential that names the account in `request`'s
    body, when the body is in memory: a JSON object's top-level string members (Tavily's
    `{"api_key": "tvly-..."}`, Pushover's `{"token": ...}`) and a form's fields, by the rule
    of a query parameter (`_names_the_account`), a password aside. Two tenants of one host
    whose keys travel in the body are two billing scopes, as two keys in a header are.

    Only the top level: what a request's content holds deeper is the request's subject, not
    its caller (a push message's device `token`, a tool call's `{"key": "cart:42"}` in a
    conversation), and counting it split one account into a scope per device or argument,
    each buying its own top-up (cases 161, 162). A password in a body is an end user's (a
    sign-up form's), not the caller's. The whole body is parsed, whatever its length, so one
    account's long and short requests are one scope; this runs only when a scope is needed
    (a gate, a known gate of the origin, a balance header). A body still a stream (an
    upload) is not read here, and its credentials do not count."""
    try:
        content = request.content  # httpx raises `RequestNotRead` for a stream not read
    except Exception:
        return []
    if not content or not isinstance(content, bytes):
        return []
    found: list[str] = []
    if content.lstrip()[:1] == b"{":
        try:
            body = json.loads(content)
        except ValueError:  # RecursionError and UnicodeDecodeError are ValueErrors too
            return []
        if isinstance(body, dict):
            for name, value in body.items():
                if isinstance(value, str) and value and _names_the_account(name, "body"):
                    found.append(value)
        return found
    content_type = request.headers.get("content-type", "")
    if content_type[:33].lower().startswith("application/x-www-form-urlencoded"):
        for pair in content.split(b"&"):
            name_bytes, _, value_bytes = pair.partition(b"=")
            name = unquote_plus(name_bytes.decode("latin-1"))
            if value_bytes and _names_the_account(name, "body"):
                value = unquote_plus(value_bytes.decode("utf-8", "replace"))
                found.append(value)
    return found


#: Words of a credential's name that say its word points at something the request asks
#: for, whose value changes with it: a page or a listing's position (`pageToken`, Microsoft
#: Graph's `$skiptoken` and `$deltatoken`, X's `pagination_token`, Google Calendar's
#: `syncToken`, AWS's `starting_token`, DynamoDB's `ExclusiveStartKey`), a cache (OpenAI's
#: `prompt_cache_key`), a partition or a sort key (Cosmos DB's `x-ms-documentdb-partitionkey`),
#: a stop sequence, a device or a push registration, a customer's card token, a refresh, a
#: conversation or a trace. A word counts as a part of the name (`page_token`) or fused at
#: the start of one (`pagetoken`, `nextpagetoken`, `skiptoken`, `partitionkey`): a name
#: written as one word points as its spaced spelling does. Counting such a value split one
#: account into a scope per page, per prompt or per conversation, each buying its own top-up
#: (cases 161, 162, 171).
POINTER_PARTS = frozenset(
    {
        "page",
        "pagination",
        "paging",
        "next",
        "prev",
        "previous",
        "continuation",
        "continue",
        "cursor",
        "offset",
        "skip",
        "delta",
        "sync",
        "resume",
        "start",
        "starting",
        "last",
        "marker",
        "cache",
        "partition",
        "sort",
        "range",
        "row",
        "object",
        "bucket",
        "file",
        "upload",
        "stop",
        "device",
        "push",
        "registration",
        "fcm",
        "apns",
        "customer",
        "card",
        "payment",
        "refresh",
        "reset",
        "verification",
        "invite",
        "points",
        "conversation",
        "thread",
        "chat",
        "trace",
    }
)


def _points(part: str) -> bool:
    """Whether a name's part is a pointer word, or pointer words fused before the
    credential's word (`pagetoken`, `nextpagetoken`, `skiptoken`, `partitionkey`; not
    `pusherkey`)."""
    if part in POINTER_PARTS:
        return True
    return any(
        part.startswith(word)
        and (part[len(word) :] in ("token", "key") or _points(part[len(word) :]))
        for word in POINTER_PARTS
    )


#: Names that are credentials in a query or a header but an end user's in a body (a sign-up
#: form's password), or a conversation's session.
_NOT_THE_CALLERS_IN_A_BODY = frozenset(
    {"password", "passwd", "pwd", "pass", "passphrase", "passcode", "session", "sessionid", "sid"}
)
#: The whole names that only some vendors' queries give a key (`CREDENTIAL_NAMES`' rows
#: matched by the whole name: Azure Functions' `?code=`, Baidu's `?ak=`, `?pat=`,
#: OpenWeatherMap's `?appid=`). In a body each is what the request asks for (a sandbox's
#: `{"code": <program>}`, Twilio Verify's `Code=<the code to check>`, a promo code): a body
#: member counts only by a credential-shaped name (case 179).
_QUERY_WHOLE_NAMES = frozenset(
    word for row in CREDENTIAL_NAMES if row.match == "name" for word in row.words
)
#: What `_names_the_account` says of a name: the caller's credential, or a session's (the
#: caller only when nothing else names it).
_CALLER, _SESSION = "caller", "session"


@functools.lru_cache(maxsize=1024)
def _names_the_account(name: str, place: str) -> str | None:
    """Whether a header (`place="header"`), a query parameter (`"query"`) or a body field
    (`"body"`) named `name` holds a credential that names the account: `_CALLER` for a
    credential by `credential_kind` (a body field's as a query parameter's) none of whose
    parts points at what the request asks for (`POINTER_PARTS`, as a part or fused before
    the credential's word: `_points`), nor in a body a password's, a session's or a
    vendor's whole query name; `_SESSION` for such a credential whose name says it is a
    session's (`X-Session-Id`, `?session=`); else `None`. Cached: a body repeats the
    same few member names."""
    if credential_kind(name, "header" if place == "header" else "query") != "account":
        return None
    parts = {part for part in name_parts(name) if part}
    if any(_points(part) for part in parts):
        return None
    if place == "body":
        if name.lower() in _QUERY_WHOLE_NAMES or not _NOT_THE_CALLERS_IN_A_BODY.isdisjoint(parts):
            return None
        return _CALLER
    if any(part.startswith("session") or part in ("sid", "sessid") for part in parts):
        return _SESSION
    return _CALLER


def credential_identity(value: str) -> tuple[str, ...]:
    """What names the account in a credential's value: the same for every request of one
    account, whatever the request, the scheme's case or the form the value takes.

    - `<scheme> <token>` (`Bearer`, `bearer`, `Token`...) is its token, so that a key in
      `Authorization` is the key sent in a query or a body; `Basic` is its user and
      password decoded, as the URL's userinfo gives them;
    - a scheme whose parameters sign each request names its key and nothing new per
      request: the key id of AWS Signature V4 and of its look-alikes that put a
      `Credential=<id>/<date>/.../<x>_request` beside a signature (`AWS4-HMAC-SHA256`,
      Google's `GOOG4-HMAC-SHA256`, Tencent Cloud's `TC3-HMAC-SHA256`, Volcengine's
      `HMAC-SHA256`), Huawei's `Access=`, Baidu's `bce-auth-v1/<ak>/...`, Azure's
      `SharedKey <account>:<signature>`; Digest (RFC 7616) its `username` and `realm`
      (its `nonce`, `cnonce`, `nc` and `response` are new on every request); OAuth 1.0a
      (RFC 5849) its `oauth_consumer_key` and `oauth_token` (as its query form sends
      them); Hawk its `id`;
    - a JWT its header and claims without what changes with each token (`_stable_token`);
    - anything else, whole.

    Case 190: `httpx.DigestAuth` and OAuth 1.0a counted whole, each request a scope of its
    own: the hold of a top-up that did not show never held the next request."""
    text = value.strip()
    if text[:12].lower() == "bce-auth-v1/":  # bce-auth-v1/{ak}/{timestamp}/{expiry}/...
        return (text.split("/")[1],)
    scope_id = _CREDENTIAL_SCOPE.fullmatch(text)
    if scope_id:
        return (scope_id.group(1),)
    scheme, _, rest = text.partition(" ")
    rest = rest.strip()
    if not rest or not _SCHEME.fullmatch(scheme):
        return (_stable_token(text),)
    scheme = scheme.lower()
    if scheme in ("sharedkey", "sharedkeylite"):  # Azure Storage: <account>:<signature>
        return (rest.partition(":")[0],)
    if scheme == "basic":
        return (_basic_user(rest),)
    if _TOKEN68.fullmatch(rest):
        return (_stable_token(rest),)
    parameters = _auth_parameters(rest)
    credential = parameters.get("credential")
    if credential:
        return (credential.split("/", 1)[0],)
    if "access" in parameters:
        return (parameters["access"],)
    if scheme == "digest" and ("username" in parameters or "username*" in parameters):
        username = parameters.get("username") or parameters.get("username*", "")
        return (f"digest\0{parameters.get('realm', '')}\0{username}",)
    if scheme == "oauth" and "oauth_consumer_key" in parameters:
        return tuple(
            parameters[name] for name in ("oauth_consumer_key", "oauth_token") if name in parameters
        )
    if scheme == "hawk" and "id" in parameters:
        return (f"hawk\0{parameters['id']}",)
    return (f"{scheme} {rest}",)


# An Authorization scheme (RFC 9110 11.1: a token), and a token68 credential after it.
_SCHEME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
# auth-params: name=token or name="quoted string"
_AUTH_PARAMETER = re.compile(r'([A-Za-z0-9_*.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
# A SigV4-family credential scope on its own (a presigned URL's `X-Amz-Credential`):
# <key id>/<yyyymmdd>/<region>/<service>/<aws4|goog4|tc3>_request.
_CREDENTIAL_SCOPE = re.compile(r"([^/\s]+)/\d{8}/(?:[^/\s]+/)*[a-z0-9]+_request", re.IGNORECASE)


def _auth_parameters(text: str) -> dict[str, str]:
    """The auth-params of an `Authorization` value after its scheme, names in lower case
    (the first of a name wins), quoted values unquoted."""
    parameters: dict[str, str] = {}
    for match in _AUTH_PARAMETER.finditer(text):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        parameters.setdefault(match.group(1).lower(), value)
    return parameters


def _basic_user(token: str) -> str:
    """A Basic credential's `user:password`, decoded (as the URL's userinfo is), or the
    token as sent when it does not decode."""
    try:
        return base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return token


#: Claims of a JWT that change with every token of one account (RFC 7519 4.1.4-4.1.7: `exp`,
#: `nbf`, `iat`, `jti`; a nonce, and the request a token is minted for: Coinbase CDP's `uri`
#: and `uris`, RFC 9449's `htm`, `htu` and `ath`, Atlassian Connect's `qsh`). Header fields:
#: CDP's `nonce`. Everything else (`iss`, `sub`, `aud`, `azp`, custom claims, the header's
#: `kid` and `alg`) stays; a token reduced so is read only when something in it names the
#: account (the header's `kid`, or a claim other than `aud`).
PER_TOKEN_CLAIMS = frozenset(
    {"exp", "nbf", "iat", "jti", "nonce", "uri", "uris", "htm", "htu", "ath", "qsh"}
)
#: Claims that name who a token is FOR (the provider), not whose it is: on their own they
#: tell no two accounts apart.
AUDIENCE_CLAIMS = frozenset({"aud"})
# Longest token looked into; a longer one counts whole.
_MAX_TOKEN = 8192
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _stable_token(value: str) -> str:
    """For a JWT (JWS compact form, `header.claims.signature`), its header and claims
    without what changes with each token (`PER_TOKEN_CLAIMS`, the signature): every token
    of one key and subject gives the same text, tokens of two accounts two. Read only,
    never verified; anything else (an opaque key, a JWE, a token that does not decode to
    two JSON objects, one longer than 8 KiB, or one with no claim left) is returned whole."""
    if value.count(".") != 2 or len(value) > _MAX_TOKEN:
        return value
    header = _json_part(value.split(".", 1)[0])
    claims = _json_part(value.split(".", 2)[1])
    if header is None or claims is None or "alg" not in header:
        return value
    kept_header = {k: v for k, v in header.items() if k.lower() not in PER_TOKEN_CLAIMS}
    kept_claims = {k: v for k, v in claims.items() if k.lower() not in PER_TOKEN_CLAIMS}
    if "kid" not in kept_header and not any(k not in AUDIENCE_CLAIMS for k in kept_claims):
        # Nothing in it names an account (an audience names the provider, the same for every
        # account: tokens signed with each account's own secret may differ in nothing else):
        # the whole token does, or two accounts would be one scope.
        return value
    stable = json.dumps([kept_header, kept_claims], sort_keys=True, default=str)
    return f"jwt:{stable}"


def _json_part(part: str) -> dict[str, Any] | None:
    """A base64url part of a JWT decoded as a JSON object, or `None`."""
    if not part or len(part) % 4 == 1 or not _BASE64URL.fullmatch(part):
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _cookies(header: str) -> list[tuple[str, str]]:
    pairs = []
    for pair in header.split(";"):
        name, equals, value = pair.partition("=")
        name = name.strip()
        if equals and value.strip() and not name.lower().startswith(EDGE_COOKIES):
            pairs.append((name, value.strip()))
    return pairs


def why_not_replayable(stream: object) -> str | None:
    """`None` when a request body stream (`request.stream`) can be sent again whole, else
    why it cannot."""
    if _is_byte_stream(stream):
        return None
    # Multipart bodies re-read their fields; httpx seeks file fields back to the start.
    fields = getattr(stream, "fields", None)
    if fields is not None:
        for field in fields:
            file = getattr(field, "file", None)
            if file is None:
                continue
            seekable = getattr(file, "seekable", None)
            if isinstance(file, (bytes, str)) or (callable(seekable) and seekable()):
                continue
            return "a multipart file field cannot be rewound"
        return None
    return "the request body is a stream (a generator or an unseekable file) that was consumed"


def _is_byte_stream(stream: object) -> bool:
    """`True` for httpx's (or httpx2's) in-memory body stream, which can be sent again."""
    if isinstance(stream, httpx.ByteStream):
        return True
    httpx2 = sys.modules.get("httpx2")
    return httpx2 is not None and isinstance(stream, httpx2.ByteStream)


def replay_of(request: httpx.Request, retry: Retry, attempt: int) -> httpx.Request:
    """A copy of `request` to send again: same body stream, hook headers added, marked."""
    headers = request.headers.copy()
    for name, value in retry.headers:
        headers[name] = value
    extensions = dict(request.extensions)
    extensions[HOOK_HEADERS_EXTENSION] = frozenset(name.lower() for name, _ in retry.headers)
    extensions[REPLAY_EXTENSION] = {"attempt": attempt}
    # The request's own class, so an httpx2 request is replayed as an httpx2 request.
    return type(request)(
        request.method,
        request.url,
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )


def as_sent(client: Any, request: Any) -> Any:
    """`request` as the client sends it: httpx (and httpx2) apply the client's `auth=` in
    `send`, after `build_request`, so a request only built lacks the `Authorization` that
    every real request carries, and names another billing scope. The first
    request of the client's auth flow is the one sent first."""
    auth = client._build_request_auth(request)
    flow = auth.sync_auth_flow(request)
    try:
        return next(flow)
    finally:
        flow.close()


async def as_sent_async(client: Any, request: Any) -> Any:
    """`as_sent` for an async client, through its auth's async flow."""
    auth = client._build_request_auth(request)
    flow = auth.async_auth_flow(request)
    try:
        return await flow.__anext__()
    finally:
        await flow.aclose()
