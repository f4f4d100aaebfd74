"""Run a reward server app in a background thread (notebooks, tests, in-process pipelines).

    with BackgroundServer(create_app(model)) as server:
        RewardClient(server.url).rewards(["Hi"], ["Hello!"])

It binds loopback on a free port by default; leaving the ``with`` block shuts it down the way
SIGTERM does: requests in flight finish first.
"""

from __future__ import annotations

import threading
import time

import uvicorn

from rewardkit.serve.runner import bind_socket


class BackgroundServer:
    def __init__(
        self,
        app,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        drain_timeout_s: float = 30.0,
        start_timeout_s: float = 30.0,
    ):
        self.app = app
        self.host, self.port = host, port
        self.start_timeout_s = start_timeout_s
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=drain_timeout_s,
            )
        )
        self._server.install_signal_handlers = lambda: None  # not the main thread
        self._thread: threading.Thread | None = None
        self._sock = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._sock = bind_socket(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name="rewardkit-server",
        )
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reward server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful stop (as on SIGTERM): in-flight requests finish, then the batcher drains."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
