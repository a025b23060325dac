"""A request that is itself a billing operation (a purchase of credits, a top-up, a change of
plan, its settings) and is refused as already under way, as a change the account cannot
make, or as a bad setting, is no billing gate: the top-up hook must not answer it, or it buys
a second time while the first is in flight (research/cases10 136). The rule is
`a billing operation under way or a plan change refused` in `vocabulary/lookalikes.py`; its
examples and look-alikes are held by `tests/test_rules.py`, and here through the transport,
sync and async, with a hook that would buy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import http402
from http402 import Reason

pytestmark = pytest.mark.anyio

REFUSED = [
    (409, "A top-up is already in progress for this account. Please wait."),
    (409, "Another purchase of credits is pending; try again when it completes."),
    (409, "There is already a top-up in progress."),
    (422, "Auto top-up threshold must be lower than the top-up amount of credits"),
    (400, "Cannot downgrade: your current usage exceeds the Free plan's limit"),
    (400, "Downgrade not allowed: usage exceeds the Starter plan's quota."),
    (409, "Your payment is being processed."),
    # Case 182: other words for the state, and the state before the operation.
    (409, "Your recharge is queued and will be applied shortly. Do not purchase again."),
    (409, "A credit purchase for this account is awaiting confirmation."),
    (400, "Credit purchase pending confirmation."),
    (429, "Top-up in flight; please retry in a few seconds."),
    (409, "Previous top-up not yet settled. Insufficient credits until it completes."),
    (400, "We're still processing your previous credit purchase."),
    (409, "Insufficient balance. Your deposit is being confirmed on-chain (2/12 confirmations)."),
]
#: The same words around a gate stay a gate.
GATES = [
    (402, "Your top-up failed: card declined.", Reason.PAYMENT_FAILED),
    (409, "Insufficient credits. Please top up to continue.", Reason.INSUFFICIENT_CREDITS),
    (
        403,
        "Your plan was downgraded to Free: upgrade to use this model.",
        Reason.PLAN_LIMIT_EXCEEDED,
    ),
    # Case 174: a debt awaiting the account's payment ("pending payment", "pending since")
    # is owed, not under way.
    (
        402,
        "Your subscription has expired: your renewal invoice is pending payment.",
        Reason.SUBSCRIPTION_EXPIRED,
    ),
    (
        402,
        "Your subscription has expired: the renewal is pending payment.",
        Reason.SUBSCRIPTION_EXPIRED,
    ),
    (
        402,
        "Account suspended: renewal payment is pending since 3 days; pay the outstanding invoice.",
        Reason.SUBSCRIPTION_EXPIRED,
    ),
]


def _api(status: int, text: str) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": text}})

    return httpx.MockTransport(answer)


_URL = "https://api.unknown-provider.test/v1/billing/credits"


@pytest.mark.parametrize(("status", "text"), REFUSED)
def test_a_refused_billing_operation_runs_no_hook(status: int, text: str) -> None:
    calls: list[Any] = []
    client = http402.wrap(
        httpx.Client(transport=_api(status, text)), on_payment_required=calls.append
    )
    response = client.post(_URL)
    assert response.status_code == status
    assert response.json() == {"error": {"message": text}}  # handed back byte for byte
    assert calls == []


@pytest.mark.parametrize(("status", "text"), REFUSED)
async def test_a_refused_billing_operation_runs_no_hook_async(status: int, text: str) -> None:
    calls: list[Any] = []
    client = http402.wrap(
        httpx.AsyncClient(transport=_api(status, text)), on_payment_required=calls.append
    )
    response = await client.post(_URL)
    assert response.status_code == status
    assert calls == []


@pytest.mark.parametrize(("status", "text", "reason"), GATES)
def test_a_gate_in_the_same_words_stays_a_gate(status: int, text: str, reason: Reason) -> None:
    response = httpx.Response(
        status, json={"error": {"message": text}}, request=httpx.Request("POST", _URL)
    )
    payment = http402.classify(response)
    assert payment is not None
    assert payment.reason is reason


#: Someone else's state (cases 187, 188): a platform's key acting for its customers meets
#: their lapses and empty wallets; the caller's own, in the same words, stays a gate.
SOMEONE_ELSES = [
    (400, "Customer cust_abc123's account has been cancelled."),
    (403, "Cannot message this user: their account has been suspended or cancelled."),
    (409, "The member's account has been cancelled."),
    (422, "Linked account has been cancelled by the institution."),
    (409, "Subscription sub_1Q2w3E4r is cancelled and cannot be updated."),
    (400, "Customer has insufficient credits in their wallet."),
    (400, "The user's balance is insufficient for this purchase."),
    (403, "This customer's subscription is past due."),
    (403, "Billing is not enabled for the customer's workspace."),
]
THE_CALLERS = [
    (403, "Your account has been cancelled.", Reason.SUBSCRIPTION_EXPIRED),
    (403, "Your subscription is past due.", Reason.SUBSCRIPTION_EXPIRED),
    (400, "Insufficient credits in your wallet. Please top up.", Reason.INSUFFICIENT_CREDITS),
    (
        402,
        "The project owner must upgrade their plan or remove spend caps to restore service.",
        Reason.PLAN_LIMIT_EXCEEDED,
    ),
]


@pytest.mark.parametrize(("status", "text"), SOMEONE_ELSES)
def test_someone_elses_state_runs_no_hook(status: int, text: str) -> None:
    hooked: list[Reason] = []
    client = http402.wrap(
        httpx.Client(transport=_api(status, text)),
        on_payment_required=lambda error: hooked.append(error.reason),
    )
    with client:
        response = client.post(_URL, json={})
    assert response.status_code == status and hooked == []


@pytest.mark.parametrize(("status", "text", "reason"), THE_CALLERS)
def test_the_callers_own_state_in_the_same_words_stays_a_gate(
    status: int, text: str, reason: Reason
) -> None:
    payment = http402.classify(
        httpx.Response(
            status,
            json={"error": {"message": text}},
            request=httpx.Request("POST", _URL),
        )
    )
    assert payment is not None and payment.reason is reason
