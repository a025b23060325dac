"""A stateful fake of a paid API, for the recovery tests: credits, a top-up that takes a
while to propagate, and a record of every request it received."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx


class Account:
    """Credits that run out, and a top-up that shows only after `propagation` more requests.

    `handler` answers like a provider with the common JSON error shape: 200 while the account
    has credits, 402 `insufficient_credits` otherwise.
    """

    def __init__(self, *, credits: int = 0, price: int = 1, propagation: int = 0) -> None:
        self.credits = credits
        self.price = price
        self.propagation = propagation
        self.pending: list[tuple[int, int]] = []  # (requests still to see, credits)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.gated = 0
        self.retry_after: str | None = None
        self.on_gate: Callable[[int], None] | None = None
        self._lock = threading.Lock()

    def top_up(self, credits: int) -> None:
        """Adds credits, visible after `propagation` more requests."""
        with self._lock:
            self.pending.append((self.propagation, credits))

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            self.requests.append(request)
            self.bodies.append(body)
            still = []
            for remaining, credits in self.pending:
                if remaining <= 0:
                    self.credits += credits
                else:
                    still.append((remaining - 1, credits))
            self.pending = still
            if self.credits >= self.price:
                self.credits -= self.price
                return httpx.Response(200, json={"ok": True, "credits_remaining": self.credits})
            self.gated += 1
            gated = self.gated
        if self.on_gate is not None:
            self.on_gate(gated)
        headers = {"retry-after": self.retry_after} if self.retry_after else {}
        return httpx.Response(402, headers=headers, json=insufficient(self.credits, self.price))


class Metered:
    """A metered API that states its balance on every answer: 1 credit a call, the balance
    left in `X-Credits-Remaining`; a 402 `insufficient_credits` at 0 (the balance tests)."""

    def __init__(self, balance: int) -> None:
        self.balance = balance

    def charge(self, request: httpx.Request) -> httpx.Response:
        if self.balance < 1:
            return httpx.Response(
                402,
                headers={"X-Credits-Remaining": "0"},
                json={"error": {"code": "insufficient_credits", "message": "Insufficient credits"}},
            )
        self.balance -= 1
        return httpx.Response(200, headers={"X-Credits-Remaining": str(self.balance)}, json={})


def insufficient(available: int, required: int) -> dict[str, Any]:
    return {
        "error": {
            "code": "insufficient_credits",
            "message": "Not enough credits for this request.",
            "credits_required": required,
            "credits_available": available,
        }
    }


class VirtualClock:
    """Monotonic seconds that move only when a test, or a transport's `sleep`, moves them:
    give it to a coordinator (`clock=`) and its `sleep`/`asleep` to the transport, and a
    propagation window closes after its waits, with no real time passing."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.now += seconds


class Alerts:
    """A low-balance hook that records the alerts it is given. The hook runs off the request
    (a worker thread, or a task), so a test waits for the alerts it expects: `wait(count)`.
    Call it (a plain hook) or its `coroutine` (an async one)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, alert: Any) -> None:
        with self._changed:
            self.seen.append(alert)
            self._changed.notify_all()

    async def coroutine(self, alert: Any) -> None:
        self(alert)

    def wait(self, count: int, timeout: float = 10.0) -> list[Any]:
        """The alerts once at least `count` came (a failed assertion after `timeout`)."""
        with self._changed:
            came = self._changed.wait_for(lambda: len(self.seen) >= count, timeout)
            assert came, f"{len(self.seen)} low-balance alerts, not {count}"
            return list(self.seen)
