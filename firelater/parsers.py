"""The API's JSON parser: camelCase keys in, and bodies that JSON allows but nothing
downstream can handle refused with a 400 before they reach a serializer."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError

# Far deeper than any body the API takes (its deepest is 1), far shallower than Python's
# recursion limit: json.loads recursed out at about 100,000 levels and the camelCase
# conversion at about 900 (a 1.8 KB body), both as a 500.
MAX_JSON_DEPTH = 64

# A JSON string, closing quote optional: every match succeeds, so the scan never backtracks
# and stays linear even on an unterminated string or a run of escaped quotes.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# The only way to get a surrogate into a str from a strictly decoded UTF-8 body.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text: one linear pass, at C speed."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: skip the scan for every ordinary body
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _refuse_constant(name: str) -> None:
    raise ParseError(f"JSON parse error - {name} is not a JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses as infinity
        raise ParseError(f"JSON parse error - the number {text} is out of range.")
    return number


def parse_json(text: str) -> Any:
    """Strict JSON: bounded depth, finite numbers, strings that are valid Unicode."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    # "\ud800" is valid JSON syntax but no character: it cannot be stored or even written
    # back out as UTF-8 (echoed in an error message, it crashed the renderer).
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        raise ParseError("JSON parse error - a string is not valid Unicode (a lone surrogate).")
    return data


class JSONParser(CamelCaseJSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from None
        return underscoreize(parse_json(text), **self.json_underscoreize)
