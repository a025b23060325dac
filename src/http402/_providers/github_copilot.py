"""GitHub Copilot's API: a seat or account whose monthly premium requests are used up gets
402 `{"message": "You have no quota", "code": "quota_exceeded"}` (flat, or under `error`).
The quota is the plan's allowance: Copilot CLI says "Quota exceeded. Upgrade to increase your
limit", so a bare quota here is `plan_limit_exceeded`.

Seen in github/copilot-cli#730 and #3431; plans: https://github.com/features/copilot/plans
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["GitHubCopilotAdapter"]


class GitHubCopilotAdapter(ProviderAdapter):
    name = "github-copilot"
    priority = -100
    hosts = ("api.githubcopilot.com", "*.githubcopilot.com")
    default_reason = Reason.PLAN_LIMIT_EXCEEDED
    vague_reason = Reason.PLAN_LIMIT_EXCEEDED
