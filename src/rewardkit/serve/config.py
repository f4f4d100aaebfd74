"""``ServeConfig``: every option of ``rewardkit serve`` with its help text."""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from rewardkit.config import option
from rewardkit.errors import UserError
from rewardkit.options import (
    AggregateOptions,
    ModelLoadOptions,
    reward_model_option,
    text_overlong_option,
)

LOOPBACK_NAMES = ("localhost",)


@dataclass
class ServeConfig(ModelLoadOptions, AggregateOptions):
    """Options of ``rewardkit serve`` (also ``create_app(model, settings)``'s settings; the
    model is required by the command, not by the app, which is given it loaded)."""

    command = "serve"

    model: str = reward_model_option(required=False, positional=True)  # the app's is loaded
    name: str | None = option(
        None,
        "The model's name in /score and /info (default: the model folder's base name; "
        "responses never show a local path).",
    )
    host: str = option(
        "127.0.0.1",
        "Address to bind. Loopback by default; binding anything "
        "else exposes the model to the network (use --token-file then).",
    )
    port: int = option(8000, "TCP port (0 = pick a free one and print it).")
    token_file: str | None = option(
        None,
        "File holding a bearer token; requests without "
        "`Authorization: Bearer <token>` get 401 (/health stays open).",
    )
    batching: bool = option(True, "Batch texts of concurrent requests into one forward pass.")
    max_batch_tokens: int = option(
        8192, "Most padded tokens (rows × longest text) in one forward pass."
    )
    max_wait_ms: float = option(5.0, "Longest a request waits for others to join its batch.")
    min_fill: float = option(
        0.75,
        "Least share of real (not padding) tokens in one forward pass: "
        "a gathered batch is cut, length-sorted, into passes that keep it. "
        "Lower it for short texts (bigger passes), keep it high for long ones.",
    )
    max_items: int = option(256, "Most texts in one request (more: 413).")
    max_chars: int = option(100_000, "Most characters in one text (more: 413).")
    overlong: str = text_overlong_option()
    strip_suffix: list[str] = option(
        [],
        "End-of-turn text removed from the end of /get_reward queries before scoring "
        "(repeatable); by default the common chat templates' markers (<|im_end|>, <|eot_id|>, "
        "</s>, <|endoftext|>, <end_of_turn>) and the model's own pad and EOS; 'none' turns it off.",
    )
    normalize: bool = option(
        False,
        "Return normalized rewards, (r − mean) / std, in /get_reward's "
        "`rewards` and `scores` (OpenRLHF's --reward.normalize_enable); "
        "/score always returns both.",
    )
    threads: int | None = option(None, "torch CPU threads (default: torch's choice).")
    drain_timeout_s: float = option(
        30.0, "On shutdown, how long requests in flight may take to finish."
    )
    log_level: str = option(
        "warning", "uvicorn log level.", choices=("critical", "error", "warning", "info", "debug")
    )

    def __post_init__(self):
        super().__post_init__()  # choices, also when built in code (create_app)
        for name in ("max_batch_tokens", "max_items", "max_chars"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 <= self.min_fill <= 1:
            raise UserError(f"--min-fill {self.min_fill} must be between 0 and 1")
        if self.max_wait_ms < 0:
            raise UserError("--max-wait-ms must be 0 or more")
        if not 0 <= self.port <= 65535:
            raise UserError(f"--port {self.port} is not a TCP port (0..65535)")

    @property
    def is_loopback(self) -> bool:
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def read_token_file(path: str) -> str:
    """The bearer token in ``path`` (surrounding whitespace removed); warns on stderr when the
    file is readable by group or others."""
    file = Path(path)
    if not file.is_file():
        raise UserError(
            "token file not found; create it (e.g. `openssl rand -hex 32 > FILE`)", where=path
        )
    token = file.read_text(encoding="utf-8").strip()
    if not token or any(ch.isspace() for ch in token):
        raise UserError("the token file must hold one token without spaces", where=path)
    if os.name == "posix" and file.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        print(f"warning: {path} is readable by other users; chmod 600 it", file=sys.stderr)
    return token
