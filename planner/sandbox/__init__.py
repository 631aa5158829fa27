"""An offline emulator of CometAPI's Kling multi-elements API that follows its contract.

    with Sandbox() as sandbox:
        requests.post(f"{sandbox.base_url}/kling/v1/videos/multi-elements/init-selection", ...)
        sandbox.state.snapshot()["tasks"]     # what was created
        sandbox.clock.advance(25 * 3600)      # expire the sessions

See docs/sandbox.md for what it models and what it cannot know.
"""

from __future__ import annotations

import threading
from typing import Any

from planner.sandbox.config import SandboxConfig, load_config
from planner.sandbox.faults import FaultPlan
from planner.sandbox.state import Clock, State

__all__ = ["Sandbox", "SandboxConfig", "load_config"]


class Sandbox:
    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.verbose = verbose
        self.state = State(self.config)
        self.faults = FaultPlan(self.config.faults, self.config.seed, self.state.injected)
        self._servers: list[Any] = []
        self._threads: list[threading.Thread] = []

    @property
    def clock(self) -> Clock:
        return self.state.clock

    def start(self) -> Sandbox:
        from planner import contract
        from planner.sandbox.server import ApiHandler, FileHandler, _Server

        contract.routes()  # compile the schemas now, not on the first request
        api = _Server((self.host, self.port), ApiHandler, self.state, self.faults, self.verbose)
        files = _Server((self.host, 0), FileHandler, self.state, self.faults, self.verbose)
        self._servers = [api, files]
        self.port = api.server_address[1]
        self.state.files_url = f"http://{self._netloc(files.server_address[1])}"
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"sandbox-{server.server_address[1]}",
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _netloc(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self._netloc(self.port)}"

    @property
    def files_url(self) -> str:
        return self.state.files_url

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def wait(self) -> None:
        """Block until interrupted (for ``planner sandbox``)."""
        for thread in self._threads:
            while thread.is_alive():
                thread.join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
