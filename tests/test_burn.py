"""Burn rate: spend estimates and low-balance warnings, on a fake clock."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from http402 import Balance, LowBalance
from http402._burn import BurnRate, BurnRateEstimator, LowBalanceDetector, scope_digest

SCOPE = "https://openrouter.ai|key:0123abcd"


def _estimate(balance: str, time_left: float | None, *, scope: str = SCOPE) -> BurnRate:
    return BurnRate(
        scope_digest=scope_digest(scope),
        balance=balance,
        rate=None if time_left is None else 0.01,
        time_left=time_left,
        as_of=0.0,
        samples=2,
    )


def test_a_steady_spend_gives_its_rate_and_time_left() -> None:
    """Readings falling 0.5 a minute give 0.5/60 per second and balance/rate seconds left."""
    estimator = BurnRateEstimator()
    estimate = None
    for minute in range(10):
        estimate = estimator.observe(
            SCOPE, Decimal(100) - Decimal("0.5") * minute, now=60.0 * minute
        )
    assert estimate is not None
    assert estimate.rate == pytest.approx(0.5 / 60)
    assert estimate.time_left == pytest.approx(95.5 / (0.5 / 60))
    assert (estimate.samples, estimate.balance) == (10, Decimal("95.5"))


@pytest.mark.parametrize(
    ("readings", "rate", "time_left"),
    [
        pytest.param([(0.0, "10")], None, None, id="one reading: no rate yet"),
        pytest.param([(0.0, "10"), (5.0, "9")], None, None, id="span below min_span"),
        pytest.param([(0.0, "10"), (120.0, "10")], 0.0, None, id="flat: rate 0, no end"),
        pytest.param([(0.0, "10"), (120.0, "8"), (240.0, "9")], None, None, id="rise restarts"),
        pytest.param([(0.0, "10"), (120.0, "0")], 10 / 120, 0.0, id="empty: no time left"),
        pytest.param([(0.0, "10"), (120.0, "-1")], 11 / 120, 0.0, id="overdrawn"),
        pytest.param(
            [(500.0, "10"), (100.0, "9"), (400.0, "8")], 1 / 300, 8 * 300, id="clock back"
        ),
        pytest.param([(0.0, "99"), (4000.0, "10"), (4120.0, "9")], 1 / 120, 9 * 120, id="windowed"),
    ],
)
def test_estimates_over_a_table_of_readings(
    readings: list[tuple[float, str]], rate: float | None, time_left: float | None
) -> None:
    """Each run of (time, balance) readings gives the expected rate and time left."""
    estimator = BurnRateEstimator(window=3600, min_span=60)
    estimate = None
    for now, balance in readings:
        estimate = estimator.observe(SCOPE, balance, now=now)
    assert estimate is not None
    assert estimate.rate == (None if rate is None else pytest.approx(rate))
    assert estimate.time_left == (None if time_left is None else pytest.approx(time_left))


def test_samples_per_scope_are_bounded() -> None:
    """A scope keeps at most `max_samples` readings."""
    estimator = BurnRateEstimator(max_samples=4, min_span=0)
    for second in range(100):
        estimate = estimator.observe(SCOPE, 1000 - second, now=float(second))
    assert estimate.samples == 4
    assert estimate.rate == pytest.approx(1.0)


def test_scopes_are_bounded_and_the_least_recently_seen_goes_first() -> None:
    """Past `max_scopes`, the scope seen longest ago is forgotten; a recent one is kept."""
    estimator = BurnRateEstimator(max_scopes=2, min_span=0)
    estimator.observe("a", 10, now=0.0)
    estimator.observe("b", 10, now=0.0)
    estimator.observe("a", 9, now=1.0)  # "a" is now the most recently seen
    estimator.observe("c", 10, now=1.0)  # evicts "b"
    assert len(estimator) == 2
    assert estimator.observe("a", 8, now=2.0).samples == 3
    assert estimator.observe("b", 10, now=2.0).samples == 1


def test_the_scope_is_kept_only_as_a_digest() -> None:
    """Estimates carry a digest of the scope, never the scope itself."""
    estimate = BurnRateEstimator().observe(SCOPE, 5, now=0.0, provider="openrouter")
    assert estimate.scope_digest == scope_digest(SCOPE) != SCOPE
    assert SCOPE not in repr(estimate)
    assert len(estimate.scope_digest) == 16


def test_forget_drops_a_scope() -> None:
    """`forget` drops what is known of a scope."""
    estimator = BurnRateEstimator()
    estimator.observe(SCOPE, 5, now=0.0)
    estimator.forget(SCOPE)
    assert len(estimator) == 0


@pytest.mark.parametrize(
    "options",
    [{"max_samples": 1}, {"max_scopes": 0}, {"window": 0}, {"min_span": -1}],
)
def test_bad_estimator_options_are_refused(options: dict[str, float]) -> None:
    """Options that cannot bound or estimate anything raise `ValueError`."""
    with pytest.raises(ValueError, match="need"):
        BurnRateEstimator(**options)  # type: ignore[arg-type]


def test_a_balance_that_is_not_finite_is_refused() -> None:
    """A NaN or infinite balance raises instead of poisoning the estimate."""
    with pytest.raises(ValueError, match="finite"):
        BurnRateEstimator().observe(SCOPE, "NaN", now=0.0)


@pytest.mark.parametrize(
    ("steps", "fired"),
    [
        pytest.param([("100", 9000.0), ("90", 7000.0), ("80", 5000.0)], ["time_left"], id="once"),
        pytest.param([("100", None), ("90", 7000.0)], ["time_left"], id="first estimate low"),
        pytest.param(
            [("100", 7000.0), ("200", 7100.0), ("190", 7000.0)],
            ["time_left", "time_left"],
            id="top-up re-arms",
        ),
        pytest.param(
            [("100", 7000.0), ("99", 8000.0), ("98", 7000.0)], ["time_left"], id="margin holds"
        ),
        pytest.param(
            [("100", 7000.0), ("99", 9500.0), ("98", 7000.0)],
            ["time_left", "time_left"],
            id="well clear re-arms",
        ),
        pytest.param([("100", 7000.0), ("90", None), ("80", 7000.0)], ["time_left"], id="unknown"),
    ],
)
def test_time_to_empty_fires_once_per_crossing(
    steps: list[tuple[str, float | None]], fired: list[str]
) -> None:
    """The time-to-empty warning fires once per crossing and re-arms on a top-up or a margin."""
    detector = LowBalanceDetector(time_left_below=7200)
    seen = [w.trigger for balance, left in steps for w in detector.check(_estimate(balance, left))]
    assert seen == fired


@pytest.mark.parametrize(
    ("balances", "fired"),
    [
        pytest.param(["10", "6", "4", "3", "2"], [2], id="once below"),
        pytest.param(["4", "3"], [0], id="already below at first sight"),
        pytest.param(["6", "4", "7", "4"], [1, 3], id="top-up re-arms"),
        pytest.param(["6", "5", "4"], [2], id="the threshold itself is not below"),
    ],
)
def test_the_fixed_balance_threshold_fires_once_per_crossing(
    balances: list[str], fired: list[int]
) -> None:
    """The balance warning fires on the reading that drops below, once, until a rise."""
    detector = LowBalanceDetector(time_left_below=None, balance_below=5)
    seen = [i for i, balance in enumerate(balances) if detector.check(_estimate(balance, None))]
    assert seen == fired


def test_both_thresholds_can_fire_on_one_reading() -> None:
    """One reading crossing both thresholds gives two warnings, each saying which."""
    detector = LowBalanceDetector(time_left_below=7200, balance_below="5")
    warnings = detector.check(_estimate("4", 400.0))
    assert [(w.trigger, w.threshold) for w in warnings] == [
        ("balance", Decimal(5)),
        ("time_left", Decimal(7200)),
    ]


def test_the_detector_forgets_the_least_recently_seen_scope_first() -> None:
    """Past `max_scopes`, the scope seen longest ago is forgotten, and so re-armed."""
    detector = LowBalanceDetector(time_left_below=7200, max_scopes=1)
    assert detector.check(_estimate("10", 100.0, scope="a"))
    assert not detector.check(_estimate("9", 90.0, scope="a"))
    assert detector.check(_estimate("10", 100.0, scope="b"))
    assert detector.check(_estimate("8", 80.0, scope="a"))


@pytest.mark.parametrize(
    "options", [{"time_left_below": 0}, {"max_scopes": 0}, {"rearm_factor": 0.5}]
)
def test_bad_detector_options_are_refused(options: dict[str, float]) -> None:
    """Thresholds and bounds that make no sense raise `ValueError`."""
    with pytest.raises(ValueError, match=r"must|need"):
        LowBalanceDetector(**options)  # type: ignore[arg-type]


def test_a_simulated_spend_fires_once_with_a_sane_estimate() -> None:
    """Spending $36 an hour from $100, read every minute with noise, warns once near 2 h left.

    After a top-up back to $100 the warning re-arms and fires once more in the next descent.
    """
    rng = random.Random(15)
    estimator = BurnRateEstimator()
    detector = LowBalanceDetector(time_left_below=2 * 3600)
    true_rate = 0.01  # dollars per second
    warnings: list[tuple[float, LowBalance]] = []
    balance = Decimal(100)
    for minute in range(1, 240):
        now = 60.0 * minute
        if minute == 120:
            balance = Decimal(100)  # the top-up
        else:
            spent = Decimal(str(round(true_rate * 60 * rng.uniform(0.5, 1.5), 4)))
            balance -= spent
        estimate = estimator.observe(SCOPE, balance, now=now, provider="openrouter", currency="USD")
        warnings += [(now, w) for w in detector.check(estimate)]
    assert len(warnings) == 2
    for _, warning in warnings:
        assert warning.trigger == "time_left"
        assert (warning.provider, warning.currency) == ("openrouter", "USD")
        assert warning.scope_digest == scope_digest(SCOPE)
        assert warning.rate == pytest.approx(true_rate, rel=0.25)
        assert warning.time_left is not None
        assert warning.time_left == pytest.approx(float(warning.balance) / true_rate, rel=0.25)
        assert 60 <= warning.balance <= 80  # about 2 h x $36/h = $72 left
    assert warnings[0][0] < 120 * 60 < warnings[1][0]


def test_probed_balances_are_observed_at_their_as_of() -> None:
    """`observe_balance` reads a Balance at its `as_of`; one with no amount is not a sample."""
    estimator = BurnRateEstimator()
    first = Balance(provider="deepseek", available="110.00", currency="CNY", as_of=1000.0)
    later = Balance(provider="deepseek", available="109.00", currency="CNY", as_of=1100.0)
    assert estimator.observe_balance(SCOPE, Balance(provider="openrouter")) is None
    estimator.observe_balance(SCOPE, first)
    estimate = estimator.observe_balance(SCOPE, later)
    assert estimate is not None
    assert (estimate.provider, estimate.currency, estimate.as_of) == ("deepseek", "CNY", 1100.0)
    assert estimate.rate == pytest.approx(0.01)
    assert len(estimator) == 1


def test_a_rise_rearms_every_crossing_and_a_clear_estimate_its_own() -> None:
    """What a fleet re-arms in its store: both crossings on any rise of the balance (another
    process may have fired them), a threshold's own once the estimate moves back clear of
    it, and nothing while the balance only falls."""
    detector = LowBalanceDetector(time_left_below=100, balance_below=5)
    steps = [("6", 200.0), ("4", 90.0), ("3", 80.0), ("3", 130.0), ("9", 500.0), ("8", 400.0)]
    rearmed = [detector.crossings(_estimate(balance, left))[1] for balance, left in steps]
    assert rearmed == [
        (),
        (),
        (),
        ("time_left:100",),  # 130 s left: above 1.25 x 100, after it fired
        ("balance:5", "time_left:100"),  # a rise
        (),
    ]
