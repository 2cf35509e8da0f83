"""Member names: decoding (UTF-8 flag, else CP949, else CP437) and the path-safety rules.

Windows-made zips carry Korean names in CP949 without the UTF-8 flag; macOS-made ones may be NFD.
Every name is decoded once here and NFC-normalised, so ``audioPath`` in a label matches the file on
disk. A name that could escape the output folder is refused here, before any byte is written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

UTF8_FLAG = 0x800
_DRIVE = re.compile(r"^[A-Za-z]:")
# Cc (C0/C1 controls, NEL U+0085), Cf (bidi overrides such as U+202E, zero-width marks, BOM),
# Zl/Zp (U+2028, U+2029), Co (private use): invisible or line-breaking in a name, never in a real one
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co"})


class MemberRefused(Exception):
    """A member that must not be extracted: ``reason`` is the short code written to _rejects.jsonl."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class DecodedName:
    text: str
    warning: str | None  # set when the CP437 fallback was used (the name may be mojibake)


def decode_name(raw: bytes, flags: int) -> DecodedName:
    """The member name as text, NFC: honour the UTF-8 flag, else CP949, else CP437 with a warning."""
    if flags & UTF8_FLAG:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MemberRefused(
                "bad_name",
                f"name {raw!r} is flagged UTF-8 but is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "re-create the archive with correct names",
            ) from None
        return DecodedName(unicodedata.normalize("NFC", text), None)
    # Unflagged: CP949 Hangul (lead bytes 0xB0-0xC8) is never valid UTF-8, so a name that decodes as
    # UTF-8 was written by a Linux/macOS tool that did not set the flag; otherwise it is CP949.
    for codec in ("utf-8", "cp949"):
        try:
            return DecodedName(unicodedata.normalize("NFC", raw.decode(codec)), None)
        except UnicodeDecodeError:
            continue
    text = raw.decode("cp437")
    return DecodedName(
        unicodedata.normalize("NFC", text),
        f"name {raw!r} is neither UTF-8 nor CP949; decoded as CP437 ({text!r}), check it by hand",
    )


def safe_relpath(name: str) -> str:
    """The member's path relative to its archive folder, or :class:`MemberRefused` if it could escape.

    Backslashes count as separators (Windows tools write them), so ``..\\x`` is caught too.
    """
    bad = next((c for c in name if unicodedata.category(c) in _CONTROL_CATEGORIES), None)
    if bad is not None:
        raise MemberRefused(
            "control_char",
            f"name {name!r} contains the invisible or control character U+{ord(bad):04X} "
            f"({unicodedata.name(bad, unicodedata.category(bad))}); refusing it, rename it in the archive",
        )
    unified = name.replace("\\", "/")
    if unified.startswith("/"):
        raise MemberRefused("absolute_path", f"member {name!r} has an absolute path; refusing to write it")
    if _DRIVE.match(unified):
        raise MemberRefused("drive_letter", f"member {name!r} names a drive; refusing to write it")
    pieces = [p for p in unified.split("/") if p not in ("", ".")]
    if any(p == ".." for p in pieces):
        raise MemberRefused(
            "path_traversal", f"member {name!r} contains '..'; refusing to write outside its folder"
        )
    if not pieces:
        raise MemberRefused("bad_name", f"member {name!r} has an empty name")
    if any(len(p.encode("utf-8")) > 255 for p in pieces):  # NAME_MAX: the write would fail, not the archive
        raise MemberRefused(
            "bad_name", f"member {name!r} has a name part over 255 bytes; no filesystem takes it"
        )
    return "/".join(pieces)
