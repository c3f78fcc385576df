"""The API's JSON renderer: camelCase keys out, and always valid UTF-8."""

from __future__ import annotations

import re
from typing import Any

from djangorestframework_camel_case.render import CamelCaseJSONRenderer

_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_surrogates(item) for item in value]
    return value


class JSONRenderer(CamelCaseJSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate ("\ud800") has no UTF-8 form. The JSON parser refuses them, so
            # this is the last line: an error message echoing one must not become a 500.
            clean = _without_surrogates(data)
            return super().render(clean, accepted_media_type, renderer_context)
