"""Structured logs, with a redaction filter as a second line of defence for credentials.

The operator never formats key material into log messages; the filter additionally masks any
credential the operator handled in this process, should one reach a log record anyway.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict

__all__ = ["JsonFormatter", "QuietTimersFilter", "RedactionFilter", "configure_logging", "remember_secret"]

_MAX_REMEMBERED = 4096
_secrets: OrderedDict[str, None] = OrderedDict()
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
# kopf's per-object logger attaches its whole OperatorSettings (about 1.8 KB once formatted) and a
# posting flag to every record; neither belongs in a log line. `k8s_ref` (the object) is kept.
_KOPF_INTERNAL = {"settings", "k8s_skip"}


def remember_secret(value: str) -> None:
    """Register a credential so that log output masks it."""
    if len(value) < 8:
        return
    _secrets[value] = None
    _secrets.move_to_end(value)
    while len(_secrets) > _MAX_REMEMBERED:
        _secrets.popitem(last=False)


def _mask(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return text


class RedactionFilter(logging.Filter):
    """Masks remembered credentials in messages and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = _mask(record.getMessage())
            record.args = ()
            for key, value in list(vars(record).items()):
                if key not in _RESERVED and isinstance(value, str):
                    setattr(record, key, _mask(value))
        return True


# Handlers that run on every watch event of a kind (feeding the operator's in-memory view).
_WATCH_FEEDS = ("namespace_seen", "app_seen", "catalogue_seen", "product_seen", "plan_seen")


class QuietTimersFilter(logging.Filter):
    """Drops kopf's per-tick "Timer '...' succeeded." lines and the per-event success lines of the
    watch feeds: they would drown everything else (and name every namespace of the cluster);
    failures and the services' own messages still come through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (
            record.name == "kopf.objects"
            and record.levelno == logging.INFO
            and message.endswith("succeeded.")
            and (message.startswith("Timer ") or any(f"'{feed}'" in message for feed in _WATCH_FEEDS))
        )


def _plain(value: object) -> object:
    """A JSON-ready value: scalars as they are, flat mappings (e.g. kopf's `k8s_ref`) as objects."""
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, dict) and all(
        isinstance(v, str | int | float | bool | type(None)) for v in value.values()
    ):
        return {str(k): v for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in _KOPF_INTERNAL and not key.startswith("_"):
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exception"] = _mask(self.formatException(record.exc_info))
        return json.dumps(entry)


def configure_logging(log_format: str = "json", verbose: bool = False) -> None:
    """Install the handler, formatter and redaction filter on the root logger."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactionFilter())
    handler.addFilter(QuietTimersFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request at INFO; the Tyk adapter logs its own calls (without ids) at DEBUG.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # kopf's health endpoint logs every probe through aiohttp's access log.
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if verbose else logging.WARNING)
