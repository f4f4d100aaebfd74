"""The same records written as every file kind the readers take, adversarial values included.

:class:`RawJSON` stands for a value ``json.dumps`` cannot write — a 5,001-digit integer,
nesting 200,000 levels deep, a bare ``NaN`` — and is spliced into the JSON text as it is
(into a CSV cell as its text). Parquet has no JSON text: there it is stored as its text, and a
column whose values pyarrow cannot hold together (mixed types, a lone surrogate) is stored as
JSON text, as a real tool would have to. Text is written as UTF-8 with lone surrogates as
``\\udXXX`` escapes, the only way they exist in a file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".parquet")


@dataclass(frozen=True)
class RawJSON:
    """JSON text to write in place of a value."""

    text: str


def huge_integer(digits: int, sign: str = "") -> RawJSON:
    return RawJSON(sign + "9" * digits)


def deep_list(depth: int) -> RawJSON:
    return RawJSON("[" * depth + "]" * depth)


def gzip_with_a_broken_stream(path: str | Path, n_records: int = 3000) -> str:
    """Write ``n_records`` explicit records to ``path`` (``.jsonl.gz`` or ``.json.gz``) and
    invert one compressed byte past the middle: the first byte whose flip makes reading raise
    ``zlib.error`` (an invalid deflate block), as in issue 18's reproducer. The answers are hex
    digests, so that the stream has many blocks and breaks off midway."""
    rows = [
        {
            "prompt": "hello",
            "chosen": f"good {hashlib.sha256(str(i).encode()).hexdigest()[:20]}",
            "rejected": "bad answer",
        }
        for i in range(n_records)
    ]
    write_records(path, rows)
    data = Path(path).read_bytes()
    for position in range(len(data) // 2, len(data) - 8):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        try:
            with gzip.open(io.BytesIO(bytes(damaged))) as stream:
                for _ in stream:
                    pass
        except zlib.error:
            Path(path).write_bytes(bytes(damaged))
            return str(path)
        except (OSError, EOFError):  # a CRC or length mismatch, a cut stream: not this case
            continue
    raise AssertionError("no byte flip breaks the deflate stream")


def write_records(path: str | Path, records: list[Any]) -> str:
    """Write ``records`` (dicts; for JSON kinds also any JSON value) as the kind ``path``'s
    name ends with, and return the path as a string."""
    path = Path(path)
    kind = next(k for k in sorted(KINDS, key=len, reverse=True) if path.name.endswith(k))
    path.write_bytes(file_bytes(records, kind))
    return str(path)


def file_bytes(records: list[Any], kind: str) -> bytes:
    """The bytes of a ``kind`` file holding ``records``."""
    if kind == ".parquet":
        return _parquet_bytes(records)
    if kind == ".csv":
        text = _csv_text(records)
    elif kind.startswith(".jsonl"):
        text = "".join(json_text(record) + "\n" for record in records)
    else:
        text = "[\n" + ",\n".join(json_text(record) for record in records) + "\n]\n"
    data = text.encode("utf-8", "backslashreplace")
    return gzip.compress(data, mtime=0) if kind.endswith(".gz") else data


def json_text(value: Any) -> str:
    """``json.dumps(value)`` with each :class:`RawJSON` spliced in as its text."""
    raws: list[str] = []

    def placeholders(v: Any) -> Any:
        if isinstance(v, RawJSON):
            raws.append(v.text)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(v, dict):
            return {k: placeholders(x) for k, x in v.items()}
        if isinstance(v, list):
            return [placeholders(x) for x in v]
        return v

    text = json.dumps(placeholders(value))
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw, 1)
    return text


def _csv_text(records: list[Any]) -> str:
    rows = [r for r in records if isinstance(r, dict)]
    header = list(dict.fromkeys(key for row in rows for key in row)) or ["prompt"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(row.get(key)) for key in header])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, RawJSON):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_text(value)


def _parquet_bytes(records: list[Any]) -> bytes:
    import pyarrow
    import pyarrow.parquet

    rows = [_as_text_values(r, raw_only=True) for r in records if isinstance(r, dict)]
    columns = dict.fromkeys(key for row in rows for key in row)  # from_pylist reads row 1's
    rows = [{key: row.get(key) for key in columns} for row in rows]
    out = io.BytesIO()
    try:
        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), out)
    except (pyarrow.ArrowException, TypeError, ValueError, OverflowError, UnicodeError):
        out = io.BytesIO()  # mixed or unstorable values: every non-text value as JSON text
        rows = [_as_text_values(r, raw_only=False) for r in rows]
        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), out)
    return out.getvalue()


def _as_text_values(row: dict[str, Any], *, raw_only: bool) -> dict[str, Any]:
    """RawJSON values as their text; with ``raw_only=False`` also every value that is not a
    valid string as JSON text (lone surrogates escaped)."""
    out = {}
    for key, value in row.items():
        key = key.encode("utf-8", "backslashreplace").decode("utf-8")
        if isinstance(value, RawJSON):
            value = value.text
        elif not raw_only and value is not None:
            text = value if isinstance(value, str) else json_text(value)
            value = text.encode("utf-8", "backslashreplace").decode("utf-8")
        out[key] = value
    return out
