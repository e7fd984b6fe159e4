"""The service's log on stderr: one JSON object per line for every logger, uvicorn's included
(`--log-format json`, the default: what log shippers read), or one line of text for a person.

A line carries the time (UTC), the level, the logger and the message, and the fields its caller
gave as `extra` (a request's method, route, status, duration, actor, client address, request id).
A line written while a request is handled carries its request id, whichever logger wrote it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
LEVELS = ("debug", "info", "warning", "error")

# The request being handled: set by the request middleware, read by every line written meanwhile.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a caller's X-Request-Id is kept only if it is this


def configure(fmt: LogFormat = "json", level: str = "info") -> None:
    """Every logger to stderr in `fmt`, from `level` up; replaces what was there (uvicorn is
    started with log_config=None, so its loggers come here too)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_with_request_id)
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
        if fmt == "json"
        else _Text()
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def request_id(given: str | None) -> str:
    """The id of a request: the caller's X-Request-Id when it is a plain token, else a new one."""
    return given if given and _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex


def _with_request_id(record: logging.LogRecord) -> bool:
    if getattr(record, "request_id", None) is None:
        record.request_id = REQUEST_ID.get()
    record.__dict__.pop("color_message", None)  # uvicorn's message again, with terminal colours
    return True


class _Text(logging.Formatter):
    """`2026-12-05T10:00:00.123Z INFO pml_policy.service request method=POST status=200 …`"""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        fields = " ".join(
            f"{k}={v if isinstance(v, str | int | float) else json.dumps(v, default=str)}"
            for k, v in record.__dict__.items()
            if k not in RESERVED_ATTRS and v is not None
        )
        line = f"{when.replace('+00:00', 'Z')} {record.levelname} {record.name} {record.getMessage()} {fields}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.rstrip()
