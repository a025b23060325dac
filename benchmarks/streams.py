"""What the look-ahead in 200 event streams costs, against bare httpx, measured in one run.

Run as ``python benchmarks/streams.py [--rounds N] [--gap-ms G] [--quick]``. Prints figures
only, never fails on them.

1. Non-402 traffic that is not an event stream (a 200 with a small JSON body over
   ``httpx.MockTransport``, sync and async): bare httpx, http402 with its default options
   (``peek_streams`` on: one status check and one header read per 200), and http402 with
   ``peek_streams=False``. This is the hot path every other 2xx takes.
2. A whole recorded event stream read through each (``tests/payloads/streams/``, over
   ``httpx.MockTransport``): what the look-ahead and the following of the rest cost per
   stream.
3. Time to first event over a real loopback HTTP/1.1 server that sends a stream's opening
   events at once, then waits ``--gap-ms`` (a model's time to its first token), then the
   rest: time to the response (headers), to the first event and to the first output event,
   bare and wrapped, and the time from the server's flush of the first output event to the
   client's seeing it (no timer in it: what http402 adds to that event's delivery). The
   look-ahead holds the response until the first output event: the events before it come
   with it, and the output event itself is handed on once parsed, never held for another.

Noise control as in ``overhead.py``: each round times single requests of every variant in a
shuffled order, with a second bare client as a control (bare B); a round's figure per variant
is the median of its requests; the figures printed are medians over rounds of per-round
ratios (or differences) to bare A, with the control's spread as the noise floor.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.util
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

import http402

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ROOT / "tests" / "payloads" / "streams"
BODY = json.dumps({"id": "chatcmpl-123", "object": "chat.completion", "ok": True}).encode()
URL = "https://api.openai.com/v1/chat/completions"
BARE_A, BARE_B, WRAPPED, NO_PEEK = "bare A", "bare B", "http402", "http402 peek_streams=False"


def load_server() -> ModuleType:
    """The loopback SSE server of the tests (tests/ is not on the path of a script)."""
    spec = importlib.util.spec_from_file_location(
        "http402_sse_server", ROOT / "tests" / "sse_server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def transcript(name: str) -> bytes:
    data = json.loads((STREAMS / f"{name}.json").read_text(encoding="utf-8"))
    return str(data["response"]["body"]).encode("utf-8")


def median_ratio(
    rounds: Sequence[dict[str, float]], variant: str, base: str = BARE_A
) -> tuple[float, float, float]:
    ratios = sorted(r[variant] / r[base] for r in rounds)
    q1, q2, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return q2, q1, q3


def timed_rounds(
    senders: dict[str, Callable[[], object]], rounds: int, per_round: int
) -> list[dict[str, float]]:
    """Per round: each sender's median time of `per_round` single calls, in shuffled order."""
    results = []
    names = list(senders)
    for _ in range(rounds):
        samples: dict[str, list[float]] = {name: [] for name in names}
        gc.disable()
        try:
            for _ in range(per_round):
                random.shuffle(names)
                for name in names:
                    start = time.perf_counter()
                    senders[name]()
                    samples[name].append(time.perf_counter() - start)
        finally:
            gc.enable()
        results.append({name: statistics.median(values) for name, values in samples.items()})
    return results


async def atimed_rounds(
    senders: dict[str, Callable[[], Any]], rounds: int, per_round: int
) -> list[dict[str, float]]:
    results = []
    names = list(senders)
    for _ in range(rounds):
        samples: dict[str, list[float]] = {name: [] for name in names}
        gc.disable()
        try:
            for _ in range(per_round):
                random.shuffle(names)
                for name in names:
                    start = time.perf_counter()
                    await senders[name]()
                    samples[name].append(time.perf_counter() - start)
        finally:
            gc.enable()
        results.append({name: statistics.median(values) for name, values in samples.items()})
    return results


def print_ratios(title: str, rounds: list[dict[str, float]], variants: Sequence[str]) -> None:
    print(f"\n{title}")
    print(f"  {'variant':<30} {'µs/req':>9} {'vs bare A':>10} {'IQR':>17}")
    for variant in variants:
        micros = statistics.median(r[variant] for r in rounds) * 1e6
        ratio, q1, q3 = median_ratio(rounds, variant)
        print(f"  {variant:<30} {micros:>9.1f} {ratio:>9.3f}x  [{q1:.3f}, {q3:.3f}]")


def read_all(client: httpx.Client) -> bytes:
    return client.post(URL).content


def json_200(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=BODY)


def variants(client: Any, wrapper: Any) -> dict[str, Any]:
    """The four clients of part 1, of `client`'s class, over `wrapper` (a transport class)."""
    return {
        BARE_A: client(transport=httpx.MockTransport(json_200)),
        BARE_B: client(transport=httpx.MockTransport(json_200)),
        WRAPPED: client(transport=wrapper(httpx.MockTransport(json_200))),
        NO_PEEK: client(transport=wrapper(httpx.MockTransport(json_200), peek_streams=False)),
    }


def non_stream_overhead(rounds: int, per_round: int) -> None:
    clients = variants(httpx.Client, http402.PaymentRequiredTransport)
    senders: dict[str, Callable[[], object]] = {
        name: functools.partial(client.get, URL) for name, client in clients.items()
    }
    for send in senders.values():  # warm up
        send()
    print_ratios(
        "1. Non-402 traffic, a 200 JSON body (MockTransport), sync",
        timed_rounds(senders, rounds, per_round),
        [BARE_B, WRAPPED, NO_PEEK],
    )

    async def run() -> list[dict[str, float]]:
        aclients = variants(httpx.AsyncClient, http402.AsyncPaymentRequiredTransport)
        asenders: dict[str, Callable[[], Any]] = {
            name: functools.partial(client.get, URL) for name, client in aclients.items()
        }
        for send in asenders.values():
            await send()
        return await atimed_rounds(asenders, rounds, per_round)

    print_ratios("   the same, async", asyncio.run(run()), [BARE_B, WRAPPED, NO_PEEK])


def whole_stream_cost(rounds: int, per_round: int) -> None:
    for name in (
        "openai-responses-normal-200-negative",
        "openai-chat-normal-200-negative",
        "anthropic-messages-normal-200-negative",
    ):
        data = transcript(name)
        chunks = [data[i : i + 256] for i in range(0, len(data), 256)]

        def handler(request: httpx.Request, chunks: list[bytes] = chunks) -> httpx.Response:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=iter(chunks)
            )

        clients = {
            BARE_A: httpx.Client(transport=httpx.MockTransport(handler)),
            BARE_B: httpx.Client(transport=httpx.MockTransport(handler)),
            WRAPPED: httpx.Client(
                transport=http402.PaymentRequiredTransport(httpx.MockTransport(handler))
            ),
        }
        senders: dict[str, Callable[[], object]] = {
            n: functools.partial(read_all, client) for n, client in clients.items()
        }
        for send in senders.values():
            assert send() == data
        print_ratios(
            f"2. A whole recorded stream, {name} ({len(data)} bytes in {len(chunks)} chunks), sync",
            timed_rounds(senders, rounds, per_round),
            [BARE_B, WRAPPED],
        )


def first_events(
    server: Any, scripts: Any, rounds: int, gap: float, name: str, head_events: int
) -> None:
    """Times to headers, first event and first output event, bare and wrapped, on loopback."""
    events = transcript(name).split(b"\n\n")
    head = b"\n\n".join(events[:head_events]) + b"\n\n"
    rest = b"\n\n".join(events[head_events:])
    first_output_end = len(head) + len(events[head_events]) + 2

    def script() -> Any:
        pause = threading.Event()  # set by a timer `gap` seconds after the request starts
        return scripts.Script([head, pause, rest]), pause

    clients = {
        BARE_A: httpx.Client(),
        BARE_B: httpx.Client(),
        WRAPPED: httpx.Client(transport=http402.PaymentRequiredTransport()),
    }
    figures: dict[str, dict[str, list[float]]] = {
        n: {"headers": [], "first event": [], "first output": [], "output sent to seen": []}
        for n in clients
    }
    names = list(clients)
    for _ in range(rounds):
        random.shuffle(names)
        for variant in names:
            answer, pause = script()
            server.scripts.clear()
            server.queue(answer)
            timer = threading.Timer(gap, pause.set)
            start = time.perf_counter()
            timer.start()
            with clients[variant].stream("POST", f"{server.url}/v1/x") as response:
                at_headers = time.perf_counter()
                seen = b""
                at_first = at_output = None
                for chunk in response.iter_raw():
                    seen += chunk
                    now = time.perf_counter()
                    if at_first is None and b"\n\n" in seen:
                        at_first = now
                    if at_output is None and len(seen) >= first_output_end:
                        at_output = now
            timer.join()
            assert at_first is not None
            assert at_output is not None
            row = figures[variant]
            row["headers"].append(at_headers - start)
            row["first event"].append(at_first - start)
            row["first output"].append(at_output - start)
            # The server flushed the output event as its second step: from then to the client.
            row["output sent to seen"].append(at_output - answer.sent[1])
    print(
        f"\n3. Time to first event over loopback: {name}, {head_events} event(s) at once, "
        f"then {gap * 1000:.0f} ms, then the rest ({rounds} requests each)"
    )
    print(
        f"  {'variant':<12} {'headers ms':>11} {'1st event ms':>13} {'1st output ms':>14}"
        f" {'output sent->seen µs':>21}"
    )

    def ms(variant: str, what: str) -> float:
        return statistics.median(figures[variant][what]) * 1e3

    for variant in (BARE_A, BARE_B, WRAPPED):
        flushed = ms(variant, "output sent to seen") * 1e3
        print(
            f"  {variant:<12} {ms(variant, 'headers'):>11.2f} {ms(variant, 'first event'):>13.2f}"
            f" {ms(variant, 'first output'):>14.2f} {flushed:>21.0f}"
        )
    bare, control = ms(BARE_A, "first output"), ms(BARE_B, "first output")
    wrapped = ms(WRAPPED, "first output")
    added = (ms(WRAPPED, "output sent to seen") - ms(BARE_A, "output sent to seen")) * 1e3
    print(
        f"  first output event, http402 / bare A: {wrapped / bare:.3f}x"
        f" (control bare B / bare A: {control / bare:.3f}x); from the server's flush of it,"
        f" http402 adds {added:.0f} µs"
    )
    for client in clients.values():
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    rounds = 10 if args.quick else args.rounds
    print(
        f"http402 {http402.__version__}, httpx {httpx.__version__}, "
        f"Python {sys.version.split()[0]}; {rounds} rounds"
    )
    non_stream_overhead(rounds, 50)
    whole_stream_cost(rounds, 10)
    scripts = load_server()
    server = scripts.StreamServer()
    server.start()
    try:
        gap = args.gap_ms / 1000
        first_events(server, scripts, rounds * 2, gap, "openai-responses-normal-200-negative", 2)
        first_events(server, scripts, rounds * 2, gap, "openai-chat-normal-200-negative", 1)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
