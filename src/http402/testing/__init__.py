"""A test kit for applications that use http402.

* `gate(name)` builds a real payment-gate response of a built-in provider or protocol, from
  the same recorded payloads that http402's own tests use (`gate_names()` lists them, each
  with its public source).
* `look_alike(name)` builds a real response that is NOT a payment gate but looks like one (a
  plain 429 rate limit that mentions a plan, a bad API key, an overloaded API, a settled
  x402 payment), to test that your code lets them through (`look_alike_names()`).
* `FakeProvider` is a stateful fake paid API: credits that run out, plans that gate
  features, and a billing API whose changes take a while to propagate. Use it as an
  `httpx.MockTransport` or `httpx2.MockTransport` handler (`transport()`,
  `httpx2_transport()`), as a respx side effect, or through the pytest fixture
  `http402_provider` (installed with http402 as a pytest plugin). Its clock moves only
  when your code waits through `provider.sleep`, so propagation is instant and
  deterministic in tests.

Example:
    ```python
    def test_my_app_tops_up_and_recovers(http402_provider):
        def top_up(error):
            http402_provider.top_up(100)
            return http402.Retry(within=30)

        transport = http402.PaymentRequiredTransport(
            http402_provider.transport(), on_payment_required=top_up,
            sleep=http402_provider.sleep,
        )
        with httpx.Client(transport=transport, base_url=http402_provider.url) as client:
            assert client.post("/v1/generate").status_code == 200
        assert http402_provider.top_ups == 1
    ```
"""

from __future__ import annotations

import collections
import functools
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from importlib import resources
from types import ModuleType
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "FakeProvider",
    "gate",
    "gate_names",
    "gate_source",
    "look_alike",
    "look_alike_names",
    "look_alike_source",
]

_DEFAULT_URL = "https://api.fake-provider.test"


@functools.cache
def _payloads() -> dict[str, Any]:
    return _load("payloads.json")


@functools.cache
def _look_alikes() -> dict[str, Any]:
    return _load("look_alikes.json")


def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def gate_names() -> list[str]:
    """The names `gate()` accepts, such as `"openai.insufficient_quota"` or `"x402.v2"`."""
    return sorted(_payloads())


def gate_source(name: str) -> str:
    """Where the recorded payload of `name` was seen (a provider's docs, a spec, an issue)."""
    return str(_payload(name)["source"])


def gate(name: str, *, url: str | None = None, method: str | None = None) -> httpx.Response:
    """A real payment-gate response, as the provider sent or documents it.

    Args:
        name: One of `gate_names()`.
        url: The request URL to attach (default: the recorded one, on the provider's host;
            provider adapters only look at their own hosts).
        method: The request method (default: the recorded one).

    Example:
        ```python
        router.post("https://api.openai.com/v1/chat/completions").mock(
            return_value=http402.testing.gate("openai.insufficient_quota")
        )
        ```
    """
    return _response(httpx, _payload(name), url, method)  # type: ignore[no-any-return]


def look_alike_names() -> list[str]:
    """The names `look_alike()` accepts, such as `"openai.rate_limit"` or
    `"anthropic.invalid_api_key"`."""
    return sorted(_look_alikes())


def look_alike_source(name: str) -> str:
    """Where the recorded look-alike `name` was seen."""
    return str(_look_alike(name)["source"])


def look_alike(name: str, *, url: str | None = None, method: str | None = None) -> httpx.Response:
    """A real response that is NOT a payment gate, though it looks like one.

    Rate limits that mention a plan, a tier or "upgrade", bad API keys, an overloaded API,
    a settled x402 payment: `http402.classify` returns `None` for each, and a transport
    passes them through untouched. Use them to test that your code leaves them to their
    usual handling (retry later, fix the key) and never buys credits for them.

    Args:
        name: One of `look_alike_names()`.
        url: The request URL to attach (default: the recorded one, on the provider's host).
        method: The request method (default: the recorded one).

    Example:
        ```python
        router.post("https://api.openai.com/v1/chat/completions").mock(
            return_value=http402.testing.look_alike("openai.rate_limit")
        )
        ```
    """
    return _response(httpx, _look_alike(name), url, method)  # type: ignore[no-any-return]


def _payload(name: str) -> dict[str, Any]:
    try:
        return _payloads()[name]  # type: ignore[no-any-return]
    except KeyError:
        raise KeyError(f"no recorded gate {name!r}; choose one of {gate_names()}") from None


def _look_alike(name: str) -> dict[str, Any]:
    try:
        return _look_alikes()[name]  # type: ignore[no-any-return]
    except KeyError:
        raise KeyError(
            f"no recorded look-alike {name!r}; choose one of {look_alike_names()}"
        ) from None


def _recorded(name: str) -> dict[str, Any]:
    """A recorded gate or look-alike."""
    if name in _payloads():
        return _payload(name)
    if name in _look_alikes():
        return _look_alike(name)
    raise KeyError(
        f"no recorded response {name!r}; choose one of {gate_names() + look_alike_names()}"
    )


def _response(
    http: ModuleType, recorded: dict[str, Any], url: str | None, method: str | None
) -> Any:
    """The recorded response as an `http.Response` (httpx or httpx2), with its request."""
    wire = recorded["response"]
    request = http.Request(
        method or recorded["request"]["method"], url or recorded["request"]["url"]
    )
    return http.Response(
        wire["status"],
        headers=list(wire["headers"].items()),
        content=wire["body"].encode("utf-8"),
        request=request,
    )


class FakeProvider:
    """A fake paid API with credits, plans, and billing changes that take time to show.

    Every request to a path other than `/billing...` costs `price` credits. A path listed in
    `features` needs that plan. Out of credits, it answers 402 with the common JSON error
    shape (or with the recorded gate `gate`, to mimic a real provider); on a plan too low,
    402 `plan_limit_exceeded`. `POST /billing/top-up {"credits": n}` and
    `POST /billing/upgrade {"plan": p}` take effect `propagation` seconds later; so do
    `top_up()` and `upgrade()`. `GET /billing` reports the state. `answer_next(name)` makes
    the next requests get a recorded gate or look-alike whatever the balance.

    It serves httpx and httpx2 clients alike: `transport()` for `httpx.Client` and
    `httpx.AsyncClient`, `httpx2_transport()` for `httpx2.Client` and `httpx2.AsyncClient`
    (such as the `http_client=` of the openai and anthropic SDKs).

    A provider's own gates are not all 402s (OpenAI's `insufficient_quota` is a 429,
    Anthropic's low balance a 400), and http402 recognises those only from the provider's
    hosts. So with such a `gate`, the default `url` is the provider's real origin (such as
    `https://api.openai.com`); nothing is sent there, the transport answers every request.

    Args:
        credits: Spendable credits to start with.
        price: Credits per request.
        plan: The current plan.
        features: Path prefix -> plan required (plans rank in the order of `plans`).
        plans: Plan names from lowest to highest.
        propagation: Seconds before a top-up or upgrade takes effect.
        gate: Answer out-of-credits with this recorded gate (see `gate_names()`) instead of
            the common JSON shape.
        url: The base URL the provider answers on (default: the origin the `gate` was
            recorded on, else `https://api.fake-provider.test`). A `url` on which `gate`
            would not be recognised is refused with a `ValueError`.
        clock: A real clock (such as `time.monotonic`) for a provider served to real
            clients; by default the clock is virtual and moves only through `sleep`.
    """

    def __init__(
        self,
        *,
        credits: int = 0,
        price: int = 1,
        plan: str = "free",
        features: Mapping[str, str] | None = None,
        plans: tuple[str, ...] = ("free", "pro", "enterprise"),
        propagation: float = 5.0,
        gate: str | None = None,
        url: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.credits = credits
        self.price = price
        self.plan = plan
        self.features = dict(features or {})
        self.plans = plans
        self.propagation = propagation
        self.gate = gate
        self.url = (url or _default_url(gate)).rstrip("/")
        if gate is not None:
            _check_recognised(gate, self.url)
        #: How many top-ups and upgrades were asked for.
        self.top_ups = 0
        self.upgrades = 0
        #: Every request received (`httpx.Request` or `httpx2.Request`), in order.
        self.requests: list[Any] = []
        self._scripted: collections.deque[str] = collections.deque()
        self._pending: list[tuple[float, Callable[[], None]]] = []
        self._waited = 0.0
        self._clock = clock
        self._lock = threading.Lock()

    # -- time ------------------------------------------------------------------------------

    def now(self) -> float:
        """The provider's clock: by default, the seconds waited through `sleep`."""
        return self._clock() if self._clock is not None else self._waited

    def sleep(self, seconds: float) -> None:
        """Pass as the transport's `sleep=`: waiting moves the virtual clock at once."""
        if self._clock is not None:
            time.sleep(seconds)
            return
        with self._lock:
            self._waited += seconds

    async def asleep(self, seconds: float) -> None:
        """The async `sleep=`."""
        self.sleep(seconds)

    # -- billing ---------------------------------------------------------------------------

    def top_up(self, credits: int) -> None:
        """Adds `credits`, spendable after the propagation delay."""
        with self._lock:
            self.top_ups += 1
            self._later(lambda: setattr(self, "credits", self.credits + credits))

    def upgrade(self, plan: str) -> None:
        """Moves to `plan` after the propagation delay."""
        if plan not in self.plans:
            raise ValueError(f"unknown plan {plan!r}; plans are {self.plans}")
        with self._lock:
            self.upgrades += 1
            self._later(lambda: setattr(self, "plan", plan))

    def answer_next(self, name: str, *, times: int = 1) -> None:
        """Answers the next `times` requests with the recorded gate or look-alike `name`
        (see `gate_names()` and `look_alike_names()`), whatever the balance; nothing is
        charged for them."""
        _recorded(name)  # an unknown name fails here, not in the middle of a request
        with self._lock:
            self._scripted.extend([name] * times)

    def _later(self, change: Callable[[], None]) -> None:
        self._pending.append((self.now() + self.propagation, change))

    def _apply_due(self) -> None:
        now = self.now()
        due = [change for when, change in self._pending if when <= now]
        self._pending = [(when, c) for when, c in self._pending if when > now]
        for change in due:
            change()

    # -- HTTP ------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An `httpx.MockTransport` answering as this provider (sync and async clients)."""
        return httpx.MockTransport(self)

    def httpx2_transport(self) -> httpx2.MockTransport:
        """An `httpx2.MockTransport` answering as this provider, for `httpx2.Client` and
        `httpx2.AsyncClient` (needs the `httpx2` package: `pip install http402[httpx2]`).

        Example:
            ```python
            client = openai.OpenAI(
                api_key="sk-test",
                base_url=f"{provider.url}/v1",
                http_client=http402.httpx2.wrap(
                    httpx2.Client(transport=provider.httpx2_transport()), mode="annotate"
                ),
            )
            ```
        """
        try:
            import httpx2
        except ImportError:  # pragma: no cover - httpx2 is installed for the tests
            raise ImportError(
                "FakeProvider.httpx2_transport() needs httpx2: pip install 'http402[httpx2]'"
            ) from None
        return httpx2.MockTransport(self)

    @overload
    def __call__(self, request: httpx.Request) -> httpx.Response: ...

    @overload
    def __call__(self, request: httpx2.Request) -> httpx2.Response: ...

    def __call__(self, request: Any) -> Any:
        """Answers `request` (httpx or httpx2): a `MockTransport` handler, or a respx side
        effect. The response is of the request's package."""
        http = sys.modules[type(request).__module__.partition(".")[0]]
        body = request.read()
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            self.requests.append(request)
            return _response(http, _recorded(scripted), None, None)
        status, payload, headers = self.answer(request.method, request.url.path, body)
        self.requests.append(request)
        if isinstance(payload, httpx.Response):
            if http is httpx:
                return payload
            return http.Response(
                payload.status_code, headers=payload.headers.raw, content=payload.content
            )
        return http.Response(status, json=payload, headers=headers)

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body (or a recorded response) and headers for one request."""
        if path == "/billing/top-up" and method == "POST":
            self.top_up(int(_json(body).get("credits", 0)))
            return 202, self._pending_answer(), {}
        if path == "/billing/upgrade" and method == "POST":
            self.upgrade(str(_json(body).get("plan", "")))
            return 202, self._pending_answer(), {}
        with self._lock:
            self._apply_due()
            if path == "/billing":
                return 200, {"credits": self.credits, "plan": self.plan}, {}
            required = self._required_plan(path)
            if required is not None:
                return 402, self._plan_gate(required), {}
            if self.credits < self.price:
                if self.gate is not None:
                    return 402, gate(self.gate), {}
                return 402, self._credits_gate(), {}
            self.credits -= self.price
            remaining = str(self.credits)
        return 200, {"ok": True}, {"x-credits-remaining": remaining}

    def _pending_answer(self) -> dict[str, Any]:
        return {"status": "pending", "available_in": self.propagation}

    def _required_plan(self, path: str) -> str | None:
        for prefix, plan in self.features.items():
            if path.startswith(prefix) and self.plans.index(self.plan) < self.plans.index(plan):
                return plan
        return None

    def _credits_gate(self) -> dict[str, Any]:
        return {
            "error": {
                "code": "insufficient_credits",
                "message": f"This request costs {self.price} credits; the balance is "
                f"{self.credits}.",
                "credits_required": self.price,
                "credits_available": self.credits,
                "top_up_url": f"{self.url}/billing/top-up",
            }
        }

    def _plan_gate(self, required: str) -> dict[str, Any]:
        return {
            "error": "plan_limit_exceeded",
            "message": f"This feature needs the {required} plan.",
            "current_plan": self.plan,
            "required_plan": required,
            "upgrade_url": f"{self.url}/billing/upgrade",
        }


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _default_url(gate_name: str | None) -> str:
    """The origin a recorded gate was seen on, where its provider's adapter recognises it."""
    if gate_name is None:
        return _DEFAULT_URL
    parts = urlsplit(_payload(gate_name)["request"]["url"])
    return f"{parts.scheme}://{parts.netloc}"


def _check_recognised(gate_name: str, url: str) -> None:
    """Refuses a base URL on which the recorded gate would pass through unrecognised."""
    from .._core import classify

    path = urlsplit(_payload(gate_name)["request"]["url"]).path
    if classify(gate(gate_name, url=url + path)) is None:
        host = urlsplit(_default_url(gate_name)).hostname
        raise ValueError(
            f"the recorded gate {gate_name!r} is recognised only from its provider's host "
            f"({host}), not from {url}: leave url= out to serve it from {host}"
        )
