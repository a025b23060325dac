"""One process of a fleet: requests against a gated provider, coordinated through Redis.

Run by tests/test_fleet.py as `python -m tests.fleet_worker ...`. It speaks JSON lines on
stdout: `ready` once it is set up, `gated` at the first 402 it meets, `hook_called` when its
first episode asks for the hook (its holds checked: the fleet now elects who runs it),
`saw_lease` once an election of its has seen a lease (the holder's, or its own: from then on it
waits for that holder, or counts it against the cap, whatever Redis loses), `hook` when its
hook starts, and `done` with its results. It starts its burst when the test
writes `go` on its stdin (so that every process of a test starts together, however long each
took to import), and with `--hook-waits` its hook runs until the test writes `release` (so
that a fault is thrown while the hook runs, not after a guessed delay).

`--mode top-up` (the default) sends requests to a `DemoProvider` whose credits ran out, with a
top-up hook; `--mode x402` answers each request with an x402 challenge (in process) and pays
it under a `SpendPolicy` whose window lives in Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

import http402


def client_for(url: str, kind: str) -> Any:
    """A sync client of the kind asked for, with short timeouts."""
    options: dict[str, Any] = {"socket_timeout": 1, "socket_connect_timeout": 1}
    if kind == "valkey":
        import valkey

        return valkey.Valkey.from_url(url.replace("redis://", "valkey://"), **options)
    if kind == "cluster":
        import redis.cluster

        return redis.cluster.RedisCluster.from_url(url, **options)
    import redis

    return redis.Redis.from_url(url, **options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--client", default="redis", choices=["redis", "valkey", "cluster"])
    parser.add_argument("--provider", default="")
    parser.add_argument("--mode", default="top-up", choices=["top-up", "x402"])
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--lease-ttl", type=float, default=5.0)
    parser.add_argument("--max-episodes", type=int, default=2)
    parser.add_argument("--hook-sleep", type=float, default=0.0)
    parser.add_argument("--hook-waits", action="store_true")
    # The hook's propagation window: how long replays wait for a top-up to show, and how
    # long an exiting process still tries to publish an outcome Redis did not take.
    parser.add_argument("--within", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    logging.getLogger("http402").setLevel(logging.INFO)
    logging.getLogger("http402").addHandler(FirstEvent("hook_called"))
    told = {"go": threading.Event(), "release": threading.Event()}
    threading.Thread(target=listen, args=(told,), daemon=True).start()
    args.released = told["release"]
    client = client_for(args.redis, args.client)
    coordinator = http402.RedisCoordinator(
        client, lease_ttl=args.lease_ttl, max_episodes=(args.max_episodes, 600)
    )
    said_lease = threading.Event()
    witness = coordinator._witness
    saw = witness.saw

    def seen(key: str, token: str | None) -> None:
        saw(key, token)
        if token and not said_lease.is_set():
            said_lease.set()
            say("saw_lease")

    witness.saw = seen  # type: ignore[method-assign]
    if args.mode == "x402":
        transport, base_url, counted = x402_transport(coordinator, args.hook_sleep)
    else:
        transport, base_url, counted = top_up_transport(coordinator, args)
    with httpx.Client(transport=transport, base_url=base_url, timeout=60) as http:
        say("ready")
        told["go"].wait()

        def one(number: int) -> int | str:
            try:
                return http.post("/v1/generate", json={"n": number}).status_code
            except http402.PaymentRequiredError as exc:
                return f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # reported, not raised: the test counts lost requests
                return repr(exc)

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            results = list(pool.map(one, range(args.requests)))
    say("done", hook_calls=counted(), results=results)


def say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "pid": os.getpid(), **fields}), flush=True)


def listen(told: dict[str, threading.Event]) -> None:
    """Sets the event of each word the test writes on stdin (`go`, `release`). The test
    closes stdin only once this process exited: an end before means the test is gone (it
    failed or was stopped), and a process waiting for its word would wait for ever."""
    for line in sys.stdin:
        told[line.strip()].set()
    os._exit(1)


class FirstEvent(logging.Handler):
    """Says `event` at the first telemetry record of that name (`http402_event`)."""

    def __init__(self, event: str) -> None:
        super().__init__()
        self._event = event
        self._said = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "http402_event", None) == self._event and not self._said.is_set():
            self._said.set()
            say(self._event)


class FirstGate(httpx.BaseTransport):
    """The provider's transport, saying `gated` at the first 402 it returns."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self._said = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code == 402 and not self._said.is_set():
            self._said.set()
            say("gated")
        return response

    def close(self) -> None:
        self._inner.close()


def top_up_transport(coordinator: http402.RedisCoordinator, args: argparse.Namespace) -> Any:
    hook_calls = 0

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        nonlocal hook_calls
        hook_calls += 1
        say("hook")
        if args.hook_waits:
            args.released.wait()
        time.sleep(args.hook_sleep)
        httpx.post(f"{args.provider}/billing/top-up", json={"credits": 1000})
        return http402.Retry(within=args.within)

    transport = http402.PaymentRequiredTransport(
        FirstGate(httpx.HTTPTransport()),
        on_payment_required=top_up,
        coordinator=coordinator,
        retry=http402.RetryPolicy(max_replays=100, max_wait=0.25),
    )
    return transport, args.provider, lambda: hook_calls


def x402_transport(coordinator: http402.RedisCoordinator, hook_sleep: float) -> Any:
    from http402.testing import gate

    challenge = gate("x402.v1")
    offer = http402.classify(challenge).payment_options[0]
    paid: list[object] = []
    lock = threading.Lock()

    def provider(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-payment"):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, headers=challenge.headers, content=challenge.content)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        option = error.payment.payment_options[0]
        time.sleep(hook_sleep)  # the wallet signs; money moves
        with lock:
            paid.append(option.amount)
        return http402.Retry(headers={"X-PAYMENT": "signed-proof-aaaaaaaaaaaa"}, paid=option)

    assert offer.asset is not None and offer.amount is not None
    policy = http402.SpendPolicy(
        max_amount={offer.asset: offer.amount},
        max_per_window={offer.asset: offer.amount * 2},
        window=3600,
        store=coordinator.spend_store(),
    )
    transport = http402.PaymentRequiredTransport(
        FirstGate(httpx.MockTransport(provider)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=policy,
    )
    return transport, "https://api.example.com", lambda: len(paid)


def zygote() -> None:
    """Forks a fleet process per request, with everything a fleet process needs imported
    once: each line on stdin is `{"argv": [...], "fifos": [stdin, stdout, stderr]}`; the
    answer is the forked process's pid. The child runs `main` on those FIFOs and exits as an
    interpreter does (its threads joined, its exit handlers run), saying `exit` with its
    status last, since only this process may wait for it (it does, at the latest when its
    stdin closes). Importing took each fleet process
    ~0.5 s of CPU, eight of them per fleet test."""
    import random

    import redis.cluster  # noqa: F401  (imported for the children)

    with contextlib.suppress(ImportError):
        import valkey  # noqa: F401

    http402.RedisCoordinator, http402.PaymentRequiredTransport, http402.SpendPolicy  # noqa: B018
    # What was imported stays: its objects move out of the collector's sight, so that a
    # child's collections do not touch (and copy) the pages it shares with this process.
    gc.freeze()
    children = set()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            random.seed()
            _become(request["argv"], request["fifos"])
            return  # the interpreter exits as a fleet process's would
        print(pid, flush=True)
        children.add(pid)
        children -= {child for child in children if os.waitpid(child, os.WNOHANG)[0]}
    # Waited for, so that their CPU time counts in the test run's, as a subprocess's does.
    for child in children:
        os.waitpid(child, 0)


def _become(argv: list[str], fifos: list[str]) -> None:
    """Runs `main(argv)` with stdin, stdout and stderr on `fifos` (opened in their order, as
    the test opens them), and says `exit` with the status once the interpreter shuts down."""
    import atexit
    import traceback

    modes = (os.O_RDONLY, os.O_WRONLY, os.O_WRONLY)
    for fd, (path, flags) in enumerate(zip(fifos, modes, strict=True)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    sys.argv = ["fleet_worker", *argv]
    status = [1]

    def exit_now() -> None:
        """The last exit handler (the first registered): this process's threads were joined
        and every other handler ran, as at any interpreter's exit; `import logging`'s, made
        before the fork, runs here. What is left is tearing the modules down, objects this
        process shares with the zygote, which writing their counts would copy page by page:
        ~1.5 s of CPU per process, more than it spent on its requests. The kernel frees
        them at once instead."""
        logging.shutdown()
        say("exit", status=status[0])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status[0])

    atexit.register(exit_now)
    try:
        main()
        status[0] = 0
    except SystemExit as exit:
        status[0] = exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()


if __name__ == "__main__":
    zygote() if sys.argv[1:] == ["--zygote"] else main()
