"""A deterministic simulation of a fleet: processes, their coordinators, a fake Redis that
fails, and a paid API, on one fake clock, driven by one seeded random generator.

Each process runs the real code of both tiers: its in-process `EpisodeBook` elects one local
leader per burst (`join`/`finish`), and the leader drives the real `_fleet.episode_flow`
(election, lease renewal, publication) against `FakeRedis`, which runs the real Lua scripts.
Challenges are paid through a real `SpendPolicy` whose window is a real `RedisSpendStore` on
the same fake Redis; holds go through the coordinator's real hold/held scripts. Only the I/O
is simulated: every action a flow yields is performed by the scheduler here, at a time it
chooses, and the store may stall, refuse, lose a reply, flush, evict, restart, fail over to a
lagging replica; processes may pause (a GC, `SIGSTOP`) and fork. Same seed, same run.

After a run, `World.check()` names every invariant of `docs/safety.md` that broke.
"""

from __future__ import annotations

import collections
import copy
import heapq
import itertools
import logging
import random
import uuid
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

import attrs

from http402 import PaymentOption, PaymentRequired, Reason, Retry, SpendPolicy
from http402._episodes import EpisodeBook, Mark
from http402._fleet import (
    Call,
    Declined,
    End,
    Listen,
    Pause,
    RunHook,
    Spawn,
    StoreFailure,
    episode_flow,
)
from http402._holds import top_up_key
from http402._redis import _SCRIPTS, _Fleet
from http402._spend_store import RedisSpendStore

from .store import FakeRedis

LEASE_TTL = 4.0
STORE_TIMEOUT = 1.0
CAP = (2, 600.0)
WINDOW = 20.0
DAI = "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
MAX_AMOUNT = {DAI: 10**18, USDC: 10**6}
MAX_PER_WINDOW = {DAI: 2 * 10**18, USDC: 3 * 10**6}
OFFERS = (
    (DAI, "-5000000000000000000", "atomic"),
    (USDC, "0", "atomic"),
    (USDC, "0.5", "atomic"),
    (DAI, "1E+80", "atomic"),
    (USDC, "2000000", "atomic"),
    (DAI, str(10**18), "atomic"),
    (USDC, str(10**6), "atomic"),
)
#: An offer of the `Payment` scheme, whose amounts are base units of the currency it names
#: (draft-payment-intent-charge): half a base unit of USDC, never payable. It goes first,
#: after the shuffle, so a naive wallet would pay it if it were let through (and the
#: random stream of every seed stays as it was).
BASE_UNIT_FRACTION = PaymentOption(
    protocol="payment",
    scheme="charge",
    network="tempo",
    amount=Decimal("0.5"),
    unit=USDC,
    asset=USDC,
)
WALL_ORIGIN = 1_800_000_000.0
HOLD_SCOPE = "https://api.example.com:#0123456789abcdef"
SCOPE = f"{HOLD_SCOPE}|insufficient_credits"
TOP_UP = top_up_key(Reason.INSUFFICIENT_CREDITS)

#: Faults within what docs/fleet.md promises one top-up per episode under; the others
#: (a store that refuses connections, a failover to a lagging replica, an allkeys eviction,
#: a holder paused past its lease) are held to the cap only.
WITHIN = ("stall", "lose", "kill", "flush", "evict", "pause", "fork")
BEYOND = ("down", "failover", "evict_all", "freeze")


class Sim:
    """The clock and the scheduler: callbacks at times, ties broken by order of scheduling."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def wall(self) -> float:
        return WALL_ORIGIN + self.now

    def at(self, when: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (max(when, self.now), next(self._order), callback))

    def run(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            when, _, callback = heapq.heappop(self._queue)
            self.now = when
            callback()
        self.now = until


@attrs.define(eq=False)
class Handle:
    """A lease handle (`Spawn`'s answer): `End` sets it and wakes the flow's `Pause`."""

    ended: bool = False
    wake: Callable[[], None] | None = None

    def set(self) -> None:
        self.ended = True
        if self.wake is not None:
            wake, self.wake = self.wake, None
            wake()


class Store:
    """The fake Redis and the faults it is in."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.redis = FakeRedis(lambda: int(sim.wall() * 1000))
        self.down_until = 0.0
        self.stall_until = 0.0
        self.lose = 0.0
        self.replica: Any = None
        self.losses: list[float] = []  # when the store lost data (flush, restart, failover)

    def down(self) -> bool:
        return self.sim.now < self.down_until


class Process:
    """One process of the fleet: a coordinator's own in-process state (its episode book,
    store health, witness of holders and holds), a spend policy, and its tasks."""

    def __init__(self, world: World, number: int, parent: Process | None = None) -> None:
        self.world = world
        self.number = number
        sim = world.sim
        client = _Client(world, self)
        self.fleet = _Fleet(
            client,
            namespace="http402",
            lease_ttl=LEASE_TTL,
            max_episodes=CAP,
            store_timeout=None,
            clock=lambda: sim.now,
            wall=sim.wall,
        )
        self.fleet._marker_id = uuid.UUID(int=sim.rng.getrandbits(128)).hex
        self.paused_until = 0.0
        self.alive = True
        store = RedisSpendStore(client, name="wallet", wall=sim.wall, store_timeout=None)
        if parent is not None:
            # A fork copies the parent's memory (no thread survives it): what it saw of the
            # fleet's holders, holds and spend window.
            self.fleet._witness._seen = copy.deepcopy(parent.fleet._witness._seen)
            self.fleet._mirror = parent.fleet._mirror.copy()
            store._known = parent.spend._known
            store._mine = dict(parent.spend._mine)
        self.spend = store
        self.policy = SpendPolicy(
            max_amount=MAX_AMOUNT, max_per_window=MAX_PER_WINDOW, window=WINDOW, store=store
        )

    @property
    def book(self) -> EpisodeBook:
        return self.fleet.book

    def defer(self, callback: Callable[[], None]) -> None:
        """Runs `callback` now, or when this process resumes from a pause."""
        if not self.alive:
            return
        if self.world.sim.now < self.paused_until:
            self.world.sim.at(self.paused_until, lambda: self.defer(callback))
        else:
            callback()


class Task:
    """A generator of actions, stepped by the world for one process."""

    def __init__(self, world: World, process: Process, flow: Generator[Any, Any, Any]) -> None:
        self.world = world
        self.process = process
        self.flow = flow
        self.held: Handle | None = None
        self.led = False
        self.on_done: Callable[[Any], None] | None = None

    def resume(self, value: Any = None, error: BaseException | None = None) -> None:
        self.process.defer(lambda: self._step(value, error))

    def _step(self, value: Any, error: BaseException | None) -> None:
        try:
            action = self.flow.send(value) if error is None else self.flow.throw(error)
        except StopIteration as stop:
            if self.on_done is not None:
                self.on_done(stop.value)
            return
        self.world.perform(self, action)


@attrs.frozen
class Sleep:
    seconds: float


@attrs.frozen
class WaitEpisode:
    episode: Any


class World:
    """A fleet, its store, its provider, and the ledger the invariants are checked on."""

    def __init__(self, seed: int, *, faults: tuple[str, ...] = WITHIN, duration: float = 45.0):
        self.seed = seed
        self.sim = Sim(seed)
        self.store = Store(self.sim)
        self.duration = duration
        self.faults_allowed = faults
        self.faults: list[tuple[float, str]] = []
        self.processes = [Process(self, n) for n in range(self.sim.rng.randint(2, 4))]
        # The account: dry from `dry_since`; funded when a top-up shows.
        self.funded_at: float | None = None
        self.dry_since = 0.0
        self.needs: list[list[tuple[float, int, str]]] = [[]]  # hook runs per need
        self.hook_runs: list[tuple[float, int, str]] = []
        self.payments: list[tuple[float, str, int]] = []
        self.paid_unpayable: list[str] = []
        self.holds: dict[str, tuple[float, float | None]] = {}  # key -> (held at, released at)
        self.hold_misses: list[str] = []
        self.false_holds: list[str] = []  # top-ups held although nothing was paid
        self.trace: list[str] = []
        self.waits: list[float] = []
        self._at_first_hook: list[tuple[float, str]] = []

    # --- the run --------------------------------------------------------------------------

    def run(
        self,
        plan: list[tuple[float, str]] | None = None,
        *,
        at_first_hook: list[tuple[float, str]] = (),  # type: ignore[assignment]
    ) -> World:
        """Runs the fleet for `duration`, with random faults, or those of `plan`, and those
        of `at_first_hook` (seconds after the first top-up starts: mid-hook, or once its
        window is open)."""
        self._at_first_hook = list(at_first_hook)
        logger = logging.getLogger("http402")
        level = logger.level
        logger.setLevel(logging.CRITICAL)  # the coordinators' warnings: thousands per run
        try:
            rng = self.sim.rng
            for process in self.processes:
                self._traffic(process)
            if plan is None:
                plan = [
                    (rng.uniform(1.0, self.duration * 0.6), rng.choice(self.faults_allowed))
                    for _ in range(rng.randint(1, 4))
                ]
            for at, kind in plan:
                self.sim.at(at, lambda k=kind: self._fault(k))
            self._consume()
            self.sim.run(self.duration + 4 * LEASE_TTL + 30)
        finally:
            logger.setLevel(level)
        return self

    def _traffic(self, process: Process) -> None:
        rng = self.sim.rng
        at = rng.uniform(0.0, 2.0)
        while at < self.duration:
            kind = rng.random()
            flow = (
                self._request(process)
                if kind < 0.7
                else self._payment(process)
                if kind < 0.9
                else self._holding(process)
            )
            task = Task(self, process, flow)
            self.sim.at(at, task.resume)
            at += rng.expovariate(1.5)

    def _consume(self) -> None:
        """Once funded, the account runs dry again some time later: a new need."""

        def dry() -> None:
            if self.funded_at is not None and self.sim.now >= self.funded_at:
                self.funded_at = None
                self.dry_since = self.sim.now
                self.needs.append([])
            self.sim.at(self.sim.now + self.sim.rng.uniform(15.0, 30.0), dry)

        self.sim.at(self.sim.rng.uniform(15.0, 30.0), dry)

    def funded(self) -> bool:
        return self.funded_at is not None and self.sim.now >= self.funded_at

    # --- workloads ------------------------------------------------------------------------

    def _request(self, process: Process) -> Generator[Any, Any, None]:
        """A request to the account: a 402 while it is dry, joined to the process's episode
        (the local tier), whose leader runs the fleet's episode (the fleet tier)."""
        began = self.sim.now
        mark = Mark((process.book.sequence, self.sim.wall()))
        gated = not self.funded()
        yield Sleep(self.sim.rng.uniform(0.01, 0.2))  # the response's way back
        if not gated:
            return
        lead, episode = process.book.join(SCOPE, mark)
        if lead:
            # As the recovery flow does: a top-up's hold is checked before its hook. No top-up
            # here ever has an unknown outcome, so no answer may hold it (a store that does not
            # answer included: the process's own holds answer then).
            record = yield from process.fleet._held_flow(HOLD_SCOPE, TOP_UP)
            if record is not None:
                self.false_holds.append(
                    f"{self.sim.now:.2f}: process {process.number}'s top-up held: {record[:60]}"
                )
            self._start_episode(process, episode, mark)
        yield WaitEpisode(episode)
        # Its replays (inside the window) call no hook: what happens next is a new request.
        self.waits.append(self.sim.now - began)

    def _start_episode(self, process: Process, episode: Any, mark: Any) -> None:
        fleet = process.fleet._episode(SCOPE, mark, 120.0)
        task = Task(self, process, episode_flow(fleet))
        task.channel = fleet.keys.channel  # type: ignore[attr-defined]

        def done(result: tuple[bool, Any]) -> None:
            failed, answer = result
            error = answer if failed else None
            process.book.finish(episode, None if failed else answer, error, 120.0)

        task.on_done = done
        task.resume()

    def _payment(self, process: Process) -> Generator[Any, Any, None]:
        """A challenge with hostile offers beside honest ones, paid by a naive wallet (the
        first offer it is given) within the real spend policy and the real shared window."""
        rng = self.sim.rng
        offers = [
            PaymentOption(
                protocol="x402", scheme="exact", network="base", amount=Decimal(a), unit=u, asset=s
            )
            for s, a, u in OFFERS
        ]
        rng.shuffle(offers)
        offers.insert(0, BASE_UNIT_FRACTION)
        payment = PaymentRequired(
            reason=Reason.PAYMENT_CHALLENGE, provider="x402", payment_options=tuple(offers)
        )
        allowed, _, reservation = process.policy.reserve(payment)
        if reservation is None:
            return
        offer = allowed[0]
        assert offer.asset is not None and offer.amount is not None
        # Every offer here is priced in indivisible units (x402's atomic units, the Payment
        # scheme's base units).
        whole = offer.amount == offer.amount.to_integral_value()
        if not offer.amount > 0 or not whole or offer.amount > Decimal(MAX_AMOUNT[offer.asset]):
            self.paid_unpayable.append(f"{offer.amount} {offer.asset[:6]}")
        self.payments.append((self.sim.now, offer.asset, int(offer.amount)))
        yield Sleep(rng.uniform(0.05, 0.5))
        reservation.commit(offer)

    def _holding(self, process: Process) -> Generator[Any, Any, None]:
        """A paid attempt whose outcome is unknown: held fleet-wide; reconciled later. Holds
        go through the coordinator's own scripts and its own judgement of their answers."""
        rng = self.sim.rng
        key = f"offer-{rng.randrange(3)}"
        if key in self.holds and self.holds[key][1] is None:
            # Held: a process asks before paying that offer again. It must see the hold when
            # the store answers, unless the store lost it (a process that saw it writes it
            # back after a flush; a failover to a lagging replica keeps the marker, and looks
            # like a release); when the store cannot answer, if it placed or read it (the
            # outage's bound: another process's hold that it never read is not seen).
            fleet = process.fleet
            saw = fleet._mirror.unanswered(HOLD_SCOPE, key) is not None
            record = yield from fleet._held_flow(HOLD_SCOPE, key)
            answered = fleet._health.outage_since is None
            still = self.holds[key][1] is None  # no release was asked for meanwhile
            lost = self._lost_since(self.holds[key][0])
            if record is None and still and (saw if not answered else not lost):
                self.hold_misses.append(
                    f"{self.sim.now:.2f}: process {process.number} found {key} not held"
                )
            if record is not None and rng.random() < 0.3:  # the application reconciles it
                # Released once asked, whatever the answer: a lost reply may hide a release.
                self.holds[key] = (self.holds[key][0], self.sim.now)
                yield from self._release(process, key)
            return
        if (yield from process.fleet._hold_flow(HOLD_SCOPE, key, "{}")):
            self.holds[key] = (self.sim.now, None)

    def _lost_since(self, since: float) -> bool:
        return any(at >= since for at in self.store.losses)

    def _release(self, process: Process, key: str) -> Generator[Any, Any, bool]:
        keys, args = process.fleet._release_args(HOLD_SCOPE, key)
        try:
            yield Call("release", keys, args)
        except StoreFailure:
            return False
        process.fleet._mirror.released(HOLD_SCOPE, key)
        return True

    # --- performing actions ---------------------------------------------------------------

    def perform(self, task: Task, action: Any) -> None:
        sim, process = self.sim, task.process
        if isinstance(action, Sleep):
            sim.at(sim.now + action.seconds, task.resume)
        elif isinstance(action, WaitEpisode):
            self._wait_episode(task, action.episode)
        elif isinstance(action, Call):
            self._call(task, action)
        elif isinstance(action, Listen):
            self._listen(task, action.timeout)
        elif isinstance(action, Pause):
            self._pause(task, action.timeout)
        elif isinstance(action, RunHook):
            self._hook(task)
        elif isinstance(action, Spawn):
            handle = Handle()
            child = Task(self, process, action.flow)
            child.held = handle
            task.led = True
            child.resume()
            task.resume(handle)
        elif isinstance(action, End):
            action.handle.set()
            task.resume()
        elif isinstance(action, Declined):
            self.trace.append(f"{sim.now:7.2f} p{process.number} declined: {action.note[:60]}")
            task.resume()
        else:  # pragma: no cover - a new action must be simulated
            raise AssertionError(f"unsimulated action {action!r}")

    def _wait_episode(self, task: Task, episode: Any) -> None:
        if episode.finished:
            task.resume()
            return
        book = task.process.book
        book.subscribe(
            episode,
            episode.version,
            lambda: self.sim.at(self.sim.now, lambda: self._wait_episode(task, episode)),
        )

    def _call(self, task: Task, call: Call) -> None:
        sim, store = self.sim, self.store
        latency = sim.rng.uniform(0.0005, 0.004)
        if store.down():
            sim.at(sim.now + latency, lambda: task.resume(error=StoreFailure("refused")))
            return
        begin = max(sim.now, store.stall_until)
        lose = sim.rng.random() < store.lose
        script = _SCRIPTS[call.name]

        def execute() -> Any:
            return store.redis.eval(script, call.keys, call.args)

        if begin + latency - sim.now > STORE_TIMEOUT:
            # The caller gives up; the server runs the command when the stall ends.
            sim.at(begin + latency, lambda: None if store.down() else execute())
            sim.at(sim.now + STORE_TIMEOUT, lambda: task.resume(error=StoreFailure("stalled")))
            return

        def answer() -> None:
            if store.down():
                task.resume(error=StoreFailure("stalled"))
                return
            reply = execute()
            if lose:
                sim.at(sim.now + STORE_TIMEOUT, lambda: task.resume(error=StoreFailure("stalled")))
            else:
                task.resume(reply)

        sim.at(begin + latency, answer)

    def _listen(self, task: Task, timeout: float) -> None:
        sim = self.sim
        channel = getattr(task, "channel", "")
        woken = [False]

        def wake() -> None:
            if not woken[0]:
                woken[0] = True
                task.resume()

        if not self.store.down():
            self.store.redis.listeners[channel].append(lambda: sim.at(sim.now + 0.001, wake))
        sim.at(sim.now + timeout, wake)

    def _pause(self, task: Task, timeout: float) -> None:
        sim, handle = self.sim, task.held
        if handle is None:
            sim.at(sim.now + timeout, task.resume)
            return
        if handle.ended:
            task.resume(True)
            return
        woken = [False]

        def wake() -> None:
            if not woken[0]:
                woken[0] = True
                task.resume(handle.ended)

        handle.wake = wake
        sim.at(sim.now + timeout, wake)

    def _hook(self, task: Task) -> None:
        """A top-up: the money moves at its start; the credits show after propagating."""
        sim, process = self.sim, task.process
        run = (sim.now, process.number, "lead" if task.led else "local")
        self.hook_runs.append(run)
        self.needs[-1].append(run)
        for delay, kind in self._at_first_hook:
            sim.at(sim.now + delay, lambda k=kind: self._fault(k))
        self._at_first_hook = []
        self.trace.append(f"{sim.now:7.2f} p{process.number} hook ({run[2]})")
        duration = sim.rng.uniform(0.2, 3.0)

        def finished() -> None:
            shows = sim.now + sim.rng.uniform(0.1, 2.0)
            if self.funded_at is None or shows < self.funded_at:
                self.funded_at = shows
            task.resume((False, Retry(within=60.0)))

        sim.at(sim.now + duration, finished)

    # --- faults ---------------------------------------------------------------------------

    def _fault(self, kind: str) -> None:
        sim, store, rng = self.sim, self.store, self.sim.rng
        self.faults.append((sim.now, kind))
        self.trace.append(f"{sim.now:7.2f} fault {kind}")
        if kind == "stall":
            store.stall_until = sim.now + rng.uniform(0.5, LEASE_TTL * 0.8)
        elif kind == "lose":
            store.lose = 0.3
            # Replies lost for less than a lease: no process goes a lease without an answer.
            sim.at(
                sim.now + rng.uniform(1.0, LEASE_TTL * 0.75), lambda: setattr(store, "lose", 0.0)
            )
        elif kind == "kill":
            store.stall_until = max(store.stall_until, sim.now + 0.01)
            store.lose = 1.0
            sim.at(sim.now + 0.02, lambda: setattr(store, "lose", 0.0))
        elif kind == "flush":
            store.redis.flush()
            store.losses.append(sim.now)
        elif kind == "evict":
            store.redis.evict(
                lambda keys: rng.sample(keys, rng.randint(0, len(keys))), volatile=True
            )
        elif kind == "evict_all":
            gone = store.redis.evict(
                lambda keys: rng.sample(keys, rng.randint(0, len(keys))), volatile=False
            )
            if gone:
                store.losses.append(sim.now)
        elif kind == "pause":
            process = rng.choice(self.processes)
            process.paused_until = sim.now + rng.uniform(0.2, LEASE_TTL * 0.5)
        elif kind == "freeze":
            process = rng.choice(self.processes)
            process.paused_until = sim.now + rng.uniform(LEASE_TTL, LEASE_TTL * 4)
        elif kind == "fork":
            parent = rng.choice([p for p in self.processes if p.alive])
            child = Process(self, len(self.processes), parent)
            self.processes.append(child)
            self._traffic_from(child, sim.now)
        elif kind == "down":
            store.down_until = sim.now + rng.uniform(0.5, LEASE_TTL * 1.5)
            if rng.random() < 0.5:  # a restart without persistence
                store.redis.flush()
                store.losses.append(sim.now)
        elif kind == "failover":
            if store.replica is not None:
                store.redis.restore(store.replica)
                store.losses.append(sim.now)
            store.down_until = sim.now + rng.uniform(0.1, 1.0)
        if rng.random() < 0.5:
            store.replica = store.redis.snapshot()  # what a lagging replica will have

    def _traffic_from(self, process: Process, start: float) -> None:
        rng = self.sim.rng
        at = start + rng.uniform(0.0, 1.0)
        while at < self.duration:
            task = Task(
                self,
                process,
                self._request(process) if rng.random() < 0.8 else self._payment(process),
            )
            self.sim.at(at, task.resume)
            at += rng.expovariate(1.5)

    # --- invariants -----------------------------------------------------------------------

    def check(self) -> list[str]:
        """The invariants of docs/safety.md that this run broke."""
        broken: list[str] = []
        strict = all(kind in WITHIN for _, kind in self.faults)
        for number, runs in enumerate(self.needs):
            if strict and len(runs) > 1:
                broken.append(f"need {number}: {len(runs)} top-ups {runs}")
            # Under any fault (an outage: each process coordinates alone), at most one
            # top-up per process per need.
            per_process = collections.Counter(process for _, process, _ in runs)
            if any(count > 1 for count in per_process.values()):
                broken.append(f"need {number}: a process topped up twice {runs}")
        elected = sorted(at for at, _, mode in self.hook_runs if mode == "lead")
        failovers = sum(kind in ("failover", "evict_all") for _, kind in self.faults)
        for index, at in enumerate(elected):
            inside = [t for t in elected[: index + 1] if t > at - CAP[1]]
            if len(inside) > CAP[0] + failovers:
                broken.append(f"{len(inside)} elected top-ups in one cap period (cap {CAP[0]})")
                break
        # A failover to a lagging replica, or an allkeys eviction of the window but not its
        # marker, forgets payments without a trace: held to the cap only without them.
        lossy = any(kind in ("failover", "evict_all") for _, kind in self.faults)
        for asset, limit in {} if lossy else MAX_PER_WINDOW.items():
            spent = [(at, amount) for at, a, amount in self.payments if a == asset]
            for at, _ in spent:
                total = sum(amount for t, amount in spent if at - WINDOW < t <= at)
                if total > limit:
                    broken.append(f"spent {total} of {asset[:6]} in one window (cap {limit})")
                    break
        broken += [f"paid an unpayable offer: {offer}" for offer in self.paid_unpayable]
        broken += self.hold_misses
        broken += self.false_holds
        if any(wait > 30.0 + 2 * LEASE_TTL for wait in self.waits):
            broken.append(f"a request waited {max(self.waits):.1f} s for its episode")
        return broken

    def report(self) -> str:
        faults = ", ".join(f"{kind}@{at:.1f}" for at, kind in self.faults)
        return f"seed {self.seed}: faults [{faults}]\n" + "\n".join(self.trace[-40:])


class _Client:
    """What `RedisSpendStore` needs of a redis-py client, on the simulated store: a script
    call answers at once, or fails as the store is failing (a stalled call still runs)."""

    def __init__(self, world: World, process: Process) -> None:
        self._world = world

    def register_script(self, script: str) -> Callable[..., Any]:
        def call(keys: list[Any], args: list[Any]) -> Any:
            world = self._world
            store, sim = world.store, world.sim
            if store.down():
                raise ConnectionRefusedError("refused")
            if store.stall_until > sim.now:
                sim.at(
                    store.stall_until,
                    lambda: None if store.down() else store.redis.eval(script, keys, args),
                )
                raise TimeoutError("stalled")
            reply = store.redis.eval(script, keys, args)
            if sim.rng.random() < store.lose:
                raise TimeoutError("reply lost")
            return reply

        return call


def run_seed(seed: int, *, beyond: bool = False) -> tuple[World, list[str]]:
    """One simulated run; its broken invariants."""
    faults = WITHIN + BEYOND if beyond else WITHIN
    world = World(seed, faults=faults).run()
    return world, world.check()
