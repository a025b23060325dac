"""`ProviderAdapter`: a provider's adapter, declared rather than coded.

A provider is one file under `_providers/`: its hosts, the statuses it gates on, what its
bare 402 means, the statuses that name their reason themselves, and where its own code is
when not in the usual envelope. The reading is the pipeline's (`readers.py`): the fields of
the body, then `decide`, with weak rules counting too, since the host already says who is
asking to be paid. Plugin authors subclass it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from .._models import PaymentRequired, Reason
from .._untrusted import bounded_text
from .decide import decide, read_a_402, unless_a_transfer
from .fields import text_fields
from .readers import checks_a_license, gate, moves_money, reading_of
from .snapshot import ResponseSnapshot

__all__ = ["ProviderAdapter"]

_NO_REASONS: Mapping[int, Reason] = MappingProxyType({})


class ProviderAdapter:
    """Base for a provider's own adapter: set the class attributes, and it reads the body.

    A response with another status than 402 is claimed only when a billing code, billing
    wording or a billing field says so, and never when it reads as a rate limit; a 402 that
    says nothing more becomes `default_reason`.

    Attributes:
        name: The adapter's name (`PaymentRequired.provider`).
        hosts: The provider's API hosts (`"*.example.com"` for subdomains).
        statuses: The statuses it gates on from those hosts.
        priority: Higher is tried first; the built-in providers use -100.
        default_reason: What the provider's 402 means when its body says nothing more
            specific (`UNKNOWN` unless the provider documents it).
        status_reasons: Statuses that name their reason whatever the body says (Tavily's
            432 and 433; Stripe's 402, always a failed charge).
        code_at: The keys that lead to the provider's own code where it is not in the usual
            envelope (`("error", "code")`), read as text.
        vague_reason: What a vague statement (a bare quota or allowance used up) means at
            this provider when the message asks for no remedy: the provider knows whose quota
            it is (GitHub Copilot's is the plan's monthly premium requests).

    Example:
        ```python
        class AcmeAdapter(http402.ProviderAdapter):
            name = "acme"
            hosts = ("api.acme.example",)
            statuses = (402, 403)
            default_reason = http402.Reason.INSUFFICIENT_CREDITS

        http402.default_registry.register(AcmeAdapter())
        ```
    """

    name: str = ""
    hosts: tuple[str, ...] = ()
    statuses: tuple[int, ...] = (402,)
    priority: int = 0
    default_reason: Reason = Reason.UNKNOWN
    status_reasons: ClassVar[Mapping[int, Reason]] = _NO_REASONS
    code_at: tuple[str, ...] = ()
    vague_reason: Reason | None = None

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        """The normalized answer if `response` is this provider's gate, else `None`."""
        reading = reading_of(response)
        if reading.fields is not None:
            fields = reading.fields
            verdict = unless_a_transfer(
                reading.verdict(False),
                lambda: moves_money(response.url),
                lambda: checks_a_license(response.url),
            )
        else:
            fields = text_fields(response.text)
            verdict = decide(fields, strict=False)
        unknown_402 = response.status_code == 402 and self.default_reason is Reason.UNKNOWN
        if verdict is None and unknown_402:
            # A 402's own reading (rung 7 of `decide`), where the provider documents no
            # meaning of its own for a 402 that says nothing more.
            verdict = unless_a_transfer(read_a_402(fields), lambda: moves_money(response.url))
        reason = self.status_reason(response)
        if reason is None:
            if verdict is not None:
                reason = verdict.reason
                if verdict.family.is_vague and verdict.remedy is None and self.vague_reason:
                    reason = self.vague_reason
            elif response.status_code == 402:
                reason = self.default_reason
            else:
                return None
        own = self._own_code(response.json) if self.code_at else None
        if own is not None:
            return gate(fields, verdict, self.name, reason=reason, code=own)
        return gate(fields, verdict, self.name, reason=reason)

    def status_reason(self, response: ResponseSnapshot) -> Reason | None:
        """The reason the response's status names by itself (`status_reasons`), if any."""
        return self.status_reasons.get(response.status_code)

    def _own_code(self, payload: Any) -> str | None:
        for key in self.code_at:
            payload = payload.get(key) if isinstance(payload, dict) else None
        return bounded_text(payload, 300) if isinstance(payload, (str, int)) else None
