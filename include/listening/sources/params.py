"""The rules a source's ``params`` in brands.yaml are checked by: a typo (``max_page``) is an error,
not a silent default.

Each connector declares its own parameters (:attr:`Connector.params_schema`, name -> rule) and the
ones it requires; the parameters every HTTP connector takes are :data:`COMMON_PARAMS`.  Rules:

``number`` >= 0, ``positive`` > 0, ``positive_int`` whole >= 1, ``count`` whole >= 0, ``bool``,
``string``, ``strings`` (a list), ``string_map`` (names to strings), ``regex``, ``timezone``,
``codec`` (an encoding), ``codec_or_auto``, ``char`` (one character), ``choice:a,b,c``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: ``fail(key, problem)`` -> the exception to raise (a ConfigError naming the file and the key)
Fail = Callable[[str, str], Exception]

COMMON_PARAMS = {
    "timeout": "positive", "retries": "count", "backoff": "number", "min_interval": "number",
    "max_bytes": "positive_int", "max_retry_after": "number",
}

_TEXTUAL = ("string", "regex", "timezone", "codec", "codec_or_auto", "char")


def check_params(schema: dict[str, str], required: tuple[str, ...], kind: str, params: dict[str, Any],
                 key: str, fail: Fail) -> None:
    """Check ``params`` (at ``key``, e.g. ``sources[2].params``) against ``schema`` + the common params."""
    allowed = {**COMMON_PARAMS, **schema}
    extra = sorted(set(params) - set(allowed))
    if extra:
        raise fail(f"{key}.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for name in required:
        if name not in params:
            raise fail(f"{key}.{name}", f"is required for kind {kind}")
    for name, v in params.items():
        check_value(allowed[name], v, f"{key}.{name}", fail)


def check_value(rule: str, v: Any, where: str, fail: Fail) -> None:
    number = isinstance(v, int | float) and not isinstance(v, bool)
    if rule == "number" and not (number and v >= 0):
        raise fail(where, f"expected a number >= 0, got {v!r}")
    if rule == "positive" and not (number and v > 0):
        raise fail(where, f"expected a number > 0, got {v!r}")
    if rule == "positive_int" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        raise fail(where, f"expected a whole number >= 1, got {v!r}")
    if rule == "count" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
        raise fail(where, f"expected a whole number >= 0, got {v!r}")
    if rule == "bool" and not isinstance(v, bool):
        raise fail(where, f"expected true or false, got {v!r}")
    textual = rule in _TEXTUAL or rule.startswith("choice:")
    if textual and (not isinstance(v, str) or not (v if rule == "char" else v.strip())):
        raise fail(where, f"expected a non-empty string, got {v!r}")
    if rule == "strings" and not (isinstance(v, list) and all(isinstance(x, str | int) and str(x).strip()
                                                              for x in v)):
        raise fail(where, f"expected a list of non-empty strings, got {v!r}")
    if rule == "string_map" and not (isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str)
                                                                  and x.strip() for k, x in v.items())):
        raise fail(where, f"expected a mapping of names to non-empty strings, got {v!r}")
    if rule == "regex":
        try:
            re.compile(v)
        except re.error as exc:
            raise fail(where, f"invalid regular expression: {exc}") from None
    if rule == "timezone":
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail(where, f"unknown time zone {v!r}") from None
    if rule in ("codec", "codec_or_auto") and not (rule == "codec_or_auto" and v == "auto"):
        try:
            codecs.lookup(v)
        except LookupError:
            raise fail(where, f"unknown encoding {v!r}") from None
    if rule == "char" and len(v) != 1:
        raise fail(where, f"expected one character, got {v!r}")
    if rule.startswith("choice:") and v not in rule[7:].split(","):
        raise fail(where, f"expected one of {rule[7:].replace(',', ', ')}, got {v!r}")
