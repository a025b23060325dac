"""A nemesis against a real redis-server: several worker processes, random faults, hostile offers.

Run as ``python benchmarks/nemesis.py [--seed N] [--episodes N] [--processes N]``; the test
suite runs a short version (``tests/test_nemesis.py``). It uses only http402's public API, so
the same script ran against the code before the money fixes (see ``docs/safety.md``).

Each *episode* is one billing scope and one spend window (a namespace of its own). The parent
starts a loopback provider and a ``redis-server``; ``--processes`` workers then send requests
at the same moment, in several threads each, half to an account whose credits ran out (a
top-up hook that takes a second, the money moving at its start), a quarter to an x402
endpoint whose offers are hostile (negative, zero, fractional, absurd, over the bound, beside
honest 18- and 6-decimal ones) and a quarter to one with honest offers only. Once the first
top-up arrives and every worker's election has seen the holder's lease (the hook waits for
that, so the fault lands mid-hook, among processes that took part in the election, which is
what docs/fleet.md promises one top-up among: a process whose first look met Redis down would
coordinate alone), the parent throws the episode's fault at Redis:

========  ==========================================================================
fault     what the parent does
========  ==========================================================================
none      nothing
sigstop   freezes redis-server (``SIGSTOP``) for less than a lease
sleep     ``DEBUG SLEEP``: the server stalls inside a command
pause     ``CLIENT PAUSE ALL``: every client's commands wait
flush     ``FLUSHDB``
evict     deletes every key that has a TTL (what ``volatile-*`` eviction may do)
restart   kills redis-server and starts it again, empty, on the same port
kill      ``CLIENT KILL TYPE normal``: every connection drops
slow      five short ``DEBUG SLEEP`` stalls
========  ==========================================================================

Workers use redis-py clients as users configure them: half with short timeouts and no
retries, half with redis-py's defaults (retries, 5 s socket timeout). After each episode the
parent checks the invariants of ``docs/safety.md`` from the provider's own records: at most
one top-up, spending within the window's cap for each asset, no offer priced at or below
zero or above the policy's bound paid, and no request held past its deadline. It prints one
line per episode (fault, top-ups, spent, ok, errors, slowest request) and exits 1 when an
invariant broke.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("none", "sigstop", "sleep", "pause", "flush", "evict", "restart", "kill", "slow")
#: An 18-decimal token (DAI on Base) and a 6-decimal one (USDC on Base).
DAI = "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
#: The policy's bounds: per request, and per window (per episode).
MAX_AMOUNT = {DAI: 10**18, USDC: 10**6}
MAX_PER_WINDOW = {DAI: 2 * 10**18, USDC: 3 * 10**6}
HOSTILE = (
    ("negative", DAI, "-5000000000000000000"),
    ("zero", USDC, "0"),
    ("fraction", USDC, "0.5"),
    ("absurd", DAI, "1e80"),
    ("huge", DAI, "9" * 40),
    ("over-bound", USDC, "2000000"),
)
HONEST = (("18-decimal", DAI, str(10**18)), ("6-decimal", USDC, str(10**6)))
LEASE_TTL = 4.0
HOOK_SECONDS = 1.0
PROPAGATION = 0.3
#: How long a request may take at most: a hook, its propagation, a stall and a takeover.
DEADLINE = 20.0


# --- the provider: a loopback paid API that keeps the money's own records -----------------


class Provider:
    """Per episode: credits that run out, top-ups counted as they arrive, x402 payments."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.top_ups: Counter[str] = Counter()
        self.funded_at: dict[str, float] = {}
        self.payments: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        self.offers: dict[str, list[dict[str, str]]] = {}
        self.first_top_up: dict[str, threading.Event] = defaultdict(threading.Event)
        #: Per episode: how many workers are ready to send, and whether all of them are.
        self.ready: Counter[str] = Counter()
        self.everyone_ready: dict[str, threading.Event] = defaultdict(threading.Event)
        #: Per episode: how many workers' elections saw a lease, and whether all of them did.
        self.saw: Counter[str] = Counter()
        self.expected: dict[str, int] = {}
        self.everyone_saw: dict[str, threading.Event] = defaultdict(threading.Event)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                kind, _, episode = self.path.strip("/").partition("/")
                episode, _, query = episode.partition("?")
                if kind == "topup":
                    with provider.lock:
                        provider.top_ups[episode] += 1
                        provider.funded_at.setdefault(episode, time.monotonic() + PROPAGATION)
                    provider.first_top_up[episode].set()
                    return self._send(200, {"ok": True})
                if kind == "ready":  # answered once every worker is: they start together
                    with provider.lock:
                        provider.ready[episode] += 1
                        if provider.ready[episode] >= provider.expected.get(episode, 0):
                            provider.everyone_ready[episode].set()
                    return self._send(200, {"ok": provider.everyone_ready[episode].wait(30)})
                if kind == "saw":
                    with provider.lock:
                        provider.saw[episode] += 1
                        if provider.saw[episode] >= provider.expected.get(episode, 0):
                            provider.everyone_saw[episode].set()
                    return self._send(200, {"ok": True})
                if kind == "everyone":
                    return self._send(200, {"ok": provider.everyone_saw[episode].wait(10)})
                if kind == "pay":
                    fields = dict(item.split("=", 1) for item in query.split("&"))
                    with provider.lock:
                        provider.payments[episode].append((fields["asset"], fields["amount"]))
                    return self._send(200, {"ok": True})
                if kind == "gen":
                    funded = provider.funded_at.get(episode)
                    if funded is not None and time.monotonic() >= funded:
                        return self._send(200, {"ok": True})
                    error = {"message": "Insufficient credits", "code": 402}
                    return self._send(402, {"error": error})
                if kind in ("x402", "honest"):
                    if self.headers.get("x-payment"):
                        return self._send(200, {"ok": True})
                    accepts = [
                        {
                            "scheme": "exact",
                            "network": "base",
                            "maxAmountRequired": offer["amount"],
                            "asset": offer["asset"],
                            "payTo": "0x000000000000000000000000000000000000dEaD",
                            "resource": f"{provider.url}/x402/{episode}",
                        }
                        for offer in provider.offers.get(episode, [])
                        if kind == "x402" or offer["name"] in {name for name, _, _ in HONEST}
                    ]
                    return self._send(402, {"x402Version": 1, "accepts": accepts})
                return self._send(404, {})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


# --- redis-server, and the faults thrown at it -------------------------------------------


class Redis:
    """A redis-server of its own on a free loopback port, with no persistence."""

    def __init__(self, directory: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.binary, self.directory = binary, directory
        # Above 55000: the tests' own servers take ports at or below it (their cluster bus
        # port is +10000), so that a test started while this server is down for a restart
        # never takes its port and gets this run's faults thrown at it.
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            if self.port > 55000:
                break
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", self.directory, "--enable-debug-command", "local"),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(port=self.port, socket_timeout=1) as client:
                    served = client.config_get("dir")["dir"]
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
                continue
            if os.path.realpath(served) != os.path.realpath(self.directory):
                # Another process's server got the port while this one was down: fail
                # loudly rather than throw faults at a server that is not this run's.
                self.stop()
                raise RuntimeError(f"port {self.port} was taken by another redis-server")
            return

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None

    def admin(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_timeout=10)

    def fault(self, kind: str, rng: random.Random) -> None:
        """Throws `kind` at the server; returns once the server answers again."""
        assert self.process is not None
        stall = rng.uniform(1.0, LEASE_TTL * 0.6)
        if kind == "sigstop":
            self.process.send_signal(signal.SIGSTOP)
            time.sleep(stall)
            self.process.send_signal(signal.SIGCONT)
        elif kind == "sleep":
            self._command("DEBUG", "SLEEP", f"{stall:.2f}")
        elif kind == "pause":
            self._command("CLIENT", "PAUSE", str(int(stall * 1000)), "ALL")
            time.sleep(stall)
        elif kind == "flush":
            self._command("FLUSHDB")
        elif kind == "evict":
            with self.admin() as client:
                for key in client.scan_iter(count=1000):
                    if client.pttl(key) > 0:
                        client.delete(key)
        elif kind == "restart":
            self.stop()
            time.sleep(rng.uniform(0.1, 1.0))
            self.start()
        elif kind == "kill":
            self._command("CLIENT", "KILL", "TYPE", "normal")
        elif kind == "slow":
            for _ in range(5):
                self._command("DEBUG", "SLEEP", "0.3")
                time.sleep(rng.uniform(0.05, 0.3))

    def _command(self, *args: str) -> None:
        import redis

        # CLIENT KILL drops the admin connection too.
        with self.admin() as client, contextlib.suppress(redis.ConnectionError):
            client.execute_command(*args)


# --- one worker process --------------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    """Sends `--requests` requests in `--threads` threads, then prints its results."""
    import httpx
    import redis

    import http402

    if args.retries == "default":
        client = redis.Redis.from_url(args.redis)  # redis-py's defaults: retries, 5 s
    else:
        client = redis.Redis.from_url(args.redis, socket_timeout=1, socket_connect_timeout=1)
    coordinator = http402.RedisCoordinator(
        client, namespace=f"nemesis:{args.episode}", lease_ttl=LEASE_TTL, max_episodes=(2, 600)
    )
    # The one private touch: the worker tells the provider once an election of its saw a
    # lease, so that the parent throws its fault among processes that took part.
    witness = coordinator._witness
    saw = witness.saw
    told = threading.Event()

    def seen(key: str, token: str | None) -> None:
        saw(key, token)
        if token and not told.is_set():
            told.set()
            httpx.post(f"{args.provider}/saw/{args.episode}")

    witness.saw = seen  # type: ignore[method-assign]
    limits: dict[str, Any] = {"max_amount": MAX_AMOUNT, "max_per_window": MAX_PER_WINDOW}
    if args.explicit_store:
        limits["store"] = coordinator.spend_store()
    # Without `store=`, a policy beside a fleet coordinator keeps its window in the fleet's
    # store (docs/fleet.md); half the workers say so explicitly, half rely on it.
    policy = http402.SpendPolicy(window=600, **limits)
    base = args.provider

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        httpx.post(f"{base}/topup/{args.episode}")  # the money moves here
        httpx.post(f"{base}/everyone/{args.episode}", timeout=15)  # every worker saw the lease
        time.sleep(HOOK_SECONDS)
        return http402.Retry(within=30)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        offer = error.payment.payment_options[0]  # a naive wallet pays what it is given
        httpx.post(f"{base}/pay/{args.episode}?asset={offer.asset}&amount={offer.amount}")
        return http402.Retry(headers={"X-PAYMENT": f"proof-{uuid.uuid4().hex}"}, paid=offer)

    transport = http402.PaymentRequiredTransport(
        httpx.HTTPTransport(),
        on_payment_required={
            http402.Reason.INSUFFICIENT_CREDITS: top_up,
            http402.Reason.PAYMENT_CHALLENGE: pay,
        },
        coordinator=coordinator,
        spend_policy=policy,
        retry=http402.RetryPolicy(max_wait=0.25),
        hook_timeout=DEADLINE,
    )
    headers = {"authorization": f"Bearer sk-nemesis-{args.episode}-0123456789"}
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    with httpx.Client(transport=transport, base_url=base, timeout=30, headers=headers) as http:
        httpx.post(f"{base}/ready/{args.episode}", timeout=60)  # answered once all are ready

        def one(number: int) -> None:
            kind = ("gen", "x402", "gen", "honest")[number % 4]
            path = f"/{kind}/{args.episode}"
            started = time.monotonic()
            try:
                outcome = str(http.post(path, json={"n": number}).status_code)
            except Exception as exc:  # counted, not raised: the parent judges
                outcome = type(exc).__name__
            with lock:
                results.append({"outcome": outcome, "seconds": time.monotonic() - started})

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(one, range(args.requests)))
    print(json.dumps({"results": results}), flush=True)
    os._exit(0)  # a publisher thread may still try a dead Redis: the parent waits no longer


# --- worker processes, forked from a zygote ------------------------------------------------


class Workers:
    """Starts the episodes' worker processes and waits for them. Where the kernel can watch a
    process that is not a child (Linux's pidfd), each is forked from a zygote: a process that
    imported httpx, redis and http402 once, for the whole run. A fresh interpreter importing
    them took each worker ~0.5 s of CPU, and seconds on a loaded machine before its first
    request. Each is still a process of its own, with its own Redis clients and threads."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.zygote: subprocess.Popen[str] | None = None
        if hasattr(os, "pidfd_open"):
            self.zygote = subprocess.Popen(
                [sys.executable, __file__, "zygote"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def start(self, argv: list[str]) -> Any:
        """A worker for `worker` options `argv`: a Popen, or the forked worker's pid, pidfd
        and output files."""
        if self.zygote is None:
            command = [sys.executable, __file__, "worker", *argv]
            return subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        assert self.zygote.stdin is not None
        assert self.zygote.stdout is not None
        out, err = (self._file() for _ in range(2))
        self.zygote.stdin.write(json.dumps({"argv": argv, "out": out, "err": err}) + "\n")
        self.zygote.stdin.flush()
        pid = int(self.zygote.stdout.readline())
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it ended already (and was reaped): nothing to watch
            pidfd = None
        return pid, pidfd, out, err

    def _file(self) -> str:
        fd, path = tempfile.mkstemp(dir=self.directory)
        os.close(fd)
        return path

    def wait(self, worker: Any, timeout: float) -> tuple[int, str, str]:
        """The worker's exit status (0 for a forked one, whose results say how it ended),
        stdout and stderr, once it ended; killed after `timeout` seconds."""
        if isinstance(worker, subprocess.Popen):
            try:
                out, err = worker.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                worker.kill()
                out, err = worker.communicate()
            return worker.returncode, out, err
        pid, pidfd, out, err = worker
        if pidfd is not None:
            if not select.select([pidfd], [], [], timeout)[0]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                select.select([pidfd], [], [], 10)
            os.close(pidfd)
        texts = []
        for path in (out, err):
            with open(path, encoding="utf-8", errors="replace") as file:
                texts.append(file.read())
            os.unlink(path)
        return 0, texts[0], texts[1]

    def stop(self) -> None:
        if self.zygote is not None:
            assert self.zygote.stdin is not None
            assert self.zygote.stdout is not None
            self.zygote.stdin.close()
            self.zygote.wait()
            self.zygote.stdout.close()
            self.zygote = None


def zygote() -> None:
    """Forks a worker per line on stdin (`{"argv": [...], "out": path, "err": path}`, its
    stdout and stderr going to those files) and answers its pid; reaps them as they end, and
    waits for the last ones once stdin closes, so that their CPU time counts in the run's."""
    import gc
    import traceback

    import httpx
    import redis

    import http402

    httpx.HTTPTransport, redis.Redis  # noqa: B018
    http402.RedisCoordinator, http402.PaymentRequiredTransport, http402.SpendPolicy  # noqa: B018
    gc.freeze()  # a child's collections do not copy the pages it shares with this process

    def reap(signum: int, frame: Any) -> None:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass

    signal.signal(signal.SIGCHLD, reap)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                random.seed()
                for fd, path in ((1, request["out"]), (2, request["err"])):
                    opened = os.open(path, os.O_WRONLY | os.O_TRUNC)
                    os.dup2(opened, fd)
                    os.close(opened)
                main(["worker", *request["argv"]])  # ends the process once it said its results
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(1)
        os.write(1, f"{pid}\n".encode())
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)


# --- the parent ----------------------------------------------------------------------------


def episode(
    number: int,
    fault: str,
    rng: random.Random,
    redis_: Redis,
    provider: Provider,
    processes: Workers,
    options: Any,
) -> dict[str, Any]:
    name = f"{options.seed}-{number}"
    offers = [dict(zip(("name", "asset", "amount"), o, strict=True)) for o in HOSTILE]
    rng.shuffle(offers)
    provider.offers[name] = offers + [
        dict(zip(("name", "asset", "amount"), o, strict=True)) for o in HONEST
    ]
    provider.expected[name] = options.processes
    workers = []
    for index in range(options.processes):
        command = ["--redis", redis_.url, "--provider", provider.url, "--episode", name]
        command += ["--requests", str(options.requests), "--threads", str(options.threads)]
        command += ["--retries", "default" if index % 2 else "none"]
        if index % 2 == 0:
            command.append("--explicit-store")
        workers.append(processes.start(command))
    if fault != "none":
        provider.first_top_up[name].wait(timeout=10)
        provider.everyone_saw[name].wait(timeout=10)
        redis_.fault(fault, rng)
    results: list[dict[str, Any]] = []
    crashed = 0
    for process in workers:
        status, out, err = processes.wait(process, timeout=DEADLINE * 3)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if status != 0 or not lines:
            crashed += 1
            sys.stderr.write(err[-2000:])
            continue
        results += json.loads(lines[-1])["results"]
    outcomes = Counter(result["outcome"] for result in results)
    spent: defaultdict[str, Decimal] = defaultdict(Decimal)
    broken: list[str] = []
    for asset, amount in provider.payments[name]:
        value = Decimal(amount)
        spent[asset] += value
        if not value > 0:
            broken.append(f"paid {amount} (<= 0)")
        elif value > MAX_AMOUNT.get(asset, 0):
            broken.append(f"paid {amount} (over max_amount)")
    for asset, total in spent.items():
        if total > MAX_PER_WINDOW.get(asset, 0):
            broken.append(f"spent {total:.0f} of {asset[:6]} (cap {MAX_PER_WINDOW[asset]})")
    top_ups = provider.top_ups[name]
    if top_ups > 1:
        broken.append(f"{top_ups} top-ups")
    slowest = max((result["seconds"] for result in results), default=0.0)
    if slowest > DEADLINE + 2:
        broken.append(f"a request took {slowest:.1f} s")
    if crashed:
        broken.append(f"{crashed} workers crashed")
    ok = outcomes.pop("200", 0)
    return {
        "episode": number,
        "fault": fault,
        "top_ups": top_ups,
        "spent": " ".join(
            f"{'DAI' if a == DAI else 'USDC'}={t / (10**18 if a == DAI else 10**6):g}"
            for a, t in sorted(spent.items())
        )
        or "-",
        "ok": ok,
        "errors": ", ".join(f"{k} x{v}" for k, v in outcomes.most_common()) or "-",
        "slowest": slowest,
        "broken": broken,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = parser
    run.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    run.add_argument("--episodes", type=int, default=len(FAULTS))
    run.add_argument("--processes", type=int, default=4)
    run.add_argument("--threads", type=int, default=4)
    run.add_argument("--requests", type=int, default=12)
    run.add_argument("--faults", default=",".join(FAULTS), help="comma-separated fault kinds")
    run.add_argument("--budget", type=float, default=600.0, help="stop after this many seconds")
    child = sub.add_parser("worker")
    child.add_argument("--redis", required=True)
    child.add_argument("--provider", required=True)
    child.add_argument("--episode", required=True)
    child.add_argument("--requests", type=int, default=12)
    child.add_argument("--threads", type=int, default=4)
    child.add_argument("--retries", choices=["none", "default"], default="none")
    child.add_argument("--explicit-store", action="store_true")
    sub.add_parser("zygote")
    options = parser.parse_args(argv)
    if options.command == "worker":
        worker(options)
        return 0
    if options.command == "zygote":
        zygote()
        return 0
    rng = random.Random(options.seed)
    kinds = options.faults.split(",")
    # Every kind once before any repeats, in a seeded order.
    plan = [kind for _ in range(-(-options.episodes // len(kinds))) for kind in kinds]
    plan = plan[: options.episodes]
    rng.shuffle(plan)
    provider = Provider()
    began = time.monotonic()
    rows = []
    header = f"{'#':>3} {'fault':<8} {'top-ups':>7} {'spent':<22} {'ok':>4} {'slowest':>8}  errors"
    print(f"nemesis seed {options.seed}: {len(plan)} episodes x {options.processes} processes")
    print(header)
    with tempfile.TemporaryDirectory() as directory:
        server = Redis(directory)
        processes = Workers(directory)
        try:
            for number, fault in enumerate(plan):
                if time.monotonic() - began > options.budget:
                    print(f"budget of {options.budget:g} s spent: stopping")
                    break
                row = episode(number, fault, rng, server, provider, processes, options)
                rows.append(row)
                line = f"{number:>3} {fault:<8} {row['top_ups']:>7} {row['spent']:<22} "
                line += f"{row['ok']:>4} {row['slowest']:>7.1f}s  {row['errors']}"
                print(line, flush=True)
                for problem, times in Counter(row["broken"]).items():
                    print(f"      BROKEN: {problem}" + (f" (x{times})" if times > 1 else ""))
        finally:
            processes.stop()
            server.stop()
            provider.stop()
    broken = [row for row in rows if row["broken"]]
    faults = Counter(row["fault"] for row in rows)
    print(
        f"{len(rows)} episodes ({', '.join(f'{k} x{v}' for k, v in sorted(faults.items()))}), "
        f"{len(broken)} broke an invariant, in {time.monotonic() - began:.0f} s"
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
