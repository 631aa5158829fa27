"""Raw HTTP helpers for driving the sandbox: http.client, no client-library conveniences."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

BASE = "/kling/v1/videos/multi-elements"
KEY = "sk-sandbox-test"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


class Raw:
    """One keep-alive connection to a sandbox; the ``close_raw_connections`` fixture closes it."""

    opened: ClassVar[list[Raw]] = []

    def __init__(self, base_url: str, key: str | None = KEY, timeout: float = 5) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.key = key
        Raw.opened.append(self)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json"}
        if self.key is not None:
            all_headers["Authorization"] = f"Bearer {self.key}"
        all_headers.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())

    def post(self, route: str, body: Any) -> Reply:
        return self.request("POST", f"{BASE}/{route}" if route else BASE, body)

    def query(self, task_id: str) -> Reply:
        return self.request("GET", f"{BASE}/{task_id}")

    def init(self, url: str = "https://cdn.example.com/clips/street-5s.mp4") -> str:
        reply = self.post("init-selection", {"video_url": url})
        assert reply.status == 200, reply.raw
        return str(reply.body["data"]["session_id"])

    def close(self) -> None:
        self.conn.close()
