"""Turning dataclass configs into typer commands, and user errors into one line + exit 2."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import os
import sys
import typing
from typing import Any, Callable, Optional

import typer

from rewardkit.config import build_config, flag_name, strip_optional
from rewardkit.errors import UserError
from rewardkit.exports import resolve


@dataclasses.dataclass(frozen=True)
class Command:
    """One verb: its config class and library function as ``"module:name"`` (imported only
    when needed), and what to print when it returns: ``report``, a format string filled from
    the returned summary dict, or ``show``, a ``"module:name"`` printer of the result."""

    name: str
    config: str
    run: str
    help: str
    epilog: str
    report: str | None = None
    show: str | None = None


def quiet_libraries() -> None:
    """Keep transformers' load reports and hub progress bars out of the user's terminal.

    Environment variables only, read when those libraries are imported — importing them here
    would make ``--help`` slow. Tokenizer parallelism is left on (the tokenizers library's
    default): batched tokenization then uses every core, and rewardkit never forks after
    tokenizing."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def quiet_deepspeed() -> None:
    """DeepSpeed, when installed, is imported by every ``save_pretrained`` (transformers asks
    accelerate whether the model is a DeepSpeed engine) and, on a machine without a GPU,
    warns on stdout while it detects its device — a line in the middle of rewardkit's output.
    Where torch sees no GPU, the device it would detect is named for it
    (``DS_ACCELERATOR=cpu``), which skips the detection and its warning; never where a GPU
    is visible, nor over the user's own setting. Costs torch's import only where DeepSpeed
    is installed (the commands import it anyway)."""
    if "DS_ACCELERATOR" in os.environ or importlib.util.find_spec("deepspeed") is None:
        return
    import torch

    if not torch.cuda.is_available():
        os.environ["DS_ACCELERATOR"] = "cpu"


def leave_process_group() -> None:
    """Under a launcher, leave the process group before the interpreter exits, as PyTorch
    asks: left to the exit, gloo's threads were once torn down mid-flight (``terminate called
    without an active exception``, SIGABRT in one of two ``score`` processes after the file
    was written)."""
    torch = sys.modules.get("torch")
    if (
        torch is not None
        and torch.distributed.is_available()
        and torch.distributed.is_initialized()
    ):
        torch.distributed.destroy_process_group()


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
    """The command's own options first (``--model``, ``--data``, …), then the shared blocks
    of :mod:`rewardkit.options` it inherits (how a model is loaded, batching)."""
    shared = {
        f.name
        for base in cls.__mro__
        if base.__module__ == "rewardkit.options" and dataclasses.is_dataclass(base)
        for f in dataclasses.fields(base)
    }
    fields = dataclasses.fields(cls)
    return [f for f in fields if f.name not in shared] + [f for f in fields if f.name in shared]


def config_command(app: typer.Typer, command: Command) -> None:
    """Register ``command`` with one ``--flag`` per field of its config (the field's help is
    the flag's help), plus ``--config FILE``; flags override the YAML file, which overrides
    defaults. Fields marked ``positional`` are arguments instead of flags
    (``rewardkit serve MODEL``, ``rewardkit compare REPORT…``)."""
    cls = resolve(command.config)
    arguments, params = (
        [],
        [
            inspect.Parameter(
                "config",
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(
                    None, "--config", help="YAML file of options; flags override it."
                ),
                annotation=Optional[str],
            )
        ],
    )
    for field in _own_fields_first(cls):
        parameter = _parameter(field, typing.get_type_hints(cls)[field.name])
        (arguments if field.metadata.get("positional") else params).append(parameter)

    @user_errors
    def run(**kwargs):
        config = build_config(cls, kwargs.pop("config"), kwargs)
        quiet_deepspeed()
        function = resolve(command.run)
        try:
            result = function(config)
        finally:
            leave_process_group()
        if os.environ.get("RANK", "0") != "0":  # under a launcher the main process reports
            return
        if command.show:
            resolve(command.show)(result)
        elif command.report:
            from rewardkit.progress import console

            console.print(command.report.format(**result), highlight=False)

    run.__signature__ = inspect.Signature(arguments + params)
    run.__name__ = command.name.replace("-", "_")
    app.command(command.name, help=command.help, epilog=command.epilog)(run)


def _parameter(field: dataclasses.Field, hint: Any) -> inspect.Parameter:
    """The typer parameter of one config field."""
    base = strip_optional(hint)
    annotation = Optional[base] if base in (int, float, str, bool) else Optional[str]
    if typing.get_origin(base) is list:  # a repeatable flag, or several arguments
        annotation = Optional[list[str]]
    help_text = field.metadata.get("help", "")
    if field.metadata.get("choices"):
        help_text += f" [{'|'.join(field.metadata['choices'])}]"
    default = field.default if field.default is not dataclasses.MISSING else None
    if not field.metadata.get("required") and default not in (None, ""):
        help_text += f" (default: {default})"
    if field.metadata.get("positional"):
        return inspect.Parameter(
            field.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=typer.Argument(
                None, help=help_text, show_default=False, metavar=field.name.upper()
            ),
            annotation=annotation,
        )
    decls = [flag_name(field.name)]
    if base is bool:
        decls = [f"{flag_name(field.name)}/--no-{field.name.replace('_', '-')}"]
    return inspect.Parameter(
        field.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, *decls, help=help_text, show_default=False),
        annotation=annotation,
    )
