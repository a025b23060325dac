"""SendGrid (Twilio): an account out of email credits gets 401 "Maximum credits exceeded",
the same status and `errors[]` shape as a bad API key (which is left alone).

Seen in sendgrid/sendgrid-nodejs#1032 and sendgrid/sendgrid-php#793.
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["SendGridAdapter"]


class SendGridAdapter(ProviderAdapter):
    name = "sendgrid"
    priority = -100
    hosts = ("api.sendgrid.com",)
    statuses = (401, 402, 403)
