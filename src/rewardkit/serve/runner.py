"""``rewardkit serve``: load the model, build the app, run uvicorn until SIGINT/SIGTERM.

Shutdown is graceful: uvicorn stops accepting connections, lets requests in flight finish
(up to ``--drain-timeout-s``), then the app's lifespan finishes every queued batch. A clean
shutdown exits 0 (uvicorn would re-raise the signal and end the process by it, status −15);
1 when queued requests were still unscored at the drain timeout; 3 when the app did not start.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from contextlib import contextmanager

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
    model = ScoringModel.load(config.model, name=config.name, **config.load_kwargs())
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
        with signals_end_cleanly():
            server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise SystemExit(3)  # uvicorn has logged why (the app's startup failed)
    if app.state.server.drained is False:
        print(
            f"error: queued requests were still unscored after --drain-timeout-s "
            f"{config.drain_timeout_s}",
            file=sys.stderr,
        )
        raise SystemExit(1)


@contextmanager
def signals_end_cleanly():
    """Let a SIGINT/SIGTERM shutdown end the process with status 0.

    uvicorn catches both signals, shuts down gracefully, restores the handlers it found and
    re-raises the signal; with the default handler the process then dies by the signal
    (status −15 for SIGTERM), although nothing went wrong. While this block runs, the handler
    it finds ignores that re-raise; the previous handlers come back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; uvicorn installs none either
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _after_shutdown) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _after_shutdown(signum, frame) -> None:
    """uvicorn's re-raise of the signal it has already handled: nothing left to do."""
