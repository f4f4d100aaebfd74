"""Where raw records come from: local files of several kinds, or a Hugging Face dataset.

Every source yields ``(where, record)`` pairs in file order, where ``where`` names the place
for error messages and for :attr:`PreferencePair.source`, and ``record`` is a dict, or a
:class:`RecordProblem` when that one record could not even be decoded (broken JSON, ...).

=====================  =====================================  =========================
kind                   what it holds                          ``where``
=====================  =====================================  =========================
``.jsonl``             one JSON object per line               ``file:LINE`` (1-based)
``.jsonl.gz``          the same, gzip-compressed              ``file:LINE``
``.json``/``.json.gz`` a JSON list of objects, or              ``file:row N`` (1-based)
                       ``{"data": [...]}``; JSON lines also    (``file:LINE`` for lines)
                       accepted (as Hugging Face writes them)
``.csv``               header + one record per row            ``file:LINE`` of the row
``.parquet``           one record per row                     ``file:row N`` (1-based)
``hf:NAME[:split]``    ``datasets.load_dataset(NAME, split)``  ``hf:NAME:split:row N``
=====================  =====================================  =========================

Every record (a dict) passes :func:`~rewardkit.data.validation.check_values`, whatever its
kind: nesting, lone surrogates and over-long integers are bad records like any other. JSON
integers longer than Python converts (4300 digits) are read as
:class:`~rewardkit.data.validation.OversizedInteger`, and JSON nested past Python's recursion
limit is a bad record (a ``.json`` file: a bad file, as one value holds every record).

Blank lines are not records. CSV cells are text; the columns ``responses``, ``ranking`` and
``scores`` are JSON-decoded, ``margin``/``weight`` read as numbers, ``tie`` as true/false,
and ``prompt``/``chosen``/``rejected`` cells holding a JSON list of message dicts as chat
messages. Empty cells of optional columns count as absent.

A file that is missing, unreadable, or of an unknown kind is a :class:`UserError` (one line);
a compressed file that breaks off midway names the line where reading stopped.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Union

from rewardkit.data.validation import (
    OversizedInteger,
    RecordProblem,
    check_values,
    too_deep,
    type_name,
)
from rewardkit.errors import UserError

RawRecord = tuple[str, Union[dict[str, Any], RecordProblem]]

FILE_KINDS = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".parquet", "hf:NAME[:split]")

_LOCAL_FILE_HINT = "pass a local file instead (.jsonl, .jsonl.gz, .json, .csv or .parquet)"


def open_records(path: str | os.PathLike[str]) -> Iterator[RawRecord]:
    """Check that ``path`` can be read and return an iterator over its raw records."""
    name = str(path)
    if name.startswith("hf:"):
        return _checked(_hf_records(name))
    file = Path(name)
    kind = _file_kind(name)
    if not file.exists():
        raise UserError("no such file; check the path", where=name)
    if not file.is_file():
        raise UserError("is not a file; pass a data file, not a folder", where=name)
    if file.stat().st_size == 0:
        raise UserError("the file is empty; pass a file with at least one record", where=name)
    if kind in (".jsonl", ".jsonl.gz"):
        records = _jsonl_records(name, _binary_lines(name, gz=kind == ".jsonl.gz"))
    elif kind in (".json", ".json.gz"):
        records = _json_records(name, gz=kind == ".json.gz")
    elif kind == ".csv":
        records = _csv_records(name, file)
    else:
        records = _parquet_records(name, file)
    return _checked(records)


def _checked(records: Iterable[RawRecord]) -> Iterator[RawRecord]:
    """Each record, or the :class:`RecordProblem` :func:`check_values` finds in it."""
    for where, record in records:
        if isinstance(record, dict):
            try:
                check_values(record)
            except RecordProblem as problem:
                record = problem
        yield where, record


def _file_kind(name: str) -> str:
    lower = name.lower()
    for kind in sorted(FILE_KINDS[:-1], key=len, reverse=True):
        if lower.endswith(kind):
            return kind
    raise UserError(f"unknown kind of data file; use one of {', '.join(FILE_KINDS)}", where=name)


# --- JSON lines and JSON -------------------------------------------------------------------


def _binary_lines(name: str, *, gz: bool) -> Iterator[bytes]:
    """The file's lines; a stream that breaks off (corrupt or truncated gzip) is a
    :class:`UserError` naming the line where reading stopped."""
    opener = gzip.open if gz else open
    lines_read = 0
    try:
        with opener(name, "rb") as stream:
            for line in stream:
                yield line
                lines_read += 1
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        where = f"{name}:{lines_read + 1}" if lines_read else name
        stopped = f"; reading stopped after line {lines_read}" if lines_read else ""
        message = f"cannot read the file ({err}){stopped}; check that it is intact"
        raise UserError(message, where=where) from None


def _jsonl_records(name: str, lines: Iterable[bytes]) -> Iterator[RawRecord]:
    for number, raw in enumerate(lines, start=1):
        where = f"{name}:{number}"
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield where, RecordProblem("is not UTF-8 text", hint="save the file as UTF-8")
            continue
        if not text.strip():
            continue
        yield where, _decode_object(text)


def _loads(text: str) -> Any:
    """``json.loads`` that reads over-long integers as :class:`OversizedInteger` and turns
    nesting past Python's recursion limit into a :class:`RecordProblem`."""
    try:
        return _JSON.decode(text)
    except RecursionError:
        raise too_deep() from None


def _json_integer(digits: str) -> int | OversizedInteger:
    try:
        return int(digits)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        return OversizedInteger(len(digits.lstrip("-")))


_JSON = json.JSONDecoder(parse_int=_json_integer)


def _decode_object(text: str) -> dict[str, Any] | RecordProblem:
    try:
        value = _loads(text)
    except json.JSONDecodeError as err:
        return RecordProblem("broken JSON", hint=f"{err.msg} at column {err.colno}")
    except RecordProblem as problem:
        return problem
    if not isinstance(value, dict):
        return RecordProblem(f"is not a JSON object (got {type_name(value)})")
    return value


def _json_records(name: str, *, gz: bool) -> Iterator[RawRecord]:
    """A JSON list of records, ``{"data": [...]}``, or (as HF writes ``.json``) JSON lines."""
    raw = b"".join(_binary_lines(name, gz=gz))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(name, raw) from None
    lines = text.split("\n")  # not splitlines(): JSON strings may hold U+2028 and the like
    try:
        value = _loads(text)
    except json.JSONDecodeError as err:
        first_line = next((line for line in lines if line.strip()), "")
        if text.lstrip().startswith("{") and isinstance(_decode_object(first_line), dict):
            return _jsonl_records(name, (line.encode("utf-8") for line in lines))
        raise UserError(
            f"broken JSON ({err.msg} at column {err.colno}); fix the file, or use .jsonl "
            "with one record per line so that bad records can be skipped",
            where=f"{name}:{err.lineno}",
        ) from None
    except RecordProblem as problem:
        raise UserError(
            f"{problem.problem}; fix the file, or use .jsonl with one record per line so that "
            "bad records can be skipped",
            where=name,
        ) from None
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]
    elif isinstance(value, dict):
        return iter([(f"{name}:1", value)])
    if not isinstance(value, list):
        raise UserError(
            f'holds a JSON {type_name(value)}; expected a list of records or {{"data": [...]}}',
            where=name,
        )
    return _rows(name, value)


def _not_utf8(name: str, raw: bytes) -> UserError:
    """A file that is not UTF-8, named with the line of its first bad byte."""
    where = name
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        where = f"{name}:{line}"
    return UserError("is not UTF-8 text; save the file as UTF-8", where=where)


def _rows(name: str, rows: Iterable[Any]) -> Iterator[RawRecord]:
    for number, row in enumerate(rows, start=1):
        where = f"{name}:row {number}"
        if isinstance(row, dict):
            yield where, row
        else:
            yield where, RecordProblem(f"is not a JSON object (got {type_name(row)})")


# --- CSV -----------------------------------------------------------------------------------

_MESSAGE_COLUMNS = ("prompt", "chosen", "rejected")
_JSON_COLUMNS = ("responses", "ranking", "scores")
_NUMBER_COLUMNS = ("margin", "weight", "label")
_OPTIONAL_TEXT_COLUMNS = ("subset", "annotator", "id")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _csv_records(name: str, file: Path) -> Iterator[RawRecord]:
    old_limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # long transcripts exceed the 128 KiB default
    reader = None
    try:
        with open(file, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                return
            start = reader.line_num + 1
            for row in reader:
                where = f"{name}:{start}"
                start = reader.line_num + 1
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    yield (
                        where,
                        RecordProblem(
                            f"has {len(row)} cells but the header has {len(header)}",
                            hint="quote cells that contain commas or newlines",
                        ),
                    )
                    continue
                try:
                    yield where, _decode_csv_row(dict(zip(header, row)))
                except RecordProblem as problem:
                    yield where, problem
    except UnicodeDecodeError:  # its position is within a chunk: find the line in the bytes
        raise _not_utf8(name, file.read_bytes()) from None
    except csv.Error as err:
        where = f"{name}:{reader.line_num}" if reader and reader.line_num else name
        raise UserError(f"cannot parse the CSV ({err}); check its quoting", where=where) from None
    finally:
        csv.field_size_limit(old_limit)


def _decode_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """The record of one row; :class:`RecordProblem` if a JSON column's cell nests too deep."""
    out: dict[str, Any] = {}
    for column, cell in row.items():
        if column in _MESSAGE_COLUMNS and cell.lstrip().startswith("["):
            out[column] = _maybe_messages(cell)
        elif column in _JSON_COLUMNS:
            out[column] = _maybe_json(column, cell)
        elif column in _NUMBER_COLUMNS + _OPTIONAL_TEXT_COLUMNS + ("tie",) and not cell.strip():
            continue
        elif column in _NUMBER_COLUMNS:
            out[column] = _maybe_float(cell)
        elif column == "tie":
            lowered = cell.strip().lower()
            out[column] = True if lowered in _TRUE else False if lowered in _FALSE else cell
        else:
            out[column] = cell
    return out


def _maybe_messages(cell: str) -> Any:
    """Chat messages, or the cell's text when it holds none (text may start with "[")."""
    try:
        value = _loads(cell)
    except (json.JSONDecodeError, RecordProblem):  # RecordProblem: nested past the limit
        return cell
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return value
    return cell


def _maybe_json(column: str, cell: str) -> Any:
    try:
        return _loads(cell)
    except json.JSONDecodeError:
        return cell
    except RecordProblem:
        raise too_deep(column) from None


def _maybe_float(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell


# --- Parquet and Hugging Face datasets -----------------------------------------------------


def _parquet_records(name: str, file: Path) -> Iterator[RawRecord]:
    import pyarrow
    import pyarrow.parquet

    try:
        rows = pyarrow.parquet.read_table(file).to_pylist()
    except (pyarrow.ArrowException, OSError, ValueError, OverflowError) as err:
        # ValueError: text that is not UTF-8, dates out of Python's range, in a damaged file
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot read as parquet ({first_line})", where=name) from None
    return _rows(name, rows)


def _hf_records(spec: str) -> Iterator[RawRecord]:
    dataset_name, _, split = spec[len("hf:") :].partition(":")
    if not dataset_name:
        raise UserError("write a Hugging Face dataset as hf:NAME or hf:NAME:split", where=spec)
    split = split or "train"
    import datasets

    offline = _offline_requested()
    try:
        with _hub_offline_mode(offline):
            dataset = datasets.load_dataset(dataset_name, split=split)
    except Exception as err:  # any failure to load the user's dataset is a user-facing problem
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if offline or isinstance(err, ConnectionError) or "Offline" in text:
            state = (
                "offline (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set)"
                if offline
                else "the Hugging Face Hub cannot be reached (offline?)"
            )
            raise UserError(
                f"cannot load the dataset: {state} and it is not in the local cache; "
                f"{_LOCAL_FILE_HINT}",
                where=spec,
            ) from None
        message = f"cannot load the dataset ({text}); check NAME and split"
        raise UserError(message, where=spec) from None
    return _rows(f"hf:{dataset_name}:{split}", dataset)


def _offline_requested() -> bool:
    """Offline mode as the environment says now (``datasets`` reads it only at import)."""
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return True
    import datasets.config

    return bool(datasets.config.HF_HUB_OFFLINE)


@contextlib.contextmanager
def _hub_offline_mode(offline: bool) -> Iterator[None]:
    """Make ``datasets``/``huggingface_hub`` honour an offline flag set after their import,
    so that loading fails at once instead of retrying the network for half a minute."""
    if not offline:
        yield
        return
    import datasets.config
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved
