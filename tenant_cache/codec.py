"""Value encoding: JSON bytes (orjson), zlib-compressed above a threshold.

Values are stored as the JSON the API sends, so a hit can be returned as the response
body unchanged. Datetimes keep microseconds and offset, Decimals their exact digits (as
strings), UUIDs their canonical form; a miss returns the same decoded value a hit would.
"""

from __future__ import annotations

import decimal
import zlib
from typing import Any

import orjson

RAW = b"j"
ZLIB = b"z"
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"Cannot cache a {type(obj).__name__}")


def to_json(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def pack(body: bytes, compress_min: int, level: int = 6) -> bytes:
    """A stored value: one flag byte, then the JSON (compressed when over compress_min)."""
    if compress_min and len(body) > compress_min:
        return ZLIB + zlib.compress(body, level)
    return RAW + body


def unpack(stored: bytes) -> bytes:
    """The JSON body of a stored value."""
    flag, payload = stored[:1], stored[1:]
    if flag == ZLIB:
        return zlib.decompress(payload)
    if flag == RAW:
        return payload
    raise ValueError("Unknown cache value format")


def from_json(body: bytes) -> Any:
    return orjson.loads(body)
