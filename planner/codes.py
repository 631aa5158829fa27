"""Kling's service codes and CometAPI's gateway statuses: meaning and whether to retry.

From the error-code table in ../shared/api/kling-multi-elements.md (section 6).
"""

from __future__ import annotations

MEANINGS: dict[int, str] = {
    0: "success",
    1000: "authentication failed",
    1001: "Authorization header empty",
    1002: "Authorization header invalid",
    1003: "token not yet valid",
    1004: "token expired",
    1100: "account abnormal",
    1101: "account in arrears",
    1102: "resource pack exhausted or expired",
    1103: "no permission for this API or model",
    1200: "invalid request parameters",
    1201: "invalid parameter",
    1202: "invalid request method",
    1203: "requested resource does not exist",
    1300: "platform policy triggered",
    1301: "content-safety policy triggered",
    1302: "request rate too high",
    1303: "concurrency over resource-pack limit",
    1304: "IP whitelist policy",
    5000: "internal server error",
    5001: "service temporarily unavailable",
    5002: "internal timeout",
}

RETRYABLE_CODES = frozenset({1302, 1303, 5000, 5001, 5002})
"""Kling codes worth another attempt; every other non-zero code is final."""

RETRYABLE_GATEWAY_STATUSES = frozenset({429, 500, 502, 503, 504, 524})
"""CometAPI gateway errors worth another attempt (except ``invalid_request``)."""


def meaning(code: int | None) -> str:
    if code is None:
        return ""
    return MEANINGS.get(code, "unknown code")
