"""Provider adapters: the protocol they implement, what they see, and the ordered registry.

An adapter is a `name` and a pure function from a `ResponseSnapshot` to a `PaymentRequired`
or `None`. The registry tries adapters in order (highest `priority` first, then the order of
registration), like httpx chooses a mount, and only those scoped to the response's host and
interested in its status. A provider's adapter may claim its own non-402 statuses from its
own hosts (add a gateway's host with `registry.alias`). An adapter without hosts looks at
402s, at statuses whose protocol header is present (`triggers`), and, when it `reads_errors`,
at any 4xx error body that is JSON or plain text: those are the generic rules, which claim a
non-402 only on strong evidence, and never one that an adapter of the host itself handles
(the provider knows its own statuses). `AdapterRegistry(read_errors=False)` keeps them to
402s.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ._classify.snapshot import ResponseSnapshot
from ._classify.statuses import (
    PAYMENT_REQUIRED,
    READ_ON_EVIDENCE,
    Read,
    how_read,
    is_readable_error,
)
from ._logs import logger as _logger
from ._models import PaymentRequired
from ._untrusted import MAX_TEXT_FIELD, bounded_text

if TYPE_CHECKING:
    import importlib.metadata

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AdapterRegistry",
    "Registration",
    "ResponseSnapshot",
    "is_readable_error",
]

ENTRY_POINT_GROUP = "http402.adapters"
_PAYMENT_REQUIRED = PAYMENT_REQUIRED

_HOST_CACHE_SIZE = 1024
#: The longest header value that `AdapterRegistry._to_try` keeps candidates for.
_KEPT_HEADER_VALUE = 256
_UNKNOWN_HEADERS: Any = object()


def first_header_text(snapshot: ResponseSnapshot, names: Iterable[str]) -> str | None:
    """The first value of the first of headers `names` (lower case) that holds some text,
    bounded as a text field is; `None` when none does."""
    headers = snapshot._headers
    for name in names:
        values = headers.get(name)
        if values:
            text = bounded_text(values[0], MAX_TEXT_FIELD)
            if text:
                return text
    return None


@runtime_checkable
class Adapter(Protocol):
    """A provider adapter: recognises one provider's or protocol's payment gates.

    Implement `name` and `classify`. Optionally set `hosts` (host names such as
    `"api.example.com"`, or `"*.example.com"` for subdomains) to scope the adapter to a
    provider's API, and `statuses` (default `{402}`) to claim other statuses from those hosts.
    A protocol adapter that has no hosts may claim another status only where its protocol's
    own header is present: set `triggers` to `(header name, substring of its value or None)`
    pairs. A generic rule may set `reads_errors = True` to look at any 4xx error body that is
    JSON or plain text, from any host; it must then claim a status other than 402 only on
    strong evidence (a billing code, or billing wording that is no rate limit). `classify`
    must be pure and fast; returning `None` lets the next adapter try.

    Example:
        ```python
        class AcmeAdapter:
            name = "acme"
            hosts = ("api.acme.test",)
            statuses = (402, 403)

            def classify(self, response):
                body = response.json
                if isinstance(body, dict) and body.get("error") == "no_funds":
                    return http402.PaymentRequired(
                        reason=http402.Reason.INSUFFICIENT_CREDITS, provider=self.name
                    )
                return None
        ```
    """

    name: str

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        """The normalized answer if `response` is this adapter's payment gate, else `None`."""


@attrs.frozen
class Registration:
    """An adapter as registered: where it applies and in which order it is tried."""

    adapter: Adapter
    hosts: frozenset[str]
    statuses: frozenset[int]
    priority: int
    triggers: tuple[tuple[str, str | None], ...] = ()
    #: Looks at any readable 4xx error body from any host (a generic rule).
    reads_errors: bool = False

    @property
    def name(self) -> str:
        return self.adapter.name

    def applies(
        self,
        status_code: int,
        host: str,
        header: Callable[[str], str | None],
        *,
        read_errors: bool = True,
    ) -> bool:
        """`True` when this adapter looks at a response with this status from `host`.

        `read_errors=False` (the registry's switch) keeps a generic rule to 402s and triggers.
        """
        if self.hosts:
            return _host_matches(host, self.hosts)
        if status_code == _PAYMENT_REQUIRED:
            return True
        if _triggered(self.triggers, header):
            return True
        return read_errors and self.reads_errors and is_readable_error(status_code, header)


def _triggered(
    triggers: tuple[tuple[str, str | None], ...], header: Callable[[str], str | None]
) -> bool:
    """`True` when one of a protocol adapter's trigger headers is present (and holds its
    needle, where it names one)."""
    for name, needle in triggers:
        value = header(name)
        if value is not None and (needle is None or needle in value.lower()):
            return True
    return False


def _host_matches(host: str, patterns: frozenset[str]) -> bool:
    if host in patterns:
        return True
    return any(p.startswith("*.") and host.endswith(p[1:]) for p in patterns)


class AdapterRegistry:
    """An ordered set of adapters, tried highest `priority` first, then in registration order.

    Nothing registers itself by being imported. `default_registry` holds the built-in
    adapters and discovers third-party ones through the `http402.adapters` entry-point group
    on first use; make your own with `AdapterRegistry()` or `default_registry.copy()`.

    Args:
        adapters: Adapters to register at once, each with its own `hosts` and `statuses`.
        discover: Load plugins from the `http402.adapters` entry points on first use.
        read_errors: Let the generic rules (adapters that `reads_errors`) read 4xx error
            bodies other than 402 from any host. `False` keeps them to 402s: only a
            provider's adapter, on its own hosts, or a payment protocol's header then makes
            another status a gate.

    Example:
        ```python
        registry = http402.default_registry.copy(read_errors=False)  # 402s only
        registry.alias("openai", "llm-gateway.corp.example")  # a gateway speaking OpenAI
        client = http402.wrap(httpx.Client(), registry=registry)
        ```
    """

    def __init__(
        self,
        adapters: Iterable[Adapter] = (),
        *,
        discover: bool = False,
        read_errors: bool = True,
    ) -> None:
        self._registrations: dict[str, Registration] = {}
        self._ordered: tuple[Registration, ...] = ()
        self._counter = 0
        self._order: dict[str, tuple[int, int]] = {}
        #: Status -> registrations that asked for it; read on every response by the transports.
        self.interest: dict[int, tuple[Registration, ...]] = {}
        self._host_cache: dict[tuple[int, str], tuple[Registration, ...]] = {}
        #: `_to_try`'s: per status and host, the headers whose values decide the candidates
        #: (`None`: not kept), and the candidates by those values.
        self._deciding: dict[tuple[int, str], tuple[str, ...] | None] = {}
        self._to_try_cache: dict[tuple[object, ...], tuple[Registration, ...]] = {}
        self._lock = threading.RLock()
        self._discover_pending = discover
        self._read_errors = read_errors
        for adapter in adapters:
            self.register(adapter)

    def register(
        self,
        adapter: Adapter,
        *,
        hosts: Collection[str] | None = None,
        statuses: Collection[int] | None = None,
        priority: int | None = None,
        triggers: Collection[tuple[str, str | None]] | None = None,
        reads_errors: bool | None = None,
    ) -> Adapter:
        """Adds `adapter`; a name already registered raises `ValueError`.

        Args:
            adapter: An object with a `name` and a `classify(response)` method.
            hosts: API hosts the adapter is scoped to (default: its `hosts`, else every host).
            statuses: Statuses it looks at (default: its `statuses`, else `{402}`). Only an
                adapter scoped to hosts may claim statuses other than 402.
            priority: Higher is tried first (default: its `priority`, else 0; built-in adapters
                use negative priorities so that yours come first).
            triggers: For an adapter without hosts, the `(header, value substring or None)`
                pairs under which it may claim statuses other than 402 (default: its
                `triggers`).
            reads_errors: For an adapter without hosts, look at every readable 4xx error
                body (default: its `reads_errors`, else `False`); see `is_readable_error`.

        Returns:
            The adapter, so that `register` can be used on a freshly built instance.
        """
        name = getattr(adapter, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"an adapter needs a non-empty str `name`, got {name!r}")
        if not callable(getattr(adapter, "classify", None)):
            raise TypeError(f"adapter {name!r} has no callable `classify(response)`")
        host_set = frozenset(
            h.lower() for h in (hosts if hosts is not None else getattr(adapter, "hosts", ()))
        )
        status_set = frozenset(
            statuses if statuses is not None else getattr(adapter, "statuses", (_PAYMENT_REQUIRED,))
        )
        if not status_set or any(not 400 <= s <= 599 for s in status_set):
            raise ValueError(f"adapter {name!r}: statuses must be 4xx or 5xx, got {status_set}")
        trigger_pairs = tuple(
            (header.lower(), None if needle is None else needle.lower())
            for header, needle in (
                triggers if triggers is not None else getattr(adapter, "triggers", ())
            )
        )
        generic = bool(
            reads_errors if reads_errors is not None else getattr(adapter, "reads_errors", False)
        )
        if host_set and generic:
            raise ValueError(
                f"adapter {name!r} has hosts; `reads_errors` is for generic rules without hosts"
            )
        if not host_set and status_set != {_PAYMENT_REQUIRED} and not trigger_pairs:
            raise ValueError(
                f"adapter {name!r} claims statuses {sorted(status_set)} on every host; only an "
                "adapter scoped to its provider's hosts, or one with protocol `triggers`, may "
                "claim statuses other than 402"
            )
        rank = priority if priority is not None else getattr(adapter, "priority", 0)
        if not isinstance(rank, int):
            raise TypeError(f"adapter {name!r}: priority must be an int, got {rank!r}")
        with self._lock:
            if name in self._registrations:
                raise ValueError(f"an adapter named {name!r} is already registered")
            self._registrations[name] = Registration(
                adapter, host_set, status_set, rank, trigger_pairs, generic
            )
            self._order[name] = (-rank, self._counter)
            self._counter += 1
            self._rebuild()
        return adapter

    def unregister(self, name: str) -> Adapter:
        """Removes and returns the adapter named `name`; `KeyError` if there is none."""
        with self._lock:
            registration = self._registrations.pop(name)
            del self._order[name]
            self._rebuild()
        return registration.adapter

    def alias(self, name: str, *hosts: str) -> None:
        """Scopes the adapter named `name` to more hosts: a gateway or proxy that answers in
        that provider's shape (`registry.alias("openai", "llm.corp.example")`).

        The adapter then claims the same statuses from those hosts as from its own. Host
        names are matched like `hosts` (`"*.corp.example"` for subdomains); `KeyError` if no
        adapter has that name, `ValueError` for an adapter without hosts (it sees every host).
        """
        with self._lock:
            registration = self._registrations[name]
            if not registration.hosts:
                raise ValueError(f"adapter {name!r} already applies to every host")
            added = frozenset(h.lower() for h in hosts)
            self._registrations[name] = attrs.evolve(registration, hosts=registration.hosts | added)
            self._rebuild()

    @property
    def read_errors(self) -> bool:
        """Whether the generic rules read non-402 4xx error bodies (see `AdapterRegistry`)."""
        return self._read_errors

    @read_errors.setter
    def read_errors(self, value: bool) -> None:
        with self._lock:
            self._read_errors = bool(value)
            self._rebuild()

    def copy(self, *, read_errors: bool | None = None) -> AdapterRegistry:
        """A new registry with the same adapters in the same order, to change independently.

        Args:
            read_errors: The copy's `read_errors` (default: this registry's).
        """
        self.discover()
        clone = AdapterRegistry(
            read_errors=self._read_errors if read_errors is None else read_errors
        )
        for registration in self._ordered:
            clone.register(
                registration.adapter,
                hosts=registration.hosts,
                statuses=registration.statuses,
                priority=registration.priority,
                triggers=registration.triggers,
                reads_errors=registration.reads_errors,
            )
        return clone

    @property
    def adapters(self) -> Mapping[str, Registration]:
        """A read-only view of the registrations, by name, in the order they are tried."""
        self.discover()
        return MappingProxyType({r.name: r for r in self._ordered})

    def __iter__(self) -> Iterator[Adapter]:
        self.discover()
        return iter([r.adapter for r in self._ordered])

    def __len__(self) -> int:
        self.discover()
        return len(self._ordered)

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._registrations

    def __repr__(self) -> str:
        return f"<AdapterRegistry {[r.name for r in self._ordered]}>"

    def candidates(
        self, status_code: int, host: str, header: Callable[[str], str | None]
    ) -> Iterator[Registration]:
        """The registrations to try for a response, in order."""
        readable: bool | None = None  # is_readable_error, asked once for all generic rules
        owned = False  # an adapter of this host handles this status: its answer is final
        for registration in self._for_host(status_code, host):
            if registration.hosts or status_code == _PAYMENT_REQUIRED:
                owned = owned or bool(registration.hosts)
                yield registration
            elif registration.triggers and _triggered(registration.triggers, header):
                yield registration  # one of its protocol triggers is present
            elif registration.reads_errors and self._read_errors and not owned:
                if readable is None:
                    readable = is_readable_error(status_code, header)
                if readable:
                    yield registration

    def _to_try(
        self, status_code: int, host: str, header: Callable[[str], str | None]
    ) -> tuple[Registration, ...]:
        """`candidates`, all of them, kept for the values of the headers that decide them (a
        trigger's header, the content type the generic rules read): a gateway sends its gates
        from one host with one content type, and which adapters to try is worked out once for
        them rather than by a generator and the same header lookups on every response."""
        key = (status_code, host)
        deciding = self._deciding.get(key, _UNKNOWN_HEADERS)
        if deciding is _UNKNOWN_HEADERS:
            deciding = self._deciding_headers(status_code, host)
            if len(self._deciding) >= _HOST_CACHE_SIZE:
                self._deciding.clear()
            self._deciding[key] = deciding
        if deciding is None:
            return tuple(self.candidates(status_code, host, header))
        values = tuple([header(name) for name in deciding])
        if any(value is not None and len(value) > _KEPT_HEADER_VALUE for value in values):
            return tuple(self.candidates(status_code, host, header))  # not kept: too long
        found = self._to_try_cache.get((key, values))
        if found is None:
            found = tuple(self.candidates(status_code, host, header))
            if len(self._to_try_cache) >= _HOST_CACHE_SIZE:
                self._to_try_cache.clear()
            self._to_try_cache[(key, values)] = found
        return found

    def _deciding_headers(self, status_code: int, host: str) -> tuple[str, ...] | None:
        """The headers `candidates` may look at for this status and host, in the order it
        would; `None` when it may look at more than their values (a payment protocol's
        header that a 401 or 407 needs is parsed, not compared)."""
        names: list[str] = []
        owned = False
        for registration in self._for_host(status_code, host):
            if registration.hosts or status_code == _PAYMENT_REQUIRED:
                owned = owned or bool(registration.hosts)
                continue
            names.extend(name for name, _ in registration.triggers)
            if registration.reads_errors and self._read_errors and not owned:
                if how_read(status_code) is Read.WITH_PAYMENT_HEADER:
                    return None
                names.append("content-type")
        return tuple(dict.fromkeys(names))

    def claims(self, status_code: int, host: str, header: Callable[[str], str | None]) -> bool:
        """`True` when a response with this status from `host` must be read and classified.

        Every 402 is; another status only when an adapter scoped to `host`, a protocol adapter
        whose header is present, or a generic rule that reads this 4xx error asked for it.
        """
        if status_code == _PAYMENT_REQUIRED:
            return True
        return next(self.candidates(status_code, host, header), None) is not None

    def _for_host(self, status_code: int, host: str) -> tuple[Registration, ...]:
        """The registrations for this status whose hosts allow `host` (cached per host)."""
        key = (status_code, host)
        cached = self._host_cache.get(key)
        if cached is None:
            cached = tuple(
                r
                for r in self.interest.get(status_code, ())
                if not r.hosts or _host_matches(host, r.hosts)
            )
            if len(self._host_cache) >= _HOST_CACHE_SIZE:
                self._host_cache.clear()
            self._host_cache[key] = cached
        return cached

    def discover(self) -> None:
        """Loads third-party adapters from the entry points, once; failures are logged."""
        if not self._discover_pending:
            return
        with self._lock:
            if not self._discover_pending:
                return
            self._discover_pending = False
            if not _plugins_may_be_installed():
                return
            # Imported here: it is a third of `import http402`, and only plugins need it.
            import importlib.metadata

            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                self._load_plugin(entry_point)

    def _load_plugin(self, entry_point: importlib.metadata.EntryPoint) -> None:
        try:
            loaded = entry_point.load()
            adapter = (
                loaded
                if hasattr(loaded, "classify") and not isinstance(loaded, type)
                else (loaded())
            )
            self.register(adapter)
        except Exception:
            _logger.warning(
                "http402: skipped the adapter plugin %r (%s); it failed to load",
                entry_point.name,
                entry_point.value,
                exc_info=True,
            )

    def _rebuild(self) -> None:
        ordered = sorted(self._registrations.values(), key=lambda r: self._order[r.name])
        interest: dict[int, list[Registration]] = {}
        for registration in ordered:
            statuses = registration.statuses
            if registration.reads_errors and self._read_errors:
                statuses = statuses | READ_ON_EVIDENCE
            for status in statuses:
                interest.setdefault(status, []).append(registration)
        self._ordered = tuple(ordered)
        # Every registry looks at 402s, even an empty one: an unclaimed 402 is still a gate.
        interest.setdefault(_PAYMENT_REQUIRED, [])
        self.interest = {status: tuple(regs) for status, regs in interest.items()}
        self._host_cache = {}
        self._deciding = {}
        self._to_try_cache = {}


def _plugins_may_be_installed() -> bool:
    """`False` when no installed distribution declares an `http402.adapters` entry point.

    Reading every distribution's metadata through `importlib.metadata` costs about a third of
    `import httpx` before a single plugin is found; most users have none. This looks at the
    `entry_points.txt` of each distribution on `sys.path` for the group's name, and says
    `True` (look properly) where it cannot tell: a path entry that is not a folder (a zip).
    """
    needle = ENTRY_POINT_GROUP.encode()
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), "rb") as file:
                    if needle in file.read():
                        return True
            except OSError:
                continue
    return False
