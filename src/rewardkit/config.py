"""Dataclass configs: one source of truth for options, defaults and help text.

Each option is a dataclass field whose ``metadata["help"]`` is also its CLI help (TRL style).
Options come from a YAML file (``--config FILE``) and flags override it. A command whose config
has ``presets`` also takes ``--preset NAME``: a named set of options beneath both
(defaults ← preset ← YAML ← flags).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml

from rewardkit.errors import UserError

T = TypeVar("T")


def option(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    required: bool = False,
    positional: bool = False,
    **kwargs,
) -> Any:
    """A dataclass field with CLI help, optional ``choices``, and ``required`` (an empty value
    is refused with one line naming the flag). ``positional`` makes it a command-line argument
    (``rewardkit serve MODEL``) instead of a ``--flag``; a list default takes several."""
    metadata: dict[str, Any] = {"help": help}
    if choices:
        metadata["choices"] = choices
    if required:
        metadata["required"] = True
    if positional:
        metadata["positional"] = True
    if isinstance(default, (list, dict)):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata=metadata, **kwargs
        )
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named set of option values (``--preset NAME``) and what was measured to choose them
    (``description``: the figures and the BENCHMARKS.md section)."""

    options: dict[str, Any]
    description: str


@dataclasses.dataclass
class Options:
    """Base of every command's config: ``__post_init__`` checks required options and choices,
    so a config built in Python is checked exactly like one built from the command line.
    Subclasses name their command in ``command`` and call ``super().__post_init__()`` first;
    one with ``presets`` has a ``preset`` field, whose options :func:`build_config` applies
    (the dataclass alone only checks the name: it cannot tell a default from a choice)."""

    command: ClassVar[str] = ""
    presets: ClassVar[dict[str, Preset]] = {}  # --preset NAME → options (see apply_preset)

    def __post_init__(self):
        check_required(self)
        check_choices(self)
        preset_named(type(self), getattr(self, "preset", None))


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UserError(
            f"broken YAML ({getattr(exc, 'problem', exc)}); fix the file", where=where
        ) from None
    if not isinstance(data, dict):
        raise UserError("a config file must be a mapping of option: value", where=str(path))
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(
    cls: type[T], config_file: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> T:
    """``cls`` from defaults ← the preset named by ``preset`` (if any) ← YAML file ← overrides
    (``None`` values are ignored)."""
    values: dict[str, Any] = read_yaml(config_file) if config_file else {}
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(
            f"unknown option(s) {', '.join(unknown)}; see --help for the options",
            where=str(config_file),
        )
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    values = apply_preset(cls, values)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in values:
            values[f.name] = _coerce(values[f.name], hints[f.name], f.name)
    config = cls(**values)
    check_choices(config)
    return config


def apply_preset(cls, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (the user's own options: YAML and flags) over the options of the preset
    that ``values["preset"]`` names, from ``cls.presets``; an unknown name is one line that
    lists the known ones."""
    preset = preset_named(cls, values.get("preset"))
    return values if preset is None else {**preset.options, **values}


def preset_named(cls, name: str | None) -> Preset | None:
    """``cls.presets[name]`` (None for no name); an unknown name is one line that lists the
    known ones."""
    if not name:
        return None
    presets = getattr(cls, "presets", {})
    if name not in presets:
        known = ", ".join(presets) or "none"
        command = getattr(cls, "command", "") or "COMMAND"
        raise UserError(
            f"--preset {name!r} is not a preset; the presets are: {known} "
            f"(see rewardkit {command} --help)"
        )
    return presets[name]


def option_flags(options: dict[str, Any]) -> list[str]:
    """The command-line flags that set ``options``: ``{"epochs": 2, "proxy_eval": False}`` →
    ``["--epochs", "2", "--no-proxy-eval"]`` (a preset's options as a user would type them)."""
    flags: list[str] = []
    for name, value in options.items():
        if isinstance(value, bool):
            flags.append(flag_name(name) if value else "--no-" + flag_name(name)[2:])
        else:
            flags += [flag_name(name), str(value)]
    return flags


def check_required(config) -> None:
    """One line naming the first required option left empty."""
    command = getattr(config, "command", "") or "COMMAND"
    for f in dataclasses.fields(config):
        if f.metadata.get("required") and getattr(config, f.name) in (None, "", []):
            name = f.name.upper() if f.metadata.get("positional") else flag_name(f.name)
            raise UserError(f"{name} is required (see rewardkit {command} --help)")


def check_choices(config) -> None:
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if value is None and f.default is None:  # an optional override left unset
            continue
        if choices and value not in choices:
            raise UserError(f"{flag_name(f.name)} {value!r} is not one of {', '.join(choices)}")


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """YAML gives ints for floats and strings for paths; make them the declared type."""
    if value is None:
        return None
    base = strip_optional(hint)
    try:
        if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if base is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if base is str:
            return str(value)
        if base is bool and isinstance(value, bool):
            return value
        if base in (int, float):
            return base(value)
        if base is bool:
            if str(value).lower() in ("true", "yes", "1"):
                return True
            if str(value).lower() in ("false", "no", "0"):
                return False
            raise ValueError(value)
    except (TypeError, ValueError):
        raise UserError(
            f"{flag_name(name)} expects {getattr(base, '__name__', base)}, got {value!r}"
        ) from None
    return value


def strip_optional(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if (
        typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None))
        and len(args) == 1
    ):
        return args[0]
    return hint


def config_help(cls) -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
