"""HTTP front of the sandbox: the standard library's threading server, HTTP/1.1 keep-alive.

Two listeners: the API (the seven routes, plus read-only inspection under ``/_sandbox/``)
and a file host for previews and results, on its own port so that it is a different
origin from the API, like a CDN.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from planner import contract
from planner.sandbox.config import FaultRule
from planner.sandbox.faults import FaultPlan
from planner.sandbox.state import State, envelope

INSPECT_PREFIX = "/_sandbox/"
MAX_BODY = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type, state: State, faults: FaultPlan, verbose: bool = False
    ) -> None:
        super().__init__(address, handler)
        self.state = state
        self.faults = faults
        self.verbose = verbose

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-request is normal for a server: no traceback for it."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        if self.verbose:
            super().handle_error(request, client_address)
        else:
            print(f"planner sandbox: {type(error).__name__}: {error}", file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "planner-sandbox"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Answers are small and complete: send them now rather than wait for an ACK (Nagle).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing ------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0 or size > MAX_BODY:
            return None
        return self.rfile.read(size)

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # One write for status line, headers and body (end_headers would flush them alone).
        buffer: list[bytes] = getattr(self, "_headers_buffer", [])
        buffer.append(b"\r\n")
        head = b"".join(buffer)
        self._headers_buffer = []  # type: ignore[var-annotated]
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _fault_before(self, rule: FaultRule | None) -> bool:
        """Inject a fault that replaces handling; True if the request is done."""
        if rule is None:
            return False
        if rule.kind == "delay":
            time.sleep(rule.delay)
            return False
        if rule.kind == "reset":
            self._reset()
            return True
        status = rule.http_status()
        if rule.kind == "rate-limit":
            message = "requests too fast" if rule.kind_code() == 1302 else "parallel task over resource pack limit"
            self._json(status, envelope(rule.kind_code(), message), {"Retry-After": f"{rule.retry_after:g}"})
            return True
        if rule.kind == "server-error":
            self._json(status, envelope(rule.kind_code(), "internal error (injected by the sandbox)"))
            return True
        if rule.kind == "gateway-error":
            body = {
                "error": {
                    "message": f"upstream error (injected by the sandbox) (request id: {time.time_ns()})",
                    "type": "comet_api_error",
                    "param": "",
                    "code": rule.error_code,
                }
            }
            headers = {"Retry-After": f"{rule.retry_after:g}"} if status == 429 else None
            self._json(status, body, headers)
            return True
        return False

    def _fault_after(self, rule: FaultRule | None) -> bool:
        if rule is None:
            return False
        if rule.kind == "lost-response":
            self._reset()
            return True
        if rule.kind == "malformed-json":
            self._send(200, b'{"code": 0, "message": "SUCCEED", "data": {"task_')
            return True
        return False


class ApiHandler(_Handler):
    def do_GET(self) -> None:
        self._guarded()

    def do_POST(self) -> None:
        self._guarded()

    def do_PUT(self) -> None:
        self._guarded()

    def do_DELETE(self) -> None:
        self._guarded()

    def _guarded(self) -> None:
        """A bug in the sandbox answers 500/5000 instead of dropping the connection."""
        try:
            self._handle()
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            self.close_connection = True
            self._json(500, envelope(5000, f"sandbox internal error: {type(exc).__name__}: {exc}"))

    def _handle(self) -> None:
        state, path = self.server.state, self.path.split("?", 1)[0]
        body = self._read_body() if self.command in ("POST", "PUT") else b""
        if body is None:
            self._json(400, envelope(1200, "bad Content-Length"))
            self.close_connection = True
            return
        if path.startswith(INSPECT_PREFIX):
            self._inspect(path[len(INSPECT_PREFIX) :])
            return
        route, params, known = contract.match(self.command, path)
        if route is None:
            if known:
                self._json(404, envelope(1202, f"method {self.command} is not allowed on {path}"))
            else:
                self._json(404, envelope(1203, f"no such resource: {path}"))
            return
        with state.lock:
            state.requests[route.action] += 1
            n = state.requests[route.action]
        rule = self.server.faults.pick(route.action, n)
        if self._fault_before(rule):
            return
        status, answer = self._answer(route, params, body)
        if self._fault_after(rule):
            return
        self._json(status, answer)

    def _answer(self, route: contract.Route, params: dict[str, str], body: bytes) -> tuple[int, Any]:
        state = self.server.state
        key, refusal = self._authorize()
        if key is None:
            return 401, refusal
        if route.method == "GET":
            payload: Any = params
        else:
            try:
                payload = json.loads(body or b"null")
            except (UnicodeDecodeError, json.JSONDecodeError):
                return 400, envelope(1200, "the request body is not valid JSON")
        problem = contract.body_error(route, payload)
        if problem:
            return 400, envelope(1201, f"invalid parameter: {problem}")
        with state.lock:
            if route.action == "query-task":
                return state.query_task(key, params["task_id"])
            handler = getattr(state, route.action.replace("-", "_"))
            result: tuple[int, Any] = handler(key, payload)
            return result

    def _authorize(self) -> tuple[str | None, Any]:
        header = self.headers.get("Authorization")
        if not header:
            return None, envelope(1001, "Authorization header is empty")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme != "Bearer" or not token or " " in token:
            return None, envelope(1002, "Authorization header is invalid; use 'Bearer <key>'")
        if token in self.server.state.config.invalid_tokens:
            return None, envelope(1000, "authentication failed")
        return token, None

    def _inspect(self, what: str) -> None:
        if self.command != "GET":
            self._json(405, {"error": "the inspection routes are read-only"})
            return
        snapshot = self.server.state.snapshot()
        if what in ("", "state"):
            self._json(200, snapshot)
        elif what in snapshot:
            self._json(200, snapshot[what])
        else:
            self._json(404, {"error": f"unknown inspection route; try {', '.join(snapshot)}"})


class FileHandler(_Handler):
    def do_GET(self) -> None:
        state = self.server.state
        name = self.path.split("?", 1)[0].lstrip("/")
        with state.lock:
            state.requests["files"] += 1
            n = state.requests["files"]
            state.downloads.append({"path": name, "authorization": "Authorization" in self.headers})
            data = state.files.get(name)
        rule = self.server.faults.pick("files", n)
        if self._fault_before(rule):
            return
        if data is None:
            self._send(404, b"not found\n", "text/plain")
            return
        if rule is not None and rule.kind == "lost-response":
            self._reset()
            return
        kind = "video/mp4" if name.endswith(".mp4") else "application/octet-stream"
        self._send(200, data, kind)

    do_HEAD = do_GET
