"""How much does wrapping a transport with http402 cost, next to its peers?

Run as ``python benchmarks/overhead.py [--rounds N] [--quick] [--seed S] [--no-peers]``.
Prints figures only.

1. Per-request overhead on ordinary (non-402) traffic, a 200 with a small JSON body, over
   ``httpx.MockTransport`` and over a real loopback HTTP/1.1 server, sync and async, of
   ``PaymentRequiredTransport`` / ``AsyncPaymentRequiredTransport`` with default options and
   configured as users configure it (a top-up hook; a hook and the known-gate memory
   ``Preflight(gate_ttl=30)``; a ``LowBalanceWatch``; all of them), and, when they are
   installed (``pip install -e ".[benchmarks]"``), of two peers wrapping the same bare
   transport: ``httpx-retries``' ``RetryTransport`` (its default ``Retry``) and the ``x402``
   package's ``x402AsyncTransport`` (async only: x402 has no sync httpx transport). A peer
   that is not installed prints "not installed"; nothing else is needed to run the benchmark.
   ``--mock-only`` runs this part over MockTransport alone, in about a minute.
2. ``http402.classify`` per payload kind, and the wrapped transport's full 402 path
   (read, classify, raise, catch) per call.
3. Peak memory (tracemalloc) of one request through http402's transport whose 402 answer is
   a 1 GiB gzip bomb, streamed from about 1 MiB of pre-compressed chunks.
4. ``http402.classify`` on every recorded payload in ``tests/payloads/`` (gates, and the 4xx
   look-alikes that are read and left alone), on hostile 64 KiB bodies (repeated billing
   wording, links, digits, brackets), and with a fresh API key on every request (the
   credential scrubbing path). ``--classify-only`` runs this part alone, in a few seconds.

Noise control for (1): each round sends single requests of every variant (bare A, bare B,
a pass-through wrapper, http402 and the peers) in a freshly shuffled order, timing every
request on its own; a round's figure for a variant is the median of its requests. Per round we
take variant/bare A and, as a control, bare B/bare A; the reported figures are medians of those
per-round ratios, printed with their quartiles. The control shows the noise floor: an overhead
within the control's spread is not measurable here. The pass-through wrapper, a transport that
only delegates, shows what wrapping alone costs on this machine: the floor of any wrapper. The
garbage collector is off during each timed round (and timeit turns it off for its own batches).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import random
import statistics
import struct
import sys
import threading
import time
import timeit
import tracemalloc
import zlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

import http402

PAYLOAD_DIR = Path(__file__).resolve().parent.parent / "tests" / "payloads"
BODY = json.dumps({"id": "chatcmpl-123", "object": "chat.completion", "ok": True}).encode()
MOCK_URL = "https://api.example.com/v1/ping"

BARE_A, BARE_B, HTTP402 = "bare A", "bare B", "http402"
#: A transport that only delegates: what wrapping alone costs, the floor of every wrapper.
PASS = "pass-through"
HOOK, HOOK_TTL, WATCH, ALL = "+hook", "+hook+gate_ttl", "+low_balance", "+all"
#: http402's variants: default options, then configured.
HTTP402_VARIANTS = (HTTP402, HOOK, HOOK_TTL, WATCH, ALL)
RETRIES, X402 = "httpx-retries", "x402"

#: (label, file in tests/payloads/) of the gates whose classification is timed.
GATE_PAYLOADS = (
    ("openrouter 402", "openrouter-insufficient-credits-metadata.json"),
    ("stripe 402", "stripe-card-declined-generic-decline.json"),
    ("openai 429", "openai-insufficient-quota-429.json"),
    ("x402 v2 402", "x402-v2-payment-required-header.json"),
    ("l402 402", "l402-blip26-challenge.json"),
    ("anthropic 400", "anthropic-credit-balance-too-low-400.json"),
)

#: The team's targets, printed next to the figures (the script never fails on them).
TARGET_LOOPBACK = 0.01
TARGET_MOCK = 0.01
TARGET_CLASSIFY_US = 50.0
TARGET_BOMB_MIB = 2.0
TARGET_TYPICAL_GATE_US = 25.0  # median over the recorded gates
TARGET_NON_GATE_4XX_US = 10.0  # median over the recorded 4xx look-alikes
TARGET_HOSTILE_US = 2000.0  # the slowest hostile 64 KiB body
TARGET_FRESH_KEYS_US = 60.0  # a gate whose request carries a new API key each time


@dataclass(frozen=True)
class Settings:
    rounds: int
    mock_per_round: int
    loopback_per_round: int
    mock_warmup: int
    loopback_warmup: int
    timeit_target_s: float
    timeit_repeat: int


def settings_for(args: argparse.Namespace) -> Settings:
    if args.quick:
        defaults = Settings(50, 10, 4, 200, 20, 0.01, 3)
    else:
        defaults = Settings(500, 20, 6, 1000, 100, 0.02, 15)
    rounds = args.rounds if args.rounds is not None else defaults.rounds
    return Settings(
        rounds=max(rounds, 1),
        mock_per_round=defaults.mock_per_round,
        loopback_per_round=defaults.loopback_per_round,
        mock_warmup=defaults.mock_warmup,
        loopback_warmup=defaults.loopback_warmup,
        timeit_target_s=defaults.timeit_target_s,
        timeit_repeat=defaults.timeit_repeat,
    )


# --------------------------------------------------------------------------- the variants

SyncWrap = Callable[[httpx.BaseTransport], httpx.BaseTransport]
AsyncWrap = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


@dataclass(frozen=True)
class Wrapper:
    """One way to wrap a bare transport. A side that is `None` says why in `*_absent`."""

    name: str
    sync: SyncWrap | None
    async_: AsyncWrap | None
    version: str = ""
    sync_absent: str = ""
    async_absent: str = ""
    note: str = ""


def _same(transport: Any) -> Any:
    return transport


def _absent(name: str, why: str) -> Wrapper:
    return Wrapper(name, None, None, sync_absent=why, async_absent=why)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _top_up(error: http402.PaymentRequiredError) -> http402.Retry:
    return http402.Retry(within=60)  # never called: no 200 is a gate


def _alert(alert: http402.LowBalance) -> None:
    pass  # never called: the 200s carry no balance header


#: The options of each configured variant (the hook is the same for sync and async).
CONFIGURED: dict[str, dict[str, Any]] = {
    HOOK: {"on_payment_required": _top_up},
    HOOK_TTL: {"on_payment_required": _top_up, "preflight": http402.Preflight(gate_ttl=30)},
    WATCH: {"low_balance": http402.LowBalanceWatch(_alert, below=5, within=3600)},
    ALL: {
        "on_payment_required": _top_up,
        "preflight": http402.Preflight(gate_ttl=30),
        "low_balance": http402.LowBalanceWatch(_alert, below=5, within=3600),
    },
}


def _configured(name: str) -> Wrapper:
    options = CONFIGURED[name]
    return Wrapper(
        name,
        lambda bare: http402.PaymentRequiredTransport(bare, **options),
        lambda bare: http402.AsyncPaymentRequiredTransport(bare, **options),
        version=http402.__version__,
        note=", ".join(f"{key}={_shown(value)}" for key, value in options.items()),
    )


def _shown(value: Any) -> str:
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return type(value).__name__ + "(...)"


class _PassThrough(httpx.BaseTransport):
    """Hands every request to the transport it wraps, and its response back: nothing else."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


class _AsyncPassThrough(httpx.AsyncBaseTransport):
    """`_PassThrough` for async transports."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)


def own_wrappers() -> list[Wrapper]:
    """The two identical bare clients (baseline and control), a wrapper that only delegates
    (the floor: what any wrapping costs here), and http402 with default options and
    configured."""
    return [
        Wrapper(BARE_A, _same, _same, version=httpx.__version__),
        Wrapper(BARE_B, _same, _same, version=httpx.__version__),
        Wrapper(
            PASS,
            _PassThrough,
            _AsyncPassThrough,
            version="-",
            note="a transport that only delegates: what wrapping alone costs",
        ),
        Wrapper(
            HTTP402,
            http402.PaymentRequiredTransport,
            http402.AsyncPaymentRequiredTransport,
            version=http402.__version__,
            note="(Async)PaymentRequiredTransport(bare), default options",
        ),
        *(_configured(name) for name in CONFIGURED),
    ]


def retries_wrapper() -> Wrapper:
    """httpx-retries' RetryTransport with its default Retry (sync and async)."""
    try:
        module = importlib.import_module("httpx_retries")
    except ImportError:
        return _absent(RETRIES, "not installed")
    transport_class = module.RetryTransport
    return Wrapper(
        RETRIES,
        lambda bare: transport_class(transport=bare, retry=module.Retry()),
        lambda bare: transport_class(transport=bare, retry=module.Retry()),
        version=_version("httpx-retries"),
        note="RetryTransport(transport=bare, retry=Retry())",
    )


class _StubScheme:
    """An x402 scheme client that refuses to pay: used only if x402[evm] is missing.

    The non-402 path of x402's transport never reaches a scheme, so the figures do not
    depend on which scheme is registered.
    """

    scheme = "exact"

    def create_payment_payload(self, requirements: Any) -> dict[str, Any]:
        raise RuntimeError("benchmark stub: no payments")


def _x402_client() -> tuple[Any, str]:
    """An x402Client set up as its README shows, with a throwaway local key (no network)."""
    client = importlib.import_module("x402").x402Client()
    try:
        account = importlib.import_module("eth_account").Account.create()
        signers = importlib.import_module("x402.mechanisms.evm.signers")
        register = importlib.import_module("x402.mechanisms.evm.exact.register")
    except ImportError:
        client.register("eip155:8453", _StubScheme())
        return client, "x402Client + stub 'exact' scheme (x402[evm] not installed)"
    register.register_exact_evm_client(client, signers.EthAccountSigner(account))
    return client, "x402Client + register_exact_evm_client(EthAccountSigner(throwaway key))"


def x402_wrapper() -> Wrapper:
    """The x402 package's httpx integration, x402AsyncTransport (there is no sync one)."""
    try:
        transport_class = importlib.import_module("x402.http.clients.httpx").x402AsyncTransport
    except ImportError:
        return _absent(X402, "not installed")
    try:
        client, how = _x402_client()
    except Exception as exc:  # a peer that cannot be set up is reported, not faked
        return _absent(X402, f"could not be set up: {type(exc).__name__}: {exc}")
    return Wrapper(
        X402,
        None,
        lambda bare: transport_class(client, bare),
        version=_version("x402"),
        sync_absent="n/a: async only (x402's sync integration is for requests)",
        note=f"x402AsyncTransport({how}, bare)",
    )


def peer_wrappers(enabled: bool) -> list[Wrapper]:
    if not enabled:
        return [_absent(RETRIES, "skipped (--no-peers)"), _absent(X402, "skipped (--no-peers)")]
    return [retries_wrapper(), x402_wrapper()]


# --------------------------------------------------------------------------- interleaved rounds


@dataclass(frozen=True)
class Figures:
    """One variant against bare A, summarized over rounds."""

    us: float
    diff_us: float
    overhead: float
    q1: float
    q3: float


@dataclass(frozen=True)
class Scenario:
    """One kind of traffic, every variant measured in the same interleaved rounds."""

    name: str
    rounds: int
    per_round: int
    figures: dict[str, Figures]
    absent: dict[str, str] = field(default_factory=dict)


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def summarize(
    name: str,
    rounds: Sequence[Mapping[str, float]],
    per_round: int,
    absent: Mapping[str, str],
) -> Scenario:
    """Medians across rounds of the per-round figures (each a median of `per_round` ns)."""
    figures: dict[str, Figures] = {}
    for variant in rounds[0]:
        q1, median, q3 = _quartiles([r[variant] / r[BARE_A] - 1 for r in rounds])
        figures[variant] = Figures(
            us=statistics.median(r[variant] for r in rounds) / 1000,
            diff_us=statistics.median(r[variant] - r[BARE_A] for r in rounds) / 1000,
            overhead=median,
            q1=q1,
            q3=q3,
        )
    return Scenario(name, len(rounds), per_round, figures, dict(absent))


def run_sync_rounds(
    senders: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    per_round: int,
    warmup: int,
    rng: random.Random,
) -> list[dict[str, float]]:
    """Per round, the median ns of each variant's single requests, sent interleaved."""
    for _ in range(warmup):
        for send in senders.values():
            send()
    schedule = [variant for variant in senders for _ in range(per_round)]
    clock = time.perf_counter_ns
    results: list[dict[str, float]] = []
    for _ in range(rounds):
        rng.shuffle(schedule)
        timings: dict[str, list[int]] = {variant: [] for variant in senders}
        gc.disable()
        try:
            for variant in schedule:
                send = senders[variant]
                start = clock()
                send()
                timings[variant].append(clock() - start)
        finally:
            gc.enable()
        results.append({v: statistics.median(ts) for v, ts in timings.items()})
    return results


async def run_async_rounds(
    senders: Mapping[str, Callable[[], Awaitable[object]]],
    *,
    rounds: int,
    per_round: int,
    warmup: int,
    rng: random.Random,
) -> list[dict[str, float]]:
    """`run_sync_rounds` for coroutines, awaited one at a time on the running loop."""
    for _ in range(warmup):
        for send in senders.values():
            await send()
    schedule = [variant for variant in senders for _ in range(per_round)]
    clock = time.perf_counter_ns
    results: list[dict[str, float]] = []
    for _ in range(rounds):
        rng.shuffle(schedule)
        timings: dict[str, list[int]] = {variant: [] for variant in senders}
        gc.disable()
        try:
            for variant in schedule:
                send = senders[variant]
                start = clock()
                await send()
                timings[variant].append(clock() - start)
        finally:
            gc.enable()
        results.append({v: statistics.median(ts) for v, ts in timings.items()})
    return results


def _check_ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200 or response.content != BODY:
        raise RuntimeError(f"unexpected response: {response.status_code} {response.content!r}")
    return response


def _sync_get(client: httpx.Client, url: str) -> Callable[[], httpx.Response]:
    def send() -> httpx.Response:
        return client.get(url)

    return send


def _async_get(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[httpx.Response]]:
    async def send() -> httpx.Response:
        return await client.get(url)

    return send


@dataclass(frozen=True)
class Traffic:
    """Where the 200s come from: a fresh bare transport per client, a URL, a request budget."""

    name: str
    url: str
    make_sync: Callable[[], httpx.BaseTransport]
    make_async: Callable[[], httpx.AsyncBaseTransport]
    per_round: int
    warmup: int


def bench_sync(
    traffic: Traffic, wrappers: Sequence[Wrapper], rounds: int, rng: random.Random
) -> Scenario:
    # trust_env=False: a proxy from the environment must not take over the URL (httpx mounts
    # env proxies ahead of the `transport=` given, even a MockTransport).
    absent = {w.name: w.sync_absent for w in wrappers if w.sync is None}
    with ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        for w in wrappers:
            if w.sync is not None:
                client = httpx.Client(transport=w.sync(traffic.make_sync()), trust_env=False)
                clients[w.name] = stack.enter_context(client)
                _check_ok(client.get(traffic.url))
        senders = {v: _sync_get(c, traffic.url) for v, c in clients.items()}
        results = run_sync_rounds(
            senders, rounds=rounds, per_round=traffic.per_round, warmup=traffic.warmup, rng=rng
        )
    return summarize(f"sync  {traffic.name}", results, traffic.per_round, absent)


def bench_async(
    traffic: Traffic, wrappers: Sequence[Wrapper], rounds: int, rng: random.Random
) -> Scenario:
    absent = {w.name: w.async_absent for w in wrappers if w.async_ is None}

    async def main() -> list[dict[str, float]]:
        clients: dict[str, httpx.AsyncClient] = {}
        try:
            for w in wrappers:
                if w.async_ is not None:
                    transport = w.async_(traffic.make_async())
                    clients[w.name] = httpx.AsyncClient(transport=transport, trust_env=False)
                    _check_ok(await clients[w.name].get(traffic.url))
            senders = {v: _async_get(c, traffic.url) for v, c in clients.items()}
            return await run_async_rounds(
                senders,
                rounds=rounds,
                per_round=traffic.per_round,
                warmup=traffic.warmup,
                rng=rng,
            )
        finally:
            for client in clients.values():
                await client.aclose()

    results = asyncio.run(main())
    return summarize(f"async {traffic.name}", results, traffic.per_round, absent)


# --------------------------------------------------------------------------- 200 over mocks


def ok_handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=BODY)


def mock_traffic(settings: Settings) -> Traffic:
    return Traffic(
        name="MockTransport",
        url=MOCK_URL,
        make_sync=lambda: httpx.MockTransport(ok_handler),
        make_async=lambda: httpx.MockTransport(ok_handler),
        per_round=settings.mock_per_round,
        warmup=settings.mock_warmup,
    )


# --------------------------------------------------------------------------- 200 over loopback


class _JSONHandler(BaseHTTPRequestHandler):
    """200 with a small JSON body; HTTP/1.1 keep-alive, one write per response, no Nagle."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer headers and body; `handle_one_request` flushes them in one send

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def loopback_server() -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1, port chosen by the OS; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JSONHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}/ping"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def loopback_traffic(url: str, settings: Settings) -> Traffic:
    return Traffic(
        name="loopback HTTP/1.1",
        url=url,
        make_sync=httpx.HTTPTransport,
        make_async=httpx.AsyncHTTPTransport,
        per_round=settings.loopback_per_round,
        warmup=settings.loopback_warmup,
    )


# --------------------------------------------------------------------------- 402 path


@dataclass(frozen=True)
class Gate:
    """A recorded gate response from tests/payloads/, ready to replay."""

    label: str
    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def load(cls, label: str, filename: str) -> Gate:
        data = json.loads((PAYLOAD_DIR / filename).read_text(encoding="utf-8"))
        request, response = data["request"], data["response"]
        return cls(
            label=label,
            method=request["method"],
            url=request["url"],
            status=response["status"],
            headers=list(response["headers"].items()),
            body=response["body"].encode(),
        )

    def response(self) -> httpx.Response:
        return httpx.Response(
            self.status,
            headers=self.headers,
            content=self.body,
            request=httpx.Request(self.method, self.url),
        )

    def handler(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, content=self.body)


@dataclass(frozen=True)
class GateTiming:
    label: str
    reason: str
    classify_us: float
    bare_us: float
    wrapped_us: float
    raised: str


def _batch_size(timer: timeit.Timer, target_s: float) -> int:
    """timeit's autorange (1, 2, 5, 10, 20, ...), with our own target time per batch."""
    number = 1
    while True:
        for multiplier in (1, 2, 5):
            if timer.timeit(number * multiplier) >= target_s:
                return number * multiplier
        number *= 10


def per_call_us(fns: Mapping[str, Callable[[], object]], settings: Settings) -> dict[str, float]:
    """Per function, the best of `timeit_repeat` batch means, in µs per call.

    The batches of the functions alternate, so a burst of load elsewhere on the machine
    hits them alike rather than one of them.
    """
    timers = {name: timeit.Timer(fn) for name, fn in fns.items()}
    numbers = {name: _batch_size(t, settings.timeit_target_s) for name, t in timers.items()}
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(settings.timeit_repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(numbers[name]) / numbers[name])
    return {name: seconds * 1e6 for name, seconds in best.items()}


def bench_gate(gate: Gate, settings: Settings) -> GateTiming:
    response = gate.response()
    payment = http402.classify(response)
    reason = payment.reason.value if payment is not None else "(not a gate)"

    bare = httpx.Client(transport=httpx.MockTransport(gate.handler))
    wrapped = httpx.Client(
        transport=http402.PaymentRequiredTransport(httpx.MockTransport(gate.handler))
    )
    with bare, wrapped:

        def send_bare() -> None:
            bare.request(gate.method, gate.url)

        def send_wrapped() -> None:
            with suppress(http402.PaymentRequiredError):
                wrapped.request(gate.method, gate.url)

        try:
            wrapped.request(gate.method, gate.url)
            raised = "returned"
        except http402.PaymentRequiredError as error:
            raised = type(error).__name__

        timings = per_call_us(
            {
                "classify": lambda: http402.classify(response),
                "bare": send_bare,
                "wrapped": send_wrapped,
            },
            settings,
        )
    return GateTiming(
        label=gate.label,
        reason=reason,
        classify_us=timings["classify"],
        bare_us=timings["bare"],
        wrapped_us=timings["wrapped"],
        raised=raised,
    )


# --------------------------------------------------------------------------- gzip bomb

BOMB_SIZE = 1 << 30  # decoded bytes
_BOMB_BLOCK = 1 << 20  # zeros compressed per deflate segment
_SEGMENTS_PER_CHUNK = 64  # about 64 KiB of compressed bytes per streamed chunk


@dataclass(frozen=True)
class Bomb:
    """A 1 GiB gzip bomb as a few distinct pre-compressed chunks, streamed by reference.

    Each MiB of zeros is compressed with a full flush, which resets the compressor, so every
    segment after the first is the same bytes: the stream is `head`, `middle` repeated,
    `tail`, and only those three objects (about 130 KiB) exist in memory, never the whole bomb.
    """

    head: bytes
    middle: bytes
    middles: int
    tail: bytes

    @classmethod
    def build(cls) -> Bomb:
        block = bytes(_BOMB_BLOCK)
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate
        segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        if again != segment:
            raise RuntimeError("zlib did not repeat the segment after a full flush")
        crc = 0
        for _ in range(BOMB_SIZE // _BOMB_BLOCK):
            crc = zlib.crc32(block, crc)
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, mtime 0
        trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
        segments = BOMB_SIZE // _BOMB_BLOCK
        return cls(
            head=header + segment * _SEGMENTS_PER_CHUNK,
            middle=segment * _SEGMENTS_PER_CHUNK,
            middles=segments // _SEGMENTS_PER_CHUNK - 1,
            tail=compressor.flush(zlib.Z_FINISH) + trailer,
        )

    @property
    def chunk_count(self) -> int:
        return self.middles + 2

    @property
    def compressed_size(self) -> int:
        return len(self.head) + self.middles * len(self.middle) + len(self.tail)

    def chunks(self, pulled: list[int]) -> Iterator[bytes]:
        """The chunks in order; `pulled[0]` counts how many the reader asked for."""
        pulled[0] += 1
        yield self.head
        for _ in range(self.middles):
            pulled[0] += 1
            yield self.middle
        pulled[0] += 1
        yield self.tail


class _BombStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, bomb: Bomb, pulled: list[int]) -> None:
        self._bomb = bomb
        self._pulled = pulled

    def __iter__(self) -> Iterator[bytes]:
        return self._bomb.chunks(self._pulled)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._bomb.chunks(self._pulled):
            yield chunk


@dataclass(frozen=True)
class BombResult:
    name: str
    peak_mib: float
    chunks_read: int
    chunks: int
    body_kept: int
    raised: str


def _bomb_handler(bomb: Bomb, pulled: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
            stream=_BombStream(bomb, pulled),
        )

    return handler


def _outcome(error: BaseException | None) -> tuple[str, int]:
    if isinstance(error, httpx.HTTPStatusError):
        return type(error).__name__, len(error.response.content)
    return ("returned" if error is None else type(error).__name__), 0


def bench_bomb_sync(bomb: Bomb) -> BombResult:
    pulled = [0]
    transport = http402.PaymentRequiredTransport(httpx.MockTransport(_bomb_handler(bomb, pulled)))
    with httpx.Client(transport=transport, trust_env=False) as client:

        def send() -> BaseException | None:
            try:
                client.get(MOCK_URL)
            except http402.PaymentRequiredError as error:
                return error
            return None

        send()  # first use: lazy imports and caches are not the bomb's doing
        gc.collect()
        pulled[0] = 0
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            error = send()
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
    raised, kept = _outcome(error)
    return BombResult(
        "sync  MockTransport", peak / 2**20, pulled[0], bomb.chunk_count, kept, raised
    )


def bench_bomb_async(bomb: Bomb) -> BombResult:
    pulled = [0]

    async def main() -> tuple[int, BaseException | None]:
        handler = _bomb_handler(bomb, pulled)
        transport = http402.AsyncPaymentRequiredTransport(httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:

            async def send() -> BaseException | None:
                try:
                    await client.get(MOCK_URL)
                except http402.PaymentRequiredError as error:
                    return error
                return None

            await send()
            gc.collect()
            pulled[0] = 0
            tracemalloc.start()
            try:
                baseline = tracemalloc.get_traced_memory()[0]
                error = await send()
                peak = tracemalloc.get_traced_memory()[1] - baseline
            finally:
                tracemalloc.stop()
        return peak, error

    peak, error = asyncio.run(main())
    raised, kept = _outcome(error)
    return BombResult(
        "async MockTransport", peak / 2**20, pulled[0], bomb.chunk_count, kept, raised
    )


# --------------------------------------------------------------------------- report


def _load() -> str:
    """The load average, when the OS has one: other work on the machine widens the noise."""
    if not hasattr(os, "getloadavg"):
        return ""
    one, five, fifteen = os.getloadavg()
    return f", load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


LABELS = {BARE_A: "bare httpx", BARE_B: "control: bare B"}


def print_scenarios(scenarios: Sequence[Scenario], order: Sequence[str]) -> None:
    print(
        f"{'scenario':<24} {'variant':<16} {'µs/req':>8} {'diff µs':>8} "
        f"{'overhead':>9} {'(IQR)':>15}"
    )
    for s in scenarios:
        name = s.name
        for variant in order:
            label = LABELS.get(variant, variant)
            if variant in s.absent:
                print(f"{name:<24} {label:<16} {s.absent[variant]}")
            elif variant == BARE_A:
                print(f"{name:<24} {label:<16} {s.figures[variant].us:>8.1f}")
            else:
                f = s.figures[variant]
                iqr = f"{_pct(f.q1)}..{_pct(f.q3)}"
                print(
                    f"{name:<24} {label:<16} {f.us:>8.1f} {f.diff_us:>+8.2f} "
                    f"{_pct(f.overhead):>9} {iqr:>15}"
                )
            name = ""


def _short_absence(why: str) -> str:
    for start, short in (
        ("n/a", "n/a (async only)"),
        ("not installed", "not installed"),
        ("skipped", "skipped"),
    ):
        if why.startswith(start):
            return short
    return "not set up"


def print_matrix(scenarios: Sequence[Scenario], rows: Sequence[str]) -> None:
    """Side by side: median overhead (and µs) per wrapper and scenario, with the quartiles of
    its per-round ratios, the control first."""
    width = 34
    print(f"{'overhead vs bare httpx':<24}" + "".join(f"{s.name:<{width}}" for s in scenarios))
    bare = [f"{s.figures[BARE_A].us:.1f} µs" for s in scenarios]
    print(f"{'(bare httpx)':<24}" + "".join(f"{b:<{width}}" for b in bare))
    for row in rows:
        cells = []
        for s in scenarios:
            if row in s.absent:
                cells.append(f"{_short_absence(s.absent[row]):<{width}}")
            else:
                f = s.figures[row]
                spread = f" ({_pct(f.q1)}..{_pct(f.q3)})"
                cells.append(f"{_pct(f.overhead) + f' {f.diff_us:+.2f} µs' + spread:<{width}}")
        label = "control (noise)" if row == BARE_B else LABELS.get(row, row)
        print(f"{label:<24}" + "".join(cells))


def print_gates(gates: Sequence[GateTiming]) -> None:
    print(
        f"{'402 path (MockTransport)':<24} {'reason':<21} {'classify µs':>11} "
        f"{'bare µs':>8} {'wrapped µs':>10} {'diff µs':>8}  raises"
    )
    for g in gates:
        print(
            f"{g.label:<24} {g.reason:<21} {g.classify_us:>11.1f} {g.bare_us:>8.1f} "
            f"{g.wrapped_us:>10.1f} {g.wrapped_us - g.bare_us:>+8.1f}  {g.raised}"
        )


def print_bombs(bomb: Bomb, results: Sequence[BombResult]) -> None:
    print(
        f"{'gzip bomb 402 (http402)':<24} {'peak MiB':>8} {'chunks read':>12} "
        f"{'body kept':>10}  raises"
    )
    for r in results:
        read = f"{r.chunks_read}/{r.chunks}"
        print(f"{r.name:<24} {r.peak_mib:>8.3f} {read:>12} {r.body_kept:>10}  {r.raised}")


def print_overhead_targets(scenarios: Sequence[Scenario]) -> None:
    for s in scenarios:
        limit = TARGET_MOCK if "Mock" in s.name else TARGET_LOOPBACK
        c = s.figures[BARE_B]
        for variant in HTTP402_VARIANTS:
            f = s.figures[variant]
            name = "http402" if variant == HTTP402 else f"http402 {variant}"
            print(
                f"{name:<22} {s.name:<24} overhead {_pct(f.overhead):>6} "
                f"({f.diff_us:+.2f} µs) <= {limit:.0%}: "
                f"{'met' if f.overhead <= limit else 'NOT met':<7}  "
                f"(control IQR {_pct(c.q1)}..{_pct(c.q3)})"
            )


def print_targets(
    scenarios: Sequence[Scenario], gates: Sequence[GateTiming], bombs: Sequence[BombResult]
) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print_overhead_targets(scenarios)
    worst = max(gates, key=lambda g: g.classify_us)
    print(
        f"classify, slowest payload ({worst.label}) {worst.classify_us:.1f} µs "
        f"< {TARGET_CLASSIFY_US:.0f} µs: {verdict(worst.classify_us < TARGET_CLASSIFY_US)}"
    )
    peak = max(r.peak_mib for r in bombs)
    print(
        f"gzip bomb, highest peak {peak:.3f} MiB < {TARGET_BOMB_MIB:.0f} MiB: "
        f"{verdict(peak < TARGET_BOMB_MIB)}"
    )


# --------------------------------------------------------------------------- classify


@dataclass(frozen=True)
class ClassifyTiming:
    label: str
    kind: str  # "gate", "4xx look-alike", "other look-alike", "hostile", "fresh keys"
    status: int
    verdict: str
    median_us: float


def _median_us(fn: Callable[[], object], batches: int, target_s: float) -> float:
    """The median of `batches` batch means, in µs per call (GC off, as timeit does)."""
    timer = timeit.Timer(fn)
    number = _batch_size(timer, target_s)
    return statistics.median(timer.repeat(batches, number)) / number * 1e6


def _response(status: int, body: bytes, content_type: str, url: str) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": content_type},
        content=body,
        request=httpx.Request("POST", url),
    )


def hostile_bodies() -> list[tuple[str, httpx.Response]]:
    """64 KiB bodies built to make a scanner slow: each is read whole (it fits the limit)."""
    size = 64 * 1024
    gateway = "http://localhost:4000/v1/chat/completions"

    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    def message(text: str) -> bytes:
        body = json.dumps({"error": {"message": text}})
        return body.encode()[:size]

    card = "your card was declined due to insufficient funds, card card card "
    return [
        ("card wording, text 402", _response(402, fill(card).encode(), "text/plain", MOCK_URL)),
        (
            "card wording, JSON 402",
            _response(402, message(fill(card)), "application/json", MOCK_URL),
        ),
        (
            "card wording, JSON 403",
            _response(403, message(fill(card)), "application/json", gateway),
        ),
        ("card, no stop, text 429", _response(429, fill("card ").encode(), "text/plain", gateway)),
        (
            "billing words, text 402",
            _response(
                402,
                fill("insufficient credits balance plan upgrade quota per ").encode(),
                "text/plain",
                MOCK_URL,
            ),
        ),
        (
            "links, JSON 402",
            _response(
                402, message(fill("https://a.example/billing ")), "application/json", MOCK_URL
            ),
        ),
        (
            "digits, JSON 402",
            _response(
                402, message("credits required " + "9" * (size - 100)), "application/json", MOCK_URL
            ),
        ),
        ("brackets, JSON 400", _response(400, fill("[").encode(), "application/json", gateway)),
        (
            "tags, HTML 402",
            _response(402, fill("<b>card declined").encode(), "text/html", MOCK_URL),
        ),
        (
            "spaces, text 402",
            _response(402, (" " * (size - 20) + "card declined").encode(), "text/plain", MOCK_URL),
        ),
    ]


def bench_classify(settings: Settings) -> list[ClassifyTiming]:
    """Per recorded payload and per hostile body, the median µs of one `classify` call."""
    batches = max(5, settings.timeit_repeat)
    timings: list[ClassifyTiming] = []
    for path in sorted(PAYLOAD_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        gate = Gate.load(path.stem, path.name)
        response = gate.response()
        payment = http402.classify(response)
        if data["expected"]["is_payment_gate"]:
            kind = "gate"
        elif 400 <= gate.status < 500 and gate.status != 402:
            kind = "4xx look-alike"
        else:
            kind = "other look-alike"
        verdict = payment.reason.value if payment is not None else "(not a gate)"
        median = _median_us(
            lambda r=response: http402.classify(r), batches, settings.timeit_target_s
        )
        timings.append(ClassifyTiming(path.stem, kind, gate.status, verdict, median))
    for label, response in hostile_bodies():
        payment = http402.classify(response)
        verdict = payment.reason.value if payment is not None else "(not a gate)"
        median = _median_us(
            lambda r=response: http402.classify(r), batches, settings.timeit_target_s
        )
        timings.append(ClassifyTiming(label, "hostile", response.status_code, verdict, median))
    timings.append(_bench_fresh_keys(batches, settings))
    timings.append(_bench_fresh_messages(batches, settings))
    return timings


def _bench_fresh_messages(batches: int, settings: Settings) -> ClassifyTiming:
    """A gate whose message is new every time (an amount, a request id in it): the texts
    that classify caches by value (wording verdicts, shown fields) are missed each call."""
    gate = Gate.load("fresh messages", "openai-insufficient-quota-429.json")
    document = json.loads(gate.body)
    message = document["error"]["message"]
    counter = iter(range(10**12))

    def body() -> bytes:
        document["error"]["message"] = f"{message} (request {next(counter):012d})"
        return json.dumps(document).encode()

    def classify_a_new_message() -> object:
        request = httpx.Request(gate.method, gate.url)
        response = httpx.Response(
            gate.status, headers=gate.headers, content=body(), request=request
        )
        return http402.classify(response)

    def build_only() -> object:
        request = httpx.Request(gate.method, gate.url)
        return httpx.Response(gate.status, headers=gate.headers, content=body(), request=request)

    payment = classify_a_new_message()
    verdict = (
        payment.reason.value if isinstance(payment, http402.PaymentRequired) else "(not a gate)"
    )
    with_messages = _median_us(classify_a_new_message, batches, settings.timeit_target_s)
    building = _median_us(build_only, batches, settings.timeit_target_s)
    return ClassifyTiming(
        "openai 429, new message per call",
        "fresh messages",
        gate.status,
        verdict,
        with_messages - building,
    )


def _bench_fresh_keys(batches: int, settings: Settings) -> ClassifyTiming:
    """A gate whose request carries a new API key every time, as many tenants' keys would."""
    gate = Gate.load("fresh keys", "openai-insufficient-quota-429.json")
    counter = iter(range(10**12))

    def classify_with_a_new_key() -> object:
        key = f"sk-proj-{next(counter):032d}"
        request = httpx.Request(
            gate.method, gate.url, headers={"authorization": f"Bearer {key}", "x-api-key": key}
        )
        response = httpx.Response(
            gate.status, headers=gate.headers, content=gate.body, request=request
        )
        return http402.classify(response)

    def build_only() -> object:
        key = f"sk-proj-{next(counter):032d}"
        request = httpx.Request(
            gate.method, gate.url, headers={"authorization": f"Bearer {key}", "x-api-key": key}
        )
        return httpx.Response(gate.status, headers=gate.headers, content=gate.body, request=request)

    payment = classify_with_a_new_key()
    verdict = (
        payment.reason.value if isinstance(payment, http402.PaymentRequired) else "(not a gate)"
    )
    with_keys = _median_us(classify_with_a_new_key, batches, settings.timeit_target_s)
    building = _median_us(build_only, batches, settings.timeit_target_s)
    return ClassifyTiming(
        "openai 429, new API key per call", "fresh keys", gate.status, verdict, with_keys - building
    )


def print_classify(timings: Sequence[ClassifyTiming]) -> None:
    print(f"{'classify':<48} {'kind':<16} {'status':>6} {'verdict':<21} {'median µs':>9}")
    for t in sorted(timings, key=lambda t: (t.kind, -t.median_us)):
        print(f"{t.label[:48]:<48} {t.kind:<16} {t.status:>6} {t.verdict:<21} {t.median_us:>9.1f}")


def print_classify_targets(timings: Sequence[ClassifyTiming]) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def of(kind: str) -> list[ClassifyTiming]:
        return [t for t in timings if t.kind == kind]

    gates, lookalikes, hostile, fresh = (
        of("gate"),
        of("4xx look-alike"),
        of("hostile"),
        of("fresh keys"),
    )
    typical = statistics.median(t.median_us for t in gates)
    slowest = max(gates, key=lambda t: t.median_us)
    print(
        f"classify, typical gate (median of {len(gates)}) {typical:.1f} µs "
        f"<= {TARGET_TYPICAL_GATE_US:.0f} µs: {verdict(typical <= TARGET_TYPICAL_GATE_US)}  "
        f"(slowest: {slowest.label} {slowest.median_us:.1f} µs)"
    )
    non_gate = statistics.median(t.median_us for t in lookalikes)
    print(
        f"classify, non-gate 4xx (median of {len(lookalikes)}) {non_gate:.1f} µs "
        f"<= {TARGET_NON_GATE_4XX_US:.0f} µs: {verdict(non_gate <= TARGET_NON_GATE_4XX_US)}"
    )
    worst = max(hostile, key=lambda t: t.median_us)
    print(
        f"classify, worst hostile 64 KiB body ({worst.label}) {worst.median_us:.1f} µs "
        f"<= {TARGET_HOSTILE_US:.0f} µs: {verdict(worst.median_us <= TARGET_HOSTILE_US)}"
    )
    for t in fresh:
        print(
            f"classify, {t.label} {t.median_us:.1f} µs "
            f"<= {TARGET_FRESH_KEYS_US:.0f} µs: {verdict(t.median_us <= TARGET_FRESH_KEYS_US)}"
        )
    for t in of("fresh messages"):
        same = next((g for g in gates if g.label == "openai-insufficient-quota-429"), None)
        against = f" (the same message every call: {same.median_us:.1f} µs)" if same else ""
        print(f"classify, {t.label} {t.median_us:.1f} µs, no target{against}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--rounds", type=int, help="rounds per 200 benchmark (default 500, --quick 50)"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds, rougher figures")
    parser.add_argument("--seed", type=int, help="seed for the shuffled request order")
    parser.add_argument(
        "--no-peers", action="store_true", help="skip httpx-retries and x402 even if installed"
    )
    parser.add_argument(
        "--mock-only",
        action="store_true",
        help="only the 200s over MockTransport (sync and async), every variant",
    )
    parser.add_argument(
        "--classify-only",
        action="store_true",
        help="only time classify on the recorded payloads and hostile bodies",
    )
    args = parser.parse_args(argv)
    settings = settings_for(args)
    if args.classify_only:
        python = f"{platform.python_implementation()} {platform.python_version()}"
        print(f"{python} on {sys.platform} ({platform.machine()}), {os.cpu_count()} CPUs{_load()}")
        print(
            "classify(response) per call: median of batch means (GC off), per recorded payload "
            "of tests/payloads/ and per hostile body"
        )
        timings = bench_classify(settings)
        print_classify(timings)
        print()
        print_classify_targets(timings)
        return
    rng = random.Random(args.seed)
    wrappers = own_wrappers() + peer_wrappers(not args.no_peers)
    order = [w.name for w in wrappers]

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} on {sys.platform} ({platform.machine()}), {os.cpu_count()} CPUs{_load()}")
    for w in wrappers:
        if w.name in (BARE_A, BARE_B):
            continue
        version = w.version or w.async_absent
        print(f"  {w.name:<14} {version:<12} {w.note}")
    print(f"  {'httpx':<14} {httpx.__version__}")
    print(
        f"rounds {settings.rounds}; per round, single requests of each variant "
        f"({settings.mock_per_round} each over MockTransport, {settings.loopback_per_round} "
        "each over loopback) in shuffled order, each timed alone"
    )
    print("GC disabled during each timed round (timeit also disables it for its batches)")
    print(
        "figures: µs/req = median over rounds of per-round medians; overhead = median of "
        "per-round variant/bare A; control = the same for bare B, an identical bare client"
    )
    print(flush=True)

    started = time.perf_counter()
    scenarios: list[Scenario] = []
    traffic = mock_traffic(settings)
    for bench in (bench_sync, bench_async):
        scenarios.append(bench(traffic, wrappers, settings.rounds, rng))
        print(f"  done: {scenarios[-1].name}", flush=True)
    if args.mock_only:
        print()
        print("Non-402 traffic (200, small JSON body): each wrapper vs the bare transport it wraps")
        print_matrix(scenarios, order[1:])
        print()
        print("Targets (medians; an overhead inside the control's IQR is not measurable here)")
        print_overhead_targets(scenarios)
        print(f"\ntotal {time.perf_counter() - started:.1f} s{_load()}")
        return
    with loopback_server() as url:
        traffic = loopback_traffic(url, settings)
        for bench in (bench_sync, bench_async):
            scenarios.append(bench(traffic, wrappers, settings.rounds, rng))
            print(f"  done: {scenarios[-1].name}", flush=True)

    gates: list[GateTiming] = []
    for label, filename in GATE_PAYLOADS:
        gates.append(bench_gate(Gate.load(label, filename), settings))
    print(f"  done: 402 path, {len(gates)} payloads", flush=True)

    bomb = Bomb.build()
    bombs = [bench_bomb_sync(bomb), bench_bomb_async(bomb)]
    print("  done: gzip bomb", flush=True)
    classified = bench_classify(settings)
    print(f"  done: classify, {len(classified)} bodies", flush=True)
    elapsed = time.perf_counter() - started

    print()
    print("Non-402 traffic (200, small JSON body): each wrapper vs the bare transport it wraps")
    print_scenarios(scenarios, order)
    print()
    print_matrix(scenarios, order[1:])
    print()
    print(
        f"402 path: classify(response) per call; a client request through a bare vs a wrapped "
        f"MockTransport (wrapped = read, classify, raise and catch the typed error); best of "
        f"{settings.timeit_repeat} alternating batch means"
    )
    print_gates(gates)
    print()
    print(
        f"gzip bomb: a 402 with Content-Encoding: gzip decoding to {BOMB_SIZE / 2**30:.0f} GiB, "
        f"streamed as {bomb.chunk_count} chunks ({bomb.compressed_size / 2**20:.2f} MiB "
        "compressed); peak = tracemalloc peak during one request minus the memory traced "
        "before it"
    )
    print_bombs(bomb, bombs)
    print()
    print("classify(response) per recorded payload and hostile body: median of batch means")
    print_classify(classified)
    print()
    print("Targets (medians; an overhead inside the control's IQR is not measurable here)")
    print_targets(scenarios, gates, bombs)
    print_classify_targets(classified)
    print()
    print(f"total {elapsed:.1f} s{_load()}")


if __name__ == "__main__":
    main()
