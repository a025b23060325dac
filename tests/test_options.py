"""The options of the transports and `wrap`: one frozen object, validated in one place, and
the keywords of the first releases still working, each with a `DeprecationWarning`."""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any

import httpx
import httpx2
import pytest

import http402
import http402.httpx2
from http402._options import Options

from .fakes import Alerts

URL = "https://api.example.com/v1/generate"
GATE = {"error": {"code": "insufficient_credits", "message": "Not enough credits."}}


def gate(request: httpx.Request) -> httpx.Response:
    return httpx.Response(402, json=GATE)


class _AsyncFleetCoordinator(http402.AsyncLocalCoordinator):
    """An async coordinator with no sync twin (as a fleet's may be)."""

    twin = None  # type: ignore[assignment]


class TestOneOptionsObject:
    def test_unknown_keywords_are_a_type_error(self) -> None:
        """A misspelt option fails at once, as a misspelt keyword argument would."""
        with pytest.raises(TypeError, match="'preflight_tll'"):
            http402.PaymentRequiredTransport(preflight_tll=30)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="'preflight_tll'"):
            http402.wrap(httpx.AsyncClient(), preflight_tll=30)  # type: ignore[call-overload]

    @pytest.mark.parametrize(
        ("options", "error", "match"),
        [
            ({"max_body_bytes": 0}, ValueError, "max_body_bytes"),
            ({"max_payments": 0}, ValueError, "max_payments"),
            ({"mode": "anotate"}, ValueError, "mode"),
            ({"hook_timeout": 0}, ValueError, "hook_timeout"),
            ({"on_payment_required": "top_up"}, TypeError, "callable"),
            ({"coordinator": object()}, TypeError, "not a coordinator"),
            ({"coordinator": _AsyncFleetCoordinator()}, TypeError, "LocalCoordinator"),
            ({"low_balance": print}, TypeError, "LowBalanceWatch"),
        ],
    )
    def test_each_wrong_value_is_refused_by_every_shell_alike(
        self, options: dict[str, Any], error: type[Exception], match: str
    ) -> None:
        """The sync transport, its httpx2 twin and `wrap` refuse the same values the same
        way: one place validates."""
        with pytest.raises(error, match=match):
            http402.PaymentRequiredTransport(**options)
        with pytest.raises(error, match=match):
            http402.httpx2.PaymentRequiredTransport(**options)
        with pytest.raises(error, match=match):
            http402.wrap(httpx.Client(), **options)

    def test_an_in_process_coordinator_serves_both_kinds_through_its_twin(self) -> None:
        """A sync and an async client of one account are given one coordinator: the
        transport of the other kind uses its twin, which shares its episodes."""
        coordinator = http402.AsyncLocalCoordinator()
        transport = http402.PaymentRequiredTransport(coordinator=coordinator)
        assert transport._coordinator is coordinator.twin()
        assert transport._coordinator.book is coordinator.book

    def test_a_coroutine_low_balance_hook_is_for_the_async_transport(self) -> None:
        async def warn(alert: http402.LowBalance) -> None:
            return None

        watch = http402.LowBalanceWatch(warn, below=5)
        with pytest.raises(TypeError, match="coroutine function"):
            http402.PaymentRequiredTransport(low_balance=watch)  # type: ignore[arg-type]
        http402.AsyncPaymentRequiredTransport(low_balance=watch)

    def test_wrap_builds_the_options_once_for_the_client_and_its_mounts(self) -> None:
        """One options object (and so one coordinator) serves the client's transport and
        every mount."""
        client = http402.wrap(
            httpx.Client(mounts={"https://other.example": httpx.MockTransport(gate)}),
            on_payment_required=lambda error: None,
        )
        transports: list[Any] = [client._transport, *client._mounts.values()]
        assert len({id(t._options) for t in transports}) == 1
        assert len({id(t._coordinator) for t in transports}) == 1

    def test_the_options_are_frozen(self) -> None:
        options = Options.build({"mode": "annotate"}, is_async=False)
        with pytest.raises(AttributeError):
            options.mode = "raise"  # type: ignore[misc]
        assert options.annotates and not options.recovers
        assert options.retry == http402.RetryPolicy()

    def test_peek_streams_is_on_by_default_and_can_be_turned_off(self) -> None:
        assert Options.build({}, is_async=False).peek_streams is True
        assert Options.build({"peek_streams": False}, is_async=True).peek_streams is False


class TestLowBalanceWatch:
    def test_it_needs_a_threshold(self) -> None:
        with pytest.raises(ValueError, match="below or within"):
            http402.LowBalanceWatch(print)

    def test_its_values_are_checked(self) -> None:
        with pytest.raises(ValueError, match="finite"):
            http402.LowBalanceWatch(print, below="NaN")
        with pytest.raises(ValueError, match="within"):
            http402.LowBalanceWatch(print, within=0)
        with pytest.raises(TypeError, match="callable"):
            http402.LowBalanceWatch("print", below=1)  # type: ignore[type-var]
        with pytest.raises(TypeError, match="not one string"):
            http402.LowBalanceWatch(print, below=1, headers="x-credits")

    def test_a_balance_header_below_the_threshold_calls_the_hook(self) -> None:
        fired = Alerts()
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda request: httpx.Response(200, headers={"X-Left": "4"})),
            low_balance=http402.LowBalanceWatch(fired, below=5, headers=("x-left",)),
        )
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert [alert.balance for alert in fired.wait(1)] == [Decimal(4)]


class TestDeprecatedKeywords:
    """Each keyword of the first releases still works for one release, and says what
    replaces it, pointing at the caller's line."""

    def test_preflight_ttl_becomes_a_preflight_gate_ttl(self) -> None:
        with pytest.warns(DeprecationWarning, match=r"Preflight\(gate_ttl") as caught:
            transport = http402.PaymentRequiredTransport(
                httpx.MockTransport(gate), preflight_ttl=30
            )
        assert caught[0].filename == __file__
        assert transport._options.preflight == http402.Preflight(gate_ttl=30)
        with httpx.Client(transport=transport) as client:
            for _ in range(2):
                with pytest.raises(http402.InsufficientCreditsError) as error:
                    client.get(URL)
        assert error.value.attempts == 0  # the second is refused before sending

    def test_on_low_balance_becomes_a_low_balance_watch(self) -> None:
        fired = Alerts()
        with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
            transport = http402.PaymentRequiredTransport(
                httpx.MockTransport(
                    lambda request: httpx.Response(200, headers={"x-credits-remaining": "3"})
                ),
                on_low_balance=fired,
                low_balance_below=5,
            )
        assert [str(w.message).split("=")[0] for w in caught] == [
            "on_low_balance",
            "low_balance_below",
        ]
        assert {w.filename for w in caught} == {__file__}
        assert transport._options.low_balance == http402.LowBalanceWatch(fired, below=5)
        with httpx.Client(transport=transport) as client:
            client.get(URL)
        assert [alert.balance for alert in fired.wait(1)] == [Decimal(3)]

    def test_low_balance_below_becomes_the_watch_s_below(self) -> None:
        with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
            client = http402.wrap(httpx.Client(), on_low_balance=print, low_balance_below="0.5")
        assert "LowBalanceWatch(hook, below=...)" in str(caught[1].message)
        watch = client._transport._options.low_balance  # type: ignore[attr-defined]
        assert watch.below == Decimal("0.5") and watch.within is None

    def test_low_balance_within_becomes_the_watch_s_within(self) -> None:
        with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
            transport = http402.httpx2.PaymentRequiredTransport(
                on_low_balance=print, low_balance_within=3600
            )
        assert "LowBalanceWatch(hook, within=...)" in str(caught[1].message)
        watch = transport._options.low_balance
        assert watch is not None and watch.within == 3600 and watch.below is None

    def test_balance_headers_becomes_the_watch_s_headers(self) -> None:
        with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
            client = http402.httpx2.wrap(
                httpx2.AsyncClient(),
                on_low_balance=print,
                low_balance_below=1,
                balance_headers=("X-Balance",),
            )
        assert "LowBalanceWatch(hook, headers=...)" in str(caught[2].message)
        watch = client._transport._options.low_balance  # type: ignore[attr-defined]
        assert watch.headers == ("x-balance",)

    def test_a_threshold_without_its_hook_is_still_refused(self) -> None:
        with (
            pytest.warns(DeprecationWarning, match="is deprecated"),
            pytest.raises(ValueError, match="goes with"),
        ):
            http402.PaymentRequiredTransport(low_balance_below=5)

    def test_old_and_new_forms_of_one_option_are_refused_together(self) -> None:
        watch = http402.LowBalanceWatch(print, below=5)
        with (
            pytest.warns(DeprecationWarning, match="is deprecated"),
            pytest.raises(ValueError, match="not both"),
        ):
            http402.PaymentRequiredTransport(low_balance=watch, on_low_balance=print)

    def test_the_new_forms_warn_nothing(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            http402.wrap(
                httpx.Client(),
                preflight=http402.Preflight(gate_ttl=30),
                low_balance=http402.LowBalanceWatch(print, below=5, within=600),
            )
