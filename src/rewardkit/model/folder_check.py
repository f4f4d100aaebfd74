"""A model folder is checked before ``transformers`` opens it; each problem is one line that
names the file and what to do.

Handed a half-written or tampered folder, ``transformers`` either fails with a traceback (a
broken JSON file, a truncated weights file, custom code it will not run) or, worse, loads
something that scores garbage: without tokenizer files it builds a 5-token tokenizer that
turns every word into ``[UNK]``. :func:`check_model_folder` runs before every load (each
folder :func:`rewardkit.model.loading.load_reward_model` opens, and ``train --backbone``):

======================  =====================================================================
file                    checked
======================  =====================================================================
``config.json``         present; a JSON object; ``model_type`` a name this ``transformers``
                        knows, unless the folder brings its own code (``auto_map``), which
                        runs only with ``--trust-remote-code``; sizes are positive integers
weights                 ``model.safetensors`` (or the shards of its index); pickled weights
                        (``pytorch_model.bin``, ``*.pt``) are refused, never unpickled
``*.safetensors``       complete: the header parses and its last tensor ends where the file
                        does (a truncated or empty file is named with its size)
tokenizer               a vocabulary file (``tokenizer.json``, ``vocab.txt``, …); its JSON
                        files parse; a custom tokenizer class needs ``--trust-remote-code``
``rewardkit.json``      a JSON object whose fields have the types rewardkit writes
``ensemble.json``       (members folders) a JSON object listing member folders that exist
======================  =====================================================================
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from rewardkit.errors import UserError
from rewardkit.model.sidecar import FORMAT_VERSION, SIDECAR_NAME

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
TOKENIZER_VOCABULARIES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)
TOKENIZER_FILES = TOKENIZER_VOCABULARIES + (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "merges.txt",
    "chat_template.jinja",
)
JSON_FILES = (
    "tokenizer_config.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
)
# What one save of a model writes (``metrics.json``: its training run's final metrics); a new
# save replaces these and keeps anything else in the folder (logs, checkpoints/, reports).
MODEL_FILES = frozenset(
    {
        CONFIG,
        "generation_config.json",
        SIDECAR_NAME,
        "metrics.json",
        "README.md",  # the model card (rewardkit.model.model_card)
        "adapter_config.json",  # a LoRA adapter folder (rewardkit.model.adapter_folder)
        *TOKENIZER_FILES,
    }
)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
SIZE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "max_position_embeddings")
HEADER_LIMIT = 100_000_000  # bytes: the safetensors format's own limit on its header
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
REMEDY = {
    "model": "restore the folder from a complete copy, or train it again",
    "backbone": "download or copy the backbone folder again",
}
TRUST_HINT = (
    "rewardkit runs no code from model folders unless you pass --trust-remote-code "
    "(only for folders whose Python files you have read)"
)


def check_model_folder(
    directory: str | Path, *, role: str = "model", trust_remote_code: bool = False
) -> dict[str, Any]:
    """Check ``directory`` (``role``: a saved ``"model"`` or a ``"backbone"``, which only
    changes the advice); return its parsed ``config.json``. Raises :class:`UserError`."""
    directory = Path(directory)
    remedy = REMEDY[role]
    if not directory.is_dir():
        what = "not a folder" if directory.exists() else "no such folder"
        wanted = {
            "model": "a model folder (the --out of `rewardkit train`)",
            "backbone": "a local Hugging Face model folder",
        }[role]
        raise UserError(f"{what}; pass {wanted}", where=str(directory))
    if not (directory / CONFIG).is_file():
        raise UserError(
            f"not a model directory (no {CONFIG}); pass the --out folder of a finished "
            "`rewardkit train` (one stopped before its final save holds only its logs: "
            "--resume it or train again) or a Hugging Face model folder",
            where=str(directory),
        )
    config = read_json_object(directory / CONFIG, remedy)
    check_config(directory / CONFIG, config, trust_remote_code, remedy)
    check_weights(directory, remedy)
    check_tokenizer_files(directory, trust_remote_code, remedy)
    if (directory / SIDECAR_NAME).exists():
        check_sidecar(directory / SIDECAR_NAME, read_json_object(directory / SIDECAR_NAME, remedy))
    return config


def is_model_file(name: str) -> bool:
    """Whether ``name``, in a model folder, belongs to the saved model (weights, config,
    tokenizer, sidecar, metrics) rather than to what lives beside it."""
    return name in MODEL_FILES or name.endswith((".safetensors", ".safetensors.index.json"))


# ---------------------------------------------------------------------------- JSON files
def read_json_object(path: Path, remedy: str) -> dict[str, Any]:
    """``path`` parsed as a JSON object, or one line saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"not UTF-8 text, so not JSON; {remedy}", where=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot be read ({exc.strerror}); {remedy}", where=str(path)) from None
    if not text.strip():
        raise UserError(f"empty (a write that was stopped?); {remedy}", where=str(path))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"broken JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); {remedy}",
            where=str(path),
        ) from None
    if not isinstance(value, dict):
        raise UserError(
            f"expected a JSON object, found {type(value).__name__}; {remedy}", where=str(path)
        )
    return value


def check_config(path: Path, config: dict, trust_remote_code: bool, remedy: str) -> None:
    """Sizes are positive integers; the model type is one ``transformers`` has code for,
    unless the folder brings its own (``auto_map``) and the user trusts it."""
    for key in SIZE_KEYS:
        value = config.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise UserError(
                f'"{key}" is {value!r}, not a positive integer; {remedy}', where=str(path)
            )
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise UserError(f'no "model_type" naming the architecture; {remedy}', where=str(path))
    if trust_remote_code or _known_model_type(model_type):
        return
    if config.get("auto_map"):
        raise UserError(
            f"model type {model_type!r} comes with its own Python code (auto_map); " + TRUST_HINT,
            where=str(path),
        )
    import transformers

    raise UserError(
        f"model type {model_type!r} is unknown to transformers {transformers.__version__}; "
        "upgrade transformers, or check the folder",
        where=str(path),
    )


def _known_model_type(model_type: str) -> bool:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return model_type in CONFIG_MAPPING_NAMES


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- weights
def check_weights(directory: Path, remedy: str) -> None:
    """safetensors weights (one file or the shards of an index), each complete; every other
    ``*.safetensors`` beside them (ensemble heads, feature statistics) complete too."""
    index = directory / WEIGHTS_INDEX
    if (directory / WEIGHTS).is_file():
        shards = [WEIGHTS]
    elif index.is_file():
        weight_map = read_json_object(index, remedy).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise UserError(f'no "weight_map" of tensors to files; {remedy}', where=str(index))
        shards = sorted(set(map(str, weight_map.values())))
        for shard in shards:
            if not (directory / shard).is_file():
                raise UserError(f"lists {shard}, which is missing; {remedy}", where=str(index))
    else:
        _no_safetensors(directory, remedy)
    for path in sorted({*(directory / s for s in shards), *directory.glob("*.safetensors")}):
        check_safetensors(path, remedy)


def _no_safetensors(directory: Path, remedy: str) -> None:
    pickled = sorted(p.name for p in directory.iterdir() if p.name.endswith(PICKLE_SUFFIXES))
    if pickled:
        raise UserError(
            "pickled PyTorch weights, which rewardkit never loads (unpickling can run code "
            "hidden in the file); convert them to model.safetensors where you trust the file "
            "(transformers' save_pretrained writes safetensors), or pass a folder that has it",
            where=str(directory / pickled[0]),
        )
    raise UserError(
        f"no weights ({WEIGHTS}): the folder is incomplete (a save that was stopped?); {remedy}",
        where=str(directory),
    )


def check_safetensors(path: Path, remedy: str) -> None:
    """The header parses and the file ends where its last tensor does (the safetensors
    layout: 8-byte little-endian header length, JSON header, then the tensors' bytes at the
    header's ``data_offsets``)."""
    size = path.stat().st_size
    if size < 8:
        raise UserError(
            f"{'empty' if size == 0 else 'truncated'} ({size} bytes); {remedy}", where=str(path)
        )
    with open(path, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        if header_length > min(size - 8, HEADER_LIMIT):
            raise UserError(
                f"truncated or not safetensors ({size} bytes, header claims {header_length}); "
                + remedy,
                where=str(path),
            )
        raw = handle.read(header_length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise UserError(
            f"not a safetensors file (its header is not JSON); {remedy}", where=str(path)
        )
    end = 0
    for name, entry in header.items():
        if name != "__metadata__":
            end = max(end, _tensor_end(path, name, entry, remedy))
    expected = 8 + header_length + end
    if size != expected:
        state = "truncated" if size < expected else "longer than its tensors"
        raise UserError(f"{state}: {size} bytes of {expected}; {remedy}", where=str(path))


def _tensor_end(path: Path, name: str, entry: Any, remedy: str) -> int:
    """Where tensor ``name``'s bytes end, after checking its entry hangs together."""
    try:
        begin, end = entry["data_offsets"]
        shape, dtype = list(entry["shape"]), entry["dtype"]
        ok = all(_is_int(v) and v >= 0 for v in (begin, end, *shape)) and begin <= end
    except (TypeError, KeyError, ValueError):
        ok = False
    if ok and dtype in DTYPE_BYTES:
        ok = end - begin == math.prod(shape) * DTYPE_BYTES[dtype]
    if not ok:
        raise UserError(f"tensor {name!r} has a broken header entry; {remedy}", where=str(path))
    return end


# ---------------------------------------------------------------------------- tokenizer
def check_tokenizer_files(directory: Path, trust_remote_code: bool, remedy: str) -> None:
    """A vocabulary file is there, the tokenizer's JSON files parse, and a tokenizer class of
    the folder's own runs only when trusted."""
    if not any((directory / name).is_file() for name in TOKENIZER_VOCABULARIES):
        raise UserError(
            f"no tokenizer files ({', '.join(TOKENIZER_VOCABULARIES[:3])}, …): the folder is "
            f"incomplete (a save that was stopped?); {remedy}",
            where=str(directory),
        )
    parsed = {
        name: read_json_object(directory / name, remedy)
        for name in JSON_FILES
        if (directory / name).exists()
    }
    settings = parsed.get("tokenizer_config.json", {})
    if settings.get("auto_map") and not trust_remote_code:
        from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

        name = settings.get("tokenizer_class")
        if not isinstance(name, str) or tokenizer_class_from_name(name) is None:
            raise UserError(
                f"tokenizer class {name!r} comes with its own Python code (auto_map); "
                + TRUST_HINT,
                where=str(directory / "tokenizer_config.json"),
            )


def check_tokenizer_fits(directory: Path, tokenizer, model) -> None:
    """Every token id the tokenizer can produce has an embedding row."""
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise UserError(
            f"the tokenizer has {len(tokenizer)} tokens but the weights embed only {rows}: "
            f"these tokenizer files do not belong to this model; {REMEDY['model']}",
            where=str(directory),
        )


# ---------------------------------------------------------------------------- rewardkit.json
SIDECAR_TYPES: dict[str, tuple[type, ...]] = {
    "backbone": (str,),
    "template": (dict,),
    "max_length": (int,),
    "scoring": (dict,),
    "precision": (str,),
    "normalization": (dict,),
    "temperature": (int, float, type(None)),
    "calibration_exponent": (int, float, type(None)),
    "data": (dict,),
    "metrics": (dict,),
    "ensemble": (dict, type(None)),
    "format_version": (int,),
    "rewardkit_version": (str,),
}
REQUIRED_SIDECAR = ("template", "max_length", "scoring")
TEMPLATE_TYPES = {
    "chat_template": str,
    "chat_template_source": str,
    "text_joiner": str,
    "add_special_tokens_chat": bool,
    "append_eos": bool,
}


def check_sidecar(path: Path, info: dict[str, Any]) -> None:
    """``rewardkit.json`` has the fields rewardkit needs, each of the type it writes."""
    problem = _sidecar_problem(info)
    if problem:
        raise UserError(
            f"{problem}; fix the file (or delete it to load the folder as a plain Hugging Face "
            "model), or restore it from a complete copy",
            where=str(path),
        )


def _sidecar_problem(info: dict[str, Any]) -> str | None:
    missing = [key for key in REQUIRED_SIDECAR if key not in info]
    if missing:
        return f'no "{missing[0]}"'
    for key, types in SIDECAR_TYPES.items():
        if key in info and (not isinstance(info[key], types) or isinstance(info[key], bool)):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            return f'"{key}" is {info[key]!r}, not {wanted}'
    if info.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        return f"format {info['format_version']} is newer than this rewardkit's; upgrade rewardkit"
    if info["max_length"] < 1:
        return f'"max_length" is {info["max_length"]}, not a positive integer'
    if info.get("precision", "fp32") not in ("fp32", "bf16"):
        return f'"precision" is {info["precision"]!r}, not "fp32" or "bf16"'
    problem = calibration_exponent_problem(info.get("calibration_exponent"))
    if problem:
        return problem
    scoring = info["scoring"]
    if scoring.get("rule") not in ("first-token", "last-token"):
        return f'"scoring.rule" is {scoring.get("rule")!r}, not "first-token" or "last-token"'
    if not _is_int(scoring.get("pad_token_id")):
        return f'"scoring.pad_token_id" is {scoring.get("pad_token_id")!r}, not an integer'
    for key, kind in TEMPLATE_TYPES.items():
        if key in info["template"] and not isinstance(info["template"][key], kind):
            return f'"template.{key}" is {info["template"][key]!r}, not {kind.__name__}'
    return _normalization_problem(info.get("normalization", {}))


def calibration_exponent_problem(exponent: Any) -> str | None:
    """γ of P = σ(sign(Δ)·|Δ/T|^γ) must be a positive number, or null (1)."""
    if exponent is None:
        return None
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        if math.isfinite(exponent) and exponent > 0:
            return None
    return f'"calibration_exponent" is {exponent!r}, not a positive number (or null: 1)'


def _normalization_problem(norm: dict[str, Any]) -> str | None:
    unknown = sorted(set(norm) - {"mean", "std", "measured_on"})
    if unknown:
        return f'"normalization" has an unknown field "{unknown[0]}"'
    for key in ("mean", "std"):
        value = norm.get(key, 0.0)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            return f'"normalization.{key}" is {value!r}, not a finite number'
    return None


# ---------------------------------------------------------------------------- members
def check_members_manifest(directory: Path, manifest_name: str) -> list[str]:
    """A members folder's manifest lists member folders that exist; returns their names."""
    path = directory / manifest_name
    manifest = read_json_object(path, REMEDY["model"])
    members = manifest.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise UserError(
            f'"members" must list the member folders; {REMEDY["model"]}', where=str(path)
        )
    for name in members:
        if not (directory / name).is_dir():
            raise UserError(f"lists {name}, which is missing; {REMEDY['model']}", where=str(path))
    problem = calibration_exponent_problem(manifest.get("calibration_exponent"))
    if problem:
        raise UserError(f"{problem}; {REMEDY['model']}", where=str(path))
    return members
