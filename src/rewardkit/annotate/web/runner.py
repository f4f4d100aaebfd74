"""``rewardkit annotate serve``: open (and upgrade) the database, then run uvicorn."""

from __future__ import annotations

from rewardkit.annotate.config import AnnotateServeConfig
from rewardkit.annotate.store import open_store, safe_url


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
        queue.start()  # every item scored before the first page, new ones in the background
    app = create_app(store, config, queue=queue)
    console.print(
        f"annotation pages on http://{config.host}:{config.port}/ ({safe_url(config.db)})"
    )
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False)
    finally:
        if queue is not None:
            queue.stop()
