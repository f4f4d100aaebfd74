"""``rewardkit serve``: load the model, build the app, run uvicorn until SIGINT/SIGTERM.

Shutdown is graceful: uvicorn stops accepting connections, lets requests in flight finish
(up to ``--drain-timeout-s``), then the app's lifespan finishes every queued batch.
"""

from __future__ import annotations

import socket
import sys

from rewardkit.errors import UserError
from rewardkit.serve.config import ServeConfig, read_token_file


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (port 0: a free one)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UserError(f"--host {host!r} does not resolve ({exc.strerror})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot bind {host}:{port} ({exc.strerror}); pick another --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(config: ServeConfig) -> None:
    """Run the reward server in the foreground (blocks until stopped)."""
    import torch
    import uvicorn

    from rewardkit.serve.app import create_app
    from rewardkit.serve.scoring import ScoringModel

    if not config.model:
        raise UserError("MODEL_DIR is required: rewardkit serve runs/rm")
    token = read_token_file(config.token_file) if config.token_file else None
    if config.threads:
        torch.set_num_threads(config.threads)
    if not config.is_loopback and token is None:
        print(
            f"warning: binding {config.host} without --token-file: anyone who can reach "
            "this machine can query the model",
            file=sys.stderr,
        )
    model = ScoringModel.load(config.model, **config.load_kwargs())
    app = create_app(model, config, token=token)
    sock = bind_socket(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"serving {config.model} on http://{shown}:{port} (batching "
        f"{'on' if config.batching else 'off'}, auth {'on' if token else 'off'}); "
        "Ctrl-C stops after requests in flight finish",
        file=sys.stderr,
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=config.log_level,
            timeout_graceful_shutdown=config.drain_timeout_s,
            access_log=config.log_level in ("info", "debug"),
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
