"""The typed errors' attributes, as `mypy --strict` sees them (checked by CI's `mypy` run).

An httpx2 client's errors carry httpx2's request and response, typed as such; every typed
error has the SDK-style conveniences `status_code`, `code`, `message` and `body`.
"""

from __future__ import annotations

import httpx
import httpx2
from typing_extensions import assert_type

import http402
import http402.httpx2


def httpx_error(error: http402.InsufficientCreditsError) -> None:
    assert_type(error.response, httpx.Response)
    assert_type(error.request, httpx.Request)
    assert_type(error.status_code, int)
    assert_type(error.code, str | None)
    assert_type(error.message, str | None)
    assert_type(error.body, str)
    assert_type(error.attempts, int)


def httpx2_error(error: http402.httpx2.InsufficientCreditsError) -> None:
    assert_type(error.response, httpx2.Response)
    assert_type(error.request, httpx2.Request)
    assert_type(error.status_code, int)
    assert_type(error.body, str)


def httpx2_base_error(error: http402.httpx2.PaymentRequiredError) -> None:
    assert_type(error.response, httpx2.Response)
