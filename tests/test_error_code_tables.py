"""Error-code tables of providers the rules were not built from (issue 19: breadth of
families, not one more provider). Each row is one row of a provider's published table of API
errors: its status, and the body its documented error envelope carries (the code and the
message or description the table gives; where the table gives a code alone, the code alone).
Gates and their look-alikes come from the same tables, side by side: the rate limits, bad
keys, permissions, resource quotas and validation errors beside each billing row.

`SOURCES` names each table. A row whose answer is not yet right is in `MISSED`, held to the
safety property that matters most: it is not read as another gate.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import httpx
import pytest

import http402
from http402 import Reason

from .kinds import CR, F, P, S, U


class Row(NamedTuple):
    provider: str
    status: int
    url: str
    body: Any
    expected: Reason | None


#: Where each provider's table was read.
SOURCES: dict[str, str] = {
    "ycloud": "https://docs.ycloud.com/en/api-reference/guides/api-fundamentals/handle-errors",
    "hetzner-cloud": "https://docs.hetzner.cloud/#errors",
    "bytepower": "http://bytepowerapp.cn/zh/api/ai/error.html",
    "vlm.run": (
        "https://docs.vlm.run/error-codes (402) and https://docs.vlm.run/gateway/error-codes (403)"
    ),
    "ncloud": "https://api-gov.ncloud-docs.com/docs/api-call-lgc-errorhandling",
    "dadata": "https://dadata.userecho.com/communities/1/topics/2040",
    "alibaba-rds-ai": (
        "https://help.aliyun.com/en/rds/apsaradb-rds-for-postgresql/api-rdsai-2025-05-07-errorcodes"
    ),
    "alibaba-eci": (
        "https://help.aliyun.com/en/eci/developer-reference/api-eci-2018-08-08-errorcodes"
    ),
    "pay.jp": (
        "https://docs.pay.jp/v1/api/ (error codes, as catalogued in "
        "github.com/api-evangelist/payjp errors/payjp-error-codes.yml and "
        "payjp-decline-codes.yml)"
    ),
    "datacrunch": (
        "https://api.datacrunch.io/v1/docs (Errors: code and message, matching HTTP status)"
    ),
    "vynaris": (
        "https://vynaris.com/docs#errors (catalogued in github.com/api-evangelist/vynaris "
        "errors/vynaris-error-codes.yml)"
    ),
    "proxyapi.ru": "https://proxyapi.ru/docs/errors",
    "yandex-tag-manager": "https://yandex.ru/dev/ytm/ru/concept/errors",
    "zilore": "https://zilore.com/en/help/api/common/errors",
    "tokendog": "https://doc.tokendog.io/zh/api-reference/guide/error-codes",
    "yandex-partner": "https://yandex.ru/dev/partner-objects/doc/ru/concepts/error-codes",
    "nevermined": (
        "https://github.com/nevermined-io/docs/blob/main/skills/nevermined-router/references/errors.md"
    ),
    "alibaba-vpc": (
        "https://help.aliyun.com/document_detail (VPC 2016-04-28 public error codes: "
        "ACCOUNT_BALANCE_EXCEEDED, PAY.*)"
    ),
    "nextapi": "https://nextapi-docs.pages.dev/api/errors.html",
    "tokenfactory": "https://www.tokenfactory.cn/docs/guide/errors",
    "line-works": "https://developers.worksmobile.com/jp/reference/error-codes?lang=ja",
    "moralis": "https://docs.moralis.com/rpc-nodes/introduction/resources/rpc-rate-limits",
    "kakao": "https://developers.kakao.com/docs/latest/ko/rest-api/error-code",
    "jiekou.ai": (
        "https://docs.jiekou.ai/en/docs/models/reference-error-code (the error names and body of "
        "Novita AI's platform, tests/payloads/novita-not-enough-balance-reason-403.json)"
    ),
    "kudosity": (
        "https://developers.kudosity.com/reference/status-codes (Transmit SMS v1; catalogued in "
        "github.com/api-evangelist/kudosity errors/kudosity-error-codes.yml)"
    ),
    "pixelbin": (
        "https://pixelbin.io/docs/errors/transformations (the body as Pixelbin answers: message, "
        "status, errorCode)"
    ),
    "baidu-qianfan": "https://cloud.baidu.com/doc/qianfan-api/s/4mwbl4bz4",
    "thumbnail-creator": "https://www.thumbnailcreator.com/docs/api/errors",
    "figur": "https://docs.figur.fit/guides/errors-and-credits/",
    "crazyrouter": (
        "https://docs.crazyrouter.com/jp/reference/status-codes (and "
        "https://docs.crazyrouter.com/jp/error-handling: 403 Insufficient Balance)"
    ),
    "licensespring": (
        "https://docs.licensespring.com/sdks/errors-and-response-codes (the body as "
        "https://docs.licensespring.com/license-api/error-responses gives it: status, code, "
        "message)"
    ),
}

ROWS: list[Row] = [
    Row(
        "ycloud",
        403,
        "https://api.ycloud.com/v2/whatsapp/messages",
        {
            "error": {
                "status": 403,
                "code": "BALANCE_INSUFFICIENT",
                "message": "The account has insufficient balance. Top up before trying again.",
                "requestId": "req_1KjtKI80IKoaJNa6n6p",
            }
        },
        CR,
    ),
    Row(
        "ycloud",
        429,
        "https://api.ycloud.com/v2/whatsapp/messages",
        {
            "error": {
                "status": 429,
                "code": "ACCOUNT_RATE_LIMITED",
                "message": (
                    "The account quota is exhausted. Pause requests that share the quota and "
                    "respect Retry-After."
                ),
                "requestId": "req_1KjtKI80IKoaJNa6n6p",
            }
        },
        None,
    ),
    Row(
        "ycloud",
        403,
        "https://api.ycloud.com/v2/whatsapp/messages",
        {
            "error": {
                "status": 403,
                "code": "ACCOUNT_UNAVAILABLE",
                "message": "The account is unavailable. Contact YCloud support.",
                "requestId": "req_1KjtKI80IKoaJNa6n6p",
            }
        },
        None,
    ),
    Row(
        "ycloud",
        403,
        "https://api.ycloud.com/v2/whatsapp/messages",
        {
            "error": {
                "status": 403,
                "code": "ACCOUNT_LIMITED",
                "message": (
                    "An account restriction prevents the action. For example, a trial account can "
                    "send only to pre-verified numbers. Check the applicable account "
                    "restrictions."
                ),
                "requestId": "req_1KjtKI80IKoaJNa6n6p",
            }
        },
        None,
    ),
    Row(
        "ycloud",
        403,
        "https://api.ycloud.com/v2/whatsapp/messages",
        {
            "error": {
                "status": 403,
                "code": "FORBIDDEN",
                "message": (
                    "You cannot access the resource. Check its ownership and your account "
                    "permissions."
                ),
                "requestId": "req_1KjtKI80IKoaJNa6n6p",
            }
        },
        None,
    ),
    Row(
        "hetzner-cloud",
        403,
        "https://api.hetzner.cloud/v1/servers",
        {
            "error": {
                "code": "resource_limit_exceeded",
                "message": "Error when exceeding the maximum quantity of a resource for an account",
                "details": {},
            }
        },
        None,
    ),
    Row(
        "hetzner-cloud",
        429,
        "https://api.hetzner.cloud/v1/servers",
        {
            "error": {
                "code": "rate_limit_exceeded",
                "message": "Error when sending too many requests",
                "details": {},
            }
        },
        None,
    ),
    Row(
        "hetzner-cloud",
        403,
        "https://api.hetzner.cloud/v1/servers",
        {
            "error": {
                "code": "forbidden",
                "message": "Insufficient permissions for this request",
                "details": {},
            }
        },
        None,
    ),
    Row(
        "bytepower",
        400,
        "https://api.bytepowerapp.cn/ai/chat",
        {"error": {"error_type": "err_insufficient_balance", "message": "余额不足错误"}},
        CR,
    ),
    Row(
        "bytepower",
        400,
        "https://api.bytepowerapp.cn/ai/chat",
        {"error": {"error_type": "err_rate_limited", "message": "限流错误"}},
        None,
    ),
    Row(
        "bytepower",
        400,
        "https://api.bytepowerapp.cn/ai/chat",
        {"error": {"error_type": "err_auth_failed", "message": "认证失败"}},
        None,
    ),
    Row(
        "vlm.run",
        402,
        "https://api.vlm.run/v1/image/generate",
        {"detail": "The account associated with the API key has consumed all available credits."},
        CR,
    ),
    Row(
        "vlm.run",
        403,
        "https://api.vlm.run/v1/openai/chat/completions",
        {"detail": "Invalid API Key"},
        None,
    ),
    Row(
        "ncloud",
        429,
        "https://naveropenapi.apigw.ntruss.com/map-geocode/v2/geocode",
        {"error": {"errorCode": "410", "message": "Throttle Limited"}},
        None,
    ),
    Row(
        "ncloud",
        429,
        "https://naveropenapi.apigw.ntruss.com/map-geocode/v2/geocode",
        {"error": {"errorCode": "420", "message": "Rate Limited"}},
        None,
    ),
    Row(
        "ncloud",
        401,
        "https://naveropenapi.apigw.ntruss.com/map-geocode/v2/geocode",
        {"error": {"errorCode": "210", "message": "Permission Denied"}},
        None,
    ),
    Row(
        "dadata",
        403,
        "https://suggestions.dadata.ru/suggestions/api/4_1/rs/suggest/address",
        {
            "family": "CLIENT_ERROR",
            "reason": "Forbidden",
            "message": "Feature 'SUGGESTIONS' disabled for token '${API_KEY}'",
        },
        None,
    ),
    Row(
        "alibaba-rds-ai",
        402,
        "https://rdsai.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "AccountArrears",
            "Message": (
                "Your available balance is negative. Please top up your account before making a "
                "purchase."
            ),
        },
        S,
    ),
    Row(
        "alibaba-rds-ai",
        409,
        "https://rdsai.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "ApiKeyLimitReached",
            "Message": "The maximum number of user API keys for this instance has been reached.",
        },
        None,
    ),
    Row(
        "alibaba-eci",
        400,
        "https://eci.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "Account.Arrearage",
            "Message": "Your account has an outstanding payment.",
        },
        S,
    ),
    Row(
        "pay.jp",
        402,
        "https://api.pay.jp/v1/charges",
        {"error": {"type": "card_error", "code": "card_declined", "status": 402}},
        F,
    ),
    Row(
        "pay.jp",
        402,
        "https://api.pay.jp/v1/charges",
        {"error": {"type": "card_error", "code": "expired_card", "status": 402}},
        F,
    ),
    Row(
        "pay.jp",
        429,
        "https://api.pay.jp/v1/charges",
        {"error": {"type": "client_error", "code": "over_capacity", "status": 429}},
        None,
    ),
    Row(
        "pay.jp",
        401,
        "https://api.pay.jp/v1/charges",
        {"error": {"type": "auth_error", "code": "invalid_api_key", "status": 401}},
        None,
    ),
    Row(
        "pay.jp",
        400,
        "https://api.pay.jp/v1/subscriptions",
        {"error": {"type": "client_error", "code": "invalid_plan", "status": 400}},
        None,
    ),
    Row(
        "pay.jp",
        400,
        "https://api.pay.jp/v1/subscriptions",
        {"error": {"type": "client_error", "code": "already_subscribed", "status": 400}},
        None,
    ),
    Row(
        "pay.jp",
        400,
        "https://api.pay.jp/v1/charges/ch_1/capture",
        {"error": {"type": "client_error", "code": "charge_expired", "status": 400}},
        None,
    ),
    Row(
        "pay.jp",
        400,
        "https://api.pay.jp/v1/charges/ch_1/refund",
        {"error": {"type": "client_error", "code": "refund_limit_exceeded", "status": 400}},
        None,
    ),
    Row(
        "pay.jp",
        400,
        "https://api.pay.jp/v1/charges",
        {"error": {"type": "client_error", "code": "not_activated_account", "status": 400}},
        None,
    ),
    Row(
        "datacrunch",
        402,
        "https://api.datacrunch.io/v1/instances",
        {"code": "insufficient_funds", "message": "Not enough funds to perform the action"},
        CR,
    ),
    Row(
        "datacrunch",
        403,
        "https://api.datacrunch.io/v1/instances",
        {"code": "forbidden_action", "message": "Can't perform the current action"},
        None,
    ),
    Row(
        "datacrunch",
        401,
        "https://api.datacrunch.io/v1/instances",
        {"code": "unauthorized_request", "message": "Access token is missing or invalid"},
        None,
    ),
    Row(
        "vynaris",
        402,
        "https://api.vynaris.com/v1/chat/completions",
        {"error": {"message": "Out of credits", "code": "hosted_model_paid_credit_required"}},
        CR,
    ),
    Row(
        "proxyapi.ru",
        402,
        "https://api.proxyapi.ru/openai/v1/chat/completions",
        {"detail": "Insufficient balance to run this request."},
        CR,
    ),
    Row(
        "yandex-tag-manager",
        429,
        "https://api.tagmanager.yandex.net/v1/containers",
        {
            "errors": [
                {
                    "error_type": "quota",
                    "message": "Превышен лимит количества запросов к API.",
                    "location": "",
                }
            ],
            "code": 429,
            "message": "Превышен лимит количества запросов к API.",
        },
        None,
    ),
    Row(
        "yandex-tag-manager",
        403,
        "https://api.tagmanager.yandex.net/v1/containers",
        {
            "errors": [
                {"error_type": "access_denied", "message": "Доступ запрещен.", "location": ""}
            ],
            "code": 403,
            "message": "Доступ запрещен.",
        },
        None,
    ),
    Row(
        "zilore",
        403,
        "https://api.zilore.com/dns/v1/domains",
        {"status": "fail", "error": {"code": 9, "message": "Tariff limitation"}},
        P,
    ),
    Row(
        "zilore",
        403,
        "https://api.zilore.com/dns/v1/domains",
        {
            "status": "fail",
            "error": {
                "code": 3,
                "message": "Authorization failed",
                "http_redirect": "/account/billing",
            },
            "details": "Payment required",
        },
        U,
    ),
    Row(
        "zilore",
        403,
        "https://api.zilore.com/dns/v1/domains",
        {"status": "fail", "error": {"code": 2, "message": "Authentication failed"}},
        None,
    ),
    Row(
        "zilore",
        409,
        "https://api.zilore.com/dns/v1/domains",
        {"status": "fail", "error": {"code": 5, "message": "Object exists"}},
        None,
    ),
    Row(
        "tokendog",
        403,
        "https://api.tokendog.io/v1/chat/completions",
        {"error": {"code": "insufficient_user_quota", "message": "额度不足"}},
        CR,
    ),
    Row(
        "tokendog",
        403,
        "https://api.tokendog.io/v1/chat/completions",
        {"error": {"code": "pre_consume_token_quota_failed", "message": "预扣额度失败"}},
        CR,
    ),
    Row(
        "tokendog",
        403,
        "https://api.tokendog.io/v1/chat/completions",
        {"error": {"code": "access_denied", "message": "无访问权限"}},
        None,
    ),
    Row(
        "tokendog",
        400,
        "https://api.tokendog.io/v1/chat/completions",
        {"error": {"code": "sensitive_words_detected", "message": "触发敏感词"}},
        None,
    ),
    Row(
        "yandex-partner",
        429,
        "https://partner.yandex.ru/api/objects",
        {
            "errors": [
                {
                    "detail": "Превышены квоты по количеству запросов.",
                    "title": "Too Many Requests",
                    "id": "7",
                }
            ]
        },
        None,
    ),
    Row(
        "yandex-partner",
        403,
        "https://partner.yandex.ru/api/objects",
        {"errors": [{"detail": "Отказано в доступе.", "title": "Forbidden", "id": "3"}]},
        None,
    ),
    Row(
        "nevermined",
        402,
        "https://api.nevermined.app/api/v1/router/route",
        {
            "code": "BCK.ROUTER.0003",
            "message": "Delegation over cap, expired, exhausted, or revoked",
        },
        U,
    ),
    Row(
        "nevermined",
        402,
        "https://api.nevermined.app/api/v1/router/route",
        {
            "code": "BCK.ROUTER.0009",
            "message": (
                "Wallet doesn't hold enough of the asset on the target network. Nothing was signed"
            ),
        },
        CR,
    ),
    Row(
        "nevermined",
        402,
        "https://api.nevermined.app/api/v1/router/route",
        {
            "code": "BCK.ROUTER.0011",
            "message": (
                "Card rail: the charge needs cardholder 3-D Secure, and an agent has no browser "
                "to complete it. Nothing was charged and the seller got no usable credential."
            ),
        },
        F,
    ),
    Row(
        "nevermined",
        429,
        "https://api.nevermined.app/api/v1/router/route",
        {"code": "BCK.ROUTER.0007", "message": "Too many concurrent routed requests in flight"},
        None,
    ),
    Row(
        "nevermined",
        409,
        "https://api.nevermined.app/api/v1/router/route",
        {
            "code": "BCK.ROUTER.0002",
            "message": (
                "This requestId already minted a payment. The original paymentId is in the response"
            ),
        },
        None,
    ),
    Row(
        "nevermined",
        403,
        "https://api.nevermined.app/api/v1/router/route",
        {"code": "BCK.ROUTER.0008", "message": "Legacy API key — create a new one"},
        None,
    ),
    Row(
        "nevermined",
        412,
        "https://api.nevermined.app/api/v1/delegation/create",
        {"error": "consent_required", "outdated": ["terms", "privacy"]},
        None,
    ),
    Row(
        "nevermined",
        400,
        "https://api.nevermined.app/api/v1/router/route",
        {
            "code": "BCK.ROUTER.0001",
            "message": (
                "Bad input: unsupported protocol, malformed/empty challenge, no fundable option, "
                "recipient outside the Delegation's scope, non-allowlisted asset, wrong-provider "
                "Delegation, missing delegationId."
            ),
        },
        None,
    ),
    Row(
        "alibaba-vpc",
        400,
        "https://vpc.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "ACCOUNT_BALANCE_EXCEEDED",
            "Message": (
                "User attempted to create a new order.but user account balance is insufficient."
            ),
        },
        CR,
    ),
    Row(
        "alibaba-vpc",
        400,
        "https://vpc.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "PAY.INSUFFICIENT_BALANCE",
            "Message": "The Account Balance is insufficient.",
        },
        CR,
    ),
    Row(
        "alibaba-vpc",
        400,
        "https://vpc.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "PAY.COUPON_NOT_EXIST",
            "Message": "The Account coupon doesn't exist.",
        },
        None,
    ),
    Row(
        "alibaba-vpc",
        400,
        "https://vpc.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "PAY.TAX_CALC_FAILED",
            "Message": "The Account Tax failed to calculate.",
        },
        None,
    ),
    Row(
        "alibaba-vpc",
        400,
        "https://vpc.aliyuncs.com/",
        {
            "RequestId": "5E1A1C9D-0000",
            "Code": "PAY.REFUND_FAILED",
            "Message": "The Account failed to Refund.",
        },
        None,
    ),
    Row(
        "nextapi",
        403,
        "https://api.nextapi.example/v1/chat/completions",
        {
            "error": {
                "message": "Insufficient quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        },
        CR,
    ),
    Row(
        "nextapi",
        429,
        "https://api.nextapi.example/v1/chat/completions",
        {
            "error": {
                "message": "Rate limit exceeded",
                "type": "rate_limit_error",
                "code": "rate_limit_exceeded",
            }
        },
        None,
    ),
    Row(
        "nextapi",
        401,
        "https://api.nextapi.example/v1/chat/completions",
        {
            "error": {
                "message": "Invalid API key",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
        None,
    ),
    Row(
        "nextapi",
        400,
        "https://api.nextapi.example/v1/chat/completions",
        {
            "error": {
                "message": "Model not found",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        },
        None,
    ),
    Row(
        "tokenfactory",
        402,
        "https://api.tokenfactory.cn/v1/chat/completions",
        {
            "error": {
                "message": "余额不足",
                "type": "insufficient_quota",
                "code": "insufficient_balance",
            }
        },
        CR,
    ),
    Row(
        "tokenfactory",
        429,
        "https://api.tokenfactory.cn/v1/chat/completions",
        {
            "error": {
                "message": "当日 token 配额已用尽",
                "type": "insufficient_quota",
                "code": "quota_exceeded",
            }
        },
        None,
    ),
    Row(
        "tokenfactory",
        401,
        "https://api.tokenfactory.cn/v1/chat/completions",
        {
            "error": {
                "message": "API Key 缺失、无效或已禁用",
                "type": "authentication_error",
                "code": "invalid_api_key",
            }
        },
        None,
    ),
    Row(
        "tokenfactory",
        400,
        "https://api.tokenfactory.cn/v1/chat/completions",
        {
            "error": {
                "message": "请求体不是合法 JSON 或缺少 model",
                "type": "invalid_request_error",
                "code": "invalid_request_error",
            }
        },
        None,
    ),
    Row(
        "line-works",
        400,
        "https://www.worksapis.com/v1.0/users",
        {"code": "LIMIT_EXCEEDED", "description": "パラメータまたはリソースの制限を超えた"},
        None,
    ),
    Row(
        "line-works",
        429,
        "https://www.worksapis.com/v1.0/users",
        {"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"},
        None,
    ),
    Row(
        "moralis",
        429,
        "https://site1.moralis-nodes.com/eth/KEY",
        {"jsonrpc": "2.0", "error": {"code": -32005, "message": "Rate limit exceeded"}, "id": 1},
        None,
    ),
    Row(
        "kakao",
        400,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "일 한도 또는 월 한도 금액을 초과한 유료 API를 호출한 경우", "code": -11},
        CR,
    ),
    Row(
        "kakao",
        400,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "허용된 요청 회수를 초과한 경우", "code": -10},
        None,
    ),
    Row(
        "kakao",
        403,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "계정이 제재된 경우나 해당 계정에 제재된 행동을 하는 경우", "code": -4},
        None,
    ),
    Row(
        "kakao",
        403,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "해당 API에 대한 요청 권한이 없는 경우", "code": -5},
        None,
    ),
    Row(
        "kakao",
        401,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "유효하지 않은 앱키나 액세스 토큰으로 요청한 경우", "code": -401},
        None,
    ),
    Row(
        "kakao",
        400,
        "https://dapi.kakao.com/v2/local/search/address.json",
        {"msg": "서비스가 종료된 API를 호출한 경우", "code": -9},
        None,
    ),
    Row(
        "jiekou.ai",
        403,
        "https://api.jiekou.ai/openai/v1/chat/completions",
        {
            "code": 403,
            "reason": "NOT_ENOUGH_BALANCE",
            "message": "Insufficient balance",
            "metadata": {},
        },
        CR,
    ),
    Row(
        "jiekou.ai",
        429,
        "https://api.jiekou.ai/openai/v1/chat/completions",
        {
            "code": 429,
            "reason": "TOKEN_LIMIT_EXCEEDED",
            "message": "Token limit exceeded. Please try again later.",
            "metadata": {},
        },
        None,
    ),
    Row(
        "jiekou.ai",
        429,
        "https://api.jiekou.ai/openai/v1/chat/completions",
        {
            "code": 429,
            "reason": "RATE_LIMIT_EXCEEDED",
            "message": "Requests are too frequent. Please try again later.",
            "metadata": {},
        },
        None,
    ),
    Row(
        "jiekou.ai",
        403,
        "https://api.jiekou.ai/openai/v1/chat/completions",
        {
            "code": 403,
            "reason": "INVALID_API_KEY",
            "message": "API Key not provided",
            "metadata": {},
        },
        None,
    ),
    Row(
        "jiekou.ai",
        403,
        "https://api.jiekou.ai/openai/v1/chat/completions",
        {"code": 403, "reason": "ACCESS_DENY", "message": "Access denied", "metadata": {}},
        None,
    ),
    Row(
        "proxyapi.ru",
        429,
        "https://api.proxyapi.ru/openai/v1/chat/completions",
        {"detail": "Превышен лимит частоты запросов"},
        None,
    ),
    Row(
        "proxyapi.ru",
        403,
        "https://api.proxyapi.ru/openai/v1/chat/completions",
        {"detail": "Модель не входит в список разрешённых для ключа"},
        None,
    ),
    Row(
        "kudosity",
        400,
        "https://api.transmitsms.com/send-sms.json",
        {
            "error": {
                "code": "LEDGER_ERROR",
                "description": "Insufficient funds to carry out debit.",
            }
        },
        CR,
    ),
    Row(
        "kudosity",
        429,
        "https://api.transmitsms.com/send-sms.json",
        {"error": {"code": "OVER_LIMIT", "description": "You have exceeded the request limit."}},
        None,
    ),
    Row(
        "kudosity",
        400,
        "https://api.transmitsms.com/send-sms.json",
        {"error": {"code": "NO_ACCESS", "description": "You don't have access to this feature."}},
        None,
    ),
    Row(
        "kudosity",
        401,
        "https://api.transmitsms.com/send-sms.json",
        {
            "error": {
                "code": "AUTH_FAILED",
                "description": "The auth data you have provided is invalid.",
            }
        },
        None,
    ),
    Row(
        "kudosity",
        400,
        "https://api.transmitsms.com/send-sms.json",
        {
            "error": {
                "code": "BAD_CALLER_ID",
                "description": (
                    "The sender ID you have set is not valid or number is inactive or expired."
                ),
            }
        },
        None,
    ),
    Row(
        "pixelbin",
        403,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {
            "message": "Occurs when the user does not have an active subscription.",
            "status": 403,
            "errorCode": "JR-1003",
        },
        S,
    ),
    Row(
        "pixelbin",
        403,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {
            "message": "Storage limit exceeded when all allocated storage has been consumed.",
            "status": 403,
            "errorCode": "JR-1001",
        },
        None,
    ),
    Row(
        "pixelbin",
        429,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {
            "message": "Rate limit exceeded for the client ID and operation combination.",
            "status": 429,
            "errorCode": "JR-1002",
        },
        None,
    ),
    Row(
        "pixelbin",
        403,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {
            "message": "This error occurs if the user doesn't have sufficient permission.",
            "status": 403,
            "errorCode": "JR-0403",
        },
        None,
    ),
    Row(
        "pixelbin",
        403,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {"message": "File size too large to be downloaded.", "status": 403, "errorCode": "JR-0418"},
        None,
    ),
    Row(
        "baidu-qianfan",
        429,
        "https://qianfan.baidubce.com/video/generations",
        {
            "code": "video_genration_concurrency_exceeded",
            "message": "Rate limit reached for Concurrency",
        },
        None,
    ),
    Row(
        "baidu-qianfan",
        403,
        "https://qianfan.baidubce.com/video/generations",
        {
            "code": "video_genration_prompt_unsafe",
            "message": "the content of prompt field is unsafe",
        },
        None,
    ),
    Row(
        "baidu-qianfan",
        400,
        "https://qianfan.baidubce.com/video/generations",
        {"code": "invalid_video_genration_argument", "message": "xxx"},
        None,
    ),
    Row(
        "thumbnail-creator",
        402,
        "https://www.thumbnailcreator.com/api/v1/thumbnails",
        {"error": "Insufficient credits", "creditsRemaining": 0},
        CR,
    ),
    Row(
        "thumbnail-creator",
        429,
        "https://www.thumbnailcreator.com/api/v1/thumbnails",
        {"error": "Rate limit exceeded", "retryAfter": 45},
        None,
    ),
    Row(
        "thumbnail-creator",
        401,
        "https://www.thumbnailcreator.com/api/v1/thumbnails",
        {"error": "API key not found or expired", "code": "AUTHENTICATION_ERROR"},
        None,
    ),
    Row(
        "thumbnail-creator",
        400,
        "https://www.thumbnailcreator.com/api/v1/thumbnails",
        {"error": "Prompt is required", "code": "VALIDATION_ERROR"},
        None,
    ),
    Row(
        "figur",
        402,
        "https://api.figur.fit/v1/workflows/try-on",
        {
            "error": {
                "code": "INSUFFICIENT_BALANCE",
                "message": "Account balance is below the cost of this request.",
                "request_id": "01JREQREQREQREQREQREQREQ00",
            }
        },
        CR,
    ),
    Row(
        "figur",
        429,
        "https://api.figur.fit/v1/workflows/try-on",
        {
            "error": {
                "code": "RATE_LIMITED",
                "message": "Per-credential rate limit exceeded. Back off and retry.",
                "request_id": "01JREQREQREQREQREQREQREQ00",
            }
        },
        None,
    ),
    Row(
        "figur",
        422,
        "https://api.figur.fit/v1/workflows/try-on",
        {
            "error": {
                "code": "VALIDATION_ERROR",
                "message": "The request body or parameters failed validation. No credits charged.",
                "request_id": "01JREQREQREQREQREQREQREQ00",
            }
        },
        None,
    ),
    Row(
        "crazyrouter",
        403,
        "https://crazyrouter.com/v1/chat/completions",
        {"error": {"message": "Insufficient balance", "code": "insufficient_quota"}},
        CR,
    ),
    Row(
        "crazyrouter",
        429,
        "https://crazyrouter.com/v1/chat/completions",
        {"error": {"message": "Rate limit exceeded", "code": "rate_limit_exceeded"}},
        None,
    ),
    Row(
        "crazyrouter",
        401,
        "https://crazyrouter.com/v1/chat/completions",
        {"error": {"message": "API Key is invalid or expired", "code": "invalid_api_key"}},
        None,
    ),
    Row(
        "crazyrouter",
        400,
        "https://crazyrouter.com/v1/chat/completions",
        {
            "error": {
                "message": "Input exceeds model context length limit",
                "code": "context_length_exceeded",
            }
        },
        None,
    ),
    Row(
        "crazyrouter",
        400,
        "https://crazyrouter.com/v1/chat/completions",
        {"error": {"message": "Content blocked by safety filter", "code": "content_filter"}},
        None,
    ),
    Row(
        "licensespring",
        400,
        "https://api.licensespring.com/api/v4/check_license",
        {"status": 400, "code": "license_not_active", "message": "license is not active"},
        None,
    ),
    Row(
        "licensespring",
        400,
        "https://api.licensespring.com/api/v4/check_license",
        {"status": 400, "code": "license_not_enabled", "message": "license is not enabled"},
        None,
    ),
    Row(
        "licensespring",
        400,
        "https://api.licensespring.com/api/v4/activate_license",
        {"status": 400, "code": "trial_expired", "message": "trial period for device has expired"},
        None,
    ),
    Row(
        "licensespring",
        400,
        "https://api.licensespring.com/api/v4/activate_license",
        {
            "status": 400,
            "code": "license_activated_max_times",
            "message": "license is already activated max number of times",
        },
        None,
    ),
    Row(
        "licensespring",
        400,
        "https://api.licensespring.com/api/v4/versions",
        {"status": 400, "code": "active_license_required", "message": "active license is required"},
        None,
    ),
    Row(
        "licensespring",
        409,
        "https://api.licensespring.com/api/v4/orders",
        {"status": 409, "code": "order_id_exists", "message": "Order with this ID already exists"},
        None,
    ),
]

#: Rows the rules do not read yet, each with why (left for a later round).
MISSED: list[Row] = [
    # "Free users' usage-count limit" on a 400: a free allowance, but no word says it ran out
    # ("限制" is a restriction as often as a limit reached), so no strong rule reads it; on a
    # 402 it is the plan's.
    Row(
        "bytepower",
        400,
        "https://api.bytepowerapp.cn/ai/chat",
        {"error": {"error_type": "ai_free_limit", "message": "免费用户使用次数限制"}},
        P,
    ),
    # A bare "usage limit exceeded" is a throttle's words as often as a plan's (issue 19's
    # judgement): weak, read on a 402 only, so Pixelbin's 403 passes through.
    Row(
        "pixelbin",
        403,
        "https://api.pixelbin.io/service/platform/transformation/v1.0/predictions",
        {
            "message": (
                "Usage limit exceeded when the organization's usage is blocked or the limit is "
                "exhausted."
            ),
            "status": 403,
            "errorCode": "JR-1000",
        },
        P,
    ),
    # A count of a resource a tier grants ("Style limit reached (5)"), named by a bare limit
    # and a quota code: the plan's, its docs say, but a resource's limit too; weak on a 403.
    Row(
        "thumbnail-creator",
        403,
        "https://www.thumbnailcreator.com/api/v1/styles",
        {"error": "Style limit reached (5)", "code": "QUOTA_EXCEEDED"},
        P,
    ),
]


def _classify(row: Row) -> http402.PaymentRequired | None:
    response = httpx.Response(
        row.status,
        headers={"content-type": "application/json"},
        content=json.dumps(row.body, ensure_ascii=False).encode(),
        request=httpx.Request("POST", row.url),
    )
    return http402.classify(response)


def _id(row: Row) -> str:
    return f"{row.provider}-{row.status}-{json.dumps(row.body, ensure_ascii=False)[:48]}"


@pytest.mark.parametrize("row", ROWS, ids=[_id(row) for row in ROWS])
def test_a_table_row_is_read_as_its_provider_documents_it(row: Row) -> None:
    payment = _classify(row)
    reason = None if payment is None else payment.reason
    assert reason is row.expected, (row.provider, SOURCES[row.provider])


@pytest.mark.parametrize("row", MISSED, ids=[_id(row) for row in MISSED])
def test_a_row_not_yet_read_is_not_read_as_another_gate(row: Row) -> None:
    payment = _classify(row)
    assert payment is None or payment.reason is row.expected


def test_the_tables_are_broad() -> None:
    """Gates and look-alikes of many providers, every one with its source."""
    providers = {row.provider for row in ROWS + MISSED}
    assert providers <= SOURCES.keys()
    assert len(providers) >= 25
    gates = [row for row in ROWS if row.expected is not None]
    look_alikes = [row for row in ROWS if row.expected is None]
    assert len(gates) >= 25 and len(look_alikes) >= 60
    assert {CR, S, P, F, U} <= {row.expected for row in gates}


# ------------------------- the families these tables showed, in more than one provider's words


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        # A plan called a tariff (Zilore's "Tariff limitation"), in English and Russian.
        (403, "Tariff limitation", P),
        (403, "Your tariff plan has expired.", S),
        (403, "Превышен лимит тарифа.", P),
        (403, "Лимит тарифного плана исчерпан.", P),
        (403, "Подписка истекла.", S),
        (403, "Срок действия тарифа истёк.", S),
        (403, "Тариф не оплачен.", S),
        # Russian look-alikes: a throttle names its window, a count of requests on a 429 is
        # no plan's words (Yandex), a tariff named beside no gate is nothing.
        (429, "Превышен лимит количества запросов к API.", None),
        (429, "Превышены квоты по количеству запросов.", None),
        (402, "Превышен лимит запросов в секунду.", None),
        (403, "Неверный тариф.", None),
        (403, "Доступ запрещен.", None),
    ],
)
def test_a_tariff_and_russian_plan_words(status: int, text: str, expected: Reason | None) -> None:
    response = httpx.Response(
        status,
        json={"error": {"message": text}},
        request=httpx.Request("GET", "https://api.unknown-provider.test/v1/x"),
    )
    payment = http402.classify(response)
    assert (None if payment is None else payment.reason) is expected


@pytest.mark.parametrize(
    ("body", "url", "expected"),
    [
        # YCloud's own code beside words that state the account's balance: a gate.
        (
            {"error": {"code": "BALANCE_INSUFFICIENT", "message": "Insufficient balance."}},
            "https://api.ycloud.com/v2/sms",
            CR,
        ),
        # Stripe's code alone, its words that name the transfer, or a request that moves
        # money: the application's own transfer, no gate.
        ({"error": {"code": "balance_insufficient"}}, "https://gw.example.test/v1/x", None),
        (
            {
                "error": {
                    "code": "balance_insufficient",
                    "message": "You have insufficient funds in your Stripe account for this "
                    "transfer.",
                }
            },
            "https://gw.example.test/v1/x",
            None,
        ),
        (
            {"error": {"code": "balance_insufficient", "message": "Insufficient balance."}},
            "https://gw.example.test/v1/payouts",
            None,
        ),
    ],
)
def test_a_transfer_code_gives_way_to_words_that_name_the_accounts_balance(
    body: Any, url: str, expected: Reason | None
) -> None:
    response = httpx.Response(400, json=body, request=httpx.Request("POST", url))
    payment = http402.classify(response)
    assert (None if payment is None else payment.reason) is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # A day's quota in Chinese is a throttle's window, whatever code names a quota
        # (TokenFactory's 429 `quota_exceeded` beside type `insufficient_quota`).
        (429, {"error": {"message": "当日 token 配额已用尽", "code": "quota_exceeded"}}, None),
        (429, {"error": {"message": "今天的调用次数已用完，请明天再试"}}, None),
        (402, {"error": {"message": "当日 token 配额已用尽"}}, None),
        (429, {"error": {"message": "余额不足", "code": "insufficient_balance"}}, CR),
        # A limit counted in money, exceeded, in Korean (Kakao's -11); a payment's amount
        # over a limit is no cap the account set.
        (400, {"msg": "월 한도 금액을 초과했습니다.", "code": -11}, CR),
        (400, {"msg": "결제 금액이 한도를 초과했습니다"}, None),
        # "Does not have an active subscription", in several providers' words.
        (403, {"message": "The user does not have an active subscription."}, S),
        (403, {"detail": "Organization does not have an active subscription"}, S),
        (
            400,
            {
                "error": "NO_ACTIVE_SUBSCRIPTION",
                "message": "You don't have an active subscription yet. Please subscribe first.",
            },
            S,
        ),
        (403, {"message": "You do not have an active session."}, None),
    ],
)
def test_a_day_in_chinese_a_cap_in_korean_and_no_active_subscription(
    status: int, body: Any, expected: Reason | None
) -> None:
    response = httpx.Response(
        status,
        json=body,
        request=httpx.Request("POST", "https://api.unknown-provider.test/v1/x"),
    )
    payment = http402.classify(response)
    assert (None if payment is None else payment.reason) is expected


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        # What a refusal cost is no lack of credits (Figur's 422).
        (422, "The request body or parameters failed validation. No credits charged.", None),
        (400, "Invalid prompt. No credits were charged for this request.", None),
        (403, "No credits left.", CR),
        (403, "You have no credits.", CR),
    ],
)
def test_no_credits_charged_is_what_a_refusal_cost(
    status: int, text: str, expected: Reason | None
) -> None:
    response = httpx.Response(
        status,
        json={"error": {"message": text}},
        request=httpx.Request("POST", "https://api.unknown-provider.test/v1/x"),
    )
    payment = http402.classify(response)
    assert (None if payment is None else payment.reason) is expected


@pytest.mark.parametrize(
    ("url", "body", "expected"),
    [
        # A licensing API's answer about the license it was asked about is that license's.
        (
            "https://api.licensespring.com/api/v4/check_license",
            {"status": 400, "code": "license_not_active", "message": "license is not active"},
            None,
        ),
        (
            "https://api.lemonsqueezy.com/v1/licenses/validate",
            {"error": "This license key has expired."},
            None,
        ),
        (
            "https://api.keygen.sh/v1/accounts/acme/licenses/actions/validate-key",
            {"errors": [{"title": "Trial expired", "detail": "Your trial has ended."}]},
            None,
        ),
        # The same words elsewhere are the account's own lapse, and a licensing API's own
        # bill (its balance) is still a gate on a license check.
        (
            "https://api.unknown-provider.test/v1/things",
            {"error": "Your license has expired. Renew to continue."},
            S,
        ),
        (
            "https://api.licensespring.com/api/v4/check_license",
            {"error": "Insufficient balance. Top up your account."},
            CR,
        ),
        # A path that names licenses but asks nothing of one is no check.
        (
            "https://api.unknown-provider.test/v1/licenses",
            {"error": "Your subscription has expired."},
            S,
        ),
    ],
)
def test_a_license_check_answers_about_its_license(
    url: str, body: Any, expected: Reason | None
) -> None:
    response = httpx.Response(400, json=body, request=httpx.Request("POST", url))
    payment = http402.classify(response)
    assert (None if payment is None else payment.reason) is expected
