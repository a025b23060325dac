"""Fuzz everything in http402 that reads untrusted bytes: `classify` and the parsers.

Runs the property tests of `tests/test_properties.py` as fuzz targets, with their strategies
and their checks, for a time budget:

    python fuzz/fuzz_classify.py --seconds 300      # minutes of fuzzing
    python fuzz/fuzz_classify.py --seconds 20       # a short run for CI

Two engines. `hypothesis` (the default without atheris) runs each target in rounds of fresh,
randomly seeded Hypothesis runs until the time is up, and shrinks any failure to a minimal
example. `atheris` (coverage-guided libFuzzer, when `import atheris` works) feeds its
mutated bytes to each target's `fuzz_one_input`. See fuzz/README.md.

Exits 0 when nothing failed, 1 on a failure (an exception, a broken property, a leak, or an
input slower than `--slow-ms`), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Target = tuple[str, Any]

counts: collections.Counter[str] = collections.Counter()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument(
        "--engine",
        choices=["auto", "hypothesis", "atheris"],
        default="auto",
        help="auto: atheris if it can be imported, else hypothesis",
    )
    parser.add_argument(
        "--only", default="", help="run only the targets whose name contains this text"
    )
    parser.add_argument(
        "--slow-ms",
        type=float,
        default=500.0,
        help="fail on one example that takes longer than this, thrice (default 500)",
    )
    parser.add_argument(
        "--time-factor",
        type=float,
        help="scale the 50 ms classify bound (default 1; 3 under atheris' instrumentation)",
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="after a failure, fuzz the other targets"
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path(tempfile.gettempdir()) / "http402-fuzz",
        help="where atheris failures are saved (default: $TMPDIR/http402-fuzz)",
    )
    parser.add_argument("--replay", type=Path, help="replay one saved atheris input, verbosely")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    return parser.parse_args(argv)


def load_tests(instrument: Callable[[], Any] | None = None) -> Any:
    """Imports tests/test_properties.py (and http402, instrumented for atheris if asked)."""
    sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec("http402") is None:
        sys.path.insert(0, str(ROOT / "src"))
    if instrument is not None:
        with instrument():
            import http402  # noqa: F401
    import tests.test_properties as properties

    return properties


def targets_of(properties: Any, only: str) -> list[Target]:
    """The Hypothesis tests of the module (those named with `only`, if given)."""
    found = []
    for name in sorted(dir(properties)):
        test = getattr(properties, name)
        if not name.startswith("test_") or not getattr(test, "is_hypothesis_test", False):
            continue
        if only not in name:
            continue
        found.append((name.removeprefix("test_"), test))
    return found


def guarded(name: str, inner: Callable[..., Any], slow: float) -> Callable[..., Any]:
    """`inner` counted, and failed when one example is slow three times in a row."""

    @functools.wraps(inner)
    def run(*args: Any, **kwargs: Any) -> None:
        counts[name] += 1
        elapsed = _timed(inner, args, kwargs)
        if elapsed > slow:
            elapsed = min(elapsed, _timed(inner, args, kwargs), _timed(inner, args, kwargs))
            assert elapsed <= slow, f"slow input: {elapsed * 1000:.0f} ms for one example"

    return run


def _timed(inner: Callable[..., Any], args: Any, kwargs: Any) -> float:
    start = time.perf_counter()
    inner(*args, **kwargs)
    return time.perf_counter() - start


def report(started: float, failures: list[str]) -> None:
    total = sum(counts.values())
    elapsed = time.monotonic() - started
    print(f"\n{total} inputs in {elapsed:.0f} s ({total / max(elapsed, 1e-9):.0f}/s):", flush=True)
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {count:>9}  {name}")
    print(f"failures: {', '.join(failures) if failures else 'none'}", flush=True)


def run_hypothesis(targets: list[Target], args: argparse.Namespace) -> int:
    """Fresh, randomly seeded Hypothesis runs of every target, round after round."""
    from hypothesis import HealthCheck, given, settings

    started = time.monotonic()
    deadline = started + args.seconds
    examples = dict.fromkeys((name for name, _ in targets), 10)
    # classify (and the secrets property) gets five times the time of a parser; every target
    # runs about three rounds.
    weights = {name: 5.0 if "classify" in name or "secrets" in name else 1.0 for name, _ in targets}
    per_weight = min(5.0, max(0.2, args.seconds / (3 * sum(weights.values()))))
    failures: list[str] = []
    last_progress = started
    while time.monotonic() < deadline and len(failures) < len(targets):
        for name, test in targets:
            now = time.monotonic()
            if now >= deadline:
                break
            if name in failures:
                continue
            handle = test.hypothesis
            inner = guarded(name, handle.inner_test, args.slow_ms / 1000)
            strategies = getattr(handle, "_given_kwargs", None)
            if strategies is None:  # a Hypothesis without it: random bytes, no shrinking
                fresh = functools.partial(_random_buffers, handle, inner, examples[name])
            else:
                fresh = settings(
                    max_examples=examples[name],
                    derandomize=False,
                    database=None,
                    deadline=None,
                    print_blob=True,
                    suppress_health_check=list(HealthCheck),
                )(given(**strategies)(inner))
            before = counts[name]
            try:
                fresh()
            except Exception:
                failures.append(name)
                print(f"\nFAILED {name}:", flush=True)
                traceback.print_exc()
                sys.stdout.flush()
                if not args.keep_going:
                    report(started, failures)
                    return 1
            spent = max(time.monotonic() - now, 1e-3)
            rate = max(counts[name] - before, 1) / spent
            examples[name] = max(5, min(5_000, int(rate * per_weight * weights[name])))
        if time.monotonic() - last_progress > 30:
            last_progress = time.monotonic()
            print(f"... {sum(counts.values())} inputs so far", flush=True)
    report(started, failures)
    return 1 if failures else 0


def _random_buffers(handle: Any, inner: Callable[..., Any], examples: int) -> None:
    original = handle.inner_test
    handle.inner_test = inner
    try:
        for _ in range(examples):
            handle.fuzz_one_input(os.urandom(int.from_bytes(os.urandom(2), "big") % 8192))
    finally:
        handle.inner_test = original


def run_atheris(targets: list[Target], args: argparse.Namespace) -> int:
    """Coverage-guided: libFuzzer's bytes, first byte picks the target, the rest drive it."""
    import atheris

    for name, test in targets:
        test.hypothesis.inner_test = guarded(name, test.hypothesis.inner_test, args.slow_ms / 1000)
    started = time.monotonic()
    deadline = started + args.seconds
    args.artifacts.mkdir(parents=True, exist_ok=True)

    def one_input(data: bytes) -> None:
        if time.monotonic() >= deadline:
            report(started, [])
            os._exit(0)
        if len(data) < 2:
            return
        name, test = targets[data[0] % len(targets)]
        try:
            test.hypothesis.fuzz_one_input(data[1:])
        except Exception:
            path = args.artifacts / f"crash-{name}-{hashlib.sha256(data).hexdigest()[:12]}"
            path.write_bytes(data)
            print(f"\nFAILED {name}:", flush=True)
            traceback.print_exc()
            print(f"saved to {path}; replay with: {sys.argv[0]} --replay {path}", flush=True)
            report(started, [name])
            os._exit(1)

    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={int(args.seconds) + 60}",
            "-timeout=60",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={args.artifacts}/",
        ],
        one_input,
    )
    atheris.Fuzz()
    return 0  # pragma: no cover - atheris.Fuzz() does not return


def replay(targets: list[Target], path: Path) -> int:
    """Runs one saved atheris input and prints the arguments it drew."""
    data = path.read_bytes()
    name, test = targets[data[0] % len(targets)]
    inner = test.hypothesis.inner_test

    def shown(*a: Any, **kw: Any) -> None:
        print(f"{name}({', '.join(f'{k}={v!r}' for k, v in kw.items())})", flush=True)
        inner(*a, **kw)

    test.hypothesis.inner_test = functools.wraps(inner)(shown)
    test.hypothesis.fuzz_one_input(data[1:])
    print("passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if importlib.util.find_spec("atheris") else "hypothesis"
    instrument = None
    if engine == "atheris" and not args.replay and not args.list:
        import atheris

        instrument = functools.partial(atheris.instrument_imports, include=["http402"])
    properties = load_tests(instrument)
    properties.TIME_BOUND *= args.time_factor or (3.0 if instrument is not None else 1.0)
    targets = targets_of(properties, args.only)
    if not targets:
        print(f"no target matches {args.only!r}", file=sys.stderr)
        return 2
    if args.list:
        print("\n".join(name for name, _ in targets))
        return 0
    if args.replay:
        return replay(targets, args.replay)
    print(
        f"fuzzing {len(targets)} targets for {args.seconds:.0f} s with {engine}",
        flush=True,
    )
    if engine == "atheris":
        return run_atheris(targets, args)
    return run_hypothesis(targets, args)


if __name__ == "__main__":
    sys.exit(main())
