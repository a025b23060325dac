"""The recovery flow as a table of actions: a fake clock, no threads, no sleeps.

Each test drives `Recovery.flow` by hand, the way the transports do, and forces the
interleavings (two requests' flows stepped in a chosen order) instead of hoping for them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason, Retry, RetryPolicy, SpendPolicy
from http402._actions import (
    Gated,
    Held,
    Hold,
    KnownGate,
    Lifted,
    MarkGated,
    Release,
    Reserve,
    Send,
    Sent,
    Sleep,
    StartHook,
    Wait,
)
from http402._burn import LowBalanceAlarm
from http402._episodes import EpisodeBook, LocalCoordinator, Turn
from http402._exceptions import error_for
from http402._options import Options
from http402._recovery import Recovery
from http402.testing import gate as recorded_gate

URL = "https://api.example.com/v1/generate"
GATE = {"error": {"code": "insufficient_credits", "message": "Not enough credits."}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gated(request: httpx.Request, headers: dict[str, str] | None = None) -> Gated:
    response = httpx.Response(402, json=GATE, headers=headers, request=request)
    payment = http402.classify(response)
    assert payment is not None
    return Gated(error_for(payment, request=request, response=response))


def ok(request: httpx.Request) -> Sent:
    return Sent(httpx.Response(200, json={"ok": True}, request=request))


def recovery(hook: Any = None, **options: Any) -> Recovery:
    return Recovery(Options.build({"on_payment_required": hook, **options}, is_async=False))


class Driver:
    """Performs a flow's actions like a transport, on the fake clock.

    `respond(request, now)` answers each send; a started hook runs at once (or is held, to
    test waiting); a wait either finds its episode changed or lets the clock run out.
    """

    def __init__(
        self,
        recovery: Recovery,
        respond: Callable[[httpx.Request, float], Any],
        *,
        coordinator: LocalCoordinator | None = None,
        clock: Clock | None = None,
        hold_hooks: bool = False,
    ) -> None:
        self.clock = clock or Clock()
        self.coordinator = coordinator or LocalCoordinator(clock=self.clock)
        self.recovery = recovery
        self.respond = respond
        self.hold_hooks = hold_hooks
        self.actions: list[Any] = []
        self.held: list[StartHook] = []

    def start(self, url: str = URL) -> Any:
        return self.recovery.flow(httpx.Request("POST", url), self.coordinator)

    def step(self, flow: Any, answer: Any = None) -> Any:
        """One action of `flow`, performed; returns the next action (or raises)."""
        return flow.send(answer)

    def perform(self, action: Any) -> Any:
        self.actions.append(action)
        if isinstance(action, Send):
            return self.respond(action.request, self.clock.now)
        if isinstance(action, Sleep):
            self.clock.now += action.seconds
            return None
        if isinstance(action, StartHook):
            if self.hold_hooks:
                self.held.append(action)
            else:
                run_hook(action)
            return None
        if isinstance(action, Wait):
            if action.episode.version == action.seen and action.timeout is not None:
                self.clock.now += action.timeout
            return None
        if isinstance(action, KnownGate):
            return self.coordinator.gated(action.scope)
        if isinstance(action, MarkGated):
            return self.coordinator.mark_gated(action.scope, action.payment, action.ttl)
        if isinstance(action, Reserve):
            return action.policy.reserve(action.payment)
        if isinstance(action, (Held, Hold, Release)):
            return holding(self.coordinator, action)
        assert isinstance(action, Lifted)
        return None

    def past_held(self, flow: Any, action: Any) -> Any:
        """Performs the `Held` questions a leader asks before its hook (none is held here),
        and returns the action after them."""
        while isinstance(action, Held):
            action = flow.send(self.perform(action))
        return action

    def until(self, flow: Any, kind: type) -> Any:
        """Steps `flow`, performing its actions, up to the first of `kind` (not performed)."""
        action = flow.send(None)
        while not isinstance(action, kind):
            action = flow.send(self.perform(action))
        return action

    def run(self, url: str = URL) -> httpx.Response:
        flow = self.start(url)
        answer = None
        try:
            while True:
                answer = self.perform(flow.send(answer))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def kinds(self) -> list[str]:
        return [type(a).__name__ for a in self.actions]


def holding(coordinator: LocalCoordinator, action: Held | Hold | Release) -> Any:
    """Performs a hold's action as a shell does, on an in-process coordinator."""
    if isinstance(action, Held):
        held = (coordinator.held(action.scope, key) for key in action.keys)
        return next((record for record in held if record is not None), None)
    for key in action.keys:
        if isinstance(action, Hold):
            coordinator.hold(action.scope, key, action.record)
        else:
            coordinator.release(action.scope, key)
    return None


def run_hook(action: StartHook) -> None:
    call = action.call
    try:
        answer = call.done(call.hook(call.error))
    except Exception as exc:
        call.finish(None, exc)
    else:
        call.finish(answer, None)


def shows_after(seconds: float, hook_at: list[float]) -> Callable[[httpx.Request, float], Any]:
    """A provider whose billing shows `seconds` after the hook ran."""

    def respond(request: httpx.Request, now: float) -> Any:
        if hook_at and now >= hook_at[0] + seconds:
            return ok(request)
        return gated(request)

    return respond


def top_up_at(clock: Clock, hook_at: list[float], answer: Retry | None) -> Callable[..., Any]:
    def hook(error: http402.PaymentRequiredError) -> Retry | None:
        hook_at.append(clock.now)
        return answer

    return hook


class TestOneRequest:
    def test_the_scout_replays_on_the_geometric_schedule_until_billing_shows(self) -> None:
        """Send, hook, a replay at once, then sleeps of 0.25 x 1.3^k (+-10%) before each
        replay."""
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(within=60))),
            shows_after(2.0, hook_at),
            clock=clock,
        )
        response = driver.run()
        assert response.status_code == 200
        assert driver.kinds()[:3] == ["Send", "Held", "StartHook"]
        sleeps = [a.seconds for a in driver.actions if isinstance(a, Sleep)]
        assert sleeps == [pytest.approx(0.25 * 1.3**i, rel=0.11) for i in range(len(sleeps))]
        assert 2.0 <= clock.now < 2.0 + 1.5  # at most one step of the schedule late
        assert driver.kinds()[-2:] == ["Lifted", "Release"]  # a top-up's hold ends
        # Every send counts: the first, the replay at once, and one after each sleep.
        assert response.extensions["http402.replay"] == {"attempt": len(sleeps) + 2}

    def test_a_hint_starts_the_schedule_near_it(self) -> None:
        """`Retry(expected=30)`: the first replay waits 30 s, and gets through."""
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(expected=30))),
            shows_after(30.0, hook_at),
            clock=clock,
        )
        assert driver.run().status_code == 200
        assert [a.seconds for a in driver.actions if isinstance(a, Sleep)] == [30.0]

    def test_the_window_closes_and_the_error_is_built_once_with_every_field(self) -> None:
        """A gate that never lifts: the last error, with attempts and time waited, and it
        survives pickling whole."""
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(within=10))),
            shows_after(1e9, hook_at),
            clock=clock,
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            driver.run()
        error = caught.value
        sends = sum(isinstance(a, Send) for a in driver.actions)
        assert error.attempts == sends
        assert error.waited == pytest.approx(
            sum(a.seconds for a in driver.actions if isinstance(a, Sleep))
        )
        assert 10 - 4.4 < error.waited < 10  # no wait that would pass the window
        assert "gave up: window closed" in str(error)
        again = pickle.loads(pickle.dumps(error))
        assert (again.attempts, again.waited, str(again)) == (
            error.attempts,
            error.waited,
            str(error),
        )

    def test_a_declining_hook_raises_the_gate_as_it_was(self) -> None:
        driver = Driver(recovery(lambda e: None), lambda request, now: gated(request))
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            driver.run()
        assert caught.value.attempts == 1
        assert driver.kinds() == ["Send", "Held", "StartHook"]

    def test_a_body_that_cannot_be_replayed_gets_no_hook_and_says_why(self) -> None:
        """The reason is in the error when it is built, and it survives pickling."""
        flow = recovery(lambda e: Retry()).flow(
            httpx.Request("POST", URL, content=iter([b"x"])), LocalCoordinator()
        )
        action = flow.send(None)
        assert isinstance(action, Send)
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            flow.send(gated(action.request))
        assert caught.value.not_replayed is not None
        assert pickle.loads(pickle.dumps(caught.value)).not_replayed == caught.value.not_replayed

    def test_a_retry_after_is_never_anticipated(self) -> None:
        """`Retry-After: 20` on the gate: the first replay waits 20 s, not 0.25."""
        clock, hook_at = Clock(), []

        def respond(request: httpx.Request, now: float) -> Any:
            if hook_at and now >= hook_at[0] + 20:
                return ok(request)
            return gated(request, {"retry-after": "20"})

        driver = Driver(recovery(top_up_at(clock, hook_at, Retry(within=60))), respond, clock=clock)
        assert driver.run().status_code == 200
        assert [a.seconds for a in driver.actions if isinstance(a, Sleep)] == [20.0]

    def test_a_retry_after_beyond_the_window_raises_at_once_saying_when(self) -> None:
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(within=120))),
            lambda request, now: gated(request, {"retry-after": "3600"}),
            clock=clock,
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            driver.run()
        assert caught.value.payment.retry_after == 3600
        assert "retry after 3600 s, beyond the propagation window" in str(caught.value)
        assert driver.kinds() == ["Send"]  # no hook: nothing it bought could be used


class TestEpisodes:
    def test_a_lagging_replica_inside_the_window_replays_and_never_tops_up_again(self) -> None:
        """After a replay got through, a 402 from a replica one second behind joins the
        still-open episode."""
        clock, hook_at = Clock(), []
        replica = iter(range(1000))

        def respond(request: httpx.Request, now: float) -> Any:
            lag = 0.0 if next(replica) % 2 == 0 else 1.0
            if hook_at and now >= hook_at[0] + lag:
                return ok(request)
            return gated(request)

        driver = Driver(recovery(top_up_at(clock, hook_at, Retry(within=30))), respond, clock=clock)
        for _ in range(6):
            assert driver.run().status_code == 200
        assert len(hook_at) == 1

    def test_after_the_window_of_a_lifted_episode_a_new_exhaustion_tops_up_again(self) -> None:
        """Billing took, other requests spent it, the window closed: the gated request
        starts a new episode rather than fail."""
        clock, hook_at = Clock(), []
        state = {"credits": 0}

        def respond(request: httpx.Request, now: float) -> Any:
            if state["credits"] > 0:
                state["credits"] -= 1
                return ok(request)
            return gated(request)

        def hook(error: http402.PaymentRequiredError) -> Retry:
            hook_at.append(clock.now)
            state["credits"] += 1
            return Retry(within=5)

        driver = Driver(recovery(hook), respond, clock=clock)
        assert driver.run().status_code == 200
        state["credits"] = 0
        # Inside the open window, the next gated request replays; once the window closes
        # it leads a second episode.
        assert driver.run().status_code == 200
        assert len(hook_at) == 2 and hook_at[1] >= 5

    def test_one_scout_replays_and_the_others_go_once_it_gets_through(self) -> None:
        """Two requests of one episode: A scouts on the schedule, B waits, then B sends at
        once, with no sleep of its own."""
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(within=60))),
            shows_after(1.0, hook_at),
            clock=clock,
            hold_hooks=True,
        )
        a, b = driver.start(), driver.start()
        a_send, b_send = a.send(None), b.send(None)
        start_a = driver.past_held(a, a.send(driver.perform(a_send)))
        assert isinstance(start_a, StartHook)
        b_wait = b.send(driver.perform(b_send))
        assert isinstance(b_wait, Wait)  # B joined the running episode
        run_hook(start_a)  # the hook answers
        a_next = a.send(None)
        assert isinstance(a_next, Send)  # A is the scout: it replays at once
        b_next = b.send(None)
        assert isinstance(b_next, Wait)  # B waits for the scout
        while isinstance(a_next, (Sleep, Send)):
            a_next = a.send(driver.perform(a_next))
            if isinstance(a_next, Lifted):
                break
        assert isinstance(a_next, Lifted)
        assert b_next.episode.version != b_next.seen  # the lift woke B
        b_go = b.send(None)
        assert isinstance(b_go, Send)  # at once: no sleep
        with pytest.raises(StopIteration) as done:
            b.send(driver.perform(b_go))  # no second Lifted: A told the fleet
        assert done.value.value.status_code == 200
        assert len(hook_at) == 1

    def test_when_the_scout_is_cancelled_the_next_waiter_takes_over(self) -> None:
        clock, hook_at = Clock(), []
        driver = Driver(
            recovery(top_up_at(clock, hook_at, Retry(within=60))),
            shows_after(1e9, hook_at),
            clock=clock,
        )
        a, b = driver.start(), driver.start()
        a_action = driver.past_held(a, a.send(driver.perform(a.send(None))))  # StartHook
        b_action = b.send(driver.perform(b.send(None)))
        a_action = a.send(driver.perform(a_action))
        assert isinstance(a_action, Send)  # the scout replays at once
        assert isinstance(driver.perform(a_action), Gated)
        assert isinstance(b_action, Wait)
        a.close()  # the scout's caller is cancelled
        assert b_action.episode.version != b_action.seen
        assert isinstance(b.send(None), Send)  # B scouts now

    def test_every_waiter_of_a_failing_hook_gets_its_own_exception(self) -> None:
        boom = RuntimeError("billing API down")

        def hook(error: http402.PaymentRequiredError) -> Retry:
            raise boom

        driver = Driver(recovery(hook), lambda request, now: gated(request), hold_hooks=True)
        a, b = driver.start(), driver.start()
        start = driver.past_held(a, a.send(driver.perform(a.send(None))))
        a_wait = a.send(driver.perform(start))
        b_wait = b.send(driver.perform(b.send(None)))
        assert isinstance(a_wait, Wait) and isinstance(b_wait, Wait)
        run_hook(start)
        for flow in (a, b):
            with pytest.raises(RuntimeError) as caught:
                flow.send(None)
            assert caught.value is boom

    def test_after_hook_timeout_the_hook_still_counts_as_running(self) -> None:
        """The caller stops waiting with `TimeoutError`; a new request of the scope waits
        for the same hook instead of starting a second one."""
        clock = Clock()
        driver = Driver(
            recovery(lambda e: Retry(), hook_timeout=5.0),
            lambda request, now: gated(request),
            clock=clock,
            hold_hooks=True,
        )
        a = driver.start()
        wait = driver.past_held(a, a.send(driver.perform(a.send(None))))
        wait = a.send(driver.perform(wait))
        assert isinstance(wait, Wait) and wait.timeout == 5.0
        with pytest.raises(TimeoutError, match="still runs"):
            a.send(driver.perform(wait))
        b = driver.start()
        b_next = b.send(driver.perform(b.send(None)))
        assert isinstance(b_next, Wait)  # joined the running hook: no StartHook
        assert len(driver.held) == 1

    def test_preflight_fails_fast_unless_a_hook_of_the_scope_is_at_work(self) -> None:
        clock = Clock()
        driver = Driver(
            recovery(lambda e: Retry(), preflight=http402.Preflight(gate_ttl=60)),
            lambda request, now: gated(request),
            clock=clock,
            hold_hooks=True,
        )
        a = driver.start()
        action = a.send(driver.perform(a.send(None)))  # KnownGate -> None, then Send
        action = driver.past_held(a, a.send(driver.perform(action)))  # Gated -> MarkGated
        assert isinstance(action, MarkGated)
        assert action.payment.raw is not None
        a.send(driver.perform(action))  # StartHook, held
        stored = driver.coordinator.gated(action.scope)
        # A small payload is kept with the known gate, for the stand-in of a refusal; a large
        # one is not (`kept_payload`, tests/test_preflight.py).
        assert stored is not None and stored.raw == action.payment.raw
        b = driver.start()
        assert isinstance(b.send(driver.perform(b.send(None))), Send)  # a hook is running
        recovery_without_hook = recovery(preflight=http402.Preflight(gate_ttl=60))
        c = recovery_without_hook.flow(httpx.Request("POST", URL), driver.coordinator)
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            c.send(driver.perform(c.send(None)))
        assert caught.value.attempts == 0

    def test_a_known_gate_with_a_hook_lets_requests_go_to_join_the_fleets_episode(
        self,
    ) -> None:
        """Another process marked the gate and runs the hook: this process's requests are
        sent (and will join that episode), not refused; after a local hook declined, they
        fail fast again."""
        driver = Driver(
            recovery(lambda e: None, preflight=http402.Preflight(gate_ttl=60)),
            lambda request, now: gated(request),
        )
        request = httpx.Request("POST", URL)
        scope = driver.recovery.scope(request)
        payment = http402.classify(gated(request).error.response)
        assert payment is not None
        driver.coordinator.mark_gated(scope, payment, 60)
        first = driver.start()
        assert isinstance(first.send(driver.perform(first.send(None))), Send)
        with pytest.raises(http402.InsufficientCreditsError):
            driver.run()  # meets the gate, leads, and the hook declines
        again = driver.start()
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            again.send(driver.perform(again.send(None)))
        assert caught.value.attempts == 0


class TestSpendWindows:
    def challenge(self, request: httpx.Request, now: float) -> Any:
        if "x-payment" in request.headers:
            return ok(request)
        wire = recorded_gate("x402.v1")
        response = httpx.Response(402, headers=wire.headers, content=wire.content, request=request)
        payment = http402.classify(response)
        assert payment is not None
        return Gated(error_for(payment, request=request, response=response))

    def test_concurrent_challenges_reserve_before_paying_and_stay_within_the_window(
        self,
    ) -> None:
        """Three challenges reach their hooks at once against a window of two payments:
        the third is refused before its hook runs."""
        offer = http402.classify(recorded_gate("x402.v1"))
        assert offer is not None
        option = offer.payment_options[0]
        assert option.asset is not None and option.amount is not None
        policy = SpendPolicy(
            max_amount={option.asset: option.amount},
            max_per_window={option.asset: option.amount * 2},
        )
        driver = Driver(
            recovery(
                {Reason.PAYMENT_CHALLENGE: lambda e: Retry(headers={"X-PAYMENT": "proof"})},
                spend_policy=policy,
            ),
            self.challenge,
            hold_hooks=True,
        )
        flows = [driver.start() for _ in range(3)]
        starts = [driver.until(flow, StartHook) for flow in flows[:2]]
        with pytest.raises(http402.PaymentChallengeError, match="not paid"):
            driver.until(flows[2], StartHook)
        # A hook that declines gives its reservation back: a later challenge may pay.
        starts[0].call.hook = lambda e: None
        run_hook(starts[0])
        assert isinstance(driver.until(driver.start(), StartHook), StartHook)

    def test_a_pay_hook_that_raises_keeps_its_reservation_and_holds_the_offer(self) -> None:
        """A pay hook may raise after paying (the invoice paid, the preimage lookup failed):
        whether it paid is unknown, so the reservation stays spent, the offer is held, and
        `PaymentOutcomeUnknownError` says so, the hook's exception as its cause."""
        offer = http402.classify(recorded_gate("x402.v1"))
        assert offer is not None
        option = offer.payment_options[0]
        assert option.asset is not None and option.amount is not None
        policy = SpendPolicy(
            max_amount={option.asset: option.amount},
            max_per_window={option.asset: option.amount},
        )

        def broken(error: http402.PaymentRequiredError) -> Retry:
            raise ConnectionError("wallet unreachable")

        driver = Driver(
            recovery({Reason.PAYMENT_CHALLENGE: broken}, spend_policy=policy), self.challenge
        )
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            driver.run()
        assert isinstance(caught.value.__cause__, ConnectionError)
        assert caught.value.offer == option and not caught.value.held
        allowed, _ = policy.screen(offer)
        assert allowed == ()  # the window still counts what may have been paid
        with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
            driver.run()
        assert again.value.held  # the offer is not paid again until reconciled

    def test_a_pay_hook_that_declines_releases_its_reservation(self) -> None:
        """`None` is a pay hook's plain "nothing paid": the reservation is given back."""
        offer = http402.classify(recorded_gate("x402.v1"))
        assert offer is not None
        option = offer.payment_options[0]
        assert option.asset is not None and option.amount is not None
        policy = SpendPolicy(
            max_amount={option.asset: option.amount},
            max_per_window={option.asset: option.amount},
        )
        driver = Driver(
            recovery({Reason.PAYMENT_CHALLENGE: lambda e: None}, spend_policy=policy),
            self.challenge,
        )
        with pytest.raises(http402.PaymentChallengeError):
            driver.run()
        allowed, _ = policy.screen(offer)
        assert allowed  # the window is empty again


class TestBook:
    def test_open_windows_running_hooks_and_known_gates_are_never_forgotten(self) -> None:
        """A full table forgets only scopes that guard against nothing."""
        clock = Clock()
        book = EpisodeBook(clock, max_scopes=4, keep_closed=60)
        lead, running = book.join("running", book.mark())
        assert lead
        _, opened = book.join("open", book.mark())
        book.finish(opened, Retry(within=1000), None, 120)
        _, declined = book.join("idle", book.mark())
        book.finish(declined, None, None, 120)
        payment = http402.PaymentRequired(reason=Reason.INSUFFICIENT_CREDITS, provider="x")
        book.mark_gated("known", payment, 1000)
        clock.now = 100.0  # the idle scope's episode closed more than keep_closed ago
        book.join("new", book.mark())
        assert book.join("running", book.mark()) == (False, running)
        assert book.join("open", book.mark()) == (False, opened)
        assert book.gated("known") is not None
        assert book.join("idle", book.mark())[0]  # forgotten, so a new episode

    def test_the_table_stays_bounded_by_time(self) -> None:
        clock = Clock()
        book = EpisodeBook(clock, max_scopes=100, keep_closed=1)
        for i in range(10_000):
            _, episode = book.join(f"tenant-{i}", book.mark())
            book.finish(episode, None, None, 120)
            clock.now += 0.01
        assert len(book) <= 200

    @pytest.mark.parametrize("ending", ["raised", "declined", "topped up"])
    def test_a_book_is_quiet_only_when_renaming_its_scopes_loses_nothing(self, ending: str) -> None:
        """`quiet` (when a shell may take the fleet's scope key late): not while a hook runs,
        nor while a finished episode still answers the gates after it: a window open, or a
        hook that raised or declined less than `failure_hold` ago (case 83: renamed, the
        scope's failure hold lapsed and the hook ran again)."""
        clock = Clock()
        book = EpisodeBook(clock, failure_hold=10)
        assert book.quiet()
        _, episode = book.join("s", book.mark())
        assert not book.quiet()  # a hook runs
        retry = Retry(within=30) if ending == "topped up" else None
        error = RuntimeError("the card processor timed out") if ending == "raised" else None
        book.finish(episode, retry, error, 30)
        clock.now = 9.0
        assert not book.quiet()
        if retry is not None:
            book.lift(episode, "s")  # a replay got through: the top-up showed
            assert not book.quiet()  # its window is still open
        clock.now = 31.0
        assert book.quiet()

    def test_a_turn_after_the_window_is_closed(self) -> None:
        clock = Clock()
        book = EpisodeBook(clock)
        _, episode = book.join("s", book.mark())
        book.finish(episode, Retry(within=10), None, 120)
        assert book.turn(episode, "me") is Turn.SCOUT
        clock.now = 10.0
        assert book.turn(episode, "me") is Turn.CLOSED


def test_the_low_balance_state_is_bounded() -> None:
    """One entry per scope ever seen would grow for ever: the least recent are dropped."""
    alarm = LowBalanceAlarm(http402.LowBalanceWatch(lambda alert: None, below=10))
    for i in range(3000):
        alarm.check(f"https://tenant-{i}.example/", Decimal(5), i)
    assert len(alarm._detector._scopes) == len(alarm._estimator) == 1024


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_replays=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
