"""How much does wrapping a transport with http402 cost?

Run as ``python benchmarks/overhead.py [--rounds N] [--quick] [--seed S]``. Prints figures only.

1. Per-request overhead on ordinary (non-402) traffic, a 200 with a small JSON body, of
   ``PaymentRequiredTransport`` / ``AsyncPaymentRequiredTransport`` versus the bare transport,
   over ``httpx.MockTransport`` and over a real loopback HTTP/1.1 server.
2. ``http402.classify`` per payload kind, and the wrapped transport's full 402 path
   (read, classify, raise, catch) per call.

Noise control for (1): each round sends single requests of three variants (bare A, bare B,
wrapped) in a freshly shuffled order, timing every request on its own; a round's figure for a
variant is the median of its requests. Per round we take wrapped/bare A and, as a control,
bare B/bare A; the reported figures are medians of those per-round ratios. The control shows
the noise floor: an overhead within the control's spread is not measurable here. The garbage
collector is off during each timed round (and timeit turns it off for its own batches).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

import http402

PAYLOAD_DIR = Path(__file__).resolve().parent.parent / "tests" / "payloads"
BODY = json.dumps({"id": "chatcmpl-123", "object": "chat.completion", "ok": True}).encode()
MOCK_URL = "https://api.example.com/v1/ping"

BARE_A, BARE_B, WRAPPED = "bare A", "bare B", "wrapped"
VARIANTS = (BARE_A, BARE_B, WRAPPED)

#: (label, file in tests/payloads/) of the gates whose classification is timed.
GATE_PAYLOADS = (
    ("openrouter 402", "openrouter-insufficient-credits-metadata.json"),
    ("stripe 402", "stripe-card-declined-generic-decline.json"),
    ("openai 429", "openai-insufficient-quota-429.json"),
    ("x402 v2 402", "x402-v2-payment-required-header.json"),
    ("l402 402", "l402-blip26-challenge.json"),
    ("anthropic 400", "anthropic-credit-balance-too-low-400.json"),
)


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
        defaults = Settings(500, 20, 8, 1000, 100, 0.02, 25)
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


# --------------------------------------------------------------------------- interleaved rounds


@dataclass(frozen=True)
class Comparison:
    """One bare-versus-wrapped measurement, summarized over rounds."""

    name: str
    bare_us: float
    wrapped_us: float
    diff_us: float
    overhead: float
    overhead_q1: float
    overhead_q3: float
    control: float
    control_q1: float
    control_q3: float
    rounds: int
    per_round: int


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def summarize(name: str, rounds: Sequence[Mapping[str, float]], per_round: int) -> Comparison:
    """Medians across rounds of the per-round figures (each a median of `per_round` ns)."""
    overheads = [r[WRAPPED] / r[BARE_A] - 1 for r in rounds]
    controls = [r[BARE_B] / r[BARE_A] - 1 for r in rounds]
    o_q1, o_med, o_q3 = _quartiles(overheads)
    c_q1, c_med, c_q3 = _quartiles(controls)
    return Comparison(
        name=name,
        bare_us=statistics.median(r[BARE_A] for r in rounds) / 1000,
        wrapped_us=statistics.median(r[WRAPPED] for r in rounds) / 1000,
        diff_us=statistics.median(r[WRAPPED] - r[BARE_A] for r in rounds) / 1000,
        overhead=o_med,
        overhead_q1=o_q1,
        overhead_q3=o_q3,
        control=c_med,
        control_q1=c_q1,
        control_q3=c_q3,
        rounds=len(rounds),
        per_round=per_round,
    )


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


def _mock_rounds(settings: Settings) -> dict[str, int]:
    return {
        "rounds": settings.rounds,
        "per_round": settings.mock_per_round,
        "warmup": settings.mock_warmup,
    }


def _loopback_rounds(settings: Settings) -> dict[str, int]:
    return {
        "rounds": settings.rounds,
        "per_round": settings.loopback_per_round,
        "warmup": settings.loopback_warmup,
    }


def _check_ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200 or response.content != BODY:
        raise RuntimeError(f"unexpected response: {response.status_code} {response.content!r}")
    return response


# --------------------------------------------------------------------------- 200 over mocks


def ok_handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=BODY)


def bench_sync_mock(settings: Settings, rng: random.Random) -> Comparison:
    with ExitStack() as stack:
        clients = {
            BARE_A: httpx.Client(transport=httpx.MockTransport(ok_handler)),
            BARE_B: httpx.Client(transport=httpx.MockTransport(ok_handler)),
            WRAPPED: httpx.Client(
                transport=http402.PaymentRequiredTransport(httpx.MockTransport(ok_handler))
            ),
        }
        for client in clients.values():
            stack.enter_context(client)
            _check_ok(client.get(MOCK_URL))
        senders = {v: _sync_get(c, MOCK_URL) for v, c in clients.items()}
        rounds = run_sync_rounds(senders, **_mock_rounds(settings), rng=rng)
    return summarize("sync  MockTransport 200", rounds, settings.mock_per_round)


def bench_async_mock(settings: Settings, rng: random.Random) -> Comparison:
    async def main() -> Comparison:
        clients = {
            BARE_A: httpx.AsyncClient(transport=httpx.MockTransport(ok_handler)),
            BARE_B: httpx.AsyncClient(transport=httpx.MockTransport(ok_handler)),
            WRAPPED: httpx.AsyncClient(
                transport=http402.AsyncPaymentRequiredTransport(httpx.MockTransport(ok_handler))
            ),
        }
        try:
            for client in clients.values():
                _check_ok(await client.get(MOCK_URL))
            senders = {v: _async_get(c, MOCK_URL) for v, c in clients.items()}
            rounds = await run_async_rounds(senders, **_mock_rounds(settings), rng=rng)
        finally:
            for client in clients.values():
                await client.aclose()
        return summarize("async MockTransport 200", rounds, settings.mock_per_round)

    return asyncio.run(main())


def _sync_get(client: httpx.Client, url: str) -> Callable[[], httpx.Response]:
    def send() -> httpx.Response:
        return client.get(url)

    return send


def _async_get(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[httpx.Response]]:
    async def send() -> httpx.Response:
        return await client.get(url)

    return send


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


def bench_sync_loopback(url: str, settings: Settings, rng: random.Random) -> Comparison:
    # trust_env=False: a proxy from the environment must not take over the loopback URL.
    with ExitStack() as stack:
        clients = {
            BARE_A: httpx.Client(transport=httpx.HTTPTransport(), trust_env=False),
            BARE_B: httpx.Client(transport=httpx.HTTPTransport(), trust_env=False),
            WRAPPED: httpx.Client(
                transport=http402.PaymentRequiredTransport(httpx.HTTPTransport()),
                trust_env=False,
            ),
        }
        for client in clients.values():
            stack.enter_context(client)
            _check_ok(client.get(url))
        senders = {v: _sync_get(c, url) for v, c in clients.items()}
        rounds = run_sync_rounds(senders, **_loopback_rounds(settings), rng=rng)
    return summarize("sync  loopback HTTP/1.1 200", rounds, settings.loopback_per_round)


def bench_async_loopback(url: str, settings: Settings, rng: random.Random) -> Comparison:
    async def main() -> Comparison:
        clients = {
            BARE_A: httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(), trust_env=False),
            BARE_B: httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(), trust_env=False),
            WRAPPED: httpx.AsyncClient(
                transport=http402.AsyncPaymentRequiredTransport(httpx.AsyncHTTPTransport()),
                trust_env=False,
            ),
        }
        try:
            for client in clients.values():
                _check_ok(await client.get(url))
            senders = {v: _async_get(c, url) for v, c in clients.items()}
            rounds = await run_async_rounds(senders, **_loopback_rounds(settings), rng=rng)
        finally:
            for client in clients.values():
                await client.aclose()
        return summarize("async loopback HTTP/1.1 200", rounds, settings.loopback_per_round)

    return asyncio.run(main())


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


# --------------------------------------------------------------------------- report


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def print_comparisons(comparisons: Sequence[Comparison]) -> None:
    print(
        f"{'variant':<29} {'bare µs':>8} {'wrapped µs':>10} {'diff µs':>8} "
        f"{'overhead':>9} {'(IQR)':>15}  {'control':>8} {'(IQR)':>15}"
    )
    for c in comparisons:
        overhead_iqr = f"{_pct(c.overhead_q1)}..{_pct(c.overhead_q3)}"
        control_iqr = f"{_pct(c.control_q1)}..{_pct(c.control_q3)}"
        print(
            f"{c.name:<29} {c.bare_us:>8.1f} {c.wrapped_us:>10.1f} {c.diff_us:>+8.2f} "
            f"{_pct(c.overhead):>9} {overhead_iqr:>15}  {_pct(c.control):>8} {control_iqr:>15}"
        )


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--rounds", type=int, help="rounds per 200 benchmark (default 500, --quick 50)"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds, rougher figures")
    parser.add_argument("--seed", type=int, help="seed for the shuffled request order")
    args = parser.parse_args(argv)
    settings = settings_for(args)
    rng = random.Random(args.seed)

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python} on {sys.platform}, {os.cpu_count()} CPUs")
    print(f"httpx {httpx.__version__}, http402 {http402.__version__}")
    print(
        f"rounds {settings.rounds}; per round, single requests of each variant "
        f"({settings.mock_per_round} each over MockTransport, {settings.loopback_per_round} "
        "each over loopback) in shuffled order, each timed alone"
    )
    print("GC disabled during each timed round (timeit also disables it for its batches)")
    print(
        "figures: bare/wrapped µs = median over rounds of per-round medians; overhead = "
        "median of per-round wrapped/bare A; control = median of per-round bare B/bare A"
    )
    print(flush=True)

    started = time.perf_counter()
    comparisons: list[Comparison] = []
    for bench in (bench_sync_mock, bench_async_mock):
        comparisons.append(bench(settings, rng))
        print(f"  done: {comparisons[-1].name}", flush=True)
    with loopback_server() as url:
        for loopback_bench in (bench_sync_loopback, bench_async_loopback):
            comparisons.append(loopback_bench(url, settings, rng))
            print(f"  done: {comparisons[-1].name}", flush=True)

    gates: list[GateTiming] = []
    for label, filename in GATE_PAYLOADS:
        gates.append(bench_gate(Gate.load(label, filename), settings))
    print(f"  done: 402 path, {len(gates)} payloads", flush=True)
    elapsed = time.perf_counter() - started

    print()
    print("Non-402 traffic (200, small JSON body): wrapped vs bare transport")
    print_comparisons(comparisons)
    print()
    print(
        f"402 path: classify(response) per call; a client request through a bare vs a wrapped "
        f"MockTransport (wrapped = read, classify, raise and catch the typed error); best of "
        f"{settings.timeit_repeat} alternating batch means"
    )
    print_gates(gates)
    print()
    print(f"total {elapsed:.1f} s")


if __name__ == "__main__":
    main()
