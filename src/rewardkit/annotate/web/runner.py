"""``rewardkit annotate serve``: open (and upgrade) the database, then run uvicorn."""

from __future__ import annotations

import socket

from rewardkit.annotate.config import AnnotateServeConfig
from rewardkit.annotate.store import open_store, safe_url
from rewardkit.errors import UserError


def serve(config: AnnotateServeConfig) -> None:
    import uvicorn

    from rewardkit.annotate.web.app import create_app
    from rewardkit.progress import console

    store = open_store(config.db)
    if store.upgraded_from:
        saved = f"; the old file is kept as {store.backup}" if store.backup else ""
        console.print(f"upgraded {safe_url(config.db)} from schema {store.upgraded_from}{saved}")
    queue = None
    if config.queue == "uncertainty":
        from rewardkit.annotate.queue import UncertaintyQueue

        queue = UncertaintyQueue(store, config.model)
        queue.priority()  # score every item before the first page
    app = create_app(store, config, queue=queue)
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    console.print(f"annotation pages on http://{host}:{port}/ ({safe_url(config.db)})")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({err.strerror}); pick another --port")
    return sock
