"""`http402 explain` and `http402 adapters`, run as a person or a script runs them."""

from __future__ import annotations

import base64
import gzip
import importlib.metadata
import io
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import http402
from http402 import _explain
from http402._cli import main
from http402._exceptions import _WHAT_RESOLVES_IT

DATA = Path(__file__).parent / "data" / "explain"
PAYLOADS = Path(__file__).parent / "payloads"
HAR = DATA / "mixed-traffic.har"
HAR_GATES = [
    ("POST", "https://api.stripe.com/v1/charges", "payment_failed", "stripe"),
    ("GET", "http://localhost:3000/protected-route", "payment_challenge", "x402"),
    ("POST", "https://api.anthropic.com/v1/messages", "insufficient_credits", "anthropic"),
]
OPENAI_URL = "https://api.openai.com/v1/chat/completions"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Runs the command line in-process and returns its exit code, stdout and stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def payload(name: str) -> dict[str, Any]:
    """One real payload from `tests/payloads/`."""
    document: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return document


def har_entry(
    source: dict[str, Any], *, url: str | None = None, request_headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A HAR entry holding a payload's request and response."""
    response = source["response"]
    return {
        "request": {
            "method": source["request"]["method"],
            "url": url or source["request"]["url"],
            "headers": [{"name": k, "value": v} for k, v in (request_headers or {}).items()],
        },
        "response": {
            "status": response["status"],
            "headers": [{"name": k, "value": v} for k, v in response["headers"].items()],
            "content": {"mimeType": "application/json", "text": response["body"]},
        },
    }


def write_har(path: Path, *entries: dict[str, Any]) -> Path:
    """Writes a HAR file of `entries`."""
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": list(entries)}}))
    return path


def assert_one_line_reason(code: int, out: str, err: str) -> None:
    """Exit 2, nothing on stdout, and one line on stderr without a traceback."""
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("http402 explain: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_curl_capture_of_an_openrouter_402_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    """A `curl -i` capture (HTTP/2, CRLF) of OpenRouter's 402 shows its reason, message and link."""
    code, out, _ = run(capsys, "explain", str(DATA / "openrouter-402.curl"))
    assert code == 0
    assert re.search(r"reason\s+insufficient_credits \(payment\)", out)
    assert re.search(r"status\s+402", out)
    assert "Insufficient credits. Add more using https://openrouter.ai/settings/credits" in out
    assert re.search(r"action_url\s+https://openrouter.ai/settings/credits", out)


def test_url_scopes_a_capture_to_the_provider_adapter(capsys: pytest.CaptureFixture[str]) -> None:
    """With `--url` on OpenRouter's host, the OpenRouter adapter itself claims the capture."""
    url = "https://openrouter.ai/api/v1/chat/completions"
    code, out, _ = run(
        capsys, "explain", str(DATA / "openrouter-402.curl"), "--url", url, "--method", "post"
    )
    assert code == 0
    assert f"payment gate: POST {url}" in out
    assert re.search(r"provider\s+openrouter", out)


def test_a_100_continue_preamble_is_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    """The 400 after `HTTP/1.1 100 Continue` (LF line ends) is Anthropic's credit gate."""
    capture = str(DATA / "anthropic-400-continue.curl")
    code, out, _ = run(capsys, "explain", capture, "--url", "https://api.anthropic.com/v1/messages")
    assert code == 0
    assert re.search(r"provider\s+anthropic", out)
    assert re.search(r"status\s+400", out)
    assert re.search(r"request_id\s+req_011Cf75wfCXCbniKKrP6wSut", out)


def test_a_400_without_url_is_read_by_the_generic_rules(capsys: pytest.CaptureFixture[str]) -> None:
    """Without `--url` the credit wording is still a gate: gateways answer like this anywhere."""
    code, out, _ = run(capsys, "explain", str(DATA / "anthropic-400-continue.curl"))
    assert code == 0
    assert re.search(r"provider\s+generic", out)
    assert re.search(r"reason\s+insufficient_credits", out)


def test_a_400_without_url_that_is_no_gate_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A plain 400 without `--url` is no gate: exit 1, with a hint to pass one."""
    body = tmp_path / "invalid.json"
    body.write_text(
        '{"error": {"type": "invalid_request_error", "message": "max_tokens: required"}}'
    )
    code, out, _ = run(capsys, "explain", str(body), "--status", "400")
    assert code == 1
    assert out.count("\n") == 1
    assert out.startswith("not a payment gate: HTTP 400")
    assert "pass --url" in out


def test_a_redirect_chain_explains_the_last_response(capsys: pytest.CaptureFixture[str]) -> None:
    """In `curl -i -L` output, the final 402 is explained, at the URL the redirect led to."""
    code, out, _ = run(capsys, "explain", str(DATA / "deepseek-402-redirect.curl"))
    assert code == 0
    assert "payment gate: (method unknown) https://api.deepseek.com/chat/completions" in out
    assert re.search(r"provider\s+deepseek", out)
    assert "Insufficient Balance" in out


def test_a_json_body_with_status_header_and_url(capsys: pytest.CaptureFixture[str]) -> None:
    """OpenAI's 429 `insufficient_quota` body, given its status, headers and URL, is a gate."""
    body = str(DATA / "openai-429-insufficient-quota.json")
    argv = ["explain", body, "--status", "429", "--url", OPENAI_URL, "--method", "POST"]
    code, out, _ = run(capsys, *argv, "--header", "Retry-After: 20", "--header", "x-request-id: r1")
    assert code == 0
    assert f"payment gate: POST {OPENAI_URL}" in out
    assert re.search(r"provider\s+openai", out)
    assert re.search(r"code\s+insufficient_quota", out)
    assert re.search(r"retry_after\s+20 s", out)
    assert re.search(r"request_id\s+r1", out)

    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["payment_gate"] is True
    assert document["reason"] == "insufficient_credits"
    assert document["kind"] == "payment"
    assert document["status_code"] == 429
    assert document["url"] == OPENAI_URL
    assert "raw" not in document


def test_a_429_body_without_url_is_a_gateway_gate(capsys: pytest.CaptureFixture[str]) -> None:
    """The same 429 `insufficient_quota` from an unknown host (a gateway, a mock) is a gate."""
    body = str(DATA / "openai-429-insufficient-quota.json")
    code, out, _ = run(capsys, "explain", body, "--status", "429", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["payment_gate"] is True
    assert document["reason"] == "insufficient_credits"
    assert document["provider"] == "generic"


def test_a_curl_v_capture_gives_the_method_and_url(capsys: pytest.CaptureFixture[str]) -> None:
    """Real `curl -v ... 2>&1` output (TLS notes, progress meter, body last): the method and
    URL come from its `> ` lines, so Anthropic's 400 is claimed with no `--url`."""
    capture = str(DATA / "anthropic-400-verbose.curl")
    for argv in ([], ["--json"]):
        code, out, _ = run(capsys, "explain", capture, *argv)
        assert code == 0
        assert "VERBOSEexampleKEY" not in out
    code, out, _ = run(capsys, "explain", capture)
    assert out.startswith("payment gate: POST https://api.anthropic.com/v1/messages\n")
    assert re.search(r"provider\s+anthropic", out)
    assert re.search(r"message\s+Your credit balance is too low to access the Anthropic API\.", out)
    assert "bytes data" not in out
    assert "left intact" not in out


def test_a_curl_v_http2_capture_with_the_last_note_glued_to_the_body(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """HTTP/2 `curl -v`: the URL of its `OPENED stream` note, and a body that ends without a
    newline, right before curl's `* Connection #0 ... left intact`."""
    capture = str(DATA / "openai-429-verbose-h2.curl")
    code, out, _ = run(capsys, "explain", capture, "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["method"], document["url"]) == ("POST", OPENAI_URL)
    assert (document["provider"], document["code"]) == ("openai", "insufficient_quota")
    assert document["request_id"] == "req_5e2c1f0b9a7d4e3f8c6b1a2d3e4f5a6b"
    assert "H2exampleKEY" not in out


def test_curl_iv_and_a_redirect_in_a_verbose_capture(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With `-i` too, the head printed again before the body is skipped; with `-L`, the last
    request and response are explained, over plain HTTP when no TLS note says otherwise."""
    body = payload("deepseek-insufficient-balance")["response"]["body"]
    capture = tmp_path / "redirect.curl"
    capture.write_text(
        "*   Trying 127.0.0.1:8000...\n"
        "* Connected to localhost (127.0.0.1) port 8000 (#0)\n"
        "> GET /old HTTP/1.1\r\n> Host: localhost:8000\r\n> \r\n"
        "< HTTP/1.1 301 Moved Permanently\r\n< Location: /chat/completions\r\n"
        "< Content-Length: 0\r\n< \r\n"
        "* Issue another request to this URL: 'http://localhost:8000/chat/completions'\n"
        "> POST /chat/completions HTTP/1.1\r\n> Host: localhost:8000\r\n> \r\n"
        "< HTTP/1.1 402 Payment Required\r\n< content-type: application/json\r\n< \r\n"
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /chat/completions\r\n\r\n"
        "HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n\r\n"
        f"{body}\n"
        "* Connection #0 to host localhost left intact\n"
    )
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 0
    assert out.startswith("payment gate: POST http://localhost:8000/chat/completions\n")
    assert "Insufficient Balance" in out
    code, out, _ = run(capsys, "explain", str(capture), "--method", "put", "--json")
    assert json.loads(out)["method"] == "PUT", "--method says otherwise"


VERBOSE_REQUESTS = {
    "HTTP/1.1 over TLS": (
        "* Connected to api.x.test (10.0.0.1) port 443 (#0)\n* SSL connection using TLSv1.3\n"
        "> POST /v1/a HTTP/1.1\n> Host: api.x.test\n>\n",
        "POST",
        "https://api.x.test/v1/a",
    ),
    "plain HTTP on a port": (
        "> get /v1/a?q=1 HTTP/1.1\n> Host: localhost:8000\n>\n",
        "GET",
        "http://localhost:8000/v1/a?q=1",
    ),
    "HTTP/2 without notes": (
        "> GET /a HTTP/2\n> Host: api.x.test\n> \n",
        "GET",
        "https://api.x.test/a",
    ),
    "absolute form through a proxy": (
        "> GET http://api.x.test/a HTTP/1.1\n> Host: api.x.test\n>\n",
        "GET",
        "http://api.x.test/a",
    ),
    "no Host header": ("> DELETE /a HTTP/1.1\n>\n", "DELETE", None),
    "not a request line": ("> something else\n>\n", None, None),
    "no request at all": ("", None, None),
}


@pytest.mark.parametrize("name", sorted(VERBOSE_REQUESTS))
def test_the_method_and_url_of_a_verbose_capture(name: str) -> None:
    """What a `curl -v` capture's request lines say, and nothing it does not say."""
    request, method, url = VERBOSE_REQUESTS[name]
    capture = f"{request}< HTTP/1.1 402 Payment Required\n< content-type: text/plain\n<\nno\n"
    kind, exchanges = _explain.parse_input(capture.encode(), _explain.BodyOptions())
    assert kind == "http"
    assert (exchanges[0].method, exchanges[0].url) == (method, url)
    assert (exchanges[0].status_code, exchanges[0].body) == (402, b"no\n")


def test_a_verbose_capture_that_ends_in_an_interim_response_exits_two(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A `curl -v` capture cut after `100 Continue` has no answer to explain."""
    capture = tmp_path / "cut.curl"
    capture.write_text("> POST / HTTP/1.1\n> Host: a.example\n>\n< HTTP/1.1 100 Continue\n<\n")
    code, out, err = run(capsys, "explain", str(capture))
    assert_one_line_reason(code, out, err)
    assert "interim 100" in err


def test_a_verbose_capture_with_a_bad_header_line_exits_two(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A `< ` line in a response head that is no header is unusable input, said in one line."""
    capture = tmp_path / "bad.curl"
    capture.write_text("> GET / HTTP/1.1\n> Host: a.example\n>\n< HTTP/1.1 402 x\n< nonsense\n")
    assert_one_line_reason(*run(capsys, "explain", str(capture)))


def test_an_unknown_method_is_shown_as_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """A `curl -i` capture does not show the method: it is unknown, not `GET`."""
    code, out, _ = run(capsys, "explain", str(DATA / "openrouter-402.curl"))
    assert code == 0
    assert out.startswith("payment gate: (method unknown) (URL unknown)\n")
    code, out, _ = run(capsys, "explain", str(DATA / "openrouter-402.curl"), "--json")
    assert json.loads(out)["method"] is None


def test_each_gate_says_what_resolves_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Text and JSON output say what resolves each gate, in the words of the typed errors."""
    code, out, _ = run(capsys, "explain", str(HAR))
    assert code == 0
    expected = [_WHAT_RESOLVES_IT[http402.Reason(reason)] for _, _, reason, _ in HAR_GATES]
    assert re.findall(r"^  to resolve   (.*)$", out, re.MULTILINE) == expected
    code, out, _ = run(capsys, "explain", str(HAR), "--json")
    assert [gate["to_resolve"] for gate in json.loads(out)] == expected


def curl_capture(tmp_path: Path, name: str) -> Path:
    """A real payload as `curl -i` prints it."""
    response = payload(name)["response"]
    head = f"HTTP/1.1 {response['status']} Whatever\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in response["headers"].items())
    capture = tmp_path / f"{name}.curl"
    capture.write_bytes(f"{head}\r\n{response['body']}".encode())
    return capture


def test_a_failed_x402_v2_settlement_receipt_is_decoded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 402 whose `PAYMENT-RESPONSE` (x402 v2) says the settlement failed shows the receipt."""
    capture = curl_capture(tmp_path, "x402-v2-settlement-failed-payment-response-402")
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 0
    assert re.search(r"reason\s+payment_failed", out)
    assert re.search(
        r"receipt\s+x402 v2 PAYMENT-RESPONSE: failed \(insufficient_funds\) on eip155:84532\n", out
    )
    code, out, _ = run(capsys, "explain", str(capture), "--json")
    assert json.loads(out)["receipt"] == {
        "header": "PAYMENT-RESPONSE",
        "x402_version": 2,
        "valid": True,
        "success": False,
        "transaction": None,
        "network": "eip155:84532",
        "payer": None,
        "error_reason": "insufficient_funds",
    }


def test_a_failed_x402_v1_settlement_receipt_is_decoded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """x402 v1 sends the same receipt as `X-PAYMENT-RESPONSE`; an empty transaction is left out."""
    capture = curl_capture(tmp_path, "x402-v1-settlement-failed-x-payment-response-402")
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 0
    assert re.search(
        r"receipt\s+x402 v1 X-PAYMENT-RESPONSE: failed \(insufficient_funds\) on base-sepolia\n"
        r"\s+payer\s+0x857b06519E91e3A54538791bDbb0E22373e36b66\n",
        out,
    )
    assert "transaction" not in out


def test_a_settled_payment_is_no_gate_but_its_receipt_is_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A 200 with a successful receipt exits 1 (no gate) and shows the transaction and payer."""
    capture = curl_capture(tmp_path, "x402-v2-settlement-success-200-negative")
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 1
    assert out.splitlines() == [
        "not a payment gate: HTTP 200 from (method unknown) (URL unknown)",
        "  receipt      x402 v2 PAYMENT-RESPONSE: settled on eip155:84532",
        "  transaction  0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        "  payer        0x857b06519E91e3A54538791bDbb0E22373e36b66",
    ]
    code, out, _ = run(capsys, "explain", str(capture), "--json")
    document = json.loads(out)
    assert (code, document["payment_gate"], document["receipt"]["success"]) == (1, False, True)


def test_a_receipt_that_is_not_base64_json_is_named_not_decoded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A `PAYMENT-RESPONSE` that is no base64 JSON is reported as such, its value not shown."""
    capture = tmp_path / "bad-receipt.curl"
    capture.write_text("HTTP/1.1 200 OK\r\nPAYMENT-RESPONSE: %%%{not base64\r\n\r\n{}")
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 1
    assert "receipt      x402 v2 PAYMENT-RESPONSE: not base64 JSON, not decoded" in out
    assert "%%%" not in out


def test_a_receipt_without_a_success_field_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A receipt that is JSON but says neither settled nor failed is shown as it is."""
    receipt = base64.b64encode(b'{"transaction": "0xabc"}').decode()
    capture = tmp_path / "odd-receipt.curl"
    capture.write_text(f"HTTP/1.1 200 OK\r\nX-PAYMENT-RESPONSE: {receipt}\r\n\r\n{{}}")
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 1
    assert "receipt      x402 v1 X-PAYMENT-RESPONSE: no success field\n" in out
    assert "transaction  0xabc\n" in out


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`http402 --version` prints the version and exits 0."""
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"http402 {http402.__version__}\n")


def test_har_lists_exactly_its_three_gates(capsys: pytest.CaptureFixture[str]) -> None:
    """Of the HAR's 9 entries, exactly the 3 gates are listed, each with its method and URL."""
    code, out, _ = run(capsys, "explain", str(HAR))
    assert code == 0
    assert out.startswith(f"3 payment gates in {HAR} (9 responses)\n")
    titles = re.findall(r"^\[(\d)\] (\S+) (\S+)$", out, re.MULTILINE)
    assert titles == [(str(n), m, u) for n, (m, u, _, _) in enumerate(HAR_GATES, start=1)]
    for _, _, reason, provider in HAR_GATES:
        assert re.search(rf"reason\s+{reason} \(payment\)\n\s+provider\s+{provider}\n", out)
    assert "Your credit balance is too low" in out, "base64 content is decoded"
    assert re.search(
        r"option 1\s+x402 exact on eip155:84532: 100000 atomic of "
        r"0x036CbD53842c5426634e7929541eC2318f3dCF7e, pay to 0xfa3F54\.\.\.095d93",
        out,
    ), "a gate without content is classified from its headers"
    for look_alike in ("rate_limit_exceeded", "api.openai.com", "/v1/missing", "favicon"):
        assert look_alike not in out


def test_har_json_is_a_list_of_exactly_its_gates(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` on the HAR is a list of its 3 gates, amounts as strings and enums as values."""
    code, out, _ = run(capsys, "explain", str(HAR), "--json")
    assert code == 0
    gates = json.loads(out)
    assert [(g["method"], g["url"], g["reason"], g["provider"]) for g in gates] == HAR_GATES
    assert [g["entry"] for g in gates] == [5, 6, 8]
    assert [g["status_code"] for g in gates] == [402, 402, 400]
    option = gates[1]["payment_options"][0]
    assert option["amount"] == "100000"
    assert option["pay_to"] == "0xfa3F54AE9C4287CA09a486dfaFaCe7d1d4095d93"
    assert all("raw" not in g and "raw" not in o for g in gates for o in g["payment_options"])


def test_stdin_is_read_with_a_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`explain -` reads the capture from standard input."""
    stdin = io.TextIOWrapper(io.BytesIO(HAR.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = run(capsys, "explain", "-")
    assert code == 0
    assert out.startswith("3 payment gates in standard input (9 responses)")


def test_a_har_without_gates_exits_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A HAR of look-alikes only is read fine and holds no gate: exit 1, in both modes."""
    har = write_har(
        tmp_path / "quiet.har",
        har_entry(payload("openai-rate-limit-rpm-billing-hint-429-negative")),
        har_entry(payload("stripe-invalid-api-key-401-negative")),
    )
    code, out, _ = run(capsys, "explain", str(har))
    assert (code, out) == (1, f"no payment gate in {har} (2 responses)\n")
    code, out, _ = run(capsys, "explain", str(har), "--json")
    assert (code, json.loads(out)) == (1, [])


def test_a_gzip_capture_is_decoded_either_way(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A gzip body is decoded; `curl --compressed` output (already decoded) is read as it is."""
    body = payload("openrouter-insufficient-credits-metadata")["response"]["body"].encode()
    head = b"HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n"
    head += b"content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
    for name, content in (("raw", gzip.compress(body)), ("compressed", body)):
        capture = tmp_path / f"{name}.curl"
        capture.write_bytes(head + content)
        code, out, _ = run(capsys, "explain", str(capture))
        assert code == 0, name
        assert "Insufficient credits. Add more" in out, name


def test_terminal_escapes_from_a_server_are_not_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Control characters in a server's message cannot reach the terminal."""
    capture = tmp_path / "escape.curl"
    body = b'{"error": {"message": "Insufficient credits\\u001b[2J\\u202e gone"}}'
    capture.write_bytes(b"HTTP/1.1 402 Payment Required\ncontent-type: application/json\n\n" + body)
    code, out, _ = run(capsys, "explain", str(capture))
    assert code == 0
    assert "Insufficient credits" in out
    assert "\x1b" not in out
    assert "\u202e" not in out


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """`explain --help` states the exit codes that scripts rely on."""
    code, out, _ = run(capsys, "explain", "--help")
    assert code == 0
    assert "0  at least one payment gate found" in out
    assert "1  the input was read, and it holds no payment gate" in out
    assert "2  usage error, or input that cannot be read or parsed" in out


GARBAGE: dict[str, bytes] = {
    "random bytes": random.Random(402).randbytes(4096),
    "truncated HAR": HAR.read_bytes()[: len(HAR.read_bytes()) // 2],
    "empty file": b"",
    "blank file": b" \r\n\t\n",
    "invalid JSON body": b'{"error": {"message": "Insufficient credits"',
    "HAR entry without response": b'{"log": {"entries": [{"request": {}}]}}',
    "HAR entries not a list": b'{"log": {"entries": {}}}',
    "HAR bad base64": json.dumps(
        {
            "log": {
                "entries": [
                    {
                        "request": {"method": "GET", "url": "https://a.example/"},
                        "response": {
                            "status": 402,
                            "headers": [],
                            "content": {"text": "%%%not base64", "encoding": "base64"},
                        },
                    }
                ]
            }
        }
    ).encode(),
    "only an interim response": b"HTTP/1.1 100 Continue\r\n\r\n",
    "header line without colon": b"HTTP/1.1 402 Payment Required\r\nnot a header\r\n\r\n{}",
    "deeply nested JSON": b"[" * 100_000,
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_input_exits_two_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    """Input that is no capture at all exits 2 with a one-line reason and no traceback."""
    path = tmp_path / "input"
    path.write_bytes(GARBAGE[name])
    assert_one_line_reason(*run(capsys, "explain", str(path)))


def test_a_directory_and_a_missing_file_exit_two(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A directory or a path that does not exist exits 2 with a one-line reason."""
    code, out, err = run(capsys, "explain", str(tmp_path))
    assert_one_line_reason(code, out, err)
    assert "is a directory" in err
    code, out, err = run(capsys, "explain", str(tmp_path / "missing.har"))
    assert_one_line_reason(code, out, err)
    assert "no such file" in err


def test_input_over_the_size_limit_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file larger than the limit is refused before it is read, and so is a larger stdin."""
    monkeypatch.setattr(_explain, "MAX_INPUT_BYTES", 1024)
    code, out, err = run(capsys, "explain", str(HAR))
    assert_one_line_reason(code, out, err)
    assert "limit" in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(HAR.read_bytes())))
    code, out, err = run(capsys, "explain", "-")
    assert_one_line_reason(code, out, err)
    assert "limit" in err


def test_body_options_on_a_full_capture_are_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--status` or `--url` on a HAR, which names its own, exits 2 with one line."""
    code, out, err = run(capsys, "explain", str(HAR), "--status", "402")
    assert_one_line_reason(code, out, err)
    assert "--status only applies to a JSON body" in err
    code, out, err = run(capsys, "explain", str(HAR), "--url", OPENAI_URL)
    assert_one_line_reason(code, out, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["--status", "99"],
        ["--status", "abc"],
        ["--header", "no colon"],
        ["--url", "api.openai.com/v1"],
        ["--url", "ftp://api.openai.com/"],
    ],
)
def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """An invalid `--status`, `--header` or `--url` exits 2 with argparse's usage message."""
    code, out, err = run(capsys, "explain", str(HAR), *argv)
    assert code == 2
    assert out == ""
    assert "usage: http402 explain" in err
    assert "Traceback" not in err


SECRETS = (
    "sk-or-v1-0123456789abcdefSECRETSECRET",
    "0123456789abcdefSECRETSECRET",
    "querySECRETvalue123",
    "cookieSECRETvalue123",
    "xapikeySECRETvalue123",
    "userinfoSECRET123",
)


def secrets_har(tmp_path: Path) -> Path:
    """A HAR whose gates were requested with credentials, one of which the server echoes."""
    headers = {
        "Authorization": f"Bearer {SECRETS[0]}",
        "Cookie": f"session={SECRETS[3]}",
        "X-Api-Key": SECRETS[4],
    }
    openrouter = payload("openrouter-insufficient-credits-metadata")
    echo = payload("openrouter-never-purchased-credits")
    # The server echoes the caller's key in its message, as some providers do.
    echo["response"]["body"] = json.dumps(
        {"error": {"message": f"Insufficient credits for key {SECRETS[0]}", "code": 402}}
    )
    url = f"https://bob:{SECRETS[5]}@openrouter.ai/api/v1/chat/completions?api_key={SECRETS[2]}"
    return write_har(
        tmp_path / "secrets.har",
        har_entry(openrouter, url=url, request_headers=headers),
        har_entry(echo, url=url, request_headers=headers),
    )


def test_credentials_in_a_har_are_never_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Keys in headers, cookies, the URL's query and userinfo never appear, in either mode."""
    har = str(secrets_har(tmp_path))
    for argv in (["explain", har], ["explain", har, "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 0
        for secret in SECRETS:
            assert secret not in out + err, (argv, secret)
        assert "api_key=[redacted]" in out
        assert "Insufficient credits for key [redacted]" in out


def test_adapters_lists_the_built_ins_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    """`adapters` lists the default registry's adapters in the order they are tried."""
    code, out, _ = run(capsys, "adapters")
    assert code == 0
    names = re.findall(r"^\s*\d+\. (\S+)\s+priority (-?\d+)\s+(\S+)$", out, re.MULTILINE)
    registered = http402.default_registry.adapters
    assert [n for n, _, _ in names] == list(registered)
    assert names[0] == ("anthropic", "-100", "http402._providers.anthropic")
    assert names[-1] == ("generic-text", "-400", "http402._providers.generic")
    assert "hosts     api.openai.com\n    statuses  400, 402, 403, 429\n" in out
    assert "hosts     any host" in out
    assert "triggers  content-type containing 'problem+json'" in out


def test_adapters_json_parses(capsys: pytest.CaptureFixture[str]) -> None:
    """`adapters --json` is a list of adapters with their scope and module."""
    code, out, _ = run(capsys, "adapters", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["name"] for row in rows] == list(http402.default_registry.adapters)
    openai = next(row for row in rows if row["name"] == "openai")
    assert openai == {
        "name": "openai",
        "priority": -100,
        "hosts": ["api.openai.com"],
        "statuses": [400, 402, 403, 429],
        "triggers": [],
        "module": "http402._providers.openai",
    }
    crawl = next(row for row in rows if row["name"] == "pay-per-crawl")
    assert crawl["triggers"] == [{"header": "crawler-error", "contains": None}]


class AcmeAdapter:
    """A third-party adapter, as a plugin would ship it."""

    name = "acme"
    hosts = ("api.acme.test",)
    statuses = (402, 403)
    priority = 5

    def classify(self, response: http402.ResponseSnapshot) -> http402.PaymentRequired | None:
        """Never claims anything: only its registration matters here."""
        return None


def test_adapters_include_entry_point_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin found through the `http402.adapters` entry points is listed, with its module."""
    plugin = importlib.metadata.EntryPoint(
        name="acme", value=f"{__name__}:AcmeAdapter", group="http402.adapters"
    )

    def entry_points(**selection: str) -> list[importlib.metadata.EntryPoint]:
        return [plugin] if selection.get("group") == "http402.adapters" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    # No distribution on disk declares the plugin: skip the look at the files that would say so.
    monkeypatch.setattr(http402._adapters, "_plugins_may_be_installed", lambda: True)
    registry = http402.AdapterRegistry(discover=True)
    out = io.StringIO()
    assert _explain.list_adapters(registry, as_json=True, out=out) == 0
    assert json.loads(out.getvalue()) == [
        {
            "name": "acme",
            "priority": 5,
            "hosts": ["api.acme.test"],
            "statuses": [402, 403],
            "triggers": [],
            "module": __name__,
        }
    ]


def test_python_m_http402_explain_runs_as_a_user_runs_it() -> None:
    """`python -m http402 explain` on the HAR lists its 3 gates and exits 0 in a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "http402", "explain", str(HAR)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 payment gates in")
    assert "HARexampleKEY" not in result.stdout


def test_python_m_http402_explain_on_garbage_stdin_exits_two() -> None:
    """Binary junk on stdin exits 2 in a real process, with one line and no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "http402", "explain", "-"],
        input=b"\x00\xff" + random.Random(7).randbytes(512),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda p: p.stem)
def test_every_real_payload_as_a_curl_capture(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path
) -> None:
    """Each real payload, as `curl -i` prints it, exits 0 with its reason, or 1 if no gate."""
    source = json.loads(path.read_text())
    response, expected = source["response"], source["expected"]
    head = f"HTTP/1.1 {response['status']} Whatever\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in response["headers"].items())
    capture = tmp_path / "capture.curl"
    capture.write_bytes(f"{head}\r\n".encode() + response["body"].encode())
    request = source["request"]
    argv = ["--url", request["url"], "--method", request["method"], "--json"]
    code, out, _ = run(capsys, "explain", str(capture), *argv)
    document = json.loads(out)
    if expected["is_payment_gate"]:
        assert (code, document["reason"]) == (0, expected["reason"])
    else:
        assert (code, document["payment_gate"]) == (1, False)


def test_explain_gives_what_classify_gives_on_every_payload(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`http402 explain --json` on a HAR of every payload lists exactly the gates `classify`
    finds, each with the same reason, provider, code, message and fields."""
    documents = [json.loads(path.read_text()) for path in sorted(PAYLOADS.glob("*.json"))]
    entries = []
    for document in documents:
        response = document["response"]
        entries.append(
            {
                "request": {
                    "method": document["request"]["method"],
                    "url": document["request"]["url"],
                    "headers": [],
                },
                "response": {
                    "status": response["status"],
                    "headers": [{"name": k, "value": v} for k, v in response["headers"].items()],
                    "content": {"text": response["body"]},
                },
            }
        )
    har = write_har(tmp_path / "all.har", *entries)
    code, out, _ = run(capsys, "explain", str(har), "--json")
    assert code == 0
    explained = {gate["entry"]: gate for gate in json.loads(out)}
    for index, document in enumerate(documents):
        response = document["response"]
        classified = http402.classify(
            httpx.Response(
                response["status"],
                headers=list(response["headers"].items()),
                content=response["body"].encode(),
                request=httpx.Request(document["request"]["method"], document["request"]["url"]),
            )
        )
        gate = explained.get(index)
        if classified is None:
            assert gate is None, document["id"]
            continue
        assert gate is not None, document["id"]
        for name in ("reason", "provider", "code", "message", "action_url", "request_id"):
            value = getattr(classified, name)
            assert gate[name] == (value.value if name == "reason" else value), (
                document["id"],
                name,
            )


def _not_json(path: Path) -> bool:
    """A payload whose body is text, XML or HTML (not a header-only gate's empty body)."""
    response = json.loads(path.read_text())["response"]
    headers = response["headers"]
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return "json" not in content_type and bool(content_type) and bool(response["body"].strip())


@pytest.mark.parametrize(
    "path", sorted(filter(_not_json, PAYLOADS.glob("*.json"))), ids=lambda p: p.stem
)
def test_a_text_or_xml_body_alone_is_read_with_what_came_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path
) -> None:
    """A real plain-text, XML or HTML body copied alone, with its status, content type and
    URL on the command line, gets the answer the whole response gets; without --status or
    --header it is refused (it may be a capture cut short)."""
    source = json.loads(path.read_text())
    response, expected = source["response"], source["expected"]
    body = tmp_path / "body.txt"
    body.write_text(response["body"])
    headers = [arg for k, v in response["headers"].items() for arg in ("--header", f"{k}: {v}")]
    argv = ["--status", str(response["status"]), *headers, "--url", source["request"]["url"]]
    code, out, _ = run(capsys, "explain", str(body), *argv, "--json")
    document = json.loads(out)
    if expected["is_payment_gate"]:
        assert (code, document["reason"]) == (0, expected["reason"])
    else:
        assert (code, document["payment_gate"]) == (1, False)
    if not response["body"].lstrip().startswith(("{", "[", "HTTP/")):
        code, out, err = run(capsys, "explain", str(body))
        assert code == 2 and "--status or --header 'content-type" in err
