"""Helpers of the annotation tests: item files, a live uvicorn server on loopback, logging
in over HTTP."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import uvicorn

from rewardkit.annotate.config import AnnotateServeConfig


def write_items(path, items):
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return str(path)


def pair_items(n: int, prefix: str = "q") -> list[dict]:
    return [
        {"id": f"{prefix}{i}", "prompt": f"question {i}?", "responses": [f"yes {i}", f"no {i}"]}
        for i in range(n)
    ]


class LiveServer:
    """uvicorn running ``app`` on a free loopback port in a thread."""

    def __init__(self, app):
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


def hidden(html: str, name: str) -> str:
    """The value of the hidden input ``name`` in a page."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden input {name!r} in the page"
    return match.group(1)


def log_in(client: httpx.Client, name: str, token: str) -> str:
    """Log ``client`` in; returns the first annotation page's HTML."""
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post(
        "/login",
        data={"name": name, "token": token, "csrf": hidden(form.text, "csrf")},
        follow_redirects=True,
    )
    assert answer.status_code == 200 and 'id="progress"' in answer.text, answer.text[:300]
    return answer.text


def settings(**changes) -> AnnotateServeConfig:
    return AnnotateServeConfig(**{"seed": 0, **changes})


class CliServer:
    """``rewardkit annotate serve`` in its own process (as a user starts it) on a free
    loopback port; stopped with SIGTERM."""

    def __init__(self, *args: str):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.args = [*args, "--port", str(self.port)]
        self.process = None

    def __enter__(self) -> str:
        import os
        import subprocess
        import sys

        command = [sys.executable, "-m", "rewardkit", "annotate", "serve", *self.args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ
        )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 120 s")
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except Exception:
            self.process.kill()
            self.process.wait()
