"""The options of a transport, built and validated once and shared by every shell.

`Options.build(keywords, is_async=...)` turns the keywords that `PaymentRequiredTransport`,
`AsyncPaymentRequiredTransport`, their httpx2 twins and `http402.wrap` take into one frozen
object, the way stamina feeds one set of arguments to both `Retrying` and `AsyncRetrying`.
This is the one place that validates them: a shell never looks at a keyword, and `wrap`
builds the options once for a client's transport and all its mounts.

Keywords of the first releases keep working for one more release, with a
`DeprecationWarning` that names what replaces them:

| deprecated | instead |
|---|---|
| `preflight_ttl=30` | `preflight=http402.Preflight(gate_ttl=30)` |
| `on_low_balance=f` | `low_balance=http402.LowBalanceWatch(f, ...)` |
| `low_balance_below=5`, `low_balance_within=3600` | `LowBalanceWatch(f, below=5, within=3600)` |
| `balance_headers=("x-credits",)` | `LowBalanceWatch(f, ..., headers=("x-credits",))` |
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from ._adapters import AdapterRegistry
from ._burn import LowBalanceWatch
from ._models import DEFAULT_BALANCE_HEADERS, Reason
from ._policies import RetryPolicy, SpendPolicy, fleet_policy
from ._preflight import Preflight
from ._registry import resolve_registry
from ._replay import default_scope
from ._untrusted import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_SECONDS

__all__ = ["Options", "check_coordinator", "is_async_callable"]

#: The deprecated keywords, each with the option that replaces it.
_DEPRECATED = {
    "preflight_ttl": "preflight=http402.Preflight(gate_ttl=...)",
    "on_low_balance": "low_balance=http402.LowBalanceWatch(hook, ...)",
    "low_balance_below": "low_balance=http402.LowBalanceWatch(hook, below=...)",
    "low_balance_within": "low_balance=http402.LowBalanceWatch(hook, within=...)",
    "balance_headers": "low_balance=http402.LowBalanceWatch(hook, headers=...)",
}
_LOW_BALANCE_KEYWORDS = ("on_low_balance", "low_balance_below", "low_balance_within")
_PACKAGE = os.path.dirname(__file__)


def _retry_policy(value: RetryPolicy | None) -> RetryPolicy:
    return RetryPolicy() if value is None else value


def _scope_function(value: Callable[[Any], str] | None) -> Callable[[Any], str]:
    return default_scope if value is None else value


def _check_mode(instance: Options, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("raise", "annotate"):
        raise ValueError(f"mode must be 'raise' or 'annotate', got {value!r}")


def _check_at_least_one(instance: Options, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _check_hook_timeout(instance: Options, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"hook_timeout must be positive seconds, got {value!r}")


def _check_hooks(instance: Options, attribute: attrs.Attribute[Any], value: Any) -> None:
    for hook in (value or {}).values():
        _check_callable(hook, instance.is_async, "on_payment_required")


def _check_low_balance(instance: Options, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, LowBalanceWatch):
        raise TypeError(f"low_balance must be an http402.LowBalanceWatch, got {type(value)!r}")
    _check_callable(value.hook, instance.is_async, "the low-balance hook")


def _check_the_coordinator(instance: Options, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_coordinator(value, is_async=instance.is_async)


@attrs.frozen(kw_only=True, eq=False)
class Options:
    """Every option of one transport (each is described on `PaymentRequiredTransport`).

    Build it with `Options.build`, which also takes the deprecated keywords; the fields are
    the options in their final form: `hooks` is `on_payment_required` as a table by reason,
    `registry` the one resolved (plugins discovered), `retry` and `scope` never `None`.
    """

    #: For the async transport: coroutine functions are welcome as hooks.
    is_async: bool
    registry: AdapterRegistry = attrs.field(default=None, converter=resolve_registry)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_check_at_least_one)
    max_body_seconds: float | None = DEFAULT_MAX_BODY_SECONDS
    #: `on_payment_required` by reason; `None` when no hook was given.
    hooks: Mapping[Reason, Any] | None = attrs.field(default=None, validator=_check_hooks)
    retry: RetryPolicy = attrs.field(default=None, converter=_retry_policy)
    spend_policy: SpendPolicy | None = None
    max_payments: int = attrs.field(default=1, validator=_check_at_least_one)
    scope: Callable[[Any], str] = attrs.field(default=None, converter=_scope_function)
    coordinator: Any = attrs.field(default=None, validator=_check_the_coordinator)
    preflight: Preflight | None = None
    low_balance: LowBalanceWatch[Any] | None = attrs.field(
        default=None, validator=_check_low_balance
    )
    sleep: Callable[[float], Any] | None = None
    mode: Literal["raise", "annotate"] = attrs.field(default="raise", validator=_check_mode)
    hook_timeout: float | None = attrs.field(default=None, validator=_check_hook_timeout)
    #: Read a 200 `text/event-stream` ahead until its output begins, for a billing error event.
    peek_streams: bool = True

    @classmethod
    def build(cls, keywords: Mapping[str, Any], *, is_async: bool) -> Options:
        """The options that these keywords (a transport's or `wrap`'s) ask for.

        Raises:
            TypeError: An unknown keyword, a hook that is not callable, or a coroutine
                function given to the sync transport.
            ValueError: A value out of range, or an option given twice (new and old form).
        """
        given = dict(keywords)
        unknown = sorted(given.keys() - _KEYWORDS - _DEPRECATED.keys())
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        _fold_deprecated(given)
        given["coordinator"] = _of_kind(given.get("coordinator"), is_async)
        # A spend window beside a fleet coordinator is the fleet's (docs/fleet.md).
        given["spend_policy"] = fleet_policy(given.get("spend_policy"), given["coordinator"])
        hooks = _hook_table(given.pop("on_payment_required", None), given.get("spend_policy"))
        return cls(is_async=is_async, hooks=hooks, **given)

    @property
    def annotates(self) -> bool:
        """`True` in annotate mode: a gate comes back as an annotated response."""
        return self.mode == "annotate"

    @property
    def recovers(self) -> bool:
        """`True` when a gate may lead to a hook call, or preflight checks are on."""
        return bool(self.hooks) or self.preflight is not None

    def with_coordinator(self, coordinator: Any) -> Options:
        """These options with `coordinator` (what `wrap` shares among a client's mounts)."""
        return attrs.evolve(self, coordinator=coordinator)


#: The keywords `Options.build` takes, besides the deprecated ones.
_KEYWORDS = frozenset(
    {field.name for field in attrs.fields(Options)} - {"is_async", "hooks"}
    | {"on_payment_required"}
)


def _fold_deprecated(given: dict[str, Any]) -> None:
    """Turns the deprecated keywords in `given` into their new form, warning once for each."""
    old = [name for name in _DEPRECATED if name in given]
    for name in old:
        _warn(f"{name}= is deprecated; give {_DEPRECATED[name]} instead")
    ttl = given.pop("preflight_ttl", None)
    if ttl is not None:
        if given.get("preflight") is not None:
            raise ValueError("give preflight=Preflight(gate_ttl=...) or preflight_ttl, not both")
        given["preflight"] = Preflight(gate_ttl=ttl)
    hook, below, within = (given.pop(name, None) for name in _LOW_BALANCE_KEYWORDS)
    headers = given.pop("balance_headers", DEFAULT_BALANCE_HEADERS)
    if hook is None and below is None and within is None:
        return
    if given.get("low_balance") is not None:
        raise ValueError(
            "give low_balance=LowBalanceWatch(...) or on_low_balance and its thresholds, not both"
        )
    if hook is None or (below is None and within is None):
        raise ValueError(
            "on_low_balance goes with low_balance_below or low_balance_within (or both)"
        )
    given["low_balance"] = LowBalanceWatch(hook, below=below, within=within, headers=headers)


def _warn(message: str) -> None:
    """A `DeprecationWarning` pointing at the caller's line, outside http402."""
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def _hook_table(hooks: Any, spend_policy: Any) -> dict[Reason, Any] | None:
    """`on_payment_required` as a table by reason. One hook for every reason covers the
    account-level gates (and `unknown`); it pays per-request prices only beside a spend
    policy, which caps them: a top-up hook must not silently become an uncapped payer.
    A mapping says for itself which reasons its hooks take."""
    if hooks is None:
        return None
    if isinstance(hooks, Mapping):
        return {Reason(key): hook for key, hook in hooks.items() if hook is not None}
    reasons = [r for r in Reason if spend_policy is not None or r is not Reason.PAYMENT_CHALLENGE]
    return dict.fromkeys(reasons, hooks)


def _check_callable(hook: Any, allow_async: bool, name: str) -> None:
    if not callable(hook):
        raise TypeError(f"{name} must be callable, got {type(hook).__name__}")
    if not allow_async and is_async_callable(hook):
        raise TypeError(
            f"{name} is a coroutine function, which the sync transport cannot await; use "
            "AsyncPaymentRequiredTransport, or pass a plain function"
        )


def _of_kind(coordinator: Any, is_async: bool) -> Any:
    """`coordinator`, or its twin of the transport's kind (an in-process coordinator given
    to a sync and an async client of one account shares its episodes with that twin)."""
    run_episode = getattr(coordinator, "run_episode", None)
    if run_episode is not None and is_async_callable(run_episode) != is_async:
        twin = getattr(coordinator, "twin", None)
        if twin is not None:
            return twin()
    return coordinator


def check_coordinator(coordinator: Any, *, is_async: bool) -> None:
    """Refuses at once a coordinator of the other kind (a sync one in an async transport),
    which would otherwise fail only after a hook had paid."""
    run_episode = getattr(coordinator, "run_episode", None)
    if run_episode is None or not hasattr(coordinator, "book"):
        raise TypeError(f"not a coordinator: {type(coordinator).__name__}")
    if is_async_callable(run_episode) != is_async:
        wanted = "AsyncLocalCoordinator" if is_async else "LocalCoordinator"
        raise TypeError(
            f"{type(coordinator).__name__} is for the {'sync' if is_async else 'async'} "
            f"transport; this one needs an {wanted} or its fleet twin"
        )


def is_async_callable(hook: Any) -> bool:
    """`True` for a coroutine function, or an object whose `__call__` is one."""
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        getattr(hook, "__call__", None)  # noqa: B004 - an object's async __call__ counts
    )
