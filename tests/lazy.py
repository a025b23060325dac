"""A module imported when a test first uses it, not when pytest collects the file.

Every pytest-xdist worker imports every test module to collect the suite, and `anthropic`
alone takes about 1.4 s of CPU to import (its thousands of pydantic models), `openai` 0.3 s:
three workers paid that before running a test, though one worker runs the SDK tests
(tests/conftest.py sends them together). A file missing the SDK is skipped, as
`pytest.importorskip` skipped it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import pytest


class LazyModule:
    """`name`'s module, imported at the first read of a public attribute (`openai.OpenAI`...).
    A name with a leading underscore is not looked up: pytest reads those (`__test__`, its
    fixture markers...) of every object in a module it collects."""

    def __init__(self, name: str) -> None:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"could not import {name!r}", allow_module_level=True)
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
