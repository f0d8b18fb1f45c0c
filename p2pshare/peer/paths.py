"""File paths a sender offers: what a receiver accepts before it writes anything
(web/js/transfer/paths.js, ported rule for rule; its messages are the same words).

A path names where a file lands on the receiver's disk, so it must mean the same, harmless
thing on Windows, macOS, Linux and Android: nothing that escapes the folder, aliases a device,
opens an NTFS stream, hides in invisible characters, or collides with another file of the
offer once case and Unicode form are ignored. The sender's side (`portable_unique_paths`)
makes chosen names acceptable. Lengths that paths.js measures in UTF-16 units are measured so
here too (`js_length`), so both cut and quote the same text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final

from p2pshare.peer.encoding import js_length
from p2pshare.peer.errors import PathError

__all__ = [
    "MAX_COMPONENT_BYTES",
    "MAX_FILES",
    "MAX_PATH_BYTES",
    "check_offer_paths",
    "collision_key",
    "path_problem",
    "portable_path",
    "portable_unique_paths",
]

MAX_FILES: Final = 100_000  # files in one offer (also the wire limit of manifest.files)
MAX_COMPONENT_BYTES: Final = 255  # UTF-8 bytes of one path component
MAX_PATH_BYTES: Final = 4096  # UTF-8 bytes of a whole relative path (Linux PATH_MAX)

# Device names Windows reserves in every folder, with or without an extension (CON, nul.txt);
# re.ASCII: like a JavaScript /i regex, only ASCII letters match ASCII letters.
_WINDOWS_RESERVED: Final = re.compile(
    r"(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?\Z", re.I | re.A
)
# C0/C1 controls and DEL; bidi controls; line and paragraph separators; invisible formatting
# characters; slashes and backslashes that only look like separators (paths.js says each).
_FORBIDDEN_CLASS: Final = (
    "[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u206f\u2215\u2216\u29f8\u3164\ufeff\uff0f\uff3c\uffa0\ufff9-\ufffb]"
)
_FORBIDDEN: Final = re.compile(_FORBIDDEN_CLASS)
# ZWNJ and ZWJ are allowed between two visible characters (Persian words, emoji sequences).
_MISPLACED_JOINER: Final = re.compile(
    "(?:^|/)[\u200c\u200d]|[\u200c\u200d](?:\\Z|/)|[\u200c\u200d]{2}"
)
_TAG_CHARS: Final = re.compile("[\U000e0000-\U000e007f]")
_FLAG_SEQUENCES: Final = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
_WINDOWS_FORBIDDEN: Final = re.compile(r'[<>:"|?*\\]')
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_DRIVE_LETTER: Final = re.compile(r"[a-z]:", re.I | re.A)
_EDGE_JOINERS: Final = re.compile("^[\u200c\u200d]+|[\u200c\u200d]+\\Z")
_JOINER_RUNS: Final = re.compile("[\u200c\u200d]{2,}")


def _js_slice(text: str, start: int, end: int | None = None) -> str:
    units = text.encode("utf-16-le", "surrogatepass")
    cut = units[2 * start : None if end is None else 2 * end]
    return cut.decode("utf-16-le", "surrogatepass")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def path_problem(path: object) -> str | None:
    """Why `path` is refused, or None for a safe relative path ("folder/a.txt")."""
    if not isinstance(path, str) or path == "":
        return "an empty name"
    if _LONE_SURROGATE.search(path):
        return "a name that is not valid text"
    if _utf8_len(path) > MAX_PATH_BYTES:
        return f"a path over {MAX_PATH_BYTES} bytes"
    hidden = (
        _FORBIDDEN.search(path)
        or _MISPLACED_JOINER.search(path)
        or _TAG_CHARS.search(_FLAG_SEQUENCES.sub("", path))
    )
    if hidden:
        char = hidden.group(0).replace("/", "", 1)
        return f"an invisible, control or look-alike character (U+{ord(char[0]):04X}) in a name"
    if path.startswith("/"):
        return "an absolute path"
    if _DRIVE_LETTER.match(path):
        return "a drive letter"
    for part in path.split("/"):
        if part == "":
            return "an empty folder name"
        if part in (".", ".."):
            return f'a "{part}" component'
        forbidden = _WINDOWS_FORBIDDEN.search(part)
        if forbidden:
            return f"a character Windows does not allow ({forbidden.group(0)})"
        if part.endswith((".", " ")):
            return "a name that ends in a dot or a space"
        if _WINDOWS_RESERVED.match(part):
            return f"a device name Windows reserves ({part.split('.')[0]})"
        if _utf8_len(part) > MAX_COMPONENT_BYTES:
            return f"a name over {MAX_COMPONENT_BYTES} bytes"
    return None


def collision_key(path: str) -> str:
    """The key two paths collide under on a case-insensitive, normalising file system."""
    return unicodedata.normalize("NFC", path).lower()


def _describe(path: str) -> str:
    """A path quoted for an error message: shortened, and safe to show even when it is not."""
    shown = path
    if js_length(path) > 80:
        shown = f"{_js_slice(path, 0, 40)}…{_js_slice(path, js_length(path) - 30)}"
    quoted = json.dumps(_FORBIDDEN.sub("\ufffd", shown), ensure_ascii=False)
    # JSON.stringify escapes a lone surrogate (a cut made above can leave one); json does not.
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", quoted)


def check_offer_paths(paths: Sequence[str]) -> None:
    """Each path is safe, none collides with another, no file is also a folder of another.

    Raises PathError naming the first offending path.
    """
    if len(paths) > MAX_FILES:
        raise PathError(f"more than {MAX_FILES:,} files")
    seen: dict[str, str] = {}
    for path in paths:
        problem = path_problem(path)
        if problem:
            raise PathError(f"{_describe(path)} has {problem}")
        key = collision_key(path)
        if key in seen:
            raise PathError(f"{_describe(path)} is offered twice (as {_describe(seen[key])})")
        seen[key] = path
    for key, path in seen.items():
        parts = key.split("/")
        for n in range(1, len(parts)):
            folder = "/".join(parts[:n])
            if folder in seen:
                raise PathError(
                    f"{_describe(seen[folder])} is both a file and the folder of {_describe(path)}"
                )


def _truncate_name(name: str) -> str:
    """`name` cut to MAX_COMPONENT_BYTES of UTF-8, keeping a short extension."""
    if _utf8_len(name) <= MAX_COMPONENT_BYTES:
        return name
    dot = name.rfind(".")
    ext = name[dot:] if dot > 0 and js_length(name[dot:]) <= 16 else ""
    stem = list(name[: len(name) - len(ext)])
    while _utf8_len("".join(stem) + "…" + ext) > MAX_COMPONENT_BYTES:
        stem.pop()
    return f"{''.join(stem)}…{ext}"


def _portable_part(part: str) -> str:
    name = _WINDOWS_FORBIDDEN.sub("_", part)
    if _DRIVE_LETTER.match(name):
        name = f"_{name}"
    if name.endswith((".", " ")):
        name = f"{name}_"
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    return _truncate_name(name)


def portable_path(path: str) -> str:
    """The nearest path every receiver accepts (the sender's side: `aux.c` -> `_aux.c`)."""
    text = _FORBIDDEN.sub("", _LONE_SURROGATE.sub("", path))
    # paths.js keeps tag characters only when the whole path (so far) is then acceptable.
    if _TAG_CHARS.search(text) and path_problem(text) is not None:
        text = _TAG_CHARS.sub("", text)
    parts = [_JOINER_RUNS.sub("\u200d", _EDGE_JOINERS.sub("", p)) for p in text.split("/")]
    kept = [_portable_part(p) for p in parts if p not in ("", ".", "..")]
    joined = "/".join(kept) if kept else "file"
    return (
        _truncate_name(kept[-1] if kept else "file")
        if _utf8_len(joined) > MAX_PATH_BYTES
        else joined
    )


def _folders_of(path: str) -> Iterable[str]:
    parts = collision_key(path).split("/")
    return ("/".join(parts[:n]) for n in range(1, len(parts)))


def portable_unique_paths(paths: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """Paths for a batch of chosen files that form one acceptable offer with `taken` (those
    already offered): each made portable, then numbered ("a (2).txt") where it would collide
    with another, with a folder, or with one of `taken`. In the same order."""
    used = {collision_key(p) for p in taken}
    folders = {folder for p in taken for folder in _folders_of(p)}
    portable = [portable_path(p) for p in paths]
    folders.update(folder for p in portable for folder in _folders_of(p))

    def clashes(path: str) -> bool:
        key = collision_key(path)
        if key in used or key in folders:
            return True
        parts = key.split("/")
        return any("/".join(parts[: n + 1]) in used for n in range(len(parts) - 1))

    def free_folders(path: str) -> str:
        # A folder of `path` that is a file already offered gets a number ("dir (2)/x").
        parts = path.split("/")
        for k in range(len(parts) - 1):
            if collision_key("/".join(parts[: k + 1])) not in used:
                continue
            name, m = parts[k], 2
            while collision_key("/".join(parts[: k + 1])) in used:
                parts[k] = f"{name} ({m})"
                m += 1
        return "/".join(parts)

    out: list[str] = []
    for chosen in portable:
        base = free_folders(chosen)
        path, n = base, 2
        while clashes(path):
            slash, dot = base.rfind("/") + 1, base.rfind(".")
            path = f"{base[:dot]} ({n}){base[dot:]}" if dot > slash else f"{base} ({n})"
            n += 1
        used.add(collision_key(path))
        folders.update(_folders_of(path))
        out.append(path)
    return out
