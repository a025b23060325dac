"""What the sync, async and httpx2 shells share: their set-up from `Options`, the library
they build for, and the parts of a gate that need no I/O.

A shell is `PaymentRequiredTransport` (`_transport.py`), `AsyncPaymentRequiredTransport`
(`_async_transport.py`), or one of their httpx2 twins (`httpx2.py`), which only bind the
library: its module (`_http`, for responses, streams and errors) and its exception family
(`_family`). Whatever differs between sync and async (sending, sleeping, waiting, running a
hook) stays in the shells, which read line for line alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs
import httpx

from . import _metrics as metrics
from ._actions import StartHook
from ._balance import Balance
from ._burn import Crossings, LowBalance, LowBalanceAlarm, balance_in
from ._core import annotate, gate_response_extensions, gate_response_headers
from ._episodes import (
    AsyncLocalCoordinator,
    Episode,
    EpisodeBook,
    LocalCoordinator,
    ProcessState,
)
from ._exceptions import FAMILY, PaymentOutcomeUnknownError, PaymentRequiredError, error_for
from ._holds import EPISODE_REASONS, TOP_UP_REASONS, PaidAttempt, top_up_holds, top_up_key
from ._logs import logger as _logger
from ._models import DEFAULT_BALANCE_HEADERS, PaymentRequired, Reason, Retry
from ._options import Options
from ._recovery import Recovery, episode_key
from ._redaction import request_body, request_secrets
from ._replay import PROCESS_KEY, REPLAY_EXTENSION, KeyedScope, credential_view, default_scope
from ._streams import (
    LookAhead,
    Stop,
    Watch,
    classify_error_event,
    look_back,
    says_event_stream,
    says_event_stream_value,
)
from ._telemetry import report, top_up_under_way
from ._untrusted import BodyReader

__all__ = [
    "NOT_STREAMS",
    "TOP_UP_HOLDS",
    "Shell",
    "handed_back",
    "is_of",
    "low_balance_answer",
    "wrap_client",
]

#: The keys of every top-up hold a scope may have: `forget_gate` ends them all.
TOP_UP_HOLDS = tuple(top_up_key(reason) for reason in TOP_UP_REASONS)

#: The `Content-Type` values (raw bytes) met on a 200 that do not say `text/event-stream`
#: (each mapped to `False`). The hot path asks one question of every header whose name a
#: feature watches, `value not in NOT_STREAMS`: a content type met before and judged no event
#: stream passes, and any other value is looked at (`_looked_at`, which remembers a new type
#: here). That one question also serves the balance headers, as no value kept here can read
#: as a balance: only a type with a `/` is kept (every media type has one; a number never
#: does). Shared by every transport of the process; bounded, since a server may send a new
#: type each time. A transport asks first whether the value is the type it last judged
#: (`_plain`, kept on the same terms), which costs no hash.
NOT_STREAMS: dict[bytes, bool] = {}
_MAX_NOT_STREAMS = 256
_MAX_CONTENT_TYPE = 256
#: Up to how many header names the hot path asks for in a tuple rather than a set.
_FEW_NAMES = 4
#: The attributes that the shells' hot path reads, in the order it reads them.
_HOT_PATH = (
    "_recovery",
    "_book",
    "_quiet_book",
    "_transport",
    "_ok",
    "_watched_on_200",
    "_plain",
    "_not_streams",
    "_checks",
)
#: The `run_episode` of the in-process coordinators, which never read a mark's wall clock.
_LOCAL_EPISODES = (LocalCoordinator.run_episode, AsyncLocalCoordinator.run_episode)


class _AlwaysAsk:
    """What a transport's `_checks` is where preflight asks the flow before every request:
    it probes balances, or a fleet's store may know another process's gate. It reads as a
    book that knows a gate, so the shells' one test covers it."""

    def __init__(self) -> None:
        self.gated_scopes = 1

    def knows_gates(self) -> bool:
        return True


_ALWAYS_ASK = _AlwaysAsk()

_Client = TypeVar("_Client")
_Shell = TypeVar("_Shell", bound="Shell")


class Shell:
    """The part of a transport that is neither sync nor async: its options, what it keeps,
    and the gate response and error it builds."""

    #: The HTTP library whose responses and streams this transport builds; `http402.httpx2`
    #: subclasses set it to httpx2, so both libraries share one implementation.
    _http: ClassVar[Any] = httpx
    #: The exception classes raised for the library's gates, by reason.
    _family: ClassVar[Mapping[Reason, type[PaymentRequiredError]]] = FAMILY
    #: The library's `PaymentOutcomeUnknownError` (httpx2's twin in `http402.httpx2`).
    _outcome_error: ClassVar[type[PaymentOutcomeUnknownError]] = PaymentOutcomeUnknownError
    #: The stream of a response handed back after a look at its first bytes.
    _resumed_stream: ClassVar[type[Any]]
    #: The stream of a response to a paid or topped-up attempt: one that breaks after the
    #: headers holds the scope and raises `PaymentOutcomeUnknownError`.
    _paid_stream: ClassVar[type[Any]]
    #: The coordinator a transport makes when it is given none.
    _default_coordinator: ClassVar[type[Any]]
    #: Whether the shell awaits (hooks may then be coroutine functions).
    _is_async: ClassVar[bool]

    _options: Options
    _transport: Any

    @classmethod
    def _wrapping(cls: type[_Shell], transport: Any, options: Options) -> _Shell:
        """A transport around `transport` with options already built (`wrap`'s mounts)."""
        shell = cls.__new__(cls)
        shell._set_up(transport, options)
        return shell

    def _set_up(self, transport: Any, options: Options) -> None:
        # CPython keeps an instance's attributes in one array, in the order they are first
        # set: the ones a response that meets no gate reads come first, so that the hot path
        # reads them from one or two cache lines, not from across the array
        # (`_plan_the_hot_path` gives them their values).
        for name in _HOT_PATH:
            setattr(self, name, None)
        self._options = options
        self._transport = transport if transport is not None else self._default_transport()
        self._registry = options.registry
        self._annotate = options.annotates
        self._coordinator = options.coordinator or self._default_coordinator()
        self._key_scopes(options)
        self._sleep = options.sleep or self._default_sleep
        self._alarm = None if options.low_balance is None else LowBalanceAlarm(options.low_balance)
        self._recovery = None
        if options.recovers:
            self._recovery = Recovery(
                options,
                self._alarm,
                response_class=self._http.Response,
                family=self._family,
                outcome_error=self._outcome_error,
            )
            self._recovery.scope = self._scope
        # Failures that happen before a request is sent: a replay may try again.
        self._not_sent = (
            self._http.ConnectError,
            self._http.ConnectTimeout,
            self._http.PoolTimeout,
        )
        self._plan_the_hot_path()

    def _plan_the_hot_path(self) -> None:
        """Decides once what a request that meets no gate looks at, so that a feature that
        cannot act on it costs nothing.

        Without hooks or preflight (no `_recovery`), a request is sent and its response
        passed on unless `_passes` stops it. With them, it is sent at once too, keeping a
        mark for a gate, unless preflight may refuse it (`_checks`, `None` without
        preflight's checks): it has a balance to probe, or it remembers gates and one may be
        known. A local coordinator's book counts its known gates (`_checks` is the book: a
        glance at `gated_scopes`, then `knows_gates`); a fleet may know another process's
        gate, and the flow asks it, as it does to probe (`_checks` always says a gate may
        be known: `_ALWAYS_ASK`). The mark is two numbers read off the
        book (`_mark_book`) where the coordinator marks there, as every coordinator of
        http402 does; with an in-process coordinator only the sequence, as nothing reads
        its wall clock but a gate's mark, taken as the gate arrives. A response that got
        through may settle a top-up or a hold of this process: whether there is any is a
        flag the book keeps beside its sequence (`settling_now`).

        Where the coordinator is in-process and preflight probes no balance (`_quiet_book`,
        the hooks' usual set-up, with or without the known-gate memory), a request looks at
        one number before it is sent, its book's count of known gates, read beside the
        sequence that marks it: while it is 0, nothing can refuse the request, and the
        checks above are skipped.

        `_passes` looks for the header names a feature reads (`_watched`; on a 200,
        `_watched_on_200`): a balance header wherever a balance is used (the low-balance
        watch, preflight's minimum, the `http402.balance` gauge with OpenTelemetry, a hook's
        top-up that a balance may show), and the
        content type of a 200 where streams are peeked at.
        """
        options, coordinator = self._options, self._coordinator
        book = coordinator.book
        preflight = options.preflight
        probes = preflight is not None and preflight.probes
        checks = probes or (preflight is not None and preflight.gate_ttl is not None)
        local = getattr(coordinator, "keeps_gates_here", False)
        self._checks = None if not checks else book if local and not probes else _ALWAYS_ASK
        marks_on_book = getattr(type(coordinator), "mark", None) is ProcessState.mark
        self._mark_book = book if marks_on_book else None
        # A mark's wall clock is read by a coordinator that elects across processes (a
        # fleet's `run_episode`, comparing it with when an episode ended elsewhere); an
        # in-process one orders by the sequence alone, so a request it marks reads no clock
        # as it is sent (a call of its own), and a gate's mark reads it as the gate arrives.
        in_process = getattr(type(coordinator), "run_episode", None) in _LOCAL_EPISODES
        local_book = self._mark_book if in_process else None
        checks_book = self._checks is None or self._checks is local_book
        self._quiet_book = local_book if checks_book else None
        #: Whose sequence marks a request as it is sent, to order the balances read
        #: (`_readings`).
        self._book = book
        # A coordinator of an earlier protocol, with no `hold`/`held`/`release`, keeps its
        # holds in this process only.
        self._stores_holds = all(
            callable(getattr(coordinator, name, None)) for name in ("hold", "held", "release")
        )
        # A fleet's coordinator keeps the low-balance crossings its processes claimed, so
        # that one process alone calls the hook for a crossing.
        self._claims_crossings = all(
            callable(getattr(coordinator, name, None))
            for name in ("claim_crossing", "clear_crossings")
        )
        # A fleet's coordinator marks each low-balance run in its store, so that a gate in
        # another process waits for it (`Recovery._after_low_balance`), for at most this
        # long should the process die mid-run.
        self._marks_low_balance = all(
            callable(getattr(coordinator, name, None))
            for name in ("low_balance_started", "low_balance_ended", "low_balance_running")
        )
        self._low_balance_ttl = max(options.hook_timeout or 0.0, options.retry.within)
        watch = options.low_balance
        self._balance_headers = DEFAULT_BALANCE_HEADERS if watch is None else watch.headers
        # A hook's top-up may show in a balance header (`Recovery._balance_shows`).
        reads_balances = (
            self._alarm is not None or probes or metrics.available() or self._recovery is not None
        )
        names = frozenset(name.lower().encode() for name in self._balance_headers)
        self._reads_balances = reads_balances
        self._watched = names if reads_balances else frozenset()
        peeks = options.peek_streams
        on_200: frozenset[bytes] | tuple[bytes, ...]
        on_200 = (self._watched | {b"content-type"}) if peeks else self._watched
        # A few names are asked for in a tuple, content type first (on nearly every 200):
        # each is compared as bytes, whose lengths mostly differ, where a set would hash
        # the name (a new object on every response) before it looks.
        if len(on_200) <= _FEW_NAMES:
            on_200 = tuple(sorted(on_200, key=lambda name: (name != b"content-type", name)))
        self._watched_on_200 = on_200
        # The hot path judges a 200 inline by its header list (`_ok` is 200) where the library
        # keeps httpx's and a feature reads a header of a 200; else no status is `_ok`, and
        # `_passes` judges every response (a 200 with nothing watched passes at once). One
        # plain value, compared with the status: asking a set whether it is empty is a call.
        self._header_list = _keeps_header_list(self._http)
        self._ok = 200 if self._header_list and self._watched_on_200 else -1
        # Read as an attribute, from the line that holds the others, not as a global.
        self._not_streams = NOT_STREAMS
        # The content type this transport last judged no event stream (`_says_event_stream`):
        # a 200 of that type passes with one comparison, before `NOT_STREAMS` is asked (a
        # lookup, which hashes the value: it is a new object on every response).
        self._plain: bytes | None = None

    def _low_balance_run(self, scope: str) -> Episode | None:
        """The low-balance hook's run of `scope`, started in the episode book; `None`, and
        said in the log, while a top-up of the scope is under way in this process (a
        gate's, a wordless gate's included, or another low-balance run: asked and started
        under one lock, `EpisodeBook.low_balance_started`): a crossing met meanwhile calls
        no low-balance hook."""
        keys = [episode_key(scope, reason) for reason in EPISODE_REASONS]
        book: EpisodeBook = self._coordinator.book
        run = book.low_balance_started(scope, keys)
        if run is None:
            top_up_under_way("in this process (its hook runs, or it has not shown yet)")
        return run

    def _low_balance_ended(
        self, run: Episode, scope: str, alert: LowBalance, bought: Retry | None
    ) -> float | None:
        """Ends the low-balance hook's run `run` of `scope` in the episode book; returns the
        seconds of its top-up's window when its hook bought (answered `Retry`), else `None`.
        A top-up bought before the 402 is the scope's credits top-up (`low_balance_ended`):
        a gate met while it propagates follows it and buys nothing."""
        key = episode_key(scope, Reason.INSUFFICIENT_CREDITS)
        self._coordinator.book.low_balance_ended(run, bought, key, alert.balance)
        if bought is None:
            return None
        return bought.within if bought.within is not None else self._options.retry.within

    @property
    def _asks_top_ups(self) -> bool:
        """Whether the fleet's store says if a top-up of a scope is at work in any process
        (`top_up_at_work`): a crossing met meanwhile calls no low-balance hook. Asked only
        as a crossing fires."""
        return callable(getattr(self._coordinator, "top_up_at_work", None))

    @property
    def _keeps_low_balance(self) -> bool:
        """Whether the fleet's store keeps a low-balance run whose hook bought (answered
        `Retry`) marked until its top-up's window closes (`low_balance_bought`), so that a
        gate in another process waits for the top-up to show instead of buying beside it
        while it propagates. Asked only as a run ends (no attribute: the hot path's
        instances keep to the shared-keys limit)."""
        return self._marks_low_balance and callable(
            getattr(self._coordinator, "low_balance_bought", None)
        )

    def _hold_to_recheck(self, action: StartHook) -> tuple[str, tuple[str, ...]] | None:
        """In a fleet, the scope and hold keys of the top-up an election just made this
        process run, to ask the store again before its hook is called: another process may
        have put a hold while this one waited in the election (a hook of its cut short, a
        topped-up replay whose outcome is unknown), and the request asked before it. `None`
        where nothing is to ask (an in-process coordinator, a payment, no hold keys). The
        shells ask (`_held_since_elected`); a store that cannot tell holds (fail closed)."""
        held_if_cut = action.call.held_if_cut
        if not action.fleet or held_if_cut is None or self._in_process():
            return None
        scope, keys, _ = held_if_cut
        return scope, action.call.held_by or keys

    def _in_process(self) -> bool:
        """Whether the coordinator keeps its episodes in this process alone, marking on its
        book (`_plan_the_hot_path`)."""
        in_process = getattr(type(self._coordinator), "run_episode", None) in _LOCAL_EPISODES
        return in_process and self._mark_book is not None

    def _key_scopes(self, options: Options) -> None:
        """The billing scope this transport computes: the application's `scope=`, or the
        default keyed with this process's key, or, beside a coordinator that gives one
        (`scope_key`: a fleet's), with that key, asked for at each gate before the scope is
        computed (`_fleet_keyed`: the shells ask the coordinator, then `_keyed_with`)."""
        self._scope: Any = options.scope
        self._fleet_keyed = False
        if options.scope is default_scope and callable(
            getattr(self._coordinator, "scope_key", None)
        ):
            self._scope = KeyedScope(None)
            self._fleet_keyed = True

    def _keyed_with(self, key: bytes | None) -> None:
        """Keys the billing scope with the coordinator's answer: the fleet's key, or `None`
        when its store did not answer.

        Without an answer the first time, the scope is keyed with this process's key
        (`provisional`): this process then coordinates alone, at most one top-up per episode
        as in an outage, and says so. A key that differs from the one in use (the store
        answers at last; or it lost its key and another process made a new one before any
        wrote the old one back) is taken once nothing of this process's own is in flight
        under the scopes it names (`EpisodeBook.quiet`: no hook running, no window open, no
        top-up waiting to show, no hold, no late proof), since a scope's new name would not
        see them; until then the fleet is two groups, each topping up once per episode.
        """
        scope: KeyedScope = self._scope
        if key is None:
            if scope.key is None:
                scope.key, scope.provisional = PROCESS_KEY, True
                _logger.warning(
                    "http402: the store did not answer for the fleet's scope key: this process "
                    "coordinates its billing scopes alone (at most one top-up per episode "
                    "here) until it answers and nothing is in flight"
                )
            return
        if key == scope.key:
            return
        if scope.key is not None:
            if not self._coordinator.book.quiet():
                return  # something in flight under the scopes' current names: later
            _logger.info("http402: billing scopes now use the fleet's scope key in the store")
        scope.key, scope.provisional = key, False

    def _default_transport(self) -> Any:
        raise NotImplementedError

    def _default_sleep(self, seconds: float) -> Any:
        raise NotImplementedError

    def _scope_of(self, request: Any) -> str:
        """The billing scope of `request`, or of a GET of a URL given as a string."""
        if isinstance(request, str):
            request = self._http.Request("GET", request)
        return self._scope(request)  # type: ignore[no-any-return]

    def _holds_of(self, target: Any) -> tuple[str, tuple[str, ...] | None]:
        """The scope and hold keys that `reconcile(target)` ends: an unknown outcome's
        (`PaymentOutcomeUnknownError`), a top-up's that did not show (its gate), or every
        hold of a request's (or a URL's) scope (`None`)."""
        if isinstance(target, PaymentOutcomeUnknownError):
            return target.scope, target.keys
        if isinstance(target, PaymentRequiredError):
            # Whatever hold raised it: a wordless gate is held by any reason's top-up.
            return self._scope_of(target.request), top_up_holds(target.reason)
        if not isinstance(target, str) and not hasattr(target, "url"):
            raise TypeError(
                "reconcile() takes a PaymentOutcomeUnknownError, a PaymentRequiredError, a "
                f"request or a URL, not {type(target).__name__}"
            )
        return self._scope_of(target), None

    def _paid_failure(self, paid: PaidAttempt, exc: BaseException) -> PaymentOutcomeUnknownError:
        """The error for the response to a paid or topped-up attempt that broke after its
        headers (its hold is put by the shell)."""
        why = f"its response broke after the headers ({type(exc).__name__})"
        hold = attrs.evolve(paid.hold, why=why)
        report("outcome_unknown", why, None, scope=paid.scope)
        return self._outcome_error(
            request=paid.request, hold=hold, scope=paid.scope, keys=paid.keys
        )

    def _passes(self, response: Any) -> bool:
        """`True` for a response that http402 has nothing to read in, as most responses: its
        status is none the registry reads for a gate, and it has no header a feature reads
        (`_watched`): a balance header, or on a 200 a content type that may say
        `text/event-stream`. The shell's `_looked_at` reads whatever this stops, exactly.

        It runs on every response, so it is one pass over httpx's own header list (raw name,
        lower-case name, value) with one set lookup per name, and a watched header passes
        only with a value met before as a content type that says no event stream
        (`NOT_STREAMS`, which keeps no value that could be a balance); a library whose headers
        are kept otherwise has every response that a feature may read looked at.
        """
        status = response.status_code
        if status == 402 or status in self._registry.interest:
            return False
        watched = self._watched_on_200 if status == 200 else self._watched
        if not watched:
            return True
        if not self._header_list:  # headers kept otherwise than in httpx's list
            return False
        for _, name, value in response.headers._list:
            if name in watched and value not in self._not_streams:
                return False
        return True

    def _says_event_stream(self, response: Any) -> bool:
        """Whether a 200 says `text/event-stream` (`says_event_stream`); where it does not,
        its content types are remembered as no stream (`NOT_STREAMS`), so that the next
        200 of the same type passes the hot path with no look."""
        headers = response.headers
        if says_event_stream(headers):
            return True
        items = getattr(headers, "_list", None)
        for _, name, value in items if isinstance(items, list) else ():
            if (
                name == b"content-type"
                and len(value) <= _MAX_CONTENT_TYPE
                and b"/" in value  # a media type; never a balance (`NOT_STREAMS`)
                and not says_event_stream_value(value)
            ):
                if len(NOT_STREAMS) >= _MAX_NOT_STREAMS:
                    NOT_STREAMS.clear()
                NOT_STREAMS[value] = False
                self._plain = value
        return False

    def _balance_alerts(
        self, request: Any, response: Any, sent: int, wall: float | None = None
    ) -> Crossings | None:
        """The balance header of a response (not a gate) to a request sent at mark `sent`
        (and wall clock `wall`, where known): kept as the scope's newest balance only if it
        certainly is (`BalanceCache.seen`: its request was sent after the balance held
        arrived); then recorded in the `http402.balance` gauge, kept for preflight's
        minimum, and checked against the low-balance watch, whose crossings are returned. A
        header balance names no provider."""
        amount = balance_in(response.headers.get, self._balance_headers)
        if amount is None:
            return None
        scope = self._scope(request)
        balance = Balance(provider="unknown", available=amount)
        if not self._coordinator.balances.seen(scope, balance, sent, wall):
            return None  # it overlaps the balance held: it cannot be ordered, and moves nothing
        metrics.record_balance(amount, provider="unknown", currency=None, scope=scope)
        if self._alarm is None:
            return None
        crossings = self._alarm.crossings(scope, amount, self._coordinator.book.clock())
        if crossings.fired:  # the hook's failure is logged without this request's credentials
            secrets = request_secrets(request)
            crossings = attrs.evolve(crossings, secrets=secrets)
        return crossings

    def _to_alert(self, crossings: Crossings | None) -> bool:
        """Whether a reading's crossings leave work for the low-balance job: a warning to
        give, or, in a fleet, crossings to re-arm in the store."""
        return crossings is not None and (
            bool(crossings.fired) or (self._claims_crossings and bool(crossings.rearmed))
        )

    def _look_ahead(self, response: Any) -> LookAhead:
        """The look-ahead of a 200 event stream: bounded like a gate's body, in time too."""
        return LookAhead(
            response.headers.get("content-encoding"), max_seconds=self._options.max_body_seconds
        )

    def _stream_gate(self, request: Any, ahead: LookAhead) -> PaymentRequired | None:
        """The gate that the look-ahead's error event states, read strictly, if it stopped at
        one."""
        if ahead.stop is not Stop.ERROR or ahead.error is None:
            return None
        return classify_error_event(
            ahead.error,
            host=request.url.host,
            url=str(request.url),
            request_headers=credential_view(request),
            request_body=request_body(request),
            registry=self._registry,
        )

    def _follows(
        self, request: Any, response: Any, ahead: LookAhead
    ) -> tuple[Watch, Callable[[bytes], None]] | None:
        """What looks at the error events of a stream handed back after its output began (it
        is counted, never replayed); `None` where nothing is left to follow, the stream is
        compressed, or no metrics can be recorded (no OpenTelemetry API installed)."""
        if not metrics.available():
            return None  # counting is all a gate after output is followed for
        encoding = response.headers.get("content-encoding")
        if ahead.stop not in (Stop.OUTPUT, Stop.BOUND) or ahead.broken is not None:
            return None
        if encoding and encoding.strip().lower() != "identity":
            return None
        watch, registry = ahead.watch(), self._registry

        def seen(payload: bytes) -> None:
            # Rare (a gate after output began): the request's parts are read only then.
            payment = classify_error_event(
                payload,
                host=request.url.host,
                url=str(request.url),
                request_headers=credential_view(request),
                request_body=request_body(request),
                registry=registry,
            )
            if payment is not None:
                metrics.record_gate(payment, outcome="after_output")

        look_back(watch, seen)
        return watch, seen

    def _gate_error(
        self, request: Any, response: Any, reader: BodyReader, payment: PaymentRequired
    ) -> PaymentRequiredError:
        """The typed error of a gate whose body `reader` read (`response` is closed), with a
        readable copy of the response, as bounded as the read."""
        gate = self._http.Response(
            response.status_code,
            headers=gate_response_headers(response.headers.raw),
            content=reader.body,
            request=request,
            extensions=gate_response_extensions(response.extensions, reader),
        )
        return error_for(payment, request=request, response=gate, family=self._family)

    def _resumed_response(self, request: Any, response: Any, stream: Any) -> Any:
        """`response` again, reading from `stream` (the bytes already read, then the rest)."""
        return self._http.Response(
            response.status_code,
            headers=response.headers,
            stream=stream,
            request=request,
            extensions=dict(response.extensions),
        )


def _keeps_header_list(http: Any) -> bool:
    """Whether `http`'s `Headers` keep `_list` as httpx 0.18 and later (and httpx2) do."""
    items = getattr(http.Headers({"X-Balance": "1"}), "_list", None)
    return items == [(b"X-Balance", b"x-balance", b"1")]


def is_of(error: PaymentRequiredError, request: httpx.Request) -> bool:
    """`True` when `error` is the gate of `request` or of one of its replays (which share
    its body stream), not an error that a hook raised for a request of its own."""
    return error.request is request or error.request.stream is request.stream


def low_balance_answer(answer: object) -> Retry | None:
    """What a low-balance hook answered: `None` (it warned, or says nothing of a purchase),
    or `http402.Retry` (it bought; the top-up shows within `within` seconds, else the
    retry policy's window). Any other answer is the hook's error (`TypeError`), logged."""
    if answer is None or isinstance(answer, Retry):
        return answer
    raise TypeError(
        f"a low-balance hook must return http402.Retry or None, not {type(answer).__name__}"
    )


def handed_back(error: PaymentRequiredError) -> httpx.Response:
    """Annotate mode's answer once recovery ends with a gate: the final gate response, whole
    as read (bounded to `max_body_bytes`), annotated, so that an SDK raises its own status
    error and does not retry it; a replay's response says which attempt it was."""
    response = error.response
    replay = error.request.extensions.get(REPLAY_EXTENSION)
    if replay is not None:
        response.extensions[REPLAY_EXTENSION] = replay
    annotate(response, error.payment)
    return response


def wrap_client(client: _Client, transport_class: type[Shell], keywords: Any) -> _Client:
    """Wraps the client's transport and mounts with `transport_class`, built from one set of
    options with one coordinator for them all, unwrapping any earlier layer first.

    httpx has no public way to replace a client's transports; `_transport` and `_mounts` have
    been stable since httpx 0.18 (and are the same in httpx2), and are what the client itself
    reads on every request.
    """
    options = Options.build(keywords, is_async=transport_class._is_async)
    if options.coordinator is None:
        options = options.with_coordinator(transport_class._default_coordinator())

    def wrapped(transport: Any) -> Any:
        if isinstance(transport, transport_class):
            transport = transport._transport
        return transport_class._wrapping(transport, options)

    target: Any = client
    target._transport = wrapped(target._transport)
    target._mounts = {
        pattern: None if mounted is None else wrapped(mounted)
        for pattern, mounted in target._mounts.items()
    }
    return client
