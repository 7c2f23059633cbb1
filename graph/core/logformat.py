"""Log lines as a person reads them, or as a log shipper takes them: text with ISO 8601 times (UTC, milliseconds)
and the node's name once, or one JSON object per line (`dreamgraph launch --log-format json`)."""

from __future__ import annotations

import json
import logging
import os
import time

LOG_FORMAT_ENV = "DREAMGRAPH_LOG_FORMAT"  # text | json, for the launcher and every node it starts
STAMPED_ENV = "DREAMGRAPH_LOG_STAMPED"  # set by the launcher, which stamps each line it passes on


def json_lines() -> bool:
    return os.environ.get(LOG_FORMAT_ENV, "text") == "json"


def timestamp(at: float | None = None) -> str:
    at = time.time() if at is None else at
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"


class LineFormatter(logging.Formatter):
    """A node's log records as text (stamped unless the launcher stamps them) or as JSON objects."""

    def __init__(self):
        super().__init__()
        self.json = json_lines()
        self.stamp = not os.environ.get(STAMPED_ENV)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if self.json:
            return json.dumps(
                {"ts": timestamp(record.created), "level": record.levelname, "logger": record.name, "msg": message}
            )
        text = f"{record.levelname} {record.name}: {message}"
        return f"{timestamp(record.created)} {text}" if self.stamp else text


def launcher_line(node: str, line: str) -> str:
    """One line of a node's output (or of the launcher's own, node "launch") as the launcher prints it."""
    if not json_lines():
        return f"{timestamp()} [{node}] {line}"
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):  # a print, or a line from a library that bypasses logging
        record = {"ts": timestamp(), "msg": line}
    return json.dumps({"node": node, **record})
