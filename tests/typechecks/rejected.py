"""Calls that the type checker must reject: each line carries the `# type: ignore[code]` of
the error mypy gives it. With `warn_unused_ignores` (part of `--strict`), a call that stops
being rejected makes its ignore unused, and mypy fails; `tests/test_typing.py` also checks
each error by its code, with the ignores taken out.
"""

from __future__ import annotations

import httpx
import httpx2

import http402
import http402.httpx2


def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
    return None


def rejected() -> None:
    http402.wrap(httpx.Client(), preflight_tll=30)  # type: ignore[call-overload]
    http402.wrap(httpx.Client(), mode="anotate")  # type: ignore[call-overload]
    http402.wrap(httpx2.Client(), preflight_tll=30)  # type: ignore[call-overload]
    http402.httpx2.wrap(httpx2.Client(), mode="anotate")  # type: ignore[call-overload]
    http402.PaymentRequiredTransport(preflight_tll=30)  # type: ignore[call-arg]
    http402.PaymentRequiredTransport(mode="anotate")  # type: ignore[arg-type]
    http402.httpx2.PaymentRequiredTransport(preflight_tll=30)  # type: ignore[call-arg]
    http402.wrap(httpx.Client(), on_payment_required="top_up")  # type: ignore[call-overload]
    http402.wrap(object())  # type: ignore[call-overload]


async def top_up_async(error: http402.PaymentRequiredError) -> http402.Retry | None:
    return None


async def warn_async(alert: http402.LowBalance) -> None:
    return None


def a_coroutine_hook_on_a_sync_client() -> None:
    http402.wrap(httpx.Client(), on_payment_required=top_up_async)  # type: ignore[arg-type]
    watch = http402.LowBalanceWatch(warn_async, below=5)
    http402.wrap(httpx.Client(), low_balance=watch)  # type: ignore[arg-type]
