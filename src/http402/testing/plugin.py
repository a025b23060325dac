"""The pytest plugin of `http402.testing`, installed through the `pytest11` entry point."""

from __future__ import annotations

import pytest

from . import FakeProvider

__all__ = ["http402_provider"]


@pytest.fixture
def http402_provider() -> FakeProvider:
    """A fresh `FakeProvider`: no credits, 1 credit per request, top-ups that show after
    5 seconds of its virtual clock (pass `http402_provider.sleep` as the transport's
    `sleep=` and no test ever really waits)."""
    return FakeProvider()
