"""The encodings the browser client uses, with its strictness (web/js/util.js, JSON.parse).

- base64url without padding; decoding refuses characters outside the alphabet and the one
  impossible length, and (like util.js) ignores leftover bits;
- JSON read as `JSON.parse` reads it: a number with an integral value is an integer whatever
  its spelling (`1.0`, `1e3`), so the typed decoders that follow judge what JavaScript's
  `Number.isInteger` would; `NaN`/`Infinity` are not JSON;
- JSON written as `JSON.stringify` writes it (no spaces, non-ASCII kept), for the bytes that
  are sealed;
- string limits in JavaScript's unit, UTF-16 code units (`js_length`; an emoji is 2), checked
  by `JsLengthLimited` Structs after msgspec's own checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import msgspec

__all__ = [
    "JsLengthLimited",
    "JsonTooDeep",
    "b64url",
    "dumps_like_js",
    "js_length",
    "loads_like_js",
    "unb64url",
]

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


class JsonTooDeep(ValueError):
    """JSON that JSON.parse would read but Python's parser cannot (nested too deeply)."""


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_like_js(text: str | bytes) -> Any:
    """JSON as JSON.parse reads it (see the module's docstring). Raises ValueError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError, as TextDecoder's fatal
    try:
        return json.loads(text, parse_float=_number, parse_constant=_no_constant)
    except RecursionError:
        # JSON.parse takes any depth; Python's parser recurses. A frame this deep is refused
        # here (so `{"t":"done","x":[[[...]]]}` 100,000 deep, which wire.js accepts, is not).
        raise JsonTooDeep("JSON nested too deeply") from None


def dumps_like_js(value: Any) -> str:
    """JSON as JSON.stringify writes it, for plain dicts, lists, strings, ints and bools."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def js_length(text: str) -> int:
    """JavaScript's `.length` of `text`: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class JsLengthLimited(msgspec.Struct, frozen=True):
    """A Struct whose string fields named in `js_max_lengths` hold at most that many UTF-16
    units, as the browser's checks count (msgspec's max_length counts code points)."""

    js_max_lengths: ClassVar[Mapping[str, int]] = {}

    def __post_init__(self) -> None:
        # msgspec turns this ValueError into the decode's ValidationError.
        for name, limit in self.js_max_lengths.items():
            value = getattr(self, name)
            if isinstance(value, str) and js_length(value) > limit:
                raise ValueError(f"`{name}` is over {limit} UTF-16 units")
