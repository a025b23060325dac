from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_payloads() -> Iterator[dict[str, Any]]:
    for path in sorted(PAYLOADS.glob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8"))
