"""One HTTP exchange with the API, and what it means.

``ApiClient.send`` never raises for a network problem: it returns a ``Reply`` that says
whether the request may have reached the server (``ambiguous``), so callers can tell a
safe retry from one that could pay twice. Both error shapes are parsed: Kling's envelope
``{code, message, request_id, data}`` and CometAPI's ``{"error": {...}}``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from planner import codes

MAX_RESPONSE_BYTES = 8 << 20
KEPT_HEADERS = ("content-type", "retry-after", "x-request-id", "request-id", "date")


@dataclass
class Reply:
    method: str
    url: str
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str | None = None
    """The body when it is not JSON (cut to 2,000 characters)."""
    transport_error: str | None = None
    ambiguous: bool = False
    """No usable answer, and the request may have been processed."""
    elapsed_ms: float = 0.0

    # -- the envelope -------------------------------------------------------------------

    @property
    def envelope(self) -> dict[str, Any] | None:
        return self.body if isinstance(self.body, dict) and "code" in self.body else None

    @property
    def gateway_error(self) -> dict[str, Any] | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error if isinstance(error, dict) else None

    @property
    def code(self) -> int | None:
        env = self.envelope
        return env["code"] if env and isinstance(env.get("code"), int) else None

    @property
    def message(self) -> str:
        if self.envelope:
            return str(self.envelope.get("message", ""))
        if self.gateway_error:
            return str(self.gateway_error.get("message", ""))
        return self.transport_error or (self.text or "")[:200]

    @property
    def request_id(self) -> str | None:
        rid = self.envelope.get("request_id") if self.envelope else None
        if rid is None and self.gateway_error:
            message = str(self.gateway_error.get("message", ""))
            marker = "request id: "
            if marker in message:
                rid = message.rsplit(marker, 1)[1].rstrip(")").strip()
        return rid or self.headers.get("x-request-id")

    @property
    def data(self) -> Any:
        return self.envelope.get("data") if self.envelope else None

    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def record(self) -> dict[str, Any]:
        """What the step log keeps of the response."""
        return {
            "http_status": self.http_status,
            "headers": self.headers,
            "body": self.body if self.body is not None else self.text,
        }


@dataclass(frozen=True)
class Verdict:
    outcome: str
    """ok | retry | ambiguous | fail"""
    kind: str = ""
    """For failures: api | gateway | transport | response | rejected"""


def judge(reply: Reply, *, selection: bool) -> Verdict:
    """Success is HTTP 2xx and code 0 and, on selection routes, data.status 0."""
    if reply.transport_error is not None:
        return Verdict("ambiguous" if reply.ambiguous else "retry", "transport")
    status = reply.http_status or 0
    gateway = reply.gateway_error
    if gateway is not None:
        invalid = str(gateway.get("code") or "") == "invalid_request"
        if status in codes.RETRYABLE_GATEWAY_STATUSES and not invalid:
            return Verdict("retry" if status == 429 else "ambiguous", "gateway")
        return Verdict("fail", "gateway")
    code = reply.code
    if code is None:
        # No envelope: a 5xx page, an HTML error, or a broken body.
        if status >= 500 or 200 <= status < 300:
            return Verdict("ambiguous", "response")
        return Verdict("fail", "response")
    if code == 0 and 200 <= status < 300:
        data = reply.data
        if selection and not (isinstance(data, dict) and isinstance(data.get("status"), int)):
            return Verdict("fail", "shape")
        if selection and data.get("status") != 0:
            return Verdict("fail", "rejected")
        return Verdict("ok")
    if code in codes.RETRYABLE_CODES:
        # 1302/1303 say the request was refused; 5000-5002 may come after it was handled.
        return Verdict("retry" if code in (1302, 1303) else "ambiguous", "api")
    return Verdict("fail", "api")


class ApiClient:
    """Keep-alive HTTP to the API base URL. The key goes only to that origin."""

    def __init__(self, base_url: str, key: str, *, connect_timeout: float = 10, read_timeout: float = 60) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = "planner"

    def close(self) -> None:
        self.session.close()

    def same_origin(self, url: str) -> bool:
        a, b = urlsplit(self.base_url), urlsplit(url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    def send(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Reply:
        import requests

        url = f"{self.base_url}{path}"
        reply = Reply(method, url)
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        try:
            response = self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=(self.timeout[0], timeout or self.timeout[1]),
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            finally:
                response.close()
        except requests.exceptions.ConnectTimeout as exc:
            reply.transport_error = f"connection timed out: {_reason(exc)}"
        except requests.exceptions.ReadTimeout:
            reply.transport_error = f"no answer within {timeout or self.timeout[1]:g} s"
            reply.ambiguous = True
        except requests.exceptions.ConnectionError as exc:
            reply.transport_error, reply.ambiguous = _connection_error(exc)
        except requests.exceptions.RequestException as exc:
            reply.transport_error = f"{type(exc).__name__}: {_reason(exc)}"
            reply.ambiguous = True
        except Exception as exc:  # urllib3 errors raised while reading the body
            reply.transport_error = f"the connection broke while reading the answer ({type(exc).__name__})"
            reply.ambiguous = True
        else:
            reply.http_status = response.status_code
            reply.headers = {k: v for k, v in ((h, response.headers.get(h)) for h in KEPT_HEADERS) if v}
            if len(raw) > MAX_RESPONSE_BYTES:
                reply.text = f"<answer larger than {MAX_RESPONSE_BYTES} bytes, not read>"
            else:
                try:
                    reply.body = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    reply.text = raw[:2000].decode("utf-8", "replace")
        reply.elapsed_ms = (time.perf_counter() - started) * 1000
        return reply


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."


def _connection_error(exc: Exception) -> tuple[str, bool]:
    """(description, ambiguous): refused connections are safe to retry, broken ones are not."""
    from urllib3.exceptions import NewConnectionError

    cause: Any = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, NewConnectionError) or isinstance(cause, NewConnectionError):
        return "could not connect to the API (connection refused or unreachable)", False
    return "the connection was dropped before an answer came", True
