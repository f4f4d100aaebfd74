"""Turning dataclass configs into typer commands, and user errors into one line + exit 2."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import sys
import typing
from typing import Any, Callable, Optional

import typer

from rewardkit.config import _strip_optional, build_config, flag_name
from rewardkit.errors import UserError


def quiet_libraries() -> None:
    """Keep transformers' load reports and download bars out of the user's terminal.

    Tokenizer parallelism is left on (the tokenizers library's default): batched tokenization
    then uses every core, and rewardkit never forks after tokenizing."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass


def user_errors(fn: Callable) -> Callable:
    """Print a :class:`UserError` as one line on stderr and exit with its code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            print(f"error: {err.one_line()}", file=sys.stderr)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper


def _own_fields_first(cls) -> list[dataclasses.Field]:
    """The config's own options first (``--model``, ``--data``, …), then those it inherits
    (shared blocks such as :class:`rewardkit.model.options.ModelLoadOptions`)."""
    inherited = {
        f.name
        for base in cls.__mro__[1:]
        if dataclasses.is_dataclass(base)
        for f in dataclasses.fields(base)
    }
    fields = dataclasses.fields(cls)
    return [f for f in fields if f.name not in inherited] + [
        f for f in fields if f.name in inherited
    ]


def config_command(
    app: typer.Typer,
    name: str,
    cls: type,
    run: Callable[[Any], None],
    *,
    help: str,
    epilog: str,
    required: tuple[str, ...] = (),
    positional: tuple[str, ...] = (),
) -> None:
    """Register ``name`` with one ``--flag`` per dataclass field (its help = the field help),
    plus ``--config FILE``; flags override the YAML file, which overrides defaults. Fields named
    in ``positional`` are optional positional arguments instead of flags
    (``rewardkit serve MODEL_DIR``)."""
    hints = typing.get_type_hints(cls)
    arguments = []
    params = [
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, "--config", help="YAML file of options; flags override it."),
            annotation=Optional[str],
        )
    ]
    for field in _own_fields_first(cls):
        base = _strip_optional(hints[field.name])
        annotation = Optional[base] if base in (int, float, str, bool) else Optional[str]
        help_text = field.metadata.get("help", "")
        if field.metadata.get("choices"):
            help_text += f" [{'|'.join(field.metadata['choices'])}]"
        default = field.default if field.default is not dataclasses.MISSING else None
        if field.name not in required and default not in (None, ""):
            help_text += f" (default: {default})"
        if field.name in positional:
            arguments.append(
                inspect.Parameter(
                    field.name,
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=typer.Argument(
                        None, help=help_text, show_default=False, metavar=field.name.upper()
                    ),
                    annotation=annotation,
                )
            )
            continue
        if base is bool:
            decls = [f"{flag_name(field.name)}/--no-{field.name.replace('_', '-')}"]
        else:
            decls = [flag_name(field.name)]
        params.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, *decls, help=help_text, show_default=False),
                annotation=annotation,
            )
        )

    @user_errors
    def command(**kwargs):
        config_file = kwargs.pop("config")
        config = build_config(cls, config_file, kwargs)
        run(config)

    command.__signature__ = inspect.Signature(arguments + params)
    command.__name__ = name
    app.command(name, help=help, epilog=epilog)(command)
