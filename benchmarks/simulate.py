"""The coordinators' deterministic simulation (`tests/simulation/`) over many seeds.

Run as ``python benchmarks/simulate.py [--seeds N] [--start S] [--beyond]``: each seed is a
fleet of 2-4 processes with random faults; the script prints how many seeds and faults ran,
which invariants broke (with the first seed that broke each, to replay with
``tests.simulation.world.run_seed``), and the time taken. The test suite runs 300 seeds;
this is the nightly run. Exits 1 when an invariant broke.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.simulation.world import run_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--start", type=int, default=100_000)
    parser.add_argument("--beyond", action="store_true", help="every fault, held to the cap")
    options = parser.parse_args(argv)
    began = time.perf_counter()
    faults: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    first: dict[str, int] = {}
    hooks = payments = 0
    for seed in range(options.start, options.start + options.seeds):
        world, problems = run_seed(seed, beyond=options.beyond)
        faults.update(kind for _, kind in world.faults)
        hooks += len(world.hook_runs)
        payments += len(world.payments)
        for problem in {re.sub(r"\d+(\.\d+)?", "N", p)[:80] for p in problems}:
            broken[problem] += 1
            first.setdefault(problem, seed)
    took = time.perf_counter() - began
    kind = "any fault (held to the cap)" if options.beyond else "faults within the promise"
    each = took / options.seeds * 1000
    print(f"{options.seeds} seeds, {kind}, in {took:.1f} s ({each:.0f} ms a seed)")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
    print(f"faults: {sum(faults.values())} ({kinds})")
    print(f"top-ups run: {hooks}; payments made: {payments}")
    if not broken:
        print("no invariant broke")
        return 0
    for problem, count in broken.most_common():
        print(f"BROKEN in {count} seeds (first: {first[problem]}): {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
