"""The annotation pages: a FastAPI app with server-rendered Jinja2 pages and a little
JavaScript (keyboard shortcuts), no front-end build step."""
