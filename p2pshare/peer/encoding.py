"""The encodings the browser client uses, with its strictness (web/js/util.js, JSON.parse).

- base64url without padding; decoding refuses characters outside the alphabet and the one
  impossible length, and (like util.js) ignores leftover bits;
- JSON read as `JSON.parse` reads it: a number with an integral value is an integer whatever
  its spelling (`1.0`, `1e3`), so the typed decoders that follow judge what JavaScript's
  `Number.isInteger` would; `NaN`/`Infinity` are not JSON;
- JSON written as `JSON.stringify` writes it (no spaces, non-ASCII kept), for the bytes that
  are sealed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final

__all__ = ["b64url", "dumps_like_js", "loads_like_js", "unb64url"]

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*\Z")


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    """The bytes of unpadded base64url `text`. Raises ValueError when it is not base64url."""
    if len(text) % 4 == 1 or not _B64URL_RE.match(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:  # pragma: no cover - excluded by the pattern above
        raise ValueError("not base64url") from error


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_like_js(text: str | bytes) -> Any:
    """JSON as JSON.parse reads it (see the module's docstring). Raises ValueError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError, as TextDecoder's fatal
    return json.loads(text, parse_float=_number, parse_constant=_no_constant)


def dumps_like_js(value: Any) -> str:
    """JSON as JSON.stringify writes it, for plain dicts, lists, strings, ints and bools."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
