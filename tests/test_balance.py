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
from http402._balance import PROBE_EXTENSION, find_probe
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
