"""firelater.wsgi with an X-Worker-Pid response header, so a test can tell gunicorn's
workers apart (and know that each of them answered). Test servers only."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from firelater.wsgi import application as _project


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    def start_with_pid(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], *exc_info)

    return _project(environ, start_with_pid)
