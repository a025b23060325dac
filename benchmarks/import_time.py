"""How long does `import http402` take, next to `import httpx`?

Run as ``python benchmarks/import_time.py [--runs N] [--source DIR]``. Prints figures only.

Each measurement is a fresh interpreter (``python -c``) that times one statement with
``time.perf_counter`` around it, so interpreter start-up is left out and nothing is cached
between runs but the bytecode. Bytecode is compiled first (``compileall`` on http402's
source, and one warm-up run of each statement), so the figures are those of an installed
package, not of a first run. The figure per statement is the median of ``--runs`` runs
(default 20); the runs of the statements are interleaved, in turn first, so that a slow
moment of the machine hits all of them alike. The ratio is taken per run (http402's import
over httpx's, measured back to back), and its median is printed with the quartiles and the
range of those per-run ratios: on a busy machine the two medians alone drift apart.

Statements:

- ``import httpx``: the baseline.
- ``import http402``: the package, as a user imports it.

It also lists which optional or heavy modules (tenacity, anyio, redis, opentelemetry,
importlib.metadata) ``import http402`` loaded, since those are the ones meant to load lazily.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"
TARGET = 1.3
STATEMENTS = {
    "import httpx": "import httpx",
    "import http402": "import http402",
}
WATCHED = ("tenacity", "anyio", "redis", "opentelemetry", "importlib.metadata")
_TIMER = """\
import time
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per statement")
    parser.add_argument(
        "--source",
        type=Path,
        default=SOURCE,
        help="the folder holding the http402 package to time (default: this checkout's src)",
    )
    arguments = parser.parse_args()

    env = _environment(arguments.source)
    compileall.compile_dir(arguments.source / "http402", quiet=1)
    for statement in STATEMENTS.values():
        _time(statement, env)  # warm-up: bytecode of dependencies, the OS file cache

    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    names = list(STATEMENTS)
    for run in range(arguments.runs):
        for name in names if run % 2 == 0 else reversed(names):
            samples[name].append(_time(STATEMENTS[name], env))

    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"Python {sys.version.split()[0]}, median of {arguments.runs} fresh processes each\n")
    for name, value in median.items():
        spread = f"{min(samples[name]) * 1000:.1f}-{max(samples[name]) * 1000:.1f}"
        print(f"  {name:<16}{value * 1000:7.1f} ms   (range {spread} ms)")
    ratios = sorted(
        ours / base
        for ours, base in zip(samples["import http402"], samples["import httpx"], strict=True)
    )
    ratio = statistics.median(ratios)
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio, ratio, ratio)
    verdict = "within" if ratio <= TARGET else "above"
    print(
        f"\n  import http402 / import httpx = {ratio:.2f}x per run, median "
        f"(IQR {q1:.2f}-{q3:.2f}x, range {ratios[0]:.2f}-{ratios[-1]:.2f}x; "
        f"{verdict} the {TARGET}x target)"
    )
    print(f"  ratio of the medians: {median['import http402'] / median['import httpx']:.2f}x")
    print(f"  {_load()}")
    print(
        f"\n  loaded by import http402: {', '.join(_loaded(env)) or 'none of'} "
        f"({', '.join(WATCHED)} watched)"
    )


def _load() -> str:
    """The machine's load average, beside the figures: they mean little on a busy machine."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _environment(source: Path) -> dict[str, str]:
    """The environment of the measured processes: `source` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time(statement: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _TIMER.format(statement=statement)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip())


def _loaded(env: dict[str, str]) -> list[str]:
    probe = f"import sys, http402; print(' '.join(m for m in {WATCHED!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


if __name__ == "__main__":
    main()
