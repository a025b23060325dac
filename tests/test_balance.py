"""Balance probes: each provider's documented response becomes the right `Balance`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import http402
from http402._balance import PROBE_EXTENSION, balance_request_for, find_probe, read_balance
from http402._balance_probes import PROBES

CASES = sorted((Path(__file__).parent / "balances").glob("*.json"))
CANARY = "sk-canary-0123456789abcdefCANARY"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _client_options(case: dict[str, Any]) -> dict[str, Any]:
    # SerpApi takes its key as a query parameter; everyone else as a bearer token.
    if case["probe"] == "serpapi":
        return {"base_url": case["client"]["base_url"], "params": {"api_key": CANARY}}
    return {
        "base_url": case["client"]["base_url"],
        "headers": {"Authorization": f"Bearer {CANARY}"},
    }


def _handler(case: dict[str, Any], seen: list[httpx.Request]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        recorded = case["response"]
        return httpx.Response(
            recorded["status"], headers=recorded["headers"], content=recorded["body"].encode()
        )

    return handle


def _assert_balance(balance: http402.Balance | None, case: dict[str, Any]) -> None:
    assert balance is not None
    expected = case["expected"]
    assert balance.provider == expected["provider"]
    for field in ("available", "used", "limit"):
        want = expected[field]
        assert getattr(balance, field) == (None if want is None else Decimal(want)), field
    assert balance.currency == expected["currency"]
    assert balance.usable is expected["usable"]
    assert CANARY not in json.dumps(balance.raw, default=str)


def _assert_request(request: httpx.Request, case: dict[str, Any]) -> None:
    assert request.method == case["request"]["method"]
    assert str(request.url.copy_with(query=None)) == case["request"]["url"]
    assert request.extensions[PROBE_EXTENSION] == case["probe"]
    if case["probe"] == "serpapi":
        assert request.url.params["api_key"] == CANARY
    else:
        assert request.headers["authorization"] == f"Bearer {CANARY}"


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_each_documented_response_reads_as_its_balance(path: Path) -> None:
    """A recorded documented response, sent through an httpx client, reads as its Balance."""
    case = _load(path)
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_handler(case, seen))
    with httpx.Client(transport=transport, **_client_options(case)) as client:
        balance = http402.check_balance(client, probe=_named(case))
    _assert_balance(balance, case)
    assert len(seen) == 1
    _assert_request(seen[0], case)


@pytest.mark.anyio
@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
async def test_each_documented_response_reads_the_same_through_an_async_client(
    path: Path,
) -> None:
    """`acheck_balance` reads the same Balance through an `httpx.AsyncClient`."""
    case = _load(path)
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_handler(case, seen))
    async with httpx.AsyncClient(transport=transport, **_client_options(case)) as client:
        balance = await http402.acheck_balance(client, probe=_named(case))
    _assert_balance(balance, case)
    _assert_request(seen[0], case)


def _named(case: dict[str, Any]) -> str | None:
    # Only probes other than a host's default need naming.
    default = find_probe(httpx.URL(case["client"]["base_url"]).host)
    return None if default is not None and default.name == case["probe"] else case["probe"]


def test_every_probe_has_a_recorded_documented_response() -> None:
    """Each probe in the table is covered by at least one data file with its source."""
    covered = {_load(path)["probe"] for path in CASES}
    assert covered == {probe.name for probe in PROBES}
    for path in CASES:
        assert _load(path)["source"].startswith("https://")


def test_no_probe_for_an_unknown_host_returns_none_without_sending() -> None:
    """A client whose host no probe knows gets `None`, and nothing is sent."""
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    with httpx.Client(base_url="https://api.example.com", transport=transport) as client:
        assert http402.check_balance(client) is None
    assert seen == []


def test_an_unknown_probe_name_is_refused() -> None:
    """Naming a probe that does not exist raises `ValueError` listing the known ones."""
    with (
        httpx.Client(base_url="https://api.deepseek.com") as client,
        pytest.raises(ValueError, match="openrouter-credits"),
    ):
        http402.check_balance(client, probe="nope")


def _probe_error(response: httpx.Response, **options: Any) -> http402.BalanceProbeError:
    """The error that probing OpenRouter raises when it answers `response`."""
    with (
        httpx.Client(
            base_url="https://openrouter.ai/api/v1",
            headers={"Authorization": f"Bearer {CANARY}"},
            transport=httpx.MockTransport(lambda request: response),
        ) as client,
        pytest.raises(http402.BalanceProbeError) as caught,
    ):
        http402.check_balance(client, **options)
    return caught.value


def test_a_non_2xx_answer_raises_without_the_key_even_when_echoed() -> None:
    """A 401 that echoes the key raises `BalanceProbeError` with the key scrubbed."""
    body = {"error": {"message": f"Invalid key {CANARY}", "code": 401}}
    error = _probe_error(httpx.Response(401, json=body, headers={"x-request-id": "req_1"}))
    assert CANARY not in str(error) and CANARY not in repr(error.args)
    assert "HTTP 401" in str(error) and "openrouter" in str(error)
    assert (error.provider, error.probe, error.status_code, error.request_id) == (
        "openrouter",
        "openrouter",
        401,
        "req_1",
    )


def test_a_body_that_is_not_json_raises() -> None:
    """A 200 with an HTML body raises `BalanceProbeError` saying it is not JSON."""
    error = _probe_error(httpx.Response(200, text="<html>maintenance</html>"))
    assert "not JSON" in str(error)


def test_json_of_another_shape_raises_and_names_the_missing_field() -> None:
    """A 200 whose JSON lacks the documented fields raises, naming where it differs."""
    error = _probe_error(httpx.Response(200, json={"data": {"usage": "lots"}}))
    assert "documented shape" in str(error) and "$.data.usage" in str(error)


def test_an_oversized_body_raises_instead_of_being_parsed() -> None:
    """A body larger than `max_body_bytes` is not parsed."""
    oversized = httpx.Response(200, json={"data": {"usage": 1, "pad": "x" * 5000}})
    assert "larger" in str(_probe_error(oversized, max_body_bytes=1024))


def test_a_network_error_raises_without_the_key_or_its_cause() -> None:
    """A transport error becomes `BalanceProbeError`; neither it nor a cause holds the key."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for {request.url} {CANARY}", request=request)

    with (
        httpx.Client(
            base_url="https://serpapi.com",
            params={"api_key": CANARY},
            transport=httpx.MockTransport(refuse),
        ) as client,
        pytest.raises(http402.BalanceProbeError, match="ConnectError") as caught,
    ):
        http402.check_balance(client)
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert caught.value.status_code is None


def test_credentials_added_by_an_auth_flow_are_scrubbed_too() -> None:
    """A key that `client.auth` adds while sending is scrubbed from the error as well."""

    def add_key(request: httpx.Request) -> httpx.Request:
        request.headers["xi-api-key"] = CANARY
        return request

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": {"message": request.headers["xi-api-key"]}})

    with (
        httpx.Client(
            base_url="https://api.elevenlabs.io", auth=add_key, transport=httpx.MockTransport(echo)
        ) as client,
        pytest.raises(http402.BalanceProbeError) as caught,
    ):
        http402.check_balance(client)
    assert CANARY not in str(caught.value)


def test_an_httpx2_client_works_too() -> None:
    """`check_balance` accepts an `httpx2.Client`."""
    httpx2 = pytest.importorskip("httpx2")
    case = _load(Path(__file__).parent / "balances" / "deepseek.json")

    def handle(request: Any) -> Any:
        return httpx2.Response(200, content=case["response"]["body"].encode())

    with httpx2.Client(
        base_url="https://api.deepseek.com", transport=httpx2.MockTransport(handle)
    ) as client:
        balance = http402.check_balance(client)  # type: ignore[arg-type]
    _assert_balance(balance, case)


@pytest.fixture
def loopback_deepseek() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server on 127.0.0.1 answering DeepSeek's documented balance response."""
    case = _load(Path(__file__).parent / "balances" / "deepseek.json")
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "authorization": self.headers["Authorization"]})
            body = case["response"]["body"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_probe_over_a_real_socket(loopback_deepseek: tuple[str, list[dict[str, str]]]) -> None:
    """Over a loopback socket, a named probe reads the balance at the origin's fixed path."""
    base_url, seen = loopback_deepseek
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {CANARY}"}) as client:
        balance = http402.check_balance(client, probe="deepseek")
    assert balance is not None
    assert (balance.available, balance.currency, balance.usable) == (Decimal("110.00"), "CNY", True)
    assert balance.as_of > 0
    assert seen == [{"path": "/user/balance", "authorization": f"Bearer {CANARY}"}]


def test_a_probe_request_is_built_from_a_gated_request() -> None:
    """From a gated POST, a GET to the probe path on the same origin, with the same key."""
    gated = httpx.Request(
        "POST",
        "https://openrouter.ai/api/v1/chat/completions",
        headers={
            "Authorization": f"Bearer {CANARY}",
            "Idempotency-Key": "abc",
            "X-Payment": "proof",
            "HTTP-Referer": "https://example.com",
        },
        json={"model": "x"},
        extensions={"timeout": {"connect": 1.0, "read": 2.0, "write": 2.0, "pool": 1.0}},
    )
    probe = balance_request_for(gated)
    assert isinstance(probe, httpx.Request)
    assert (probe.method, str(probe.url)) == ("GET", "https://openrouter.ai/api/v1/key")
    assert probe.headers["authorization"] == f"Bearer {CANARY}"
    assert probe.headers["http-referer"] == "https://example.com"
    for absent in ("idempotency-key", "x-payment", "content-length", "content-type"):
        assert absent not in probe.headers
    assert probe.content == b""
    assert probe.extensions[PROBE_EXTENSION] == "openrouter"
    assert probe.extensions["timeout"] == gated.extensions["timeout"]


def test_a_probe_request_keeps_only_credential_query_parameters() -> None:
    """SerpApi's `api_key` goes along to `/account.json`; the search query does not."""
    gated = httpx.Request("GET", f"https://serpapi.com/search.json?q=coffee&api_key={CANARY}")
    probe = balance_request_for(gated)
    assert str(probe.url) == f"https://serpapi.com/account.json?api_key={CANARY}"


def test_a_probe_request_for_an_unknown_host_is_none_unless_named() -> None:
    """No probe for the host gives `None`; a named probe builds one on the request's origin."""
    gated = httpx.Request("POST", "http://127.0.0.1:8080/v1/chat/completions")
    assert balance_request_for(gated) is None
    named = balance_request_for(gated, probe="deepseek")
    assert str(named.url) == "http://127.0.0.1:8080/user/balance"


def test_a_probe_request_keeps_the_class_of_an_httpx2_request() -> None:
    """An `httpx2.Request` gives an `httpx2.Request`, for an httpx2 inner transport."""
    httpx2 = pytest.importorskip("httpx2")
    gated = httpx2.Request("POST", "https://api.deepseek.com/chat/completions", json={})
    probe = balance_request_for(gated)
    assert type(probe) is httpx2.Request
    assert str(probe.url) == "https://api.deepseek.com/user/balance"


@pytest.mark.parametrize(
    ("probe", "document", "fields"),
    [
        pytest.param(
            "deepseek",
            {"is_available": False, "balance_infos": []},
            {"available": None, "currency": None, "usable": False},
            id="deepseek without a balance entry",
        ),
        pytest.param(
            "tavily",
            {"account": {"plan_usage": 10, "plan_limit": 100, "paygo_limit": None}},
            {"available": Decimal(90), "used": Decimal(10), "limit": Decimal(100)},
            id="tavily without a key object or pay-as-you-go limit",
        ),
        pytest.param(
            "venice",
            {"canConsume": False, "consumptionCurrency": None, "balances": {"usd": 0}},
            {"available": None, "currency": None, "usable": False},
            id="venice with no consumption currency",
        ),
        pytest.param(
            "moonshot",
            {"code": 0, "data": {"available_balance": -1.5}},
            {"available": Decimal("-1.5"), "usable": False},
            id="moonshot overdrawn on another host",
        ),
    ],
)
def test_documented_variants_of_a_shape(
    probe: str, document: dict[str, Any], fields: dict[str, Any]
) -> None:
    """Variants the documentation allows (empty lists, nulls) read without guessing."""
    chosen = find_probe("", probe)
    assert chosen is not None
    balance = read_balance(
        chosen,
        status_code=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        body=json.dumps(document).encode(),
        as_of=1.0,
    )
    for name, value in fields.items():
        assert getattr(balance, name) == value, name


@pytest.mark.parametrize(
    ("probe", "document", "where"),
    [
        pytest.param("deepseek", [], "$", id="not an object"),
        pytest.param("deepseek", {"balance_infos": {}}, "$.balance_infos", id="not a list"),
        pytest.param("elevenlabs", {"character_count": "many"}, "$.character_count", id="text"),
        pytest.param(
            "openrouter", {"data": {"usage": 1, "limit": True}}, "$.data.limit", id="bool"
        ),
    ],
)
def test_other_shapes_name_where_they_differ(probe: str, document: Any, where: str) -> None:
    """A document of another shape raises, naming the path where it differs."""
    chosen = find_probe("", probe)
    assert chosen is not None
    with pytest.raises(http402.BalanceProbeError) as caught:
        read_balance(
            chosen,
            status_code=200,
            headers=httpx.Headers(),
            body=json.dumps(document).encode(),
            as_of=1.0,
        )
    assert where in str(caught.value)


def test_raw_drops_an_echoed_key_and_is_bounded() -> None:
    """A credential-named string field is replaced in `raw`, and huge documents are cut."""
    chosen = find_probe("serpapi.com")
    assert chosen is not None
    document = {"total_searches_left": 5, "api_key": "SECRET_API_KEY", "pad": list(range(1000))}
    balance = read_balance(
        chosen,
        status_code=200,
        headers=httpx.Headers(),
        body=json.dumps(document).encode(),
        as_of=1.0,
    )
    assert balance.raw["api_key"] == "[redacted]"
    assert len(balance.raw["pad"]) < 300


def test_subdomain_hosts_match_their_wildcard() -> None:
    """`*.elevenlabs.io` covers regional hosts; an unrelated lookalike does not match."""
    assert find_probe("api.us.elevenlabs.io") is not None
    assert find_probe("elevenlabs.io.evil.example") is None


def test_a_gated_probe_through_a_wrapped_client_is_a_probe_error() -> None:
    """Probing through an `http402.wrap`ped client that answers 402 raises `BalanceProbeError`."""
    body = {"error": {"message": "Insufficient Balance", "code": "invalid_request_error"}}
    inner = httpx.MockTransport(lambda request: httpx.Response(402, json=body))
    client = http402.wrap(
        httpx.Client(
            base_url="https://api.deepseek.com",
            headers={"Authorization": f"Bearer {CANARY}"},
            transport=inner,
        )
    )
    with client, pytest.raises(http402.BalanceProbeError) as caught:
        http402.check_balance(client)
    assert CANARY not in str(caught.value)
