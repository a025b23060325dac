"""A test kit for applications that use http402.

* `gate(name)` builds a real payment-gate response of a built-in provider or protocol, from
  the same recorded payloads that http402's own tests use (`gate_names()` lists them, each
  with its public source).
* `FakeProvider` is a stateful fake paid API: credits that run out, plans that gate
  features, and a billing API whose changes take a while to propagate. Use it as an
  `httpx.MockTransport` handler, as a respx side effect, or through the pytest fixture
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

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import httpx

__all__ = ["FakeProvider", "gate", "gate_names", "gate_source"]


@functools.cache
def _payloads() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("payloads.json").read_text(encoding="utf-8")
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
    recorded = _payload(name)
    wire = recorded["response"]
    request = httpx.Request(
        method or recorded["request"]["method"], url or recorded["request"]["url"]
    )
    return httpx.Response(
        wire["status"],
        headers=list(wire["headers"].items()),
        content=wire["body"].encode("utf-8"),
        request=request,
    )


def _payload(name: str) -> dict[str, Any]:
    try:
        return _payloads()[name]  # type: ignore[no-any-return]
    except KeyError:
        raise KeyError(f"no recorded gate {name!r}; choose one of {gate_names()}") from None


class FakeProvider:
    """A fake paid API with credits, plans, and billing changes that take time to show.

    Every request to a path other than `/billing...` costs `price` credits. A path listed in
    `features` needs that plan. Out of credits, it answers 402 with the common JSON error
    shape (or with the recorded gate `gate`, to mimic a real provider); on a plan too low,
    402 `plan_limit_exceeded`. `POST /billing/top-up {"credits": n}` and
    `POST /billing/upgrade {"plan": p}` take effect `propagation` seconds later; so do
    `top_up()` and `upgrade()`. `GET /billing` reports the state.

    Args:
        credits: Spendable credits to start with.
        price: Credits per request.
        plan: The current plan.
        features: Path prefix -> plan required (plans rank in the order of `plans`).
        plans: Plan names from lowest to highest.
        propagation: Seconds before a top-up or upgrade takes effect.
        gate: Answer out-of-credits with this recorded gate (see `gate_names()`) instead of
            the common JSON shape.
        url: The base URL the provider answers on.
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
        url: str = "https://api.fake-provider.test",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.credits = credits
        self.price = price
        self.plan = plan
        self.features = dict(features or {})
        self.plans = plans
        self.propagation = propagation
        self.gate = gate
        self.url = url.rstrip("/")
        #: How many top-ups and upgrades were asked for.
        self.top_ups = 0
        self.upgrades = 0
        #: Every request received, in order.
        self.requests: list[httpx.Request] = []
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
        """An `httpx.MockTransport` answering as this provider."""
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answers `request`: a `MockTransport` handler, or a respx side effect."""
        body = request.read()
        status, payload, headers = self.answer(request.method, request.url.path, body)
        self.requests.append(request)
        if isinstance(payload, httpx.Response):
            return payload
        return httpx.Response(status, json=payload, headers=headers)

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
