"""A dashboard of http402's OpenTelemetry metrics, drawn from a real run on loopback.

Run as ``python benchmarks/dashboard.py [--seconds S] [--out PATH]`` (about 30 s by
default). It needs ``opentelemetry-sdk`` and ``matplotlib``, neither of which is a
dependency of http402:

    pip install opentelemetry-sdk matplotlib

Nothing is mocked and nothing leaves the machine. Two HTTP servers listen on 127.0.0.1:

- the demo's paid API (``http402._demo.DemoProvider``): ``POST /v1/generate`` costs credits,
  answers with ``x-credits-remaining``, and 402 ``insufficient_credits`` once they run out;
  ``/v1/pro/...`` needs the ``pro`` plan (402 ``plan_limit_exceeded``); ``POST
  /billing/top-up`` adds credits that become spendable one to four seconds later;
- a server that answers recorded gates (``http402.testing.gate``) with their status, headers
  and body: Stripe's ``card_declined`` (``payment_failed``) and OpenAI's
  ``billing_not_active`` (``subscription_expired``), read by http402's generic rules since
  the host is loopback.

Sync clients in threads (sharing one ``http402.LocalCoordinator``, so one top-up per
episode) and an async client, each an ``httpx`` client passed through ``http402.wrap``,
spend credits with an upgrade hook that tops up (the async client's skips the purchase when
the sync clients bought less than a window ago) and ``low_balance=LowBalanceWatch(...,
below=...)``. The async client also asks for a pro feature (its hook declines: a
plan change needs a person) and charges a card (its hook tries a backup card, which is
declined too, or gives up). The metrics go to an ``InMemoryMetricReader`` on a
``MeterProvider`` given to ``http402._metrics.use_meter_provider``, collected every
second; the four panels are drawn from those collections, and the totals printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import logging
import platform
import random
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

import http402
from http402 import _metrics
from http402._demo import DemoProvider
from http402.testing import gate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "dashboard.png"
# Each recorded gate is served on the path it was recorded on.
RECORDED = ("stripe.card_declined", "openai.billing_not_active")
TOP_UP = 1000
PRICE = 5
LOW_BALANCE_BELOW = 200
# The hooks' propagation window: an episode stays open this long (nothing closes it early),
# so it is shorter than the time the clients take to spend a top-up.
WINDOW = 6.0


def need(module: str, install: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise SystemExit(
            f"benchmarks/dashboard.py needs {install}, which http402 does not depend on:\n"
            f"    pip install {install}"
        ) from None


# -- the recorded-gates server ---------------------------------------------------------------


class RecordedGates:
    """Answers each recorded gate's path with that gate, status, headers and body as recorded."""

    def __init__(self) -> None:
        self.paths = {urlsplit(str(gate(name).request.url)).path: name for name in RECORDED}
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                name = paths.get(self.path)
                if name is None:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                response = gate(name)
                self.send_response(response.status_code)
                skip = {"content-length", "content-encoding", "transfer-encoding", "connection"}
                for key, value in response.headers.items():
                    if key.lower() not in skip:
                        self.send_header(key, value)
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def path_of(self, name: str) -> str:
        return next(path for path, gate_name in self.paths.items() if gate_name == name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# -- sampling the metrics -------------------------------------------------------------------


@dataclass
class Samples:
    """What each collection of the reader held, by metric and attribute set."""

    times: list[float] = field(default_factory=list)
    # name -> attributes -> value at each sample (None before the series appeared)
    sums: dict[str, dict[tuple[tuple[str, str], ...], list[float | None]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    histograms: dict[tuple[tuple[str, str], ...], Any] = field(default_factory=dict)
    bounds: tuple[float, ...] = ()

    def take(self, reader: Any, now: float) -> None:
        data = reader.get_metrics_data()
        self.times.append(now)
        seen: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        key = tuple(sorted((k, str(v)) for k, v in point.attributes.items()))
                        if hasattr(point, "bucket_counts"):
                            self.histograms[key] = point
                            self.bounds = tuple(point.explicit_bounds)
                            seen[metric.name][key] = float(point.count)
                        else:
                            seen[metric.name][key] = float(point.value)
        count = len(self.times)
        for name, series in seen.items():
            for key, value in series.items():
                values = self.sums[name].setdefault(key, [None] * (count - 1))
                values.append(value)
        for name, by_key in self.sums.items():
            for key, values in by_key.items():
                if len(values) < count:
                    values.append(seen.get(name, {}).get(key))


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Run:
    demo: DemoProvider
    recorded: RecordedGates
    started: float
    stop: threading.Event = field(default_factory=threading.Event)
    top_ups: list[float] = field(default_factory=list)
    alerts: list[float] = field(default_factory=list)
    requests: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(402))
    stopped: float = 0.0

    def now(self) -> float:
        return time.monotonic() - self.started

    def top_up(self, error: http402.PaymentRequiredError) -> http402.Retry:
        """The upgrade hook: buys credits through the provider's billing API, unless the
        other client (which has a coordinator of its own, like another process) just did."""
        with self.lock:
            now = self.now()
            if self.top_ups and now - self.top_ups[-1] < WINDOW:
                return http402.Retry(within=WINDOW)
            # Billing takes its time to show, and not always the same time.
            self.demo.fake.propagation = self.rng.uniform(1.0, 4.0)
            self.top_ups.append(now)
        with httpx.Client(base_url=self.demo.url) as billing:
            billing.post("/billing/top-up", json={"credits": TOP_UP}).raise_for_status()
        return http402.Retry(within=WINDOW)

    def low_balance(self, alert: http402.LowBalance) -> None:
        with self.lock:
            self.alerts.append(self.now())

    def count(self, outcome: str) -> None:
        with self.lock:
            self.requests += 1
            if outcome != "ok":
                self.errors[outcome] += 1


def sync_worker(run: Run, coordinator: Any, pause: float) -> None:
    client = http402.wrap(
        httpx.Client(base_url=run.demo.url, headers={"authorization": "Bearer sk-dashboard"}),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: run.top_up},
        low_balance=http402.LowBalanceWatch(run.low_balance, below=LOW_BALANCE_BELOW),
        coordinator=coordinator,
    )
    with client:
        while not run.stop.is_set():
            try:
                client.post("/v1/generate", json={"prompt": "hello"}).raise_for_status()
                run.count("ok")
            except http402.PaymentRequiredError as error:
                run.count(type(error).__name__)
            run.stop.wait(pause)


async def async_worker(run: Run) -> None:
    async def decline_plan(error: http402.PaymentRequiredError) -> None:
        return None  # a plan change needs a person: raise PlanLimitExceededError

    backup_tried = [0]

    async def backup_card(error: http402.PaymentRequiredError) -> http402.Retry | None:
        # Every other declined card is tried once more with a backup card (declined too).
        backup_tried[0] += 1
        if backup_tried[0] % 2:
            return http402.Retry(headers={"x-payment-method": "pm_backup"}, within=3)
        raise RuntimeError("no other card on file")

    hooks = {
        http402.Reason.INSUFFICIENT_CREDITS: lambda error: run.top_up(error),
        http402.Reason.PLAN_LIMIT_EXCEEDED: decline_plan,
        http402.Reason.PAYMENT_FAILED: backup_card,
    }
    headers = {"authorization": "Bearer sk-dashboard"}
    paid = http402.wrap(
        httpx.AsyncClient(base_url=run.demo.url, headers=headers),
        on_payment_required=hooks,
        low_balance=http402.LowBalanceWatch(run.low_balance, below=LOW_BALANCE_BELOW),
    )
    other = http402.wrap(
        httpx.AsyncClient(base_url=run.recorded.url, headers=headers),
        on_payment_required=hooks,
    )
    card = run.recorded.path_of("stripe.card_declined")
    subscription = run.recorded.path_of("openai.billing_not_active")

    async def call(client: httpx.AsyncClient, path: str) -> None:
        try:
            (await client.post(path, json={"prompt": "hello"})).raise_for_status()
            run.count("ok")
        except http402.PaymentRequiredError as error:
            run.count(type(error).__name__)
        except RuntimeError:
            run.count("hook error")

    async def spend() -> None:
        while not run.stop.is_set():
            await call(paid, "/v1/generate")
            await asyncio.sleep(0.1)

    async def now_and_then() -> None:
        pro = ("/v1/pro/summarize", paid)
        turns = itertools.cycle([pro, (card, other), pro, (subscription, other), pro])
        while not run.stop.is_set():
            await asyncio.sleep(run.rng.uniform(0.5, 2.0))
            path, client = next(turns)
            await call(client, path)

    async with paid, other:
        await asyncio.gather(spend(), now_and_then())


def run_load(seconds: float, threads: int, reader: Any) -> tuple[Run, Samples]:
    demo = DemoProvider(credits=TOP_UP, price=PRICE, propagation=2.0)
    demo.fake.features = {"/v1/pro": "pro"}
    recorded = RecordedGates()
    demo.start()
    recorded.start()
    run = Run(demo=demo, recorded=recorded, started=time.monotonic())
    samples = Samples()
    samples.take(reader, 0.0)
    try:
        coordinator = http402.LocalCoordinator()
        workers = [
            threading.Thread(target=sync_worker, args=(run, coordinator, 0.1 + 0.05 * i))
            for i in range(threads)
        ]
        workers.append(threading.Thread(target=lambda: asyncio.run(async_worker(run))))
        for worker in workers:
            worker.start()
        # Sampled each second; at the deadline the clients stop sending, and the requests
        # still waiting for a top-up finish within the window, still sampled.
        while any(worker.is_alive() for worker in workers):
            time.sleep(1.0 - run.now() % 1.0)
            if run.now() >= seconds:
                run.stop.set()
            samples.take(reader, run.now())
        run.stopped = min(run.now(), seconds)
    finally:
        recorded.stop()
        demo.stop()
    return run, samples


# -- the picture -----------------------------------------------------------------------------


def rate(times: list[float], values: list[float | None]) -> tuple[list[float], list[float]]:
    """Per-second increase between samples of a cumulative counter, at each interval's end."""
    xs, ys = [], []
    for i in range(1, len(times)):
        before, after = values[i - 1] or 0.0, values[i]
        if after is None:
            continue
        xs.append(times[i])
        ys.append((after - before) / max(times[i] - times[i - 1], 1e-9))
    return xs, ys


def top(lines: list[Any]) -> float:
    """The highest point of `lines`, at least 1."""
    return max([1.0, *(max(line.get_ydata(), default=0.0) for line in lines)])


def draw(run: Run, samples: Samples, out: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 7.5})
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    (gates_ax, hooks_ax), (prop_ax, balance_ax) = axes
    times = samples.times
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    # 1. gates per second by reason, payment solid, entitlement dashed
    gates = samples.sums.get("http402.gates", {})
    by_reason: dict[tuple[str, str], list[float]] = {}
    for key, values in gates.items():
        attrs = dict(key)
        label = (attrs["billing_gate_reason"], attrs["billing_gate_kind"])
        summed = by_reason.setdefault(label, [0.0] * len(times))
        for i, value in enumerate(values):
            summed[i] += value or 0.0
    for i, ((reason, kind), values) in enumerate(
        sorted(by_reason.items(), key=lambda item: (item[0][1] != "payment", item[0][0]))
    ):
        xs, ys = rate(times, values)
        gates_ax.plot(
            xs,
            ys,
            drawstyle="steps-pre",
            linestyle="-" if kind == "payment" else "--",
            color=colours[i % len(colours)],
            label=f"{reason} ({kind}): {values[-1]:.0f}",
        )
    gates_ax.set_title("http402.gates: gates per second, by billing_gate_reason (kind)")
    gates_ax.set_ylabel("gates / s")
    gates_ax.set_ylim(0, top(gates_ax.get_lines()) * 1.5)
    gates_ax.legend(loc="upper left", title="solid: payment, dashed: entitlement; total")
    gates_ax.get_legend().get_title().set_fontsize(7.5)

    # 2. hook calls (left axis) and replays (right axis) by outcome, cumulative
    replays_ax = hooks_ax.twinx()
    for ax, style, name, label in (
        (hooks_ax, "-", "http402.hook.calls", "hook call"),
        (replays_ax, ":", "http402.replays", "replay"),
    ):
        outcomes: dict[str, list[float]] = {}
        for key, values in samples.sums.get(name, {}).items():
            summed = outcomes.setdefault(dict(key)["outcome"], [0.0] * len(times))
            for i, value in enumerate(values):
                summed[i] += value or 0.0
        for outcome, values in sorted(outcomes.items()):
            ax.plot(
                times,
                values,
                drawstyle="steps-post",
                linestyle=style,
                linewidth=1.8,
                color=OUTCOME_COLOURS.get(outcome, "grey"),
                label=f"{label} {outcome}: {values[-1]:.0f}",
            )
    hooks_ax.set_title("http402.hook.calls (solid, left) and http402.replays (dotted, right)")
    hooks_ax.set_ylabel("hook calls so far, by outcome")
    replays_ax.set_ylabel("replays so far, by outcome")
    for ax in (hooks_ax, replays_ax):  # headroom for the legend
        ax.set_ylim(0, top(ax.get_lines()) * 1.35)
    lines = hooks_ax.get_lines() + replays_ax.get_lines()
    hooks_ax.legend(lines, [line.get_label() for line in lines], loc="upper left", ncol=2)

    # 3. propagation duration histogram (last collection), by outcome
    bounds = samples.bounds
    if bounds:
        edges = (0.0, *bounds)
        labels = [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)] + [f">{bounds[-1]:g}"]
        last = len(labels) - 1
        merged: dict[str, list[int]] = {}
        stats: dict[str, tuple[float, int]] = {}
        for key, point in samples.histograms.items():
            outcome = dict(key).get("outcome", "?")
            counts = merged.setdefault(outcome, [0] * len(labels))
            for i, count in enumerate(point.bucket_counts):
                counts[i] += count
            total, n = stats.get(outcome, (0.0, 0))
            stats[outcome] = (total + point.sum, n + point.count)
        used = [i for i in range(len(labels)) if any(c[i] for c in merged.values())]
        lo, hi = (max(min(used) - 1, 0), min(max(used) + 1, last)) if used else (0, last)
        shown = list(range(lo, hi + 1))
        bottom = [0] * len(shown)
        for outcome, counts in sorted(merged.items()):
            total, n = stats[outcome]
            heights = [counts[i] for i in shown]
            prop_ax.bar(
                range(len(shown)),
                heights,
                bottom=bottom,
                color=OUTCOME_COLOURS.get(outcome, "grey"),
                label=f"{outcome}: {n}, mean {total / max(n, 1):.2f} s",
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        prop_ax.set_xticks(range(len(shown)), [labels[i] for i in shown])
        prop_ax.legend(loc="upper right", title="outcome")
    prop_ax.set_title("http402.propagation.duration: hook's answer to gate lifted")
    prop_ax.set_xlabel("bucket (s), http402's bounds; each bar stacked by outcome")
    prop_ax.set_ylabel("recorded durations")

    # 4. the balance gauge, with the threshold, low-balance alerts and top-ups
    for i, (key, values) in enumerate(sorted(samples.sums.get("http402.balance", {}).items())):
        attrs = dict(key)
        xs = [t for t, v in zip(times, values, strict=True) if v is not None]
        ys = [v for v in values if v is not None]
        label = f"provider={attrs.get('provider')}, scope_digest={attrs.get('scope_digest', '-')}"
        balance_ax.plot(
            xs, ys, marker="o", markersize=2.5, color=colours[i % len(colours)], label=label
        )
    balance_ax.axhline(
        LOW_BALANCE_BELOW, color="tab:red", linestyle="--", linewidth=1,
        label=f"LowBalanceWatch(below={LOW_BALANCE_BELOW})",
    )  # fmt: skip
    for j, when in enumerate(run.alerts):
        balance_ax.axvline(
            when, color="tab:red", alpha=0.35, linewidth=1,
            label="low-balance hook called (by each client)" if j == 0 else None,
        )  # fmt: skip
    for j, when in enumerate(run.top_ups):
        balance_ax.axvline(
            when, color="tab:green", alpha=0.6, linewidth=1, linestyle=":",
            label="upgrade hook: top-up asked" if j == 0 else None,
        )  # fmt: skip
    balance_ax.set_title("http402.balance: last balance seen (sampled each second)")
    balance_ax.set_ylabel("credits (read from x-credits-remaining)")
    balance_ax.set_ylim(0, top(balance_ax.get_lines()[:1]) * 1.5)
    balance_ax.legend(loc="upper right")

    for ax in (gates_ax, hooks_ax, balance_ax):
        ax.set_xlabel("seconds into the run (grey: clients stop sending; waits finish)")
        ax.set_xlim(0, times[-1])
        ax.axvspan(run.stopped, times[-1], color="grey", alpha=0.12, linewidth=0)
    for ax in axes.flat:
        ax.grid(alpha=0.3)

    fig.suptitle("http402 metrics from a loopback run (benchmarks/dashboard.py)", fontsize=13)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.text(
        0.5,
        0.925,
        f"{stamp}: {args.seconds:g} s, {args.threads} sync clients in threads (one "
        f"LocalCoordinator) + 1 async client, httpx through http402.wrap, real HTTP on "
        f"127.0.0.1\nprice {PRICE} credits a call, top-up {TOP_UP} credits, propagation "
        f"1-4 s, Retry(within={WINDOW:g}); OpenTelemetry SDK InMemoryMetricReader collected "
        f"every 1 s; http402 {http402.__version__}, Python {platform.python_version()}",
        ha="center",
        va="bottom",
        fontsize=8,
        color="dimgrey",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, pil_kwargs={"optimize": True})
    plt.close(fig)


OUTCOME_COLOURS = {
    "retry": "tab:green",
    "passed": "tab:green",
    "declined": "tab:orange",
    "gated": "tab:orange",
    "error": "tab:red",
    "expired": "tab:red",
}


def summary(run: Run, samples: Samples) -> str:
    lines = [f"requests: {run.requests} ({run.requests - sum(run.errors.values())} ok)"]
    if run.errors:
        lines.append("  raised: " + ", ".join(f"{k} {v}" for k, v in sorted(run.errors.items())))
    gates: dict[str, float] = defaultdict(float)
    for key, values in samples.sums.get("http402.gates", {}).items():
        attrs = dict(key)
        gates[f"{attrs['billing_gate_reason']} ({attrs['billing_gate_kind']})"] += values[-1] or 0
    lines.append("http402.gates: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(gates.items())))
    for name in ("http402.hook.calls", "http402.replays"):
        outcomes: dict[str, float] = defaultdict(float)
        for key, values in samples.sums.get(name, {}).items():
            outcomes[dict(key)["outcome"]] += values[-1] or 0
        lines.append(f"{name}: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items())))
    props = [
        f"{dict(key).get('outcome')} {p.count} (mean {p.sum / max(p.count, 1):.2f} s)"
        for key, p in sorted(samples.histograms.items())
    ]
    lines.append("http402.propagation.duration: " + (", ".join(props) or "none"))
    balances = [
        f"{v[-1]:g}" for v in samples.sums.get("http402.balance", {}).values() if v[-1] is not None
    ]
    lines.append(f"http402.balance (last): {', '.join(balances) or 'none'}")
    lines.append(
        f"top-ups asked: {len(run.top_ups)}; low-balance hook calls: {len(run.alerts)}; "
        f"samples: {len(samples.times)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the run")
    parser.add_argument("--threads", type=int, default=3, help="sync clients, one per thread")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNG")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds must be between 1 and 120")
    # Fail before the run, not after it.
    need("matplotlib", "matplotlib")
    sdk = need("opentelemetry.sdk.metrics", "opentelemetry-sdk")
    export = need("opentelemetry.sdk.metrics.export", "opentelemetry-sdk")

    # http402 logs each gate and replay; this run reports through its metrics only.
    logging.getLogger("http402").addHandler(logging.NullHandler())
    reader = export.InMemoryMetricReader()
    _metrics.use_meter_provider(sdk.MeterProvider(metric_readers=[reader]))
    print(
        f"running {args.seconds:g} s: {args.threads} sync clients and 1 async client on 127.0.0.1",
        file=sys.stderr,
    )
    try:
        run, samples = run_load(args.seconds, args.threads, reader)
    finally:
        _metrics.use_meter_provider(None)
    draw(run, samples, args.out, args)
    print(summary(run, samples))
    try:
        shown = args.out.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.out
    print(f"wrote {shown} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
