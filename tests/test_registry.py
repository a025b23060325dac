"""The adapter registry: order, scoping, isolation, and plugins from entry points."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

import http402
from http402 import AdapterRegistry, PaymentRequired, Reason, ResponseSnapshot


class Fixed:
    """An adapter that claims every response it is shown, with a fixed reason."""

    def __init__(self, name: str, reason: Reason = Reason.PLAN_LIMIT_EXCEEDED, **attrs: Any):
        self.name = name
        self.reason = reason
        self.seen: list[int] = []
        for key, value in attrs.items():
            setattr(self, key, value)

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        self.seen.append(response.status_code)
        return PaymentRequired(reason=self.reason, provider=self.name)


def response(status: int = 402, url: str = "https://api.acme.test/v1") -> httpx.Response:
    return httpx.Response(status, content=b"{}", request=httpx.Request("GET", url))


def test_higher_priority_is_tried_first_then_registration_order() -> None:
    """Adapters are tried by priority, then in the order they were registered."""
    registry = AdapterRegistry()
    registry.register(Fixed("late", Reason.PAYMENT_FAILED), priority=-1)
    registry.register(Fixed("first", Reason.INSUFFICIENT_CREDITS))
    registry.register(Fixed("second", Reason.SUBSCRIPTION_EXPIRED))
    assert list(registry.adapters) == ["first", "second", "late"]
    payment = http402.classify(response(), registry=registry)
    assert payment is not None and payment.provider == "first"


def test_a_duplicate_name_raises() -> None:
    """Two adapters cannot share a name."""
    registry = AdapterRegistry([Fixed("acme")])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Fixed("acme"))


def test_the_view_is_read_only() -> None:
    """`adapters` cannot be changed behind the registry's back."""
    registry = AdapterRegistry([Fixed("acme")])
    with pytest.raises(TypeError):
        registry.adapters["other"] = registry.adapters["acme"]  # type: ignore[index]


def test_host_scoped_adapters_only_see_their_hosts() -> None:
    """An adapter with `hosts` ignores other hosts, and may claim statuses beyond 402."""
    acme = Fixed("acme", hosts=("api.acme.test", "*.acme.dev"), statuses=(402, 429))
    registry = AdapterRegistry([acme])
    assert http402.classify(response(429), registry=registry) is not None
    assert http402.classify(response(429, "https://eu.acme.dev/x"), registry=registry) is not None
    assert http402.classify(response(429, "https://acme.dev/x"), registry=registry) is None
    assert http402.classify(response(429, "https://other.test/x"), registry=registry) is None
    unknown = http402.classify(response(402, "https://other.test/x"), registry=registry)
    assert unknown is not None and unknown.reason is Reason.UNKNOWN


def test_a_generic_adapter_may_only_claim_402() -> None:
    """Claiming 429 on every host would turn rate limits into payment gates."""
    with pytest.raises(ValueError, match="only an adapter scoped"):
        AdapterRegistry().register(Fixed("greedy"), statuses=(402, 429))


def test_a_protocol_adapter_claims_other_statuses_only_with_its_header() -> None:
    """`triggers` lets a header-borne protocol claim a 403 on any host."""
    registry = AdapterRegistry()
    registry.register(Fixed("proto"), statuses=(402, 403), triggers=[("X-Proto-Error", None)])
    with_header = httpx.Response(
        403, headers={"x-proto-error": "Failed"}, request=httpx.Request("GET", "https://a.test")
    )
    assert http402.classify(with_header, registry=registry) is not None
    assert http402.classify(response(403), registry=registry) is None


@pytest.mark.parametrize("statuses", [(200,), (302,), ()])
def test_statuses_must_be_errors(statuses: tuple[int, ...]) -> None:
    """A 2xx or 3xx is never a payment gate."""
    with pytest.raises(ValueError, match="4xx or 5xx"):
        AdapterRegistry().register(Fixed("x"), hosts=("a.test",), statuses=statuses)


@pytest.mark.parametrize("adapter", [object(), Fixed(""), type("NoClassify", (), {"name": "x"})()])
def test_malformed_adapters_are_refused(adapter: Any) -> None:
    """An adapter needs a name and a `classify` method."""
    with pytest.raises(TypeError):
        AdapterRegistry().register(adapter)


def test_unregister_and_copy_are_independent() -> None:
    """A copy changes without touching the original."""
    registry = AdapterRegistry([Fixed("a"), Fixed("b")])
    clone = registry.copy()
    assert clone.unregister("a").name == "a"
    assert "a" in registry and "a" not in clone
    assert len(registry) == 2 and len(clone) == 1


def test_default_registry_copy_keeps_the_builtins() -> None:
    """`default_registry.copy()` is the starting point for a custom registry."""
    clone = http402.default_registry.copy()
    assert list(clone.adapters) == list(http402.default_registry.adapters)
    assert {"openai", "anthropic", "stripe", "x402", "l402", "generic"} <= set(clone.adapters)


def test_an_adapter_that_raises_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    """The next adapter is tried and the failure is logged."""

    class Broken:
        name = "broken"

        def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
            raise KeyError("surprise")

    registry = AdapterRegistry([Broken(), Fixed("fallback")])
    with caplog.at_level(logging.WARNING, logger="http402"):
        payment = http402.classify(response(), registry=registry)
    assert payment is not None and payment.provider == "fallback"
    assert "'broken' failed" in caplog.text


def test_an_adapter_that_returns_garbage_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    """Anything but a `PaymentRequired` or `None` is skipped with a log record."""

    class Garbage:
        name = "garbage"

        def classify(self, response: ResponseSnapshot) -> Any:
            return {"reason": "insufficient_credits"}

    registry = AdapterRegistry([Garbage()])
    with caplog.at_level(logging.WARNING, logger="http402"):
        payment = http402.classify(response(), registry=registry)
    assert payment is not None and payment.reason is Reason.UNKNOWN
    assert "returned dict" in caplog.text


PLUGIN = """
import http402

class AcmeAdapter:
    name = "acme"
    hosts = ("api.acme.test",)
    statuses = (402, 403)

    def classify(self, response):
        body = response.json
        if isinstance(body, dict) and body.get("acme_error") == "wallet_empty":
            return http402.PaymentRequired(
                reason=http402.Reason.INSUFFICIENT_CREDITS, provider=self.name
            )
        return None
"""


@pytest.fixture
def installed_plugins(tmp_path: Path) -> Any:
    """Installs two distributions with `http402.adapters` entry points: one good, one broken.

    They are written as pip writes them (a package plus its `.dist-info` with
    `entry_points.txt`) into a directory put on `sys.path`.
    """
    (tmp_path / "acme_http402.py").write_text(PLUGIN)
    for dist, entry in (
        ("acme_http402-1.0", "acme = acme_http402:AcmeAdapter"),
        ("broken_http402-1.0", "broken = no_such_module_anywhere:Adapter"),
    ):
        info = tmp_path / f"{dist}.dist-info"
        info.mkdir()
        name, version = dist.split("-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[http402.adapters]\n{entry}\n")
    sys.path.insert(0, str(tmp_path))
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("acme_http402", None)


def test_plugins_are_discovered_and_broken_ones_skipped(
    installed_plugins: None, caplog: pytest.LogCaptureFixture
) -> None:
    """An installed adapter is found through its entry point; a broken one is logged."""
    registry = AdapterRegistry(discover=True)
    with caplog.at_level(logging.WARNING, logger="http402"):
        names = list(registry.adapters)
    assert names == ["acme"]
    assert "skipped the adapter plugin 'broken'" in caplog.text
    gate = httpx.Response(
        403,
        json={"acme_error": "wallet_empty"},
        request=httpx.Request("POST", "https://api.acme.test/v1/jobs"),
    )
    payment = http402.classify(gate, registry=registry)
    assert payment is not None
    assert (payment.provider, payment.reason) == ("acme", Reason.INSUFFICIENT_CREDITS)


def test_discovery_happens_once(installed_plugins: None) -> None:
    """A second look does not load the plugins again (no duplicate-name error either)."""
    registry = AdapterRegistry(discover=True)
    registry.discover()
    registry.discover()
    assert list(registry.adapters) == ["acme"]


def test_a_plugin_is_used_by_a_transport(installed_plugins: None) -> None:
    """Through a transport, the plugin's host-scoped 403 becomes a typed error."""
    registry = AdapterRegistry(discover=True)
    inner = httpx.MockTransport(lambda r: httpx.Response(403, json={"acme_error": "wallet_empty"}))
    client = httpx.Client(transport=http402.PaymentRequiredTransport(inner, registry=registry))
    with pytest.raises(http402.InsufficientCreditsError):
        client.post("https://api.acme.test/v1/jobs")


def test_a_snapshot_url_may_be_given_as_a_function_or_any_object() -> None:
    """The URL is made only when asked: a function is called once, another object is
    made a string (an `httpx.URL`)."""
    calls = []

    def url() -> str:
        calls.append(1)
        return "https://api.example.com/v1?key=abc"

    snapshot = ResponseSnapshot(status_code=402, url=url, host="api.example.com")
    assert calls == []
    assert snapshot.url == "https://api.example.com/v1?key=abc"
    assert snapshot.url == "https://api.example.com/v1?key=abc"
    assert calls == [1]
    given = ResponseSnapshot(status_code=402, url=httpx.URL("https://api.example.com/v1"))  # type: ignore[arg-type]
    assert given.url == "https://api.example.com/v1"
    assert given.host == "api.example.com"


class TestProviderAdapter:
    """`http402.ProviderAdapter`: a provider declared by its attributes, for plugin authors."""

    class Acme(http402.ProviderAdapter):
        name = "acme"
        hosts = ("api.acme.test",)
        statuses = (402, 403, 460)
        default_reason = http402.Reason.INSUFFICIENT_CREDITS
        status_reasons = MappingProxyType({460: http402.Reason.PLAN_LIMIT_EXCEEDED})

    def classify(self, status: int, body: dict[str, object]) -> http402.PaymentRequired | None:
        registry = http402.AdapterRegistry([self.Acme()])
        response = httpx.Response(
            status, json=body, request=httpx.Request("POST", "https://api.acme.test/v1")
        )
        return http402.classify(response, registry=registry)

    def test_a_bare_402_gets_the_default_reason(self) -> None:
        """A 402 that says nothing more is what the provider documents its 402 to mean."""
        payment = self.classify(402, {"error": "nope"})
        assert payment is not None
        assert (payment.reason, payment.provider) == (http402.Reason.INSUFFICIENT_CREDITS, "acme")

    def test_another_status_needs_evidence_and_weak_evidence_counts_on_its_host(self) -> None:
        """A 403 from the provider's host is read with weak rules too; one that names no
        gate is left alone."""
        payment = self.classify(403, {"error": {"code": "quota_exceeded"}})
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert self.classify(403, {"error": {"message": "Forbidden"}}) is None

    def test_a_status_that_names_its_reason(self) -> None:
        """`status_reasons` wins whatever the body says."""
        payment = self.classify(460, {"error": {"message": "Insufficient credits"}})
        assert payment is not None and payment.reason is http402.Reason.PLAN_LIMIT_EXCEEDED

    def test_a_throttle_on_its_host_is_no_gate(self) -> None:
        """A provider's rate limit stays a rate limit."""
        body = {"error": {"code": "rate_limit_exceeded", "message": "Upgrade your plan."}}
        assert self.classify(403, body) is None


@pytest.mark.parametrize("read_errors", [True, False])
def test_the_adapters_tried_are_the_candidates_whatever_was_kept_before(read_errors: bool) -> None:
    """`classify` tries the registry's candidates, kept by the header values that decide
    them: for every status, host and header seen (each asked twice, so that the second comes
    from what was kept), the adapters are the candidates, in order."""
    registry = http402.default_registry.copy(read_errors=read_errors)
    registry.register(Fixed("by-header", Reason.UNKNOWN), triggers=(("x-billing", "gate"),))
    headers_seen: list[dict[str, str]] = [
        {},
        {"content-type": "application/json"},
        {"content-type": "application/problem+json"},
        {"content-type": "text/html"},
        {"content-type": "application/json", "x-billing": "gate"},
        {"content-type": "application/json", "x-billing": "none"},
        {"content-type": "application/json", "x-payment-required": "x402"},
        {"content-type": "text/plain", "www-authenticate": 'L402 macaroon="m", invoice="i"'},
        {"content-type": "application/json; " + "x" * 300},
        {"crawler-error": "1", "content-type": "application/json"},
    ]
    for status in (200, 400, 401, 402, 403, 407, 409, 429, 432, 500):
        for host in ("api.openai.com", "localhost", "api.tavily.com", "example.org"):
            for headers in headers_seen:
                header = {k.lower(): v for k, v in headers.items()}.get
                expected = tuple(registry.candidates(status, host, header))
                assert registry._to_try(status, host, header) == expected
                assert registry._to_try(status, host, header) == expected
