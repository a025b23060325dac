"""A deterministic simulation of the recovery flow under faults, run over many seeds.

Several requests of one account are driven as flows (the sans-IO generators of
`Recovery.flow`), interleaved by a seeded scheduler on a fake clock, against a paid API
whose top-ups land late or never, and whose answers to replays time out, come back as 5xx,
or are cut off by a cancellation. Hooks finish after a seeded delay, may decline or raise
(a wallet or a billing API may raise after the money moved). In some worlds the requests
are an SDK's calls: a call that raised is sent again, up to its `max_retries`, after the
SDK's backoff (up to 8 s), numbered in `x-stainless-retry-count` as openai and anthropic do.
The application sometimes reconciles a hold, or tops up by hand. Some accounts answer some
gates and replays with an edge's empty 402 (reason `unknown`) under one hook for every
reason; some priced worlds sign each send in the query (`timestamp`, `signature`) and price
it with a `Payment`-scheme offer that names no resource; in some, the low-balance hook runs
(buying, or only warning) at seeded times.

After every step and at the end of every run, the money invariants of `docs/safety.md` are
checked:

* no hook runs while its scope and key are held (a payment whose outcome is unknown, or a
  top-up that did not show, is never bought again until something changes);
* at most one hook of a scope and reason runs at a time, and an episode calls it once; at
  most one top-up hook of a scope runs at a time, whatever reasons, and none beside the
  low-balance hook's run;
* two purchases of a scope have, between them, a sign that the first took (a replay or a
  request to its endpoint got through) or a reconcile: a top-up that never shows is
  bought once, not once per window (after a hook that raised, the next burst may buy);
* one SDK call buys once: two purchases led by the attempts of one call have a sign or a
  reconcile between them, even when the first hook raised after buying;
* a priced request (an x402 challenge) is not paid while a payment of its offer has an
  unknown outcome that the application has not reconciled, and a proof reaches the server
  once at most (a proof whose request stopped waiting serves the next request, once);
* every unknown outcome is raised as `PaymentOutcomeUnknownError` with no proof in it;
* every flow ends (no request waits for ever), and every response it raises past is
  closed (by the shell, as here).

A seed that fails prints itself; keep it in `REGRESSIONS` once fixed.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

import http402
from http402 import Reason, Retry
from http402._actions import (
    Gated,
    Held,
    Hold,
    KnownGate,
    Lifted,
    MarkGated,
    NotSent,
    Release,
    Send,
    Sent,
    Sleep,
    StartHook,
    Wait,
)
from http402._episodes import LocalCoordinator
from http402._exceptions import error_for
from http402._holds import EPISODE_REASONS, top_up_key
from http402._options import Options
from http402._recovery import Recovery, episode_key

from .fakes import insufficient
from .test_flow import holding

URL = "https://api.example.com/v1/generate"
#: x402 v1's challenge as the spec shows it (tests/payloads, coinbase/x402).
CHALLENGE = json.loads(
    (Path(__file__).parent / "payloads" / "x402-v1-payment-requirements-body.json").read_text()
)["response"]["body"].encode()
#: A facilitator's pending settlement (see tests/test_recovery_holds.py for its sources).
PENDING = base64.b64encode(
    json.dumps(
        {"success": False, "errorReason": "settlement_pending", "transaction": "0x" + "ab" * 32}
    ).encode()
).decode()
#: Seeds run in the test suite, and seeds that once broke an invariant (kept as regressions).
SEEDS = range(400)
REGRESSIONS: list[int] = [897]
PROOF = "sim-proof-0123456789abcdef"
#: A `Payment`-scheme challenge (its `request` is base64url JSON) naming no resource: $5.
PAYMENT_SCHEME = (
    'Payment id="ch-1", realm="api.example.com", method="stripe", intent="charge", request="'
    + base64.urlsafe_b64encode(
        json.dumps({"amount": "500", "currency": "usd", "recipient": "acct_1M"}).encode()
    )
    .decode()
    .rstrip("=")
    + '"'
)
#: The hold keys of a top-up for either reason this simulation meets.
TOP_UP_KEYS = (top_up_key(Reason.INSUFFICIENT_CREDITS), top_up_key(Reason.UNKNOWN))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@attrs.define
class Purchase:
    at: float
    lifts_before: int
    settles_before: int
    call: int | None = None  # the SDK call whose attempt led it
    raised: bool = False  # the hook bought, then raised


@attrs.define(eq=False)
class Request:
    """One request's flow and what it waits for."""

    flow: Any
    number: int
    action: Any = None
    ready_at: float = 0.0
    waiting: Any = None  # (episode, seen) while it waits for an episode to change
    received: httpx.Response | None = None  # the last response sent to the flow
    done: bool = False
    outcome: str = ""
    call: int | None = None  # the SDK call it is an attempt of
    retry: int = 0  # which attempt of its call


class World:
    """The paid API, its billing, the hooks, the scheduler and the invariants, for one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        #: The kinds added since (wordless 402s, calls signed per send), drawn apart so that
        #: every seed's other choices stay as they were.
        self.kinds = random.Random(f"{seed}:kinds")
        self.seed = seed
        self.clock = Clock()
        self.coordinator = LocalCoordinator(clock=self.clock)
        self.book = self.coordinator.book
        self.within = self.rng.choice([5.0, 20.0, 60.0])
        #: A priced API (an x402 challenge per request, paid per request) or an account
        #: whose credits run out (topped up per episode).
        self.priced = self.rng.random() < 0.4
        hooks = {Reason.PAYMENT_CHALLENGE: self.pay} if self.priced else {}
        #: The account answers some gates and replays with an edge's empty 402 (reason
        #: `unknown`), and one hook serves every reason (cases 95, 135, 141).
        self.wordless = not self.priced and self.kinds.random() < 0.4
        if self.wordless:
            hooks = {Reason.UNKNOWN: self.hook}
        #: Each send is signed anew in its query (`?timestamp=...&signature=...`), and the
        #: price is a `Payment`-scheme offer naming no resource: its hold is the request's
        #: (case 131).
        self.signed = self.kinds.random() < 0.4
        self.sends = 0
        #: The low-balance hook tops up before the 402 (the README passes one purchase
        #: function to both hooks): its runs start at seeded times and last a while; the
        #: credits they buy land as each ends, or never (a hook that only warns). While one
        #: runs, no gate's hook may start (case 139).
        self.low_runs: list[tuple[float, float, bool]] = []
        if not self.priced and self.kinds.random() < 0.4:
            for _ in range(self.kinds.choice([1, 2, 3])):
                start = self.kinds.uniform(0.0, 4 * self.within)
                ends = start + self.kinds.uniform(0.0, 5.0)
                self.low_runs.append((start, ends, self.kinds.random() < 0.7))
        self.low_running: list[tuple[float, Any, bool]] = []  # (ends at, run, buys)
        #: A buying run's hook may say it bought (answer `Retry`): its top-up then lands
        #: late or never, as a gate's does, and counts as a purchase of the scope (a gate
        #: met while it propagates must not buy again). Drawn apart, as `kinds` is.
        self.low_says = random.Random(f"{seed}:low-balance says")
        self.recovery = Recovery(
            Options.build(
                {
                    "on_payment_required": {Reason.INSUFFICIENT_CREDITS: self.hook, **hooks},
                    "retry": http402.RetryPolicy(within=self.within),
                    "hook_timeout": self.rng.choice([None, 0.5, 2.0]),
                },
                is_async=False,
            )
        )
        self.payments = 0
        self.hook_calls = 0
        self.unknown = False  # a payment's outcome is unknown, and not reconciled yet
        self.delivered: dict[str, int] = {}  # proof -> times it reached the server
        self.credits = 0
        #: (time, credits) of top-ups still on their way.
        self.arrivals: list[tuple[float, int]] = []
        self.never_shows = self.rng.random() < 0.35
        #: The requests are an SDK's calls, re-sent after an error up to `max_retries`.
        self.max_retries = self.rng.choice([0, 0, 2, 5])
        self.fault_rate = self.rng.choice([0.0, 0.1, 0.3])
        self.cancel_rate = self.rng.choice([0.0, 0.05, 0.2])
        #: The 402s ask for a `Retry-After`: none, short, inside the hook's window, or past
        #: it (a window is then stretched for one replay, up to the retry policy's).
        waits = [None, None, 1, 4, int(0.8 * self.within), int(1.5 * self.within)]
        self.retry_after: int | None = self.rng.choice(waits)
        #: The top-up hook's own window, known once it answers: the policy's, or shorter.
        self.hook_within = self.rng.choice([self.within, self.within / 2])
        self.purchases: list[Purchase] = []
        self.lifts = 0  # signs that a top-up took: a replay, or a request, got through
        self.settles = 0  # reconciles, and top-ups by hand
        self.running: dict[str, int] = {}
        self.hooks: list[tuple[float, StartHook]] = []  # (finishes at, hook)
        self.requests: list[Request] = []
        self.unclosed: list[httpx.Response] = []
        self.errors: list[BaseException] = []
        #: Invariants broken while the run went (an assertion there would be thrown into
        #: the flow, as the shells throw what they meet).
        self.violations: list[str] = []

    # --- the paid API and its billing ------------------------------------------------

    def answer(self, request: httpx.Request) -> Any:
        if self.priced:
            return self.priced_answer(request)
        while self.arrivals and self.arrivals[0][0] <= self.clock.now:
            self.credits += heapq.heappop(self.arrivals)[1]
        replay = "http402.replay" in request.extensions
        if replay and self.rng.random() < self.fault_rate:
            fault = self.rng.choice(["timeout", "503", "reset"])
            if fault == "503":
                response = httpx.Response(503, request=request)
                self.unclosed.append(response)
                return Sent(response)
            raise httpx.ReadTimeout("timed out") if fault == "timeout" else httpx.ReadError("reset")
        if self.credits > 0:
            self.credits -= 1
            return Sent(httpx.Response(200, json={"ok": True}, request=request))
        headers = self.gate_headers()
        if self.wordless and self.kinds.random() < 0.5:
            headers["content-type"] = "text/html"
            response = httpx.Response(402, content=b"", headers=headers, request=request)
        else:
            response = httpx.Response(
                402, json=insufficient(0, 1), headers=headers, request=request
            )
        payment = http402.classify(response)
        assert payment is not None
        return Gated(error_for(payment, request=request, response=response))

    def priced_answer(self, request: httpx.Request) -> Any:
        proof = request.headers.get("x-payment")
        if proof is None:
            headers = self.gate_headers()
            if self.signed:
                headers["www-authenticate"] = PAYMENT_SCHEME
            content = b"" if self.signed else CHALLENGE
            response = httpx.Response(402, content=content, headers=headers, request=request)
            payment = http402.classify(response)
            assert payment is not None
            return Gated(error_for(payment, request=request, response=response))
        if self.rng.random() < self.fault_rate / 2:
            return NotSent(httpx.ConnectError("refused"))  # the proof never left
        self.delivered[proof] = self.delivered.get(proof, 0) + 1
        if self.rng.random() < self.fault_rate:
            fault = self.rng.choice(["timeout", "503", "pending"])
            if fault == "503":
                response = httpx.Response(503, request=request)
                self.unclosed.append(response)
                return Sent(response)
            if fault == "pending":
                headers = {"x-payment-response": PENDING}
                response = httpx.Response(402, content=CHALLENGE, headers=headers, request=request)
                payment = http402.classify(response)
                assert payment is not None
                return Gated(error_for(payment, request=request, response=response))
            raise httpx.ReadTimeout("timed out")
        return Sent(httpx.Response(200, json={"data": "premium"}, request=request))

    def gate_headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"retry-after": str(self.retry_after)}

    def pay(self, error: http402.PaymentRequiredError) -> Retry | None:
        self.hook_calls += 1
        roll = self.rng.random()
        if roll < 0.1:
            return None  # the wallet declines
        self.payments += 1
        if roll < 0.18:
            self.unknown = True  # the money moved; http402 cannot know
            raise ConnectionError("wallet: paid, then the preimage lookup failed")
        proof = f"{PROOF}-{self.payments}"
        return Retry(headers={"X-PAYMENT": proof}, paid=error.payment.payment_options[0])

    def hook(self, error: http402.PaymentRequiredError) -> Retry | None:
        self.hook_calls += 1
        roll = self.rng.random()
        call = self.call_of(error.request)
        if roll < 0.1:
            raise RuntimeError("the billing API is down")
        if roll < 0.15:
            return None
        bought = Purchase(self.clock.now, self.lifts, self.settles, call, raised=roll < 0.2)
        self.purchases.append(bought)
        if bought.raised:
            raise RuntimeError("bought, then the ledger write failed")
        if not self.never_shows:
            delay = self.rng.uniform(0.0, 1.5 * self.within)
            heapq.heappush(self.arrivals, (self.clock.now + delay, 5))
        return Retry(within=self.hook_within, headers={"X-Top-Up-Receipt": PROOF})

    # --- performing actions ----------------------------------------------------------

    def perform(self, request: Request) -> Any:
        action = request.action
        if isinstance(action, Send):
            return self.answer(action.request)
        if isinstance(action, StartHook) and not action.fleet:
            if self.unknown:
                self.violations.append("paid while a payment's outcome was unknown")
            self.hooks.append((self.clock.now + self.rng.uniform(0.0, 3.0), action))
            return None
        if isinstance(action, StartHook):
            key = action.scope
            if self.low_running:
                self.violations.append("a gate's hook started beside the low-balance top-up")
            if self.running.get(key, 0):
                self.violations.append(f"two hooks of {key} at once")
            if any(self.running.values()):  # one scope: a top-up for any reason runs
                self.violations.append("two top-ups of one scope at once")
            if any(self.coordinator.held(self.scope, key) for key in TOP_UP_KEYS):
                self.violations.append("a hook ran while its scope was held")
            self.running[key] = self.running.get(key, 0) + 1
            finishes = self.clock.now + self.rng.uniform(0.0, 3.0)
            self.hooks.append((finishes, action))
            return None
        if isinstance(action, Release):
            # A success that asked for what met the gate ended a top-up's hold: as much a
            # sign that the top-up took as a lift (seed 897: one did, and the oracle missed it).
            self.lifts += 1
        if isinstance(action, (Held, Hold, Release)):
            return holding(self.coordinator, action)
        if isinstance(action, Lifted):
            self.lifts += 1
            return None
        if isinstance(action, (KnownGate, MarkGated)):
            return None
        raise AssertionError(f"unexpected action {action!r}")

    @property
    def scope(self) -> str:
        return self.recovery.scope(httpx.Request("POST", URL))

    def call_of(self, request: httpx.Request) -> int | None:
        call = request.headers.get("x-sim-call")  # a replay's body may not be read
        return None if call is None else int(call)

    def attempt(self, call: int, retry: int) -> Request:
        """An attempt of call `call` (SDK worlds), or a plain request; signed anew for each
        send in worlds that sign (a fresh `timestamp` and `signature`)."""
        url = URL
        if self.signed:
            self.sends += 1
            url = f"{URL}?timestamp={1733370000000 + self.sends}&signature={self.sends:032x}"
        if self.max_retries:
            headers = {"x-stainless-retry-count": str(retry), "x-sim-call": str(call)}
            request = httpx.Request("POST", url, content=f"call-{call}", headers=headers)
        else:
            request = httpx.Request("POST", url)
        flow = self.recovery.flow(request, self.coordinator)
        return Request(flow, len(self.requests), call=call, retry=retry)

    def step(
        self, request: Request, answer: Any = None, error: BaseException | None = None
    ) -> None:
        try:
            if error is not None:
                request.action = request.flow.throw(error)
            else:
                request.action = request.flow.send(answer)
        except StopIteration as done:
            request.done, request.outcome = True, "ok"
            response = done.value
            response.close()
            return
        except BaseException as raised:
            request.done = True
            request.outcome = type(raised).__name__
            self.errors.append(raised)
            if (
                request.retry < self.max_retries
                and request.call is not None
                and not isinstance(raised, asyncio.CancelledError)
            ):
                # The SDK sends the call again after its backoff (anthropic re-sends what the
                # transport raised, as a connection error).
                backoff = self.rng.uniform(0.375, 8.0)
                self.retries.append((self.clock.now + backoff, request.call, request.retry + 1))
            if isinstance(raised, http402.PaymentOutcomeUnknownError) and not raised.held:
                self.unknown = self.unknown or self.priced
            if request.received is not None:  # as a shell does with a response it lost
                request.received.close()
            return
        action = request.action
        if isinstance(action, Sleep):
            request.ready_at = self.clock.now + action.seconds
        elif isinstance(action, Wait):
            request.waiting = (action.episode, action.seen)
            timeout = action.timeout if action.timeout is not None else 1e9
            request.ready_at = self.clock.now + timeout
        else:
            request.ready_at = self.clock.now

    def runnable(self, request: Request) -> bool:
        if request.done:
            return False
        if request.waiting is not None:
            episode, seen = request.waiting
            if episode.version != seen:
                return True
        return request.ready_at <= self.clock.now

    # --- the run ---------------------------------------------------------------------

    def run(self, requests: int = 8) -> None:
        starts = sorted(self.rng.uniform(0.0, 4 * self.within) for _ in range(requests))
        pending = [(at, call, 0) for call, at in enumerate(starts)]
        self.retries: list[tuple[float, int, int]] = []
        for _ in range(200_000):
            self.finish_hooks()
            self.low_balance()
            self.application()
            pending = sorted(pending + self.retries)
            self.retries = []
            while pending and pending[0][0] <= self.clock.now:
                _, call, retry = pending.pop(0)
                request = self.attempt(call, retry)
                self.requests.append(request)
                self.step(request)
                pending = sorted(pending + self.retries)
                self.retries = []
            ready = [r for r in self.requests if self.runnable(r)]
            if ready:
                request = self.rng.choice(ready)
                request.waiting = None
                if isinstance(request.action, (Sleep, Wait)):
                    self.step(request)
                elif isinstance(request.action, Send) and self.rng.random() < self.cancel_rate:
                    # Cancelled with a paid replay under way: its outcome is unknown too.
                    self.unknown = self.unknown or "x-payment" in request.action.request.headers
                    self.step(request, error=asyncio.CancelledError())
                else:
                    try:
                        answer = self.perform(request)
                    except Exception as exc:
                        self.step(request, error=exc)
                    else:
                        if isinstance(answer, Sent):
                            request.received = answer.response
                        self.step(request, answer)
                continue
            times = [r.ready_at for r in self.requests if not r.done]
            times += [at for at, _ in self.hooks] + [at for at, _, _ in pending[:1]]
            times += [at for at, _, _ in self.low_runs] + [at for at, _, _ in self.low_running]
            if not times:
                break
            self.clock.now = max(self.clock.now, min(times))
        else:
            raise AssertionError(f"seed {self.seed}: the run did not end")
        self.check()

    def low_balance(self) -> None:
        """Starts and ends the low-balance hook's runs whose time came, as the shells do: a
        crossing met while a top-up of the scope is under way calls no hook
        (`EpisodeBook.topping_up`); a hook that bought and says so (`Retry`) ends its run
        as the scope's credits top-up, whose credits land late or never."""
        for ends, run, buys in [r for r in self.low_running if r[0] <= self.clock.now]:
            self.low_running.remove((ends, run, buys))
            if buys and self.low_says.random() < 0.5:
                self.purchases.append(Purchase(self.clock.now, self.lifts, self.settles))
                if not self.never_shows:
                    delay = self.rng.uniform(0.0, 1.5 * self.within)
                    heapq.heappush(self.arrivals, (self.clock.now + delay, 5))
                key = episode_key(self.scope, Reason.INSUFFICIENT_CREDITS)
                said = Retry(within=self.hook_within)
                self.book.low_balance_ended(run, said, key, Decimal(self.credits))
                continue
            if buys:
                self.credits += 5
            self.book.low_balance_ended(run)
        for start, ends, buys in [r for r in self.low_runs if r[0] <= self.clock.now]:
            self.low_runs.remove((start, ends, buys))
            keys = [episode_key(self.scope, reason) for reason in EPISODE_REASONS]
            run = self.book.low_balance_started(self.scope, keys)
            if run is not None:  # none while a top-up of the scope is under way
                self.low_running.append((ends, run, buys))

    def finish_hooks(self) -> None:
        for at, action in [h for h in self.hooks if h[0] <= self.clock.now]:
            self.hooks.remove((at, action))
            call = action.call
            if action.fleet:
                self.running[action.scope] -= 1
            try:
                answer = call.done(call.hook(call.error))
            except Exception as exc:
                call.finish(None, exc)
            else:
                call.finish(answer, None)

    def application(self) -> None:
        """Now and then the application reconciles what a hold stands for."""
        if self.rng.random() < 0.002 and self.coordinator.holds:
            self.coordinator.release(self.scope)
            self.settles += 1
            self.unknown = False

    def check(self) -> None:
        assert not self.violations, f"seed {self.seed}: {self.violations[0]}"
        assert all(r.done for r in self.requests), f"seed {self.seed}: a request never ended"
        for previous, purchase in zip(self.purchases, self.purchases[1:], strict=False):
            took = purchase.lifts_before > previous.lifts_before
            settled = purchase.settles_before > previous.settles_before
            assert took or settled or previous.raised, (
                f"seed {self.seed}: bought again at {purchase.at:.1f} s with no sign that the "
                f"top-up of {previous.at:.1f} s took (never_shows={self.never_shows})"
            )
        by_call: dict[int, list[Purchase]] = {}
        for purchase in self.purchases:
            if purchase.call is not None:
                by_call.setdefault(purchase.call, []).append(purchase)
        for call, bought in by_call.items():
            for previous, purchase in itertools.pairwise(bought):
                took = purchase.lifts_before > previous.lifts_before
                settled = purchase.settles_before > previous.settles_before
                assert took or settled, (
                    f"seed {self.seed}: the SDK's retries of call {call} bought again at "
                    f"{purchase.at:.1f} s (first at {previous.at:.1f} s, raised={previous.raised})"
                )
        if self.retry_after is not None and self.retry_after >= self.within:
            assert self.hook_calls == 0, (
                f"seed {self.seed}: a hook ran for a Retry-After of {self.retry_after} s, "
                f"at or past the retry policy's {self.within:g} s window"
            )
        for error in self.errors:
            assert PROOF not in str(error) + repr(error)
        reused = [proof for proof, times in self.delivered.items() if times > 1]
        assert not reused, f"seed {self.seed}: a proof reached the server twice: {reused}"
        assert all(response.is_closed for response in self.unclosed), (
            f"seed {self.seed}: a 5xx to a topped-up replay was left open"
        )


@pytest.mark.parametrize("seed", [*REGRESSIONS, *SEEDS])
def test_the_money_invariants_hold_under_faults(seed: int) -> None:
    """One seeded run: requests, faults, cancellations and reconciles; every invariant."""
    World(seed).run()


def test_the_simulation_sees_a_repeat_purchase() -> None:
    """The check is worth something: a world whose hook is called twice with no sign in
    between that the first top-up took fails it."""
    world = World(0)
    world.purchases = [Purchase(0.0, 0, 0), Purchase(100.0, 0, 0)]
    with pytest.raises(AssertionError, match="bought again"):
        world.check()


def test_the_runs_cover_the_faults() -> None:
    """Across the seeds, the runs meet every kind of fault and outcome they are meant to."""
    seen: set[str] = set()
    purchases = payments = raised = sdk_retries = stretched = 0
    for seed in range(120):
        world = World(seed)
        world.run()
        seen |= {r.outcome for r in world.requests}
        purchases += len(world.purchases)
        payments += world.payments
        raised += sum(p.raised for p in world.purchases)
        sdk_retries += sum(r.retry > 0 for r in world.requests)
        # A top-up hook answered a window shorter than the gate's wait: its window is
        # stretched for a replay after the wait.
        if world.retry_after is not None and world.retry_after > world.hook_within:
            stretched += len(world.purchases)
    outcomes = {"ok", "PaymentOutcomeUnknownError", "CancelledError", "InsufficientCreditsError"}
    assert outcomes | {"PaymentChallengeError", "TimeoutError"} <= seen
    assert purchases > 50 and payments > 50
    assert raised > 0 and sdk_retries > 30 and stretched > 0
