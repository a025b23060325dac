"""The default registry: the built-in adapters, in the order they are tried, plus plugins."""

from __future__ import annotations

from ._adapters import AdapterRegistry
from ._providers import builtin_adapters

__all__ = ["default_registry", "resolve_registry"]

#: The registry used when none is given: built-in adapters, then plugins found through the
#: `http402.adapters` entry points on first use. Register your own adapters here, or on a
#: `default_registry.copy()` to keep them to one transport.
default_registry = AdapterRegistry(builtin_adapters(), discover=True)


def resolve_registry(registry: AdapterRegistry | None) -> AdapterRegistry:
    """`registry`, or the default one; either way with its plugins discovered."""
    chosen = default_registry if registry is None else registry
    chosen.discover()
    return chosen
