"""A feature costs something only when it can act: what a response that is no gate skips,
what a recovery reuses, and what is never left open.

Speed itself is measured in `benchmarks/overhead.py` and `benchmarks/recovery.py`; these
tests check the behaviour that makes it cheap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest

import http402
import http402._async_transport
import http402._shell
import http402._transport
import http402.httpx2
from http402._episodes import EpisodeBook

from .fakes import Alerts

URL = "https://api.example.com/v1/generate"
GATE = {"error": {"code": "insufficient_credits", "message": "Not enough credits."}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingScope:
    """A scope function that counts how often a transport asks for a scope."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: httpx.Request) -> str:
        self.calls += 1
        return "acme"


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
    return http402.Retry()


class TestNoScopeForAResponseThatIsNoGate:
    def test_a_hook_costs_no_scope_on_a_200(self) -> None:
        scope = CountingScope()
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(ok), on_payment_required=top_up, scope=scope
        )
        with httpx.Client(transport=transport) as client:
            for _ in range(3):
                assert client.get(URL).status_code == 200
        assert scope.calls == 0

    def test_a_known_gate_memory_asks_for_a_scope_only_once_a_gate_is_known(self) -> None:
        """With `Preflight(gate_ttl=...)`, requests compute their scope only while some gate
        is known: after the first gate, until the TTL runs out."""
        clock, scope, gated = Clock(), CountingScope(), [False]

        def provider(request: httpx.Request) -> httpx.Response:
            return httpx.Response(402, json=GATE) if gated[0] else httpx.Response(200)

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider),
            preflight=http402.Preflight(gate_ttl=30),
            scope=scope,
            coordinator=http402.LocalCoordinator(clock=clock),
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
            assert scope.calls == 0
            gated[0] = True
            with pytest.raises(http402.InsufficientCreditsError):
                client.get(URL)  # the gate is met: its scope is remembered
            gated[0] = False
            with pytest.raises(http402.InsufficientCreditsError) as refused:
                client.get(URL)
            assert refused.value.attempts == 0 and scope.calls == 2
            clock.now = 31.0  # the TTL ran out: no gate is known any more
            client.get(URL)
            client.get(URL)
        assert scope.calls == 2  # past the TTL, no look at all

    @pytest.mark.anyio
    async def test_the_async_transport_skips_the_scope_alike(self) -> None:
        scope = CountingScope()
        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(ok),
            on_payment_required=top_up,
            preflight=http402.Preflight(gate_ttl=30),
            low_balance=http402.LowBalanceWatch(print, below=1),
            scope=scope,
        )
        async with httpx.AsyncClient(transport=transport) as client:
            assert (await client.get(URL)).status_code == 200
        assert scope.calls == 0


class TestWallClocks:
    """A request's mark carries a wall clock only for a coordinator that reads it: one
    whose `run_episode` elects across processes compares it with when an episode ended
    elsewhere, so it is read as the request is sent; an in-process one reads none."""

    class Clock:
        def __init__(self) -> None:
            self.now, self.reads = 100.0, 0

        def __call__(self) -> float:
            self.reads += 1
            return self.now

    class Electing(http402.LocalCoordinator):
        def __init__(self) -> None:
            super().__init__()
            self.walls: list[float] = []

        def run_episode(self, scope: str, sent: Any, run_hook: Any, window: float) -> Any:
            self.walls.append(sent.wall)
            return run_hook()

    class AsyncElecting(http402.AsyncLocalCoordinator):
        def __init__(self) -> None:
            super().__init__()
            self.walls: list[float] = []

        async def run_episode(self, scope: str, sent: Any, run_hook: Any, window: float) -> Any:
            self.walls.append(sent.wall)
            return await run_hook()

    def _provider(self, clock: TestWallClocks.Clock) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            clock.now = 200.0  # the gate arrives later than its request was sent
            return httpx.Response(402, json=GATE)

        return httpx.MockTransport(answer)

    def test_an_in_process_coordinator_reads_no_clock_on_a_200(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = self.Clock()
        monkeypatch.setattr(http402._transport, "_wall", clock)
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(ok), on_payment_required=top_up
        )
        with httpx.Client(transport=transport) as client:
            assert client.get(URL).status_code == 200
        assert clock.reads == 0

    def test_an_electing_coordinator_gets_the_wall_clock_of_the_send(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock, coordinator = self.Clock(), self.Electing()
        monkeypatch.setattr(http402._transport, "_wall", clock)
        transport = http402.PaymentRequiredTransport(
            self._provider(clock), on_payment_required=lambda error: None, coordinator=coordinator
        )
        with (
            httpx.Client(transport=transport) as client,
            pytest.raises(http402.InsufficientCreditsError),
        ):
            client.get(URL)
        assert coordinator.walls == [100.0]

    @pytest.mark.anyio
    async def test_the_async_transport_reads_clocks_alike(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock, coordinator = self.Clock(), self.AsyncElecting()
        monkeypatch.setattr(http402._async_transport, "_wall", clock)
        plain = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(ok), on_payment_required=top_up
        )
        async with httpx.AsyncClient(transport=plain) as client:
            assert (await client.get(URL)).status_code == 200
        assert clock.reads == 0

        async def decline(error: http402.PaymentRequiredError) -> None:
            return None

        electing = http402.AsyncPaymentRequiredTransport(
            self._provider(clock), on_payment_required=decline, coordinator=coordinator
        )
        async with httpx.AsyncClient(transport=electing) as client:
            with pytest.raises(http402.InsufficientCreditsError):
                await client.get(URL)
        assert coordinator.walls == [100.0]


class TestKnownGates:
    def test_the_book_says_when_no_gate_is_known(self) -> None:
        clock = Clock()
        book = EpisodeBook(clock)
        payment = http402.classify(
            httpx.Response(402, json=GATE, request=httpx.Request("GET", URL))
        )
        assert payment is not None
        assert not book.knows_gates()
        book.mark_gated("a", payment, 10)
        book.mark_gated("a", payment, 10)  # the same scope again counts once
        book.mark_gated("b", payment, 5)
        assert book.knows_gates()
        book.forget_gate("a")
        assert book.knows_gates()
        _, episode = book.join("b|x", book.mark())
        book.lift(episode, "b")
        assert not book.knows_gates()
        book.mark_gated("c", payment, 5)
        clock.now = 5.0
        assert not book.knows_gates()  # expired, though not looked up yet
        assert book.gated("c") is None

    def test_the_book_says_when_a_response_may_settle_something(self) -> None:
        """The shells read one flag after a response got through, not the book's mappings:
        it follows them through every change."""
        book = EpisodeBook(Clock())
        assert not book.settling_now
        book.holds.hold("a", "top-up:x", "{}")
        book.holds.hold("b", "top-up:x", "{}", shared=True)
        assert book.settling_now and book.settling
        book.holds.release("a", "top-up:x")
        assert book.settling_now
        assert book.holds.settle("b", "top-up:x", None) == (None, False)  # released elsewhere
        assert not book.settling_now and not book.settling
        book.holds.settle("c", "top-up:x", "{}")  # the store's hold is kept here
        assert book.settling_now
        book.holds.release("c")
        assert not book.settling_now
        for scope in ("s|1", "s|2"):
            _, episode = book.join(scope, book.mark())
            book.finish(episode, http402.Retry(within=60), None, 120.0)
        assert book.settling_now and book.settling
        book.lift(episode, "s")
        assert book.settling_now
        book.holds.hold("d", "top-up:x", "{}")
        book.settled("s")  # the top-ups are settled; the hold still stands
        assert book.settling_now and book.settling
        book.holds.release("d")
        assert not book.settling_now and not book.settling

    def test_a_fleet_coordinator_is_always_asked(self) -> None:
        """A coordinator that cannot tell at no cost may know another process's gate."""

        class Fleet(http402.LocalCoordinator):
            keeps_gates_here = False

        asked: list[str] = []

        class Counting(Fleet):
            def gated(self, scope: str) -> http402.PaymentRequired | None:
                asked.append(scope)
                return None

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(ok),
            preflight=http402.Preflight(gate_ttl=30),
            coordinator=Counting(),
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert len(asked) == 1


class TestBalanceHeaders:
    def test_names_are_matched_whatever_their_case_and_in_the_watch_s_order(self) -> None:
        fired = Alerts()

        def provider(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"X-Second": "3", "x-FIRST": "not a number"})

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider),
            low_balance=http402.LowBalanceWatch(fired, below=5, headers=("x-first", "X-Second")),
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert [alert.balance for alert in fired.wait(1)] == [Decimal(3)]

    def test_headers_kept_another_way_are_read_name_by_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Where a library's `Headers` keep no `_list` like httpx's, each response is read
        with `headers.get`, and the watch still fires."""
        fired = Alerts()
        monkeypatch.setattr(http402._shell, "_keeps_header_list", lambda http: False)
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda r: httpx.Response(200, headers={"X-Balance": "2"})),
            low_balance=http402.LowBalanceWatch(fired, below=5, headers=("x-balance",)),
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert [alert.balance for alert in fired.wait(1)] == [Decimal(2)]

    def test_a_watch_of_many_headers_finds_each_of_them(self) -> None:
        """A few names are compared one by one on the hot path; past `_FEW_NAMES`, a set is
        asked: each name is found either way."""
        names = tuple(f"X-Balance-{i}" for i in range(8))
        for name in names:
            fired = Alerts()
            transport = http402.PaymentRequiredTransport(
                httpx.MockTransport(lambda r, name=name: httpx.Response(200, headers={name: "2"})),
                low_balance=http402.LowBalanceWatch(fired, below=5, headers=names),
            )
            assert isinstance(transport._watched_on_200, frozenset)
            with httpx.Client(transport=transport) as client:
                client.get(URL)
            assert [alert.balance for alert in fired.wait(1)] == [Decimal(2)], name

    def test_a_response_without_them_calls_nothing(self) -> None:
        fired: list[http402.LowBalance] = []
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(ok), low_balance=http402.LowBalanceWatch(fired.append, below=5)
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert fired == []


#: Responses that are no gate and ones that may be, for `TestOneCheckEverywhere`.
LOOKED_AT_OR_NOT = [
    (200, {"content-type": "application/json"}),
    (200, {"content-type": "text/event-stream"}),
    (200, {"Content-Type": " Text/Event-Stream; charset=utf-8"}),
    (200, {"content-type": "text/html"}),
    (200, {"X-Credits-Remaining": "3"}),
    (200, {}),
    (201, {"content-type": "text/event-stream", "x-credit-balance": "3"}),
    (404, {"content-type": "text/plain"}),
    (429, {}),
    (402, {}),
    (500, {"x-balance-remaining": "1"}),
]
CONFIGURATIONS = {
    "default": {},
    "low_balance": {"low_balance": http402.LowBalanceWatch(print, below=1)},
    "no peeking": {"peek_streams": False},
    "hook": {"on_payment_required": top_up},
    "everything": {
        "on_payment_required": top_up,
        "preflight": http402.Preflight(gate_ttl=30),
        "low_balance": http402.LowBalanceWatch(print, below=1),
    },
}


def _answering(status: int, headers: dict[str, str]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, headers=headers))


class _Looks:
    """Stands in for a shell's `_inspect` and `_looked_at`: notes the response, hands it on."""

    def __init__(self) -> None:
        self.at: list[int] = []

    def __call__(
        self, request: httpx.Request, response: httpx.Response, *sent: int
    ) -> httpx.Response:
        self.at.append(response.status_code)
        return response

    async def awaited(
        self, request: httpx.Request, response: httpx.Response, *sent: int
    ) -> httpx.Response:
        return self(request, response)


class TestOneCheckEverywhere:
    """The shells check each response inline on their hot path; the replay loop calls
    `Shell._passes`. Both must stop exactly the same responses."""

    @pytest.mark.parametrize("scan", [True, False], ids=["header list", "headers by name"])
    @pytest.mark.parametrize("configuration", CONFIGURATIONS)
    def test_the_sync_hot_path_looks_at_what_passes_stops(
        self, configuration: str, scan: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(http402._shell, "_keeps_header_list", lambda http: scan)
        for status, headers in LOOKED_AT_OR_NOT:
            transport = http402.PaymentRequiredTransport(
                _answering(status, headers), **CONFIGURATIONS[configuration]
            )
            looked = _Looks()
            transport._inspect = transport._looked_at = looked  # type: ignore[method-assign]
            response = transport.handle_request(httpx.Request("GET", URL))
            assert bool(looked.at) is not transport._passes(response), (status, headers)

    @pytest.mark.anyio
    @pytest.mark.parametrize("scan", [True, False], ids=["header list", "headers by name"])
    @pytest.mark.parametrize("configuration", CONFIGURATIONS)
    async def test_the_async_hot_path_looks_at_what_passes_stops(
        self, configuration: str, scan: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(http402._shell, "_keeps_header_list", lambda http: scan)
        for status, headers in LOOKED_AT_OR_NOT:
            transport = http402.AsyncPaymentRequiredTransport(
                _answering(status, headers), **CONFIGURATIONS[configuration]
            )
            looked = _Looks()
            transport._inspect = transport._looked_at = looked.awaited  # type: ignore[method-assign]
            response = await transport.handle_async_request(httpx.Request("GET", URL))
            assert bool(looked.at) is not transport._passes(response), (status, headers)

    def test_a_json_200_is_not_looked_at_by_default(self) -> None:
        """The check has teeth: the commonest response passes untouched."""
        transport = http402.PaymentRequiredTransport(httpx.MockTransport(ok))
        assert transport._passes(transport.handle_request(httpx.Request("GET", URL)))


class _CountingLooks:
    """Wraps a shell's `_looked_at`: counts the responses it is given, then reads them."""

    def __init__(self, transport: Any) -> None:
        self.calls, self._real = 0, transport._looked_at

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self._real(*args)

    async def awaited(self, *args: Any) -> Any:
        self.calls += 1
        return await self._real(*args)


def _typed(content_type: str) -> httpx.MockTransport:
    body = b"data: {}\n\n" if "event-stream" in content_type else b"{}"
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": content_type}, content=body)
    )


class TestContentTypesMetBefore:
    """A 200's content type is judged once: a type met before and found no event stream
    passes the hot path with one lookup; an event stream is looked at every time."""

    @pytest.fixture(autouse=True)
    def _forget_types(self) -> None:
        http402._shell.NOT_STREAMS.clear()

    def test_a_json_200_is_looked_at_once(self) -> None:
        transport = http402.PaymentRequiredTransport(_typed("application/json"))
        looks = transport._looked_at = _CountingLooks(transport)  # type: ignore[method-assign]
        for _ in range(3):
            assert transport.handle_request(httpx.Request("GET", URL)).status_code == 200
        assert looks.calls == 1
        assert transport._passes(transport.handle_request(httpx.Request("GET", URL)))

    def test_an_event_stream_is_never_remembered(self) -> None:
        transport = http402.PaymentRequiredTransport(_typed(" Text/Event-Stream; charset=utf-8"))
        looks = transport._looked_at = _CountingLooks(transport)  # type: ignore[method-assign]
        for _ in range(3):
            transport.handle_request(httpx.Request("GET", URL)).read()
        assert looks.calls == 3 and http402._shell.NOT_STREAMS == {}

    def test_a_gate_in_a_stream_is_found_after_json_200s(self) -> None:
        gated = [False]

        def provider(request: httpx.Request) -> httpx.Response:
            if not gated[0]:
                return httpx.Response(200, json={"ok": True})
            event = b'event: error\ndata: {"error": {"code": "insufficient_credits"}}\n\n'
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=event)

        with httpx.Client(
            transport=http402.PaymentRequiredTransport(httpx.MockTransport(provider))
        ) as client:
            client.get(URL)
            client.get(URL)
            gated[0] = True
            with pytest.raises(http402.InsufficientCreditsError):
                client.get(URL)

    def test_a_type_judged_by_another_transport_passes_with_no_look(self) -> None:
        http402.PaymentRequiredTransport(_typed("application/json")).handle_request(
            httpx.Request("GET", URL)
        )
        transport = http402.PaymentRequiredTransport(_typed("application/json"))
        looks = transport._looked_at = _CountingLooks(transport)  # type: ignore[method-assign]
        for _ in range(3):
            assert transport.handle_request(httpx.Request("GET", URL)).status_code == 200
        assert looks.calls == 0

    def test_types_met_in_turn_are_each_judged_once_and_a_stream_every_time(self) -> None:
        """A transport compares a 200's type with the one it judged last before it asks
        `NOT_STREAMS`: alternating types pass as well, and an event stream never does."""
        types = ["application/json", "text/html", "text/event-stream"] * 3
        served = iter(types)

        def provider(request: httpx.Request) -> httpx.Response:
            return _typed(next(served)).handler(request)  # type: ignore[no-any-return]

        transport = http402.PaymentRequiredTransport(httpx.MockTransport(provider))
        looks = transport._looked_at = _CountingLooks(transport)  # type: ignore[method-assign]
        for _ in types:
            transport.handle_request(httpx.Request("GET", URL)).read()
        assert looks.calls == 2 + 3

    def test_the_types_kept_are_bounded(self) -> None:
        for n in range(3 * http402._shell._MAX_NOT_STREAMS):
            transport = http402.PaymentRequiredTransport(_typed(f"application/x-{n}"))
            transport.handle_request(httpx.Request("GET", URL))
            assert len(http402._shell.NOT_STREAMS) <= http402._shell._MAX_NOT_STREAMS
        long = "application/" + "x" * http402._shell._MAX_CONTENT_TYPE
        http402.PaymentRequiredTransport(_typed(long)).handle_request(httpx.Request("GET", URL))
        assert long.encode() not in http402._shell.NOT_STREAMS

    def test_a_balance_header_is_read_whatever_content_types_came_before(self) -> None:
        """The hot path asks a watched header only whether its value is a type met before;
        a type without a '/' is never kept, so a balance that reads like it is still read."""
        fired = Alerts()
        balance = [False]

        def provider(request: httpx.Request) -> httpx.Response:
            headers = {"content-type": "42"}
            if balance[0]:
                headers["x-credits-remaining"] = "42"
            return httpx.Response(200, headers=headers, content=b"{}")

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider), low_balance=http402.LowBalanceWatch(fired, below=50)
        )
        transport.handle_request(httpx.Request("GET", URL))
        assert http402._shell.NOT_STREAMS == {}
        balance[0] = True
        transport.handle_request(httpx.Request("GET", URL))
        assert [alert.balance for alert in fired.wait(1)] == [Decimal(42)]

    @pytest.mark.anyio
    async def test_the_async_transport_judges_a_type_once_too(self) -> None:
        transport = http402.AsyncPaymentRequiredTransport(_typed("application/json"))
        looks = _CountingLooks(transport)
        transport._looked_at = looks.awaited  # type: ignore[method-assign]
        for _ in range(3):
            response = await transport.handle_async_request(httpx.Request("GET", URL))
            assert response.status_code == 200
        assert looks.calls == 1


class TestFewAttributes:
    """CPython keeps the attributes of a class's instances in one array whose names the class
    shares, which the hot path's specialized attribute loads read, for at most 30 names
    (`SHARED_KEYS_MAX_SIZE`): a 31st gives every instance a dict of its own, and each
    attribute read on every response becomes a dict lookup. Options a response never
    needs are read from `_options` instead of copied onto the transport."""

    @pytest.mark.parametrize("configuration", CONFIGURATIONS)
    def test_a_transport_stays_under_the_shared_keys_limit(self, configuration: str) -> None:
        options = CONFIGURATIONS[configuration]
        transports: list[Any] = [
            http402.PaymentRequiredTransport(httpx.MockTransport(ok), **options),
            http402.AsyncPaymentRequiredTransport(httpx.MockTransport(ok), **options),
            http402.httpx2.PaymentRequiredTransport(
                httpx2.MockTransport(lambda r: httpx2.Response(200)), **options
            ),
        ]
        for transport in transports:
            assert len(vars(transport)) <= 28, sorted(vars(transport))


class TestReplayAtOnce:
    @pytest.mark.parametrize("answer", [http402.Retry(), http402.Retry(expected=0)])
    def test_a_top_up_that_shows_already_is_replayed_without_a_wait(
        self, answer: http402.Retry
    ) -> None:
        sleeps: list[float] = []
        credits = [0]

        def provider(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200) if credits[0] else httpx.Response(402, json=GATE)

        def buy(error: http402.PaymentRequiredError) -> http402.Retry:
            credits[0] = 10
            return answer

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider), on_payment_required=buy, sleep=sleeps.append
        )
        with httpx.Client(transport=transport) as client:
            response = client.get(URL)
        assert response.status_code == 200 and sleeps == []
        assert response.extensions["http402.replay"] == {"attempt": 2}  # the second send

    def test_expected_may_be_zero_but_not_negative(self) -> None:
        assert http402.Retry(expected=0).expected == 0
        with pytest.raises(ValueError, match="expected"):
            http402.Retry(expected=-1)


class _Tracked(httpx.AsyncByteStream):
    """A body that says whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{}"

    async def aclose(self) -> None:
        self.closed = True


class TestNothingLeftOpen:
    @pytest.mark.anyio
    async def test_a_response_is_handed_back_while_its_low_balance_hook_runs(self) -> None:
        """The low-balance hook runs off the request: nothing waits for it that a
        cancellation could cut off, and the response reaches its caller still open."""
        body = _Tracked()
        release, finished = anyio.Event(), anyio.Event()

        async def slow_pager(alert: http402.LowBalance) -> None:
            await release.wait()
            finished.set()

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(
                lambda r: httpx.Response(200, headers={"x-credits-remaining": "1"}, stream=body)
            ),
            low_balance=http402.LowBalanceWatch(slow_pager, below=5),
        )
        response = await transport.handle_async_request(httpx.Request("GET", URL))
        assert response.status_code == 200 and not body.closed and not finished.is_set()
        await response.aclose()
        release.set()
        await finished.wait()
        assert body.closed

    @pytest.mark.anyio
    async def test_a_replay_cancelled_while_the_fleet_is_told_closes_its_response(
        self,
    ) -> None:
        """The replay got through; telling the coordinator that the gate lifted is cut off:
        the response the caller will never get is closed."""
        bodies: list[_Tracked] = []
        sends = [0]

        def provider(request: httpx.Request) -> httpx.Response:
            sends[0] += 1
            if sends[0] == 1:
                return httpx.Response(402, json=GATE)
            bodies.append(_Tracked())
            return httpx.Response(200, stream=bodies[-1])

        class SlowFleet(http402.AsyncLocalCoordinator):
            async def lifted(self, scope: str) -> None:
                await anyio.sleep(10)

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(provider), on_payment_required=top_up, coordinator=SlowFleet()
        )
        with anyio.move_on_after(0.2) as scope:
            await transport.handle_async_request(httpx.Request("GET", URL))
        assert scope.cancelled_caught
        assert len(bodies) == 1 and bodies[0].closed


class TestHookWorkers:
    def test_episodes_reuse_the_process_s_hook_workers(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Hooks of successive episodes (three accounts, one after the other) run in the same
        worker, not in a new thread each. The pool is the test's own: one that earlier tests
        of the process grew to several idle workers hands each job to the next of them."""
        from http402 import _workers

        pool = _workers._Pool()
        monkeypatch.setattr(_workers, "_pool", pool)
        threads: list[int] = []

        def buy(error: http402.PaymentRequiredError) -> None:
            threads.append(threading.get_ident())
            return  # declines: each request is its own episode

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda r: httpx.Response(402, json=GATE)),
            on_payment_required=buy,
        )
        with httpx.Client(transport=transport) as client:
            for key in ("a", "b", "c"):
                with pytest.raises(http402.InsufficientCreditsError):
                    client.get(URL, headers={"x-api-key": f"sk-{key}-0123456789"})
                # The caller has the hook's answer a moment before its worker is counted idle
                # (concurrent.futures does that once the job returned): a loaded machine could
                # run the next episode in that moment, and a busy pool rightly starts another
                # worker. Episodes apart in time meet an idle worker; so does the next one here.
                assert pool._executor._idle_semaphore.acquire(timeout=5)
                pool._executor._idle_semaphore.release()
        assert len(threads) == 3 and len(set(threads)) == 1
        assert threading.get_ident() not in threads

    def test_a_hook_still_running_finishes_before_the_interpreter_exits(
        self, tmp_path: Path
    ) -> None:
        """The caller gave up (`hook_timeout`) and the program ended; the hook, which may be
        moving money, runs to its end."""
        done = tmp_path / "paid"
        program = textwrap.dedent(
            f"""
            import time, httpx, http402

            def pay(error):
                time.sleep(0.5)
                open({str(done)!r}, "w").write("paid")
                return None

            transport = http402.PaymentRequiredTransport(
                httpx.MockTransport(lambda r: httpx.Response(402, json={GATE!r})),
                on_payment_required=pay,
                hook_timeout=0.05,
            )
            try:
                httpx.Client(transport=transport).get({URL!r})
            except TimeoutError:
                print("gave up")
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip() == "gave up", result.stderr
        assert done.read_text() == "paid"

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
    def test_a_forked_child_runs_its_hooks_on_workers_of_its_own(self, tmp_path: Path) -> None:
        """The parent's workers do not exist in a child: the child gets its own."""
        program = textwrap.dedent(
            f"""
            import os, httpx, http402

            def decline(error):
                return None

            def gated():
                transport = http402.PaymentRequiredTransport(
                    httpx.MockTransport(lambda r: httpx.Response(402, json={GATE!r})),
                    on_payment_required=decline,
                    hook_timeout=5,
                )
                try:
                    httpx.Client(transport=transport).get({URL!r})
                except http402.PaymentRequiredError:
                    return "declined"
                except TimeoutError:
                    return "stuck"

            print("parent", gated())
            pid = os.fork()
            if pid == 0:
                print("child", gated(), flush=True)
                os._exit(0)
            os.waitpid(pid, 0)
            """
        )
        result = subprocess.run(
            [sys.executable, "-W", "ignore::DeprecationWarning", "-c", program],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sorted(result.stdout.split("\n")[:2]) == ["child declined", "parent declined"]


def test_no_plugin_installed_costs_no_metadata_scan() -> None:
    """Without any `http402.adapters` entry point installed, the first transport does not
    load `importlib.metadata` (a third of `import httpx`) to look for plugins."""
    probe = (
        "import sys, httpx, http402\n"
        "http402.PaymentRequiredTransport(httpx.MockTransport(lambda r: httpx.Response(200)))\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
