"""The deterministic simulation of the coordinators (`world.py`), run over many seeds.

Each seed is one fleet of 2-4 processes for 45 s of simulated time (and a minute more
for the faults to play out), with 1-4 faults
drawn from those docs/fleet.md promises one top-up per episode under (stalls, lost replies,
killed connections, flushes, volatile evictions, process pauses, forks), or, for the
`beyond` seeds, from all of them (a store that refuses connections, a failover to a lagging
replica, an allkeys eviction, a holder frozen past its lease), which are held to the cap.
After each run, every invariant of docs/safety.md that the simulation can see is checked,
with the bound of an outage: at most one top-up per process per need, whatever the fault; a
hold check that the store does not answer sees every hold its process placed or read, and
never holds a top-up of which nothing was paid.
`benchmarks/simulate.py` runs many more seeds.
"""

from __future__ import annotations

import pytest

from .world import WITHIN, World, run_seed

#: Seeds that once broke an invariant, with what broke (kept as regression tests).
REGRESSIONS = {
    310: "a flush during the open window let a process that took no part elect a second top-up",
    45: "a flush between payments let a process that never saw the window pay past its cap",
    84: "a release asked during a stall executed after a newer hold, and lifted it",
    79: "a hold check that a stall left unanswered held a top-up of which nothing was paid",
}
BEYOND_REGRESSIONS = {
    100675: "lost replies added up across a process's calls into an outage longer than a lease",
    9: "a failover to a lagging replica forgot payments (held to the cap only since)",
    22: "a restart while a process was frozen let the window be paid twice",
    10003: "Redis down: every top-up's hold check answered held, although nothing was paid",
}


def _explain(world: World, broken: list[str]) -> str:
    return f"{broken}\n{world.report()}"


@pytest.mark.parametrize("block", range(10))
def test_no_seed_breaks_an_invariant_under_faults_within_the_promise(block: int) -> None:
    """200 seeds of faults within the promise: one top-up per need, spend within the cap,
    nothing unpayable paid, holds kept until released, no request waiting on the store."""
    for seed in range(block * 20, block * 20 + 20):
        world, broken = run_seed(seed)
        assert not broken, _explain(world, broken)


@pytest.mark.parametrize("block", range(5))
def test_no_seed_breaks_the_cap_under_any_fault(block: int) -> None:
    """100 seeds of any fault: top-ups elected through the store stay within the cap; spend
    stays within the window unless a failover or eviction lost payments without a trace."""
    for seed in range(10_000 + block * 20, 10_000 + block * 20 + 20):
        world, broken = run_seed(seed, beyond=True)
        assert not broken, _explain(world, broken)


@pytest.mark.parametrize("seed", sorted(REGRESSIONS))
def test_regression_seeds(seed: int) -> None:
    """Seeds that broke an invariant once keep passing."""
    world, broken = run_seed(seed)
    assert not broken, _explain(world, broken)


@pytest.mark.parametrize("seed", sorted(BEYOND_REGRESSIONS))
def test_beyond_regression_seeds(seed: int) -> None:
    world, broken = run_seed(seed, beyond=True)
    assert not broken, _explain(world, broken)


@pytest.mark.parametrize(
    ("fault", "after"),
    [
        ("flush", 0.1),  # mid-hook: the holder re-takes its lease at its next renewal
        ("flush", 3.5),  # after the hook, inside its window: the holder keeps its outcome
        ("evict", 0.1),  # volatile eviction takes nothing that guards money
        ("stall", 0.1),  # a stall shorter than a lease mid-hook
        ("lose", 0.0),  # lost replies to the acquire, the renewals and the publication
        ("kill", 0.5),
        ("pause", 0.1),  # a process paused for less than a lease
        ("fork", 0.1),  # a fork mid-hook: the child holds no lease
    ],
)
def test_one_top_up_per_need_when_the_fault_strikes_at_a_chosen_moment(
    fault: str, after: float
) -> None:
    """Forced interleavings: the fault strikes `after` seconds after the first top-up
    starts, in 8 fleets of different traffic; each need gets one top-up."""
    for seed in range(8):
        world = World(20_000 + seed, faults=WITHIN).run([], at_first_hook=[(after, fault)])
        broken = world.check()
        assert not broken, _explain(world, broken)
        assert world.hook_runs, "no top-up ran: the scenario tested nothing"


def test_the_simulation_is_deterministic() -> None:
    """Same seed, same run: a failing seed can be replayed."""
    first, second = World(7).run(), World(7).run()
    assert first.trace == second.trace
    assert first.payments == second.payments
