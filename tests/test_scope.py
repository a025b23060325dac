"""The billing scope: what names an account, and how its name is written.

Requests of one account must share one scope whatever changes with each of them (a JWT minted
per request: its nonce, times, URI and signature), two accounts must never share one (two
keys, in a header, a JWT's claims or the URL's path), and the scope that log records, span
events and Redis keys show must not give a credential back to whoever reads them: its digest
is keyed, per process, or per fleet through the store (or by the application's key), so
that every process of a fleet still names an account alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402._replay import default_scope

from .fakes import VirtualClock
from .test_fleet import FakeClock, RedisServer, running_server, settle

URL = "https://api.cdp.example.com/platform/v2/evm/accounts"
INSUFFICIENT = {"error": {"code": "insufficient_credits", "message": "Insufficient credits"}}


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(header)}.{b64(claims)}.{b64(uuid.uuid4().bytes * 2)}"


def cdp(key: str = "organizations/3f0e/apiKeys/9b1c2d", path: str = "/v2/accounts") -> str:
    """As Coinbase's CDP SDK signs each request: a nonce in the header, the request's URI, a
    two-minute expiry (https://docs.cdp.coinbase.com/api-reference/v2/authentication)."""
    iat = 1764873600 + uuid.uuid4().int % 1000
    header = {"alg": "ES256", "kid": key, "typ": "JWT", "nonce": uuid.uuid4().hex}
    claims = {"sub": key, "iss": "cdp", "nbf": iat, "exp": iat + 120, "uri": f"GET host{path}"}
    return jwt(header, claims)


def app_store(issuer: str = "57246542-96fe-1a63-e053-0824d011072a", kid: str = "2X9R4HXF34") -> str:
    """As App Store Connect's tokens are made: `kid` the key id, `iss` the issuer id, `aud`
    fixed, `iat` and `exp` per token
    (https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests)."""
    iat = 1764873600 + uuid.uuid4().int % 1000
    claims = {"iss": issuer, "iat": iat, "exp": iat + 1200, "aud": "appstoreconnect-v1"}
    return jwt({"alg": "ES256", "kid": kid, "typ": "JWT"}, claims)


def service_account(email: str = "svc@project.iam.gserviceaccount.com") -> str:
    """A Google service account's self-signed JWT: `iss` = `sub` = the account's email, a
    per-token `iat`/`exp` (https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth)."""
    iat = 1764873600 + uuid.uuid4().int % 1000
    claims = {"iss": email, "sub": email, "aud": "https://api.example.com/", "iat": iat}
    return jwt({"alg": "RS256", "kid": "d8b2f6a1", "typ": "JWT"}, {**claims, "exp": iat + 3600})


def scope(url: str = URL, **headers: str) -> str:
    return default_scope(httpx.Request("GET", url, headers=headers))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- A JWT minted per request ------------------------------------------------------------

TOKENS = {
    "cdp": (cdp, lambda: cdp("organizations/3f0e/apiKeys/0000ff")),
    "app store": (app_store, lambda: app_store(issuer="69a6de70-03db-47e3-e053-5b8c7c11a4d1")),
    "app store key": (app_store, lambda: app_store(kid="7QK5L2M9PZ")),
    "service account": (
        service_account,
        lambda: service_account("other@p.iam.gserviceaccount.com"),
    ),
}


@pytest.mark.parametrize("kind", list(TOKENS))
def test_the_tokens_one_account_mints_per_request_are_one_scope(kind: str) -> None:
    """Every token of one key and subject, in a header, a query parameter or a cookie, names
    one scope: its nonce, times, URI and signature are left out."""
    mint, _ = TOKENS[kind]
    assert mint() != mint()
    assert scope(**bearer(mint())) == scope(**bearer(mint()))
    assert scope(f"{URL}?access_token={mint()}") == scope(f"{URL}?access_token={mint()}")
    assert scope(Cookie=f"session={mint()}") == scope(Cookie=f"session={mint()}")


@pytest.mark.parametrize("kind", list(TOKENS))
def test_the_tokens_of_two_accounts_are_two_scopes(kind: str) -> None:
    """A key id, an issuer or a subject apart: two accounts, in either order."""
    mint, other = TOKENS[kind]
    one, two = scope(**bearer(mint())), scope(**bearer(other()))
    assert one != two
    assert scope(**bearer(other())) == two and scope(**bearer(mint())) == one


def test_a_claim_of_its_own_still_tells_two_accounts_apart() -> None:
    """Claims other than the per-request ones stay: two tenants of one issuer, told apart only
    by a claim http402 does not know, are two scopes."""
    header = {"alg": "HS256", "typ": "JWT"}
    one = jwt(header, {"iss": "gateway", "tenant": "acme", "iat": 1, "jti": "a"})
    two = jwt(header, {"iss": "gateway", "tenant": "globex", "iat": 1, "jti": "a"})
    assert scope(**bearer(one)) != scope(**bearer(two))


@pytest.mark.parametrize(
    "tokens",
    [
        # Three dotted parts that are no JWT, and a JWE (five parts): each token whole.
        ("abc.def.ghi", "abc.def.ghj"),
        ("v1.2.3-secret-one", "v1.2.3-secret-two"),
        (jwt({"alg": "dir", "enc": "A256GCM"}, {}) + ".x.y", jwt({"alg": "dir"}, {}) + ".x.z"),
        # Nothing but per-request claims and no key id: nothing names an account.
        (jwt({"alg": "HS256"}, {"iat": 1, "jti": "a"}), jwt({"alg": "HS256"}, {"iat": 2})),
        # Not base64url, not JSON objects, no `alg`, nested past any decoder, too long.
        ("e30.e30!.sig", "e30.e30?.sig"),
        (f"{b64([1])}.{b64({'sub': 'a'})}.s", f"{b64([2])}.{b64({'sub': 'a'})}.s"),
        (
            f"{b64({'typ': 'JWT'})}.{b64({'sub': 'a'})}.s1",
            f"{b64({'typ': 'JWT'})}.{b64({'sub': 'a'})}.s2",
        ),
        (
            f"{b64({'alg': 'x'})}.{b64(b'[' * 5000)}.s1",
            f"{b64({'alg': 'x'})}.{b64(b'[' * 5000)}.s2",
        ),
        (
            jwt({"alg": "HS256"}, {"sub": "a", "pad": "x" * 9000}),
            jwt({"alg": "HS256"}, {"sub": "a", "pad": "x" * 9000}),
        ),
    ],
)
def test_a_token_that_names_no_account_counts_whole(tokens: tuple[str, str]) -> None:
    """Anything that does not read as a JWT with a claim or key id that stays counts whole,
    as before: two such tokens are two scopes, and nothing raises."""
    one, two = tokens
    assert scope(**bearer(one)) != scope(**bearer(two))


def test_tokens_that_differ_only_in_their_secret_are_two_accounts() -> None:
    """Tokens each account signs with its own secret and that name nothing but the provider
    (`aud`) and their times: reduced, they would be one text, so two accounts one scope (a
    decline of one answering the other; case 81). They count whole."""
    claims = {"aud": "api.example.com", "iat": 1764873600, "exp": 1764873720}
    one, two = (jwt({"alg": "HS256", "typ": "JWT"}, claims) for _ in range(2))
    assert scope(**bearer(one)) != scope(**bearer(two))
    named = {**claims, "sub": "acct_1"}
    first, again = jwt({"alg": "HS256"}, named), jwt({"alg": "HS256"}, {**named, "iat": 1})
    assert scope(**bearer(first)) == scope(**bearer(again))  # a subject names the account


def test_a_burst_of_per_request_tokens_tops_up_once() -> None:
    """8 threads of one CDP key, each with a token of its own, meet one exhaustion together:
    one hook call (research case 61: 8)."""
    server = Burst(8)
    top_ups: list[int] = []

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        top_ups.append(1)
        server.credits += 100
        return http402.Retry(within=30)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(server.answer)),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
    )
    answers: list[int] = []

    def call() -> None:
        answers.append(client.get(URL, headers=bearer(cdp())).status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    [thread.start() for thread in threads]
    [thread.join(10) for thread in threads]
    assert answers == [200] * 8
    assert len(top_ups) == 1


@pytest.mark.anyio
async def test_a_burst_of_per_request_tokens_tops_up_once_async() -> None:
    """The async twin: 8 tasks of one key, one hook call."""
    credits = [0]
    arrived = [0]
    everyone = anyio.Event()
    top_ups: list[int] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        arrived[0] += 1
        if arrived[0] <= 8:
            if arrived[0] == 8:
                everyone.set()
            await everyone.wait()
        if credits[0] <= 0:
            return httpx.Response(402, json=INSUFFICIENT)
        credits[0] -= 1
        return httpx.Response(200, json={"ok": True})

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        top_ups.append(1)
        credits[0] += 100
        return http402.Retry(within=30)

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
    )
    answers: list[int] = []

    async def call() -> None:
        answers.append((await client.get(URL, headers=bearer(cdp()))).status_code)

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(call)
    assert answers == [200] * 8
    assert len(top_ups) == 1


class Burst:
    """An API whose first `size` requests are all in flight before any is answered."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.credits = 0
        self.arrived = 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(size, timeout=5)

    def answer(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.arrived += 1
            first = self.arrived <= self.size
        if first:
            self.barrier.wait()
        with self.lock:
            if self.credits <= 0:
                return httpx.Response(402, json=INSUFFICIENT)
            self.credits -= 1
            return httpx.Response(200, json={"ok": True})


# --- A key in the URL's path -------------------------------------------------------------

ALCHEMY = "https://eth-mainnet.g.alchemy.com"


def test_two_keys_in_the_path_are_two_accounts() -> None:
    """Two Alchemy (Infura, QuickNode, Ankr) keys on one host are two scopes; one key on the
    JSON-RPC and the NFT paths is one."""
    one, two = "Zk3Qp9Lm2Xv7Rt5Nw8Yb4Hc6aD1eF0g", "Pq8Rs2Tu4Vw6Xy0Za1Bc3De5Fg7Hi9Jk"
    assert scope(f"{ALCHEMY}/v2/{one}") != scope(f"{ALCHEMY}/v2/{two}")
    assert scope(f"{ALCHEMY}/v2/{one}") == scope(f"{ALCHEMY}/nft/v3/{one}/getNFTsForOwner")
    infura = "https://mainnet.infura.io/v3/"
    assert scope(infura + "9aa3d95b3bc440fa88ea12eaa4456161") != scope(
        infura + "0bb3d95b3bc440fa88ea12eaa4456162"
    )
    quicknode = "https://docs-demo.ethereum.quiknode.pro/"
    assert scope(quicknode + "a1b2c3d4e5f6a7b8c9d0/") != scope(quicknode + "f1e2d3c4b5a6f7e8d9c0/")
    ankr = "https://rpc.ankr.com/"
    assert scope(ankr + "eth/" + "9f" * 32) != scope(ankr + "eth/" + "8e" * 32)
    assert scope(ankr + "eth/" + "9f" * 32) == scope(ankr + "eth/" + "9f" * 32 + "/")
    assert scope(f"https://rpc.example.net/{one}") != scope(f"https://rpc.example.net/{two}")


def test_ids_further_in_the_path_do_not_split_an_account() -> None:
    """A key-shaped id past where keys are put (`/v1/files/<id>`) is no account: one key's
    requests for many files are one scope."""
    key = {"Authorization": "Bearer sk-the-account-key-123456"}
    assert scope(f"{URL}/v1/files/file-abc123XYZdef456ghi789", **key) == scope(
        f"{URL}/v1/files/file-zzz999QQQppp000rrr111", **key
    )


# --- A key in the request's body ---------------------------------------------------------

TAVILY = "https://api.tavily.com/search"
KEY_A, KEY_B = "tvly-" + "a" * 24, "tvly-" + "b" * 24


def body_scope(content: bytes, content_type: str = "application/json") -> str:
    return default_scope(
        httpx.Request("POST", TAVILY, content=content, headers={"content-type": content_type})
    )


def test_two_keys_in_the_body_are_two_accounts() -> None:
    """Tavily takes `api_key` in its JSON body: two keys are two scopes, one key over many
    queries is one, and a key as a form field is read as it is in a query."""
    assert scope_of_json({"api_key": KEY_A, "query": "a"}) != scope_of_json(
        {"api_key": KEY_B, "query": "a"}
    )
    assert scope_of_json({"api_key": KEY_A, "query": "a"}) == scope_of_json(
        {"query": "something else", "max_results": 5, "api_key": KEY_A}
    )
    # Deeper members are the request's subject, not its caller (cases 161, 162): a push
    # message's device token, a tool call's key.
    assert scope_of_json({"api_key": KEY_A, "message": {"token": "device-1"}}) == scope_of_json(
        {"api_key": KEY_A, "message": {"token": "device-2"}}
    )
    tool = {"type": "tool_use", "input": {"key": "cart:42", "password": "x"}}
    assert scope_of_json({"api_key": KEY_A, "messages": [tool]}) == short_a()
    form = "application/x-www-form-urlencoded"
    assert body_scope(f"api_key={KEY_A}&q=a".encode(), form) != body_scope(
        f"api_key={KEY_B}&q=a".encode(), form
    )
    # No credential in the body: the origin's scope, as a request with no body.
    assert scope_of_json({"query": "a"}) == scope(TAVILY)


def scope_of_json(body: Any) -> str:
    return body_scope(json.dumps(body).encode())


def short_a() -> str:
    return scope_of_json({"api_key": KEY_A})


def test_a_credential_word_that_points_at_something_else_does_not_split_an_account() -> None:
    """A page's token, a prompt cache's key, a conversation's session or a partition's key
    change with what the request asks for: in a query (Google's `?key=...&pageToken=...`) or
    in a body (OpenAI's `prompt_cache_key`), one account stays one scope, and a scope per
    page or per prompt would buy a top-up for each."""
    google = "https://www.googleapis.com/youtube/v3/search?key=AIzaSyA-one-account-key"
    assert scope(google + "&pageToken=CAUQAA") == scope(google + "&pageToken=CAoQAA")
    assert scope(google + "&pageToken=CAUQAA") != scope(
        "https://www.googleapis.com/youtube/v3/search?key=AIzaSyB-another-account"
    )
    key = {"authorization": "Bearer sk-one-account-key-123456"}
    chat = "https://api.openai.com/v1/chat/completions"

    def asks(body: Any) -> str:
        return default_scope(httpx.Request("POST", chat, json=body, headers=key))

    assert asks({"model": "m", "prompt_cache_key": "a"}) == asks(
        {"model": "m", "prompt_cache_key": "b"}
    )
    for name in (
        "session_id",
        "page_token",
        "partition_key",
        "stop_token",
        "customer_token",
        "device_token",
        "password",
    ):
        assert scope_of_json({"api_key": KEY_A, name: "one"}) == scope_of_json(
            {"api_key": KEY_A, name: "two"}
        ), name


def test_one_word_query_keys_tell_two_accounts_apart() -> None:
    """Case 165: a key under a one-word name (MSG91's `authkey`, data.go.kr's `serviceKey`,
    `apitoken`, `oauth_token`, HubSpot's `hapikey`) names the account as `api_key` does."""
    base = "https://api.example.org/v1/send?"
    for name in (
        "authkey",
        "serviceKey",
        "crtfc_key",
        "apitoken",
        "accesskey",
        "rapidapi_key",
        "personal_access_token",
        "hapikey",
        "oauth_token",
    ):
        assert scope(f"{base}{name}=one-tenant-key-1234") != scope(
            f"{base}{name}=another-tenant-key-5678"
        ), name


def test_a_long_body_is_the_same_account_as_a_short_one() -> None:
    """Every byte is read: a prompt of a megabyte before the key keeps the account's scope
    (a scope that read short bodies only would split the account, and a hold of one half
    would not be seen by the other)."""
    short = scope_of_json({"api_key": KEY_A, "query": "a"})
    assert scope_of_json({"query": "x" * 1_000_000, "api_key": KEY_A}) == short
    chat = {"messages": [{"role": "user", "content": "y"}] * 20_000, "api_key": KEY_A}
    assert scope_of_json(chat) == short


def test_per_request_fields_and_escapes_in_a_body() -> None:
    """A body's signature or nonce changes with every request and names no account; a key
    written with JSON escapes is the same key."""
    one = scope_of_json({"api_key": KEY_A, "signature": "s1", "nonce": "1"})
    assert one == scope_of_json({"api_key": KEY_A, "signature": "s2", "nonce": "2"})
    escaped = '{"api_key": "tvly-\\u0061' + "a" * 23 + '"}'
    assert body_scope(escaped.encode()) == scope_of_json({"api_key": KEY_A})


def test_a_body_still_a_stream_is_not_read_for_its_scope() -> None:
    def chunks() -> Iterator[bytes]:
        yield json.dumps({"api_key": KEY_A}).encode()

    request = httpx.Request("POST", TAVILY, content=chunks())
    assert default_scope(request) == scope(TAVILY)
    with pytest.raises(httpx.RequestNotRead):
        request.content  # noqa: B018 - the stream is left as it was, unread


@pytest.mark.anyio
async def test_a_known_gate_of_one_body_key_does_not_refuse_another() -> None:
    """research/cases11 151: with a known-gate memory, tenant A's gate refused tenant B's
    request unsent, their keys being in the body; now B's request is sent and answered."""
    funded = {KEY_B}

    def api(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["api_key"] in funded:
            return httpx.Response(200, json={"results": []})
        return httpx.Response(402, json={"error": "Insufficient credits. Please top up."})

    preflight = http402.Preflight(gate_ttl=60)
    sync = http402.wrap(httpx.Client(transport=httpx.MockTransport(api)), preflight=preflight)
    with pytest.raises(http402.InsufficientCreditsError):
        sync.post(TAVILY, json={"api_key": KEY_A, "query": "a"})
    assert sync.post(TAVILY, json={"api_key": KEY_B, "query": "b"}).status_code == 200
    with pytest.raises(http402.InsufficientCreditsError) as refused:
        sync.post(TAVILY, json={"api_key": KEY_A, "query": "c"})
    assert refused.value.attempts == 0  # A's own gate is still known
    asynchronous = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(api)), preflight=preflight
    )
    with pytest.raises(http402.InsufficientCreditsError):
        await asynchronous.post(TAVILY, json={"api_key": KEY_A, "query": "a"})
    assert (await asynchronous.post(TAVILY, json={"api_key": KEY_B})).status_code == 200


# --- One caller, however its credentials travel -----------------------------------------
#
# The scope is WHO the credentials say the caller is: the set of what names the account in
# each credential's value (`credential_identity`), not where or under what name it travels.
# One key sent two ways is one caller (case 183); two keys, or a key and another credential
# beside it, are two. A scheme that signs each request is known by its key, not by what it
# signs anew (case 190).

GOOGLE = "https://generativelanguage.googleapis.com/v1beta/models/gemini:generateContent"
AIZA_A, AIZA_B = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv", "AIzaSyZ9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFe"
MONGO = "https://cloud.mongodb.com/api/atlas/v2/groups/5f1a/clusters"


def request(url: str = URL, method: str = "GET", **kwargs: Any) -> httpx.Request:
    return httpx.Request(method, url, **kwargs)


def digest(user: str, password: str, realm: str = "MMS Public API") -> httpx.Request:
    """A request as `httpx.DigestAuth` signs it after the server's challenge: a fresh server
    nonce, a fresh `cnonce`, so a new `response`, every time."""
    flow = httpx.DigestAuth(user, password).sync_auth_flow(request(MONGO))
    challenge = httpx.Response(
        401,
        request=next(flow),
        headers={
            "WWW-Authenticate": f'Digest realm="{realm}", nonce="{uuid.uuid4().hex}", '
            'algorithm=MD5, qop="auth"'
        },
    )
    return flow.send(challenge)


def oauth1(consumer: str = "xvz1evFS4wEEPTGEFPHBog", token: str = "370773112-GmHxMAgY") -> str:
    """An OAuth 1.0a `Authorization` as a client library signs each request (RFC 5849 3.5.1):
    a fresh nonce, timestamp and signature."""
    fresh = uuid.uuid4().hex
    return (
        f'OAuth oauth_consumer_key="{consumer}", oauth_nonce="{fresh}", '
        f'oauth_signature="{fresh[:20]}%3D", oauth_signature_method="HMAC-SHA1", '
        f'oauth_timestamp="{uuid.uuid4().int % 10**10}", oauth_token="{token}", '
        'oauth_version="1.0"'
    )


def sigv4_like(scheme: str, key_id: str, scope_tail: str = "us-east-1/s3/aws4_request") -> str:
    """A SigV4-family `Authorization`: a credential scope naming the key, a signature new on
    every request (AWS SigV4, Google's GOOG4, Tencent Cloud's TC3, Volcengine's)."""
    return (
        f"{scheme} Credential={key_id}/2026120{uuid.uuid4().int % 9 + 1}/{scope_tail}, "
        f"SignedHeaders=host;x-amz-date, Signature={uuid.uuid4().hex * 2}"
    )


def header(value: str, name: str = "Authorization") -> httpx.Request:
    return request(headers={name: value})


SAME_CALLER: dict[str, tuple[Callable[[], httpx.Request], Callable[[], httpx.Request]]] = {
    "Tavily: key in the body, key in Authorization": (
        lambda: request(TAVILY, "POST", json={"api_key": KEY_A, "query": "a"}),
        lambda: request(TAVILY, "POST", json={"query": "b"}, headers=bearer(KEY_A)),
    ),
    "Google: ?key=, x-goog-api-key": (
        lambda: request(GOOGLE, params={"key": AIZA_A}),
        lambda: request(GOOGLE, headers={"x-goog-api-key": AIZA_A}),
    ),
    "Bearer, bearer, BEARER": (
        lambda: header(f"Bearer {KEY_A}"),
        lambda: header(f"bearer  {KEY_A}"),
    ),
    "the key in the path and in the query": (
        lambda: request("https://rpc.example.net/Zk3Qp9Lm2Xv7Rt5Nw8Yb4Hc6aD1eF0g"),
        lambda: request("https://rpc.example.net/?apikey=Zk3Qp9Lm2Xv7Rt5Nw8Yb4Hc6aD1eF0g"),
    ),
    "the key sent twice, and once": (
        lambda: request(TAVILY, "POST", json={"api_key": KEY_A}, headers=bearer(KEY_A)),
        lambda: request(TAVILY, "POST", json={"api_key": KEY_A}),
    ),
    "Basic, and the URL's userinfo": (
        lambda: header(basic("acme", "pw-1234")),
        lambda: request("https://acme:pw-1234@api.cdp.example.com/platform/v2/evm/accounts"),
    ),
    "a JWT as a Bearer token and as ?access_token=": (
        lambda: header(f"Bearer {cdp()}"),
        lambda: request(URL, params={"access_token": cdp()}),
    ),
    "Digest (httpx.DigestAuth), two requests": (
        lambda: digest("abcdefgh", "secret-1"),
        lambda: digest("abcdefgh", "secret-1"),
    ),
    "OAuth 1.0a, two requests": (lambda: header(oauth1()), lambda: header(oauth1())),
    "OAuth 1.0a in the header and in the query": (
        lambda: header(oauth1()),
        lambda: request(
            URL,
            params={
                "oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog",
                "oauth_token": "370773112-GmHxMAgY",
                "oauth_nonce": uuid.uuid4().hex,
                "oauth_signature": uuid.uuid4().hex,
            },
        ),
    ),
    "AWS SigV4, and its presigned URL": (
        lambda: header(sigv4_like("AWS4-HMAC-SHA256", "AKIAIOSFODNN7EXAMPLE")),
        lambda: request(
            URL,
            params={
                "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20261205/us-east-1/s3/aws4_request",
                "X-Amz-Signature": uuid.uuid4().hex,
            },
        ),
    ),
    "Google GOOG4-HMAC-SHA256": (
        lambda: header(sigv4_like("GOOG4-HMAC-SHA256", "GOOG1EXAMPLE", "auto/gcs/goog4_request")),
        lambda: header(sigv4_like("GOOG4-HMAC-SHA256", "GOOG1EXAMPLE", "auto/gcs/goog4_request")),
    ),
    "Tencent Cloud TC3-HMAC-SHA256": (
        lambda: header(sigv4_like("TC3-HMAC-SHA256", "AKIDz8krbsJ5yKBZ", "cvm/tc3_request")),
        lambda: header(sigv4_like("TC3-HMAC-SHA256", "AKIDz8krbsJ5yKBZ", "cvm/tc3_request")),
    ),
    "Baidu bce-auth-v1": (
        lambda: header(
            f"bce-auth-v1/ak0123/2026-12-05T06:{uuid.uuid4().int % 60:02d}:00Z/1800/"
            f"host/{uuid.uuid4().hex}"
        ),
        lambda: header(f"bce-auth-v1/ak0123/2026-12-05T07:00:00Z/1800/host/{uuid.uuid4().hex}"),
    ),
    "Azure SharedKey": (
        lambda: header(f"SharedKey myaccount:{uuid.uuid4().hex}="),
        lambda: header(f"SharedKey myaccount:{uuid.uuid4().hex}="),
    ),
    "Hawk": (
        lambda: header(
            f'Hawk id="dh37fgj492je", ts="{uuid.uuid4().int % 10**10}", '
            f'nonce="{uuid.uuid4().hex[:6]}", mac="{uuid.uuid4().hex}"'
        ),
        lambda: header('Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", mac="6R4r="'),
    ),
}

OTHER_CALLER: dict[str, tuple[Callable[[], httpx.Request], Callable[[], httpx.Request]]] = {
    "Tavily: two keys, one in the body, one in Authorization": (
        lambda: request(TAVILY, "POST", json={"api_key": KEY_A}),
        lambda: request(TAVILY, "POST", json={}, headers=bearer(KEY_B)),
    ),
    "Google: two keys, ?key= and x-goog-api-key": (
        lambda: request(GOOGLE, params={"key": AIZA_A}),
        lambda: request(GOOGLE, headers={"x-goog-api-key": AIZA_B}),
    ),
    "a key, and the key with another credential beside it": (
        lambda: header(f"Bearer {KEY_A}"),
        lambda: request(headers={**bearer(KEY_A), "X-Tenant-Token": "tenant-2-secret"}),
    ),
    "Basic: one user, two passwords": (
        lambda: header(basic("acme", "pw-1234")),
        lambda: header(basic("acme", "pw-5678")),
    ),
    "Digest: two users": (
        lambda: digest("abcdefgh", "secret-1"),
        lambda: digest("ijklmnop", "secret-1"),
    ),
    "Digest: one user of two realms": (
        lambda: digest("abcdefgh", "secret-1", "realm one"),
        lambda: digest("abcdefgh", "secret-1", "realm two"),
    ),
    "OAuth 1.0a: one consumer, two users' tokens": (
        lambda: header(oauth1(token="370773112-GmHxMAgY")),
        lambda: header(oauth1(token="998877665-ZzYyXxWw")),
    ),
    "OAuth 1.0a: two consumers": (
        lambda: header(oauth1(consumer="consumer-one")),
        lambda: header(oauth1(consumer="consumer-two")),
    ),
    "AWS SigV4: two key ids": (
        lambda: header(sigv4_like("AWS4-HMAC-SHA256", "AKIAIOSFODNN7EXAMPLE")),
        lambda: header(sigv4_like("AWS4-HMAC-SHA256", "AKIAI44QH8DHBEXAMPLE")),
    ),
    "Tencent Cloud: two key ids": (
        lambda: header(sigv4_like("TC3-HMAC-SHA256", "AKIDz8krbsJ5yKBZ", "cvm/tc3_request")),
        lambda: header(sigv4_like("TC3-HMAC-SHA256", "AKIDother000000", "cvm/tc3_request")),
    ),
    "Baidu: two access keys": (
        lambda: header("bce-auth-v1/ak0123/2026-12-05T07:00:00Z/1800/host/ab"),
        lambda: header("bce-auth-v1/ak4567/2026-12-05T07:00:00Z/1800/host/ab"),
    ),
    "Azure SharedKey: two accounts": (
        lambda: header("SharedKey accountone:c2lnbmF0dXJl"),
        lambda: header("SharedKey accounttwo:c2lnbmF0dXJl"),
    ),
    "a scheme with parameters nobody reduces: two values": (
        lambda: header('Token token="tenant-one-token", realm="x"'),
        lambda: header('Token token="tenant-two-token", realm="x"'),
    ),
}


@pytest.mark.parametrize("case", list(SAME_CALLER))
def test_one_caller_is_one_scope_however_its_credentials_travel(case: str) -> None:
    first, second = SAME_CALLER[case]
    assert default_scope(first()) == default_scope(second())
    assert default_scope(first()) != scope(), "the credential names the caller"


@pytest.mark.parametrize("case", list(OTHER_CALLER))
def test_two_callers_are_two_scopes_however_their_credentials_travel(case: str) -> None:
    first, second = OTHER_CALLER[case]
    assert default_scope(first()) != default_scope(second())


class NeverShows:
    """An account whose top-ups never show: every paid call meets 402 insufficient credits,
    so a gate after the window is held if it is the same caller's, and bought for if it is
    another's. `/v1/models` is free and, as an edge does, sets its rotating cookie anew;
    `/digest/...` challenges a request without `Authorization` (RFC 7616)."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.top_ups = 0
        self.rotations = 0

    def top_up(self, error: http402.PaymentRequiredError) -> http402.Retry:
        self.top_ups += 1
        return http402.Retry(within=30)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/digest") and "authorization" not in request.headers:
            challenge = f'Digest realm="api", nonce="{uuid.uuid4().hex}", qop="auth"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        if request.url.path == "/v1/models":
            self.rotations += 1
            cookie = request.extensions.get("rotate", "")
            rotated = f"{cookie}=A7F3C9E1{self.rotations:08d}~YAAQx9xLF; Path=/; Secure"
            return httpx.Response(200, headers={"Set-Cookie": rotated} if cookie else {})
        return httpx.Response(402, json=INSUFFICIENT)

    def client(self, **kwargs: Any) -> httpx.Client:
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(self.answer),
            on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: self.top_up},
            coordinator=http402.LocalCoordinator(clock=self.clock),
            sleep=self.clock.sleep,
        )
        return httpx.Client(transport=transport, **kwargs)

    def calls(self, client: httpx.Client, sends: list[dict[str, Any]]) -> int:
        """Sends each request in turn, an hour apart (each window long closed); the number
        of top-ups bought."""
        for send in map(dict, sends):
            rotate = send.pop("rotate", None)
            if rotate:
                client.get("https://api.example.com/v1/models", extensions={"rotate": rotate})
            with pytest.raises(http402.InsufficientCreditsError):
                client.request(send.pop("method", "POST"), send.pop("url"), **send)
            self.clock.now += 3600
        return self.top_ups


def test_one_callers_top_up_that_never_shows_is_bought_once_however_it_signs() -> None:
    """Cases 183 and 190 end to end: a top-up that did not show holds the caller's next
    gate, whatever way its key travels or is signed, and only the caller's."""
    tavily = [
        {"url": TAVILY, "json": {"api_key": KEY_A, "query": "a"}},
        {"url": TAVILY, "json": {"query": "b"}, "headers": bearer(KEY_A)},
        {"url": TAVILY, "json": {"query": "c"}, "headers": {"authorization": f"bearer {KEY_A}"}},
    ]
    world = NeverShows()
    assert world.calls(world.client(), tavily) == 1
    world = NeverShows()
    other = {"url": TAVILY, "json": {"query": "d"}, "headers": bearer(KEY_B)}
    assert world.calls(world.client(), [*tavily, other]) == 2
    signed = [{"url": "https://api.example.com/digest/v2/clusters"}] * 3
    world = NeverShows()
    assert world.calls(world.client(auth=httpx.DigestAuth("abcdefgh", "private-1")), signed) == 1
    world = NeverShows()
    oauth = [{"url": URL, "headers": {"Authorization": oauth1()}} for _ in range(3)]
    assert world.calls(world.client(), oauth) == 1
    world = NeverShows()
    another_user = {"url": URL, "headers": {"Authorization": oauth1(token="998877665-ZzYy")}}
    assert world.calls(world.client(), [*oauth, another_user]) == 2


# --- What the request asks for, a conversation, an edge: never the caller -----------------
#
# A credential's word that points at what the request asks for (a page, a sync, a
# partition), a conversation's session beside the caller's key, a vendor's whole query name
# in a body (a program's `code`), an edge's rotating cookie: each changes per request,
# response or conversation, and counting it split one account into a scope for each, a top-up
# bought for each (cases 171, 175, 177, 179). Each look-alike below still names the caller.

POINTERS = (
    "pagetoken",  # Google Places (legacy)
    "nextPageToken",
    "$skiptoken",  # Microsoft Graph, Azure REST
    "$deltatoken",
    "pagination_token",  # X API v2
    "syncToken",  # Google Calendar
    "continue_token",
    "resumeToken",
    "starting_token",  # AWS CLI
    "ExclusiveStartKey",  # DynamoDB
    "page_token",
    "prompt_cache_key",  # OpenAI
    "cursorKey",
)
STILL_CREDENTIALS = (
    "key",
    "apikey",
    "api_key",
    "access_token",
    "accessToken",
    "authkey",
    "serviceKey",
    "apitoken",
    "oauth_token",
    "hapikey",
    "private_key",
    "client_secret",
    "pusherkey",
)


@pytest.mark.parametrize("name", POINTERS)
def test_a_pointer_however_its_name_is_written_does_not_split_an_account(name: str) -> None:
    one = scope(GOOGLE + f"?key={AIZA_A}&{name}=CpQCAgEAAFxg8o")
    assert one == scope(GOOGLE + f"?key={AIZA_A}&{name}=CqQCDgEAAGxj5p")
    assert one != scope(GOOGLE + f"?key={AIZA_B}&{name}=CpQCAgEAAFxg8o")
    key = bearer(KEY_A)
    assert scope(GOOGLE + f"?{name}=p1", **key) == scope(GOOGLE + f"?{name}=p2", **key)
    assert scope_of_json({"api_key": KEY_A, name: "p1"}) == scope_of_json(
        {"api_key": KEY_A, name: "p2"}
    )


def test_a_pointer_in_a_header_does_not_split_an_account() -> None:
    """Cosmos DB's partition key header, one word (`partitionkey`), beside the account's
    `Authorization`."""
    key = {"authorization": "type=master&ver=1.0&sig=abc"}
    assert scope(**key, **{"x-ms-documentdb-partitionkey": '["cart-1"]'}) == scope(
        **key, **{"x-ms-documentdb-partitionkey": '["cart-2"]'}
    )


@pytest.mark.parametrize("name", STILL_CREDENTIALS)
def test_a_credential_name_is_still_the_callers(name: str) -> None:
    assert scope(f"{URL}?{name}=tenant-one-key-1234") != scope(f"{URL}?{name}=tenant-two-key-56")
    assert scope_of_json({name: "tenant-one-key-1234"}) != scope_of_json(
        {name: "tenant-two-key-5678"}
    )


def test_every_query_example_of_the_names_table_still_names_the_caller() -> None:
    """The pointer and session rules leave out no name the table makes an account's
    credential (its own examples)."""
    from http402._redaction import CREDENTIAL_NAMES, credential_kind
    from http402._replay import _names_the_account

    for row in CREDENTIAL_NAMES:
        for example in row.examples:
            for place in ("header", "query"):
                if place in row.places and credential_kind(example, place) == "account":
                    assert _names_the_account(example, place), (example, place)


SESSIONS = ("Helicone-Session-Id", "Helicone-Session-Name", "X-Session-Id", "X-Session-Token")


@pytest.mark.parametrize("name", SESSIONS)
def test_a_conversations_session_beside_the_key_does_not_split_an_account(name: str) -> None:
    """Case 177: one key, a session per conversation; a session with nothing else beside it
    is a login's, and names the caller."""
    key = {"Authorization": f"Bearer {KEY_A}", "Helicone-Auth": "Bearer sk-helicone-0123"}
    assert scope(**key, **{name: "7f0c6c1e-8a0b"}) == scope(**key, **{name: "0b9e2f7a-3c4d"})
    assert scope(**key, **{name: "7f0c6c1e-8a0b"}) != scope(
        **{**key, "Authorization": f"Bearer {KEY_B}"}, **{name: "7f0c6c1e-8a0b"}
    )
    assert scope(**{name: "login-of-user-one"}) != scope(**{name: "login-of-user-two"})
    assert scope(f"{URL}?api_key={KEY_A}&session=s1") == scope(f"{URL}?api_key={KEY_A}&session=s2")
    assert scope(f"{URL}?session=user-one-login") != scope(f"{URL}?session=user-two-login")


@pytest.mark.parametrize("name", ["code", "Code", "ak", "pat", "appid"])
def test_a_vendors_whole_query_name_in_a_body_does_not_split_an_account(name: str) -> None:
    """Case 179: a sandbox's `{"code": <program>}`, Twilio Verify's `Code=<code>`: what the
    request asks for. In the query the same name is still a vendor's key (Azure Functions'
    `?code=<function key>`)."""
    key = bearer(KEY_A)

    def posted(**kwargs: Any) -> str:
        return default_scope(request(URL, "POST", headers=key, **kwargs))

    assert posted(json={"language": "python", name: "print(1)"}) == posted(
        json={"language": "python", name: "import math; print(math.pi)"}
    )
    assert posted(data={"To": "+15005550006", name: "482913"}) == posted(
        data={"To": "+15005550007", name: "117240"}
    )
    assert scope(f"{URL}?{name}=function-key-one-1234") != scope(
        f"{URL}?{name}=function-key-two-5678"
    )


EDGE = (
    "__cf_bm",
    "cf_clearance",
    "_cfuvid",
    "ak_bmsc",
    "bm_sv",
    "bm_sz",
    "_abck",
    "incap_ses_1234_567890",
    "visid_incap_567890",
    "nlbi_567890",
    "reese84",
    "datadome",
    "_px3",
    "_pxhd",
    "AWSELB",
    "AWSALB",
    "AWSALBTG",
    "AWSALBCORS",
    "ARRAffinity",
    "ARRAffinitySameSite",
    "ApplicationGatewayAffinity",
    "GCLB",
    "BIGipServerpool_api",
    "NSC_api-vip",
)
NOT_EDGE = ("session", "sessionid", "connect.sid", "CFID", "CFTOKEN", "abck", "bmx", "incap")


@pytest.mark.parametrize("name", EDGE)
def test_an_edges_rotating_cookie_does_not_split_an_account(name: str) -> None:
    key = bearer(KEY_A)
    assert scope(Cookie=f"{name}=A7F3C9E100000001~YAAQ", **key) == scope(
        Cookie=f"{name}=A7F3C9E100000002~YAAQ", **key
    )


@pytest.mark.parametrize("name", NOT_EDGE)
def test_a_cookie_of_the_application_still_names_the_caller(name: str) -> None:
    assert scope(Cookie=f"{name}=user-one-cookie") != scope(Cookie=f"{name}=user-two-cookie")


def test_what_changes_per_request_or_conversation_buys_one_top_up() -> None:
    """Cases 171, 175, 177 and 179 end to end: a top-up that did not show holds the next
    page, conversation, program and edge rotation of the same key."""
    key = bearer(KEY_A)
    rows: dict[str, list[dict[str, Any]]] = {
        "pages": [
            {"method": "GET", "url": f"{GOOGLE}?key={AIZA_A}&{name}=page-{n}"}
            for n, name in enumerate(("pagetoken", "$skiptoken", "pagination_token", "syncToken"))
        ],
        "conversations": [
            {"url": URL, "json": {"m": 1}, "headers": {**key, "Helicone-Session-Id": session}}
            for session in ("7f0c6c1e", "0b9e2f7a", "3c4d4e5f")
        ],
        "programs": [
            {"url": URL, "json": {"code": program}, "headers": key}
            for program in ("print(1)", "print(2)", "print(3)")
        ],
        "edge rotations": [
            {
                "url": "https://api.example.com/v1/run",
                "json": {"m": 1},
                "headers": key,
                "rotate": cookie,
            }
            for cookie in ("bm_sv", "_abck", "incap_ses_1_2", "datadome", "AWSELB", "ARRAffinity")
        ],
    }
    for label, sends in rows.items():
        world = NeverShows()
        assert world.calls(world.client(), sends) == 1, label


# --- Which of the caller's accounts is billed ---------------------------------------------
#
# One key reaching two organizations or projects reaches two quotas and two bills: the
# selector is part of the scope, so one's known gate never refuses the other's request and
# one's top-up is not the other's (case 180).

SELECTORS = {
    "OpenAI-Organization": ("org-AAAAAAAAAAAAAAAAAAAAAAAA", "org-BBBBBBBBBBBBBBBBBBBBBBBB"),
    "OpenAI-Project": ("proj_AAAAAAAAAAAAAAAAAAAAAAAA", "proj_BBBBBBBBBBBBBBBBBBBBBBBB"),
    "X-Goog-User-Project": ("billing-project-a", "billing-project-b"),
    "Stripe-Account": ("acct_1AAAAAAAAAAAAAAA", "acct_1BBBBBBBBBBBBBBB"),
}
NOT_SELECTORS = {
    "OpenAI-Beta": ("assistants=v2", "realtime=v1"),
    "X-Stainless-Retry-Count": ("0", "1"),
    "X-Goog-Request-Reason": ("audit-1", "audit-2"),
    "X-Request-Id": ("req_1", "req_2"),
}


@pytest.mark.parametrize("name", list(SELECTORS))
def test_two_accounts_selected_with_one_key_are_two_scopes(name: str) -> None:
    one, two = SELECTORS[name]
    key = bearer(KEY_A)
    assert scope(**key, **{name: one}) != scope(**key, **{name: two})
    assert scope(**key, **{name: one}) == scope(**key, **{name.lower(): f" {one}"})
    assert scope(**key, **{name: one}) != scope(**key)  # the key's default account
    assert scope(**key, **{name: one}) != scope(**bearer(KEY_B), **{name: one})


def test_a_requester_pays_project_in_the_query_is_part_of_the_scope() -> None:
    storage = "https://storage.googleapis.com/storage/v1/b/bucket/o"
    key = bearer(KEY_A)
    assert scope(f"{storage}?userProject=project-a", **key) != scope(
        f"{storage}?userProject=project-b", **key
    )


@pytest.mark.parametrize("name", list(NOT_SELECTORS))
def test_a_header_that_selects_no_account_does_not_split_one(name: str) -> None:
    one, two = NOT_SELECTORS[name]
    key = bearer(KEY_A)
    assert scope(**key, **{name: one}) == scope(**key, **{name: two})


def test_one_organizations_known_gate_does_not_refuse_anothers_request() -> None:
    """Case 180 with `Preflight(gate_ttl=...)`: organization A's exhausted quota is known;
    B's request on the same key is sent and answered, A's next one refused unsent."""
    org_a, org_b = SELECTORS["OpenAI-Organization"]

    def api(request: httpx.Request) -> httpx.Response:
        if request.headers.get("openai-organization") == org_a:
            quota = {
                "message": "You exceeded your current quota, please check your plan.",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
            return httpx.Response(429, json={"error": quota})
        return httpx.Response(200, json={"choices": []})

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api), headers=bearer(KEY_A)),
        preflight=http402.Preflight(gate_ttl=30),
    )
    chat = "https://api.openai.com/v1/chat/completions"
    with pytest.raises(http402.InsufficientCreditsError):
        client.post(chat, json={"m": 1}, headers={"OpenAI-Organization": org_a})
    assert client.post(chat, json={"m": 1}, headers={"OpenAI-Organization": org_b}).is_success
    with pytest.raises(http402.InsufficientCreditsError) as refused:
        client.post(chat, json={"m": 1}, headers={"OpenAI-Organization": org_a})
    assert refused.value.attempts == 0  # A's own gate is still known


def test_two_organizations_top_ups_that_never_show_are_bought_once_each() -> None:
    key = bearer(KEY_A)
    org_a, org_b = SELECTORS["OpenAI-Organization"]
    sends = [
        {"url": URL, "json": {"m": n}, "headers": {**key, "OpenAI-Organization": org}}
        for n, org in enumerate((org_a, org_a, org_b, org_b))
    ]
    world = NeverShows()
    assert world.calls(world.client(), sends) == 2


# --- The digest is keyed -----------------------------------------------------------------

PASSWORD = "Summer2024!"


def words() -> list[str]:
    seasons = ("Spring", "Summer", "Autumn", "Winter", "Password", "Welcome")
    return [f"{s}{year}{mark}" for s in seasons for year in range(1990, 2040) for mark in "!?#"]


def unkeyed(credentials: list[str]) -> str:
    """The digest as it would be written unkeyed: anyone could rebuild it."""
    return hashlib.sha256("\0".join(sorted(credentials)).encode()).hexdigest()[:16]


def logged_scopes(records: list[logging.LogRecord]) -> set[str]:
    return {getattr(r, "scope", None) for r in records} - {None}  # type: ignore[misc]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_password_cannot_be_found_from_the_logged_scope(caplog: pytest.LogCaptureFixture) -> None:
    """A dictionary pass over the scope a log record shows finds no Basic password (research
    case 63 found it among 2,000 guesses in milliseconds)."""
    client = http402.wrap(
        httpx.Client(
            transport=httpx.MockTransport(lambda r: httpx.Response(402, json=INSUFFICIENT))
        ),
        on_payment_required=lambda error: None,
    )
    caplog.set_level(logging.INFO, logger="http402")
    with pytest.raises(http402.PaymentRequiredError):
        client.get("https://api.vendor.example/v1/report", auth=("acme-billing", PASSWORD))
    (shown,) = logged_scopes(caplog.records)
    digest = shown.partition("#")[2]
    guesses = {unkeyed([f"acme-billing:{word}"]) for word in words()}
    assert unkeyed([f"acme-billing:{PASSWORD}"]) in guesses
    assert digest not in guesses


def test_each_process_keys_its_scopes_with_a_key_of_its_own() -> None:
    """Without a fleet, the key is random per process: the same credentials give the same
    scope here, and another in another process."""
    request = {"Authorization": basic("acme-billing", PASSWORD)}
    here = scope(**request)
    assert scope(**request) == here
    code = (
        "import httpx, sys; from http402._replay import default_scope; "
        "sys.stdout.write(default_scope(httpx.Request('GET', sys.argv[1], "
        "headers={'Authorization': sys.argv[2]})))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, URL, request["Authorization"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert there.partition("#")[0] == here.partition("#")[0]
    assert there != here


# --- A fleet names an account alike in every process --------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_server(tmp_path)


def fleet_scope(transport: Any, url: str, headers: dict[str, str], caplog: Any) -> str:
    """The scope the log shows for a gate of `transport` (sync), its hook declining."""
    caplog.clear()
    refused = (http402.PaymentRequiredError, http402.PaymentOutcomeUnknownError)
    with httpx.Client(transport=transport) as client, pytest.raises(refused):
        client.get(url, headers=headers)
    (shown,) = logged_scopes(caplog.records)
    return shown


def gated(**options: Any) -> Any:
    api = httpx.MockTransport(lambda r: httpx.Response(402, json=INSUFFICIENT))
    return http402.PaymentRequiredTransport(api, on_payment_required=lambda e: None, **options)


def coordinator(server: RedisServer, **options: Any) -> http402.RedisCoordinator:
    redis = pytest.importorskip("redis")
    store = redis.Redis.from_url(server.url, socket_timeout=1)
    settle(store)
    return http402.RedisCoordinator(store, store_timeout=0.3, **options)


KEY = {"Authorization": basic("acme-billing", PASSWORD)}
OTHER = {"Authorization": basic("globex-billing", PASSWORD)}


def test_every_process_of_a_fleet_names_an_account_alike(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two coordinators here (two processes' worth of state) and a real other process agree
    on the scope, which is not this process's own; two accounts stay two scopes."""
    caplog.set_level(logging.INFO, logger="http402")
    one = fleet_scope(gated(coordinator=coordinator(server)), URL, KEY, caplog)
    two = fleet_scope(gated(coordinator=coordinator(server)), URL, KEY, caplog)
    assert one == two != scope(**KEY)
    assert fleet_scope(gated(coordinator=coordinator(server)), URL, OTHER, caplog) != one
    code = (
        "import logging, sys, httpx, http402\n"
        "seen = []\n"
        "class Keep(logging.Handler):\n"
        "    def emit(self, record): seen.append(getattr(record, 'scope', None))\n"
        "logging.getLogger('http402').addHandler(Keep())\n"
        "logging.getLogger('http402').setLevel(logging.INFO)\n"
        "api = httpx.MockTransport(lambda r: httpx.Response(402, json={'error': "
        "{'code': 'insufficient_credits', 'message': 'Insufficient credits'}}))\n"
        "fleet = http402.RedisCoordinator.from_url(sys.argv[1])\n"
        "t = http402.PaymentRequiredTransport(api, on_payment_required=lambda e: None, "
        "coordinator=fleet)\n"
        "try:\n"
        "    httpx.Client(transport=t).get(sys.argv[2], headers={'Authorization': sys.argv[3]})\n"
        "except http402.PaymentRequiredError:\n"
        "    pass\n"
        "sys.stdout.write(next(s for s in seen if s))\n"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, server.url, URL, KEY["Authorization"]],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert there == one


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_sync_async_and_httpx2_shells_of_a_fleet_name_an_account_alike(
    server: RedisServer, caplog: pytest.LogCaptureFixture, anyio_backend: str
) -> None:
    """A sync and an httpx2 transport on a `RedisCoordinator`, and an async one on an
    `AsyncRedisCoordinator`, of one store: one scope for one account."""
    import httpx2
    import redis.asyncio

    import http402.httpx2

    caplog.set_level(logging.INFO, logger="http402")
    sync = fleet_scope(gated(coordinator=coordinator(server)), URL, KEY, caplog)

    api2 = httpx2.MockTransport(lambda r: httpx2.Response(402, json=INSUFFICIENT))
    client2 = http402.httpx2.wrap(
        httpx2.Client(transport=api2),
        on_payment_required=lambda e: None,
        coordinator=coordinator(server),
    )
    caplog.clear()
    with pytest.raises(http402.PaymentRequiredError):
        client2.get(URL, headers=KEY)
    (shown2,) = logged_scopes(caplog.records)

    async def decline(error: http402.PaymentRequiredError) -> None:
        return None

    store = redis.asyncio.Redis.from_url(server.url, socket_timeout=1)
    fleet = http402.AsyncRedisCoordinator(store, store_timeout=0.3)
    api = httpx.MockTransport(lambda r: httpx.Response(402, json=INSUFFICIENT))
    transport = http402.AsyncPaymentRequiredTransport(
        api, on_payment_required=decline, coordinator=fleet
    )
    caplog.clear()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(http402.PaymentRequiredError):
            await client.get(URL, headers=KEY)
        with pytest.raises(http402.PaymentRequiredError):
            await client.get(URL, headers=OTHER)
    await store.aclose()
    scopes = [getattr(r, "scope", None) for r in caplog.records if getattr(r, "scope", None)]
    assert scopes[0] == sync == shown2
    assert scopes[-1] != sync


def test_a_key_the_application_gives_is_used_and_never_stored(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """`scope_key=` names accounts alike in every process given it; the store then holds
    nothing that rebuilds a digest."""
    caplog.set_level(logging.INFO, logger="http402")
    key = b"k" * 32
    one = fleet_scope(gated(coordinator=coordinator(server, scope_key=key)), URL, KEY, caplog)
    two = fleet_scope(gated(coordinator=coordinator(server, scope_key=key)), URL, KEY, caplog)
    stored = fleet_scope(gated(coordinator=coordinator(server)), URL, KEY, caplog)
    assert one == two != stored
    redis = pytest.importorskip("redis")
    store = redis.Redis.from_url(server.url)
    assert store.get("http402:scope-key") is not None  # made by the third, keyless one
    assert key not in b"".join(store.dump(k) or b"" for k in store.scan_iter("*"))
    with pytest.raises(ValueError, match="16 bytes"):
        http402.RedisCoordinator(store, scope_key="short")


def test_a_store_down_at_the_first_gate_coordinates_here_until_it_answers(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The store does not answer when the key is first needed: the scope is keyed with this
    process's key (as in an outage, the process coordinates alone), and says so. Once the
    store answers and nothing is in flight under the provisional scopes, the store's key is
    taken (a hold in flight keeps the provisional name until reconciled); the store, having
    restarted empty, got a new key, which a process that read the old one takes too at its
    next gate: the fleet names an account alike again."""
    caplog.set_level(logging.INFO, logger="http402")
    clock, other_clock = FakeClock(), FakeClock()
    other = gated(coordinator=coordinator(server, clock=other_clock))
    before = fleet_scope(other, URL, KEY, caplog)
    alone = coordinator(server, clock=clock)
    transport = gated(coordinator=alone)
    server.stop()
    provisional = fleet_scope(transport, URL, KEY, caplog)
    assert provisional == scope(**KEY) != before
    assert "did not answer for the fleet's scope key" in caplog.text
    assert server._launch()  # on the same port, empty: the old key is lost
    clock.now += 60
    alone.book.holds.hold(provisional, "top-up:insufficient_credits", "{}")
    assert fleet_scope(transport, URL, KEY, caplog) == provisional
    transport.reconcile(httpx.Request("GET", URL, headers=KEY))  # ends the hold
    clock.now += 60
    after = fleet_scope(transport, URL, KEY, caplog)
    assert after not in (provisional, before)
    other_clock.now += 60
    assert fleet_scope(other, URL, KEY, caplog) == after


def test_a_key_the_store_lost_is_written_back_by_a_process_that_read_it(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """`FLUSHDB` loses the key: the next process to check it writes back the key it read, so
    that a process that starts afterwards reads the same one."""
    caplog.set_level(logging.INFO, logger="http402")
    clock = FakeClock()
    # After the flush this process waits out one lease for a holder it saw (the grace, in
    # real time): a one-second lease instead of the default ten, which is not what this
    # test checks.
    old = gated(coordinator=coordinator(server, clock=clock, lease_ttl=1))
    before = fleet_scope(old, URL, KEY, caplog)
    redis = pytest.importorskip("redis")
    redis.Redis.from_url(server.url).flushdb()
    clock.now += 60
    assert fleet_scope(old, URL, KEY, caplog) == before
    assert fleet_scope(gated(coordinator=coordinator(server)), URL, KEY, caplog) == before
