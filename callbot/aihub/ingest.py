"""`callbot ingest`: AI-Hub archives -> a verified, NFC-named tree with a manifest, resumable.

Output contract (prepare builds on it)::

    OUT/<archive's folder relative to SRC>/<archive stem>/<member path, NFC>
    OUT/_manifest.jsonl   one line per extracted file: path, size, sha256, crc32, archive, member
    OUT/_rejects.jsonl    one line per refused input: archive, member (or null), reason, message
    OUT/_pairs.json       TS<->TL and VS<->VL pairs, unpaired archives

Crash safety: each member is written to a temp file and renamed when its CRC matches; each finished
member is appended to a per-archive journal in the resume state, ``OUT.ingest-state/`` (a sibling of
OUT, never inside it: OUT is a DVC output and must hold content only, while the state holds the sizes
and mtimes of the archives' parts, which differ from clone to clone); an archive's record (its files
and rejects, and that fingerprint) is written there only when the archive is complete, and trusted
on a re-run only while every file it lists is still in OUT with its size (DVC may have replaced OUT).
The manifest and rejects files are rebuilt from those records at the end of every run, sorted, so a
run killed at any moment and run again ends with the same tree and the same bytes in both files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tarfile
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from callbot.aihub.layout import pair_archives
from callbot.aihub.names import MemberRefused, decode_name, safe_relpath
from callbot.aihub.params import IngestParams
from callbot.aihub.parts import ERROR_BODY_MAX, Archive, PartedFile, discover
from callbot.aihub.zipstream import (
    LOCAL_HEADER_SIZE,
    TMP_SUFFIX,
    ArchiveRefused,
    Directory,
    check_member,
    crc32,
    extract_member,
    read_directory,
)
from callbot.atomic import write_text
from callbot.contracts import ManifestEntry, write_manifest

STATE_DIR = ".ingest"  # the resume state's old place inside OUT: moved out (see state_dir) on a run
STATE_SUFFIX = ".ingest-state"
MANIFEST = "_manifest.jsonl"
REJECTS = "_rejects.jsonl"
PAIRS = "_pairs.json"
_PROGRESS_STEP = 4 << 20
SYNC_EVERY_S = 2.0  # how often a journal is fsynced while its archive is extracted
log = logging.getLogger("callbot.ingest")

_sink: Any = None  # a multiprocessing queue in pool workers: (bytes read) for the parent's progress bar
_reserved: Any = None  # a shared counter in pool workers: bytes other archives are about to write


@dataclass
class IngestReport:
    """What a run did. ``fatal`` is its verdict (no archives, the manifest could not be written, or a
    reject under --strict): the stage turns it into a failed result; ``line`` is the summary message
    (``summary`` the printed line, ``ingest: <line>``)."""

    archives: int = 0
    ingested: int = 0
    skipped: int = 0
    files: int = 0
    bytes: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    pairs: dict[str, Any] = field(default_factory=dict)
    name_warnings: list[str] = field(default_factory=list)  # CP437 fallbacks: check these names by hand
    fatal: bool = False
    summary: str = ""
    line: str = ""

    def conclude(self, message: str) -> IngestReport:
        """Print and keep the one summary line; returns the report."""
        from callbot.console import summary

        self.line = message
        self.summary = summary("ingest", message)
        return self


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def _reject(archive: str, member: str | None, reason: str, message: str) -> dict[str, Any]:
    return {"archive": archive, "member": member, "reason": reason, "message": message}


def state_dir(out: Path) -> Path:
    """Where ingest keeps its resume state for ``out``: the sibling ``<out>.ingest-state``, on the same
    filesystem (member temp files are renamed from there into ``out``) but outside the DVC output."""
    out = Path(out)
    return out.absolute().with_name(out.absolute().name + STATE_SUFFIX)


def _open_state(out: Path) -> Path:
    """The state folder, created; an old ``OUT/.ingest`` is moved there (its resume records kept)."""
    state, legacy = state_dir(out), out / STATE_DIR
    if legacy.is_dir():
        if state.exists():
            shutil.rmtree(legacy)
        else:
            state.parent.mkdir(parents=True, exist_ok=True)
            legacy.rename(state)
    state.mkdir(parents=True, exist_ok=True)
    return state


def _state_key(rel: str) -> str:
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:20]


class _Progress:
    """Batches byte counts so workers report every few MiB, not every chunk."""

    def __init__(self, advance: Callable[[int], None] | None) -> None:
        self.advance = advance
        self.pending = 0
        self.counted = 0

    def __call__(self, n: int) -> None:
        self.pending += n
        self.counted += n
        if self.pending >= _PROGRESS_STEP:
            self.flush()

    def finish(self, size: int) -> None:
        """The archive is done (or refused): count its headers and any unread bytes too."""
        self.pending += max(0, size - self.counted)
        self.counted = size
        self.flush()

    def flush(self) -> None:
        if self.pending:
            if self.advance is not None:
                self.advance(self.pending)
            elif _sink is not None:
                _sink.put(self.pending)
            self.pending = 0


class _Journal:
    """Per-archive list of finished members; lets a re-run after a crash skip what is on disk.

    Lines are pure ASCII JSON (``ensure_ascii``) split on ``\\n`` only: a name holding U+2028 or NEL
    cannot break an entry in two. The journal is fsynced every ``SYNC_EVERY_S`` and when closed: a
    power cut loses at most the last seconds of entries (those members are extracted again). Members
    themselves are not fsynced one by one (that made ingest 3x slower): a resumed member must have
    its journaled size on disk, and Linux filesystems (ext4 data=ordered, XFS) commit a file's size
    only after its data, so a member that lost its data to a power cut is extracted again.
    """

    def __init__(self, path: Path, fingerprint: Any, out: Path, folder: Path, temps: Path) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        fresh = True
        raw = path.read_bytes() if path.exists() else b""
        if raw:
            lines = raw.split(b"\n")
            try:
                fresh = json.loads(lines[0]).get("fingerprint") != fingerprint
            except (IndexError, ValueError, AttributeError):
                fresh = True
            if not fresh:
                for line in lines[1:]:
                    try:
                        entry = json.loads(line)
                        target = out / entry["path"]
                        if target.is_file() and target.stat().st_size == entry["size"]:
                            self.done[entry["member"]] = entry
                    except (ValueError, KeyError, TypeError, AttributeError):
                        continue  # the line a kill cut short
        if fresh and folder.exists():
            shutil.rmtree(folder)  # an older copy of this archive (its folder is its own alone)
        shutil.rmtree(temps, ignore_errors=True)  # temps live outside the folder: no member is touched
        temps.mkdir(parents=True, exist_ok=True)
        if fresh:
            write_text(
                path, _ascii_json({"fingerprint": fingerprint}) + "\n", suffix=TMP_SUFFIX, durable=True
            )
        self._fh = path.open("a", encoding="ascii")
        self._synced = time.monotonic()
        if not fresh and not raw.endswith(b"\n"):
            self._fh.write("\n")  # end the line a kill cut short, so the next entry stands alone

    def add(self, entry: dict[str, Any]) -> None:
        self._fh.write(_ascii_json(entry) + "\n")
        self._fh.flush()
        if time.monotonic() - self._synced >= SYNC_EVERY_S:
            self._sync()

    def _sync(self) -> None:
        os.fsync(self._fh.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._sync()
            self._fh.close()


def _ascii_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


def _plan(
    archive: Archive, names: list[tuple[str, Any]], rejects: list[dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Drop duplicate names, and names equal under case folding (one file on a case-insensitive disk):
    neither copy is trusted, the archive's maker must say which is right."""
    counts = Counter(name for name, _ in names)
    folded: dict[str, set[str]] = {}
    for name in counts:
        folded.setdefault(name.casefold(), set()).add(name)
    keep = []
    for name, item in names:
        twins = sorted(folded[name.casefold()] - {name})
        if counts[name] > 1:
            rejects.append(
                _reject(
                    archive.rel,
                    name,
                    "duplicate_name",
                    f"{archive.rel}: {counts[name]} members are named {name!r}; none is extracted, "
                    "ask the publisher which copy is right",
                )
            )
        elif twins:
            rejects.append(
                _reject(
                    archive.rel,
                    name,
                    "case_collision",
                    f"{archive.rel}: {name!r} and {twins[0]!r} differ only in letter case (one file on "
                    "a case-insensitive disk); neither is extracted, ask the publisher which is right",
                )
            )
        else:
            keep.append((name, item))
    return keep


def _member_os_error(archive: Archive, name: str, exc: OSError) -> dict[str, Any]:
    """A write error that concerns one member only, as that member's reject; others are re-raised."""
    if exc.errno == errno.ENAMETOOLONG:
        reason, what = "name_too_long", "its path is longer than the filesystem allows; shorten it"
    elif exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST):
        reason, what = "path_conflict", "it clashes with another member as file and folder; fix the archive"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason, what = "no_space", "the disk filled up while writing it; free space and run ingest again"
    else:
        raise exc
    return _reject(archive.rel, name, reason, f"{archive.rel}: {name!r}: {what} ({exc.strerror})")


@contextmanager
def _disk_reserved(archive: Archive, out: Path, needed: int, params: IngestParams) -> Iterator[None]:
    """Refuse the archive unless ``needed`` bytes fit on the disk, counting what parallel archives
    have already claimed; the claim is held while the archive is written."""
    out.mkdir(parents=True, exist_ok=True)
    lock = _reserved.get_lock() if _reserved is not None else nullcontext()
    with lock:
        claimed = _reserved.value if _reserved is not None else 0
        free = shutil.disk_usage(out).free - claimed
        if free - needed < params.min_free_bytes:
            raise ArchiveRefused(
                "no_space",
                f"{archive.rel}: needs {needed:,} bytes but {out} has {free:,} free (after other archives "
                f"in this run) and ingest.min_free_bytes={params.min_free_bytes:,} must stay free; free "
                "disk space or point --out at a bigger disk",
            )
        if _reserved is not None:
            _reserved.value += needed
    try:
        yield
    finally:
        if _reserved is not None:
            with _reserved.get_lock():
                _reserved.value -= needed


def _inside(path: Path, root: Path) -> bool:
    """True if ``path`` resolves (symlinks followed) to ``root`` or below it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


def _entry(
    out: Path, dest: Path, archive: Archive, member: str, size: int, sha: str, crc: int
) -> dict[str, Any]:
    return {
        "path": dest.relative_to(out).as_posix(),
        "size": size,
        "sha256": sha,
        "crc32": f"{crc:08x}",
        "archive": archive.rel,
        "member": member,
    }


def _ingest_zip(
    archive: Archive, out: Path, folder: Path, params: IngestParams, journal_path: Path, progress: _Progress
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    files: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    with PartedFile(archive.parts) as f:
        total = archive.size
        try:
            directory = read_directory(f, total, archive.rel)
        except ArchiveRefused as exc:
            if exc.reason == "truncated" and len(archive.parts) > 1:
                last = archive.parts[-1]
                raise ArchiveRefused(
                    "truncated",
                    f"{archive.rel}: the zip's end record is not in the last part {last.path.name} "
                    f"({last.size:,} bytes, the others {archive.parts[0].size:,}): that part is truncated "
                    "or later parts are missing; re-download it",
                ) from None
            raise
        if directory.end < total:
            past = [p.path.name for p in archive.parts if p.offset >= directory.end]
            if past:
                raise ArchiveRefused(
                    "stray_part",
                    f"{archive.rel}: the zip ends at byte {directory.end:,} but part(s) {', '.join(past)} "
                    "follow it; remove the stray part(s)",
                )
            raise ArchiveRefused(
                "trailing_data",
                f"{archive.rel}: {total - directory.end:,} unexpected bytes after the end of the zip; "
                "re-download the last part",
            )
        _check_layout(archive, directory, params)
        named: list[tuple[str, Any]] = []
        for m in directory.members:
            try:
                if m.damaged:
                    raise MemberRefused(
                        "bad_zip64_extra", f"member {m.raw_name!r}: {m.damaged}; re-create the archive"
                    )
                decoded = decode_name(m.raw_name, m.flags)
                if m.is_dir:
                    safe_relpath(decoded.text)
                    continue
                rel = safe_relpath(decoded.text)
                check_member(m, rel, params.max_ratio, params.max_member_bytes)
            except MemberRefused as exc:
                rejects.append(
                    _reject(archive.rel, repr(m.raw_name)[2:-1], exc.reason, f"{archive.rel}: {exc.message}")
                )
                continue
            named.append((rel, (m, decoded.warning)))
        _extract_planned(
            archive, named, rejects, journal_path, out, folder, files, params,
            lambda todo, journal, temps: _extract_zip_members(
                archive, f, out, folder, todo, journal, temps, files, rejects, progress
            ),
        )  # fmt: skip
    return files, rejects


def _check_layout(archive: Archive, directory: Directory, params: IngestParams) -> None:
    """Refuse a zip whose entries share or overlap their bytes, or that expands past
    ``ingest.max_ratio`` times its own size in total: both are bombs built to pass per-member checks
    (300 entries pointing at one compressed block once wrote 317 MB from 29 KB)."""
    members = [m for m in directory.members if not m.damaged]
    declared = sum(m.size for m in members)
    if declared > params.max_ratio * max(archive.size, 1):
        raise ArchiveRefused(
            "bomb",
            f"{archive.rel}: its members declare {declared:,} bytes from a {archive.size:,}-byte archive "
            f"(ratio {declared / max(archive.size, 1):.0f}:1 > ingest.max_ratio={params.max_ratio:g}); "
            "refusing it",
        )
    previous = None
    # each entry spans at least its local header and its compressed bytes (name and extra come on top)
    for m in sorted(members, key=lambda m: m.header_offset):
        if previous is not None:
            end = previous.header_offset + LOCAL_HEADER_SIZE + previous.compressed_size
            if m.header_offset < end:
                raise ArchiveRefused(
                    "overlap_bomb",
                    f"{archive.rel}: entries {previous.raw_name!r} and {m.raw_name!r} share bytes "
                    f"(one starts at {m.header_offset:,}, inside the other's {previous.header_offset:,}..{end:,}): "
                    "overlapping entries are a zip bomb, refusing the archive",
                )
        previous = m
    if (
        previous is not None
        and previous.header_offset + LOCAL_HEADER_SIZE + previous.compressed_size > directory.cd_start
    ):
        raise ArchiveRefused(
            "overlap_bomb",
            f"{archive.rel}: entry {previous.raw_name!r} runs into the central directory; refusing the archive",
        )


def _extract_planned(
    archive: Archive,
    named: list[tuple[str, Any]],
    rejects: list[dict[str, Any]],
    journal_path: Path,
    out: Path,
    folder: Path,
    files: list[dict[str, Any]],
    params: IngestParams,
    extract: Callable[[list[tuple[str, Any]], Any, Path], None],
) -> None:
    """What zip and tar share once their members are named and checked: refuse an archive of only
    folders, plan the names, skip what the journal says is done, reserve disk, extract the rest."""
    if not named and not rejects:
        raise ArchiveRefused(
            "empty_archive", f"{archive.rel}: holds only folders, no files; check the download"
        )
    named = _plan(archive, named, rejects)
    temps = journal_path.with_suffix(".tmp")  # <state>/<key>.tmp/: no member name can land there
    journal = _Journal(journal_path, archive.fingerprint(), out, folder, temps)
    try:
        todo = [(n, it) for n, it in named if n not in journal.done]
        files.extend(journal.done[n] for n, _ in named if n in journal.done)
        with _disk_reserved(archive, out, sum(it[0].size for _, it in todo), params):
            extract(todo, journal, temps)
    finally:
        journal.close()
    shutil.rmtree(temps, ignore_errors=True)


def _extract_zip_members(
    archive: Archive,
    f: PartedFile,
    out: Path,
    folder: Path,
    todo: list[tuple[str, Any]],
    journal: _Journal,
    temps: Path,
    files: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    progress: _Progress,
) -> None:
    """Members in the order their bytes lie in the archive, so the parts are read front to back."""
    safe_dirs: set[Path] = set()  # folders already resolved inside the archive's folder
    for index, (name, (m, warning)) in enumerate(sorted(todo, key=lambda t: t[1][0].header_offset)):
        dest = folder / name
        if dest.parent not in safe_dirs and not _inside(dest.parent, folder):
            rejects.append(
                _reject(
                    archive.rel,
                    name,
                    "outside_out",
                    f"{archive.rel}: {name!r} would be written "
                    "through a link outside its folder; remove the link from the output",
                )
            )
            continue
        safe_dirs.add(dest.parent)
        tmp = temps / f"{index}.part"
        try:
            sha, crc = extract_member(f, m, name, dest, tmp, progress)
        except MemberRefused as exc:
            rejects.append(_reject(archive.rel, name, exc.reason, f"{archive.rel}: {exc.message}"))
            continue
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            rejects.append(_member_os_error(archive, name, exc))
            continue
        entry = _entry(out, dest, archive, name, m.size, sha, crc)
        if warning:
            entry["name_warning"] = warning
        journal.add(entry)
        files.append(entry)


def _ingest_tar(
    archive: Archive, out: Path, folder: Path, params: IngestParams, journal_path: Path, progress: _Progress
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    files: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    with PartedFile(archive.parts) as raw:
        try:
            tf = tarfile.open(fileobj=raw, mode="r:*", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 (closed with raw)
            members = tf.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raw.seek(0)
            head = raw.read(200)
            if archive.size < ERROR_BODY_MAX and Path(archive.rel).name.lower().startswith("download"):
                text = head.decode("utf-8", "replace").strip().replace("\n", " ")[:120]
                raise ArchiveRefused(
                    "error_body",
                    f"{archive.rel}: {archive.size:,} bytes and not a tar archive: an error reply from the "
                    f"download server ({text!r}); check the dataset approval (HTTP 502 = not approved) "
                    "and download again",
                ) from None
            raise ArchiveRefused(
                "not_tar", f"{archive.rel}: not a readable tar archive ({exc}); re-download it"
            ) from None
        if not members:
            raise ArchiveRefused(
                "empty_archive", f"{archive.rel}: the archive holds no files; check the download"
            )
        named: list[tuple[str, Any]] = []
        for ti in members:
            rawname = ti.name.encode("utf-8", "surrogateescape")
            try:
                decoded = decode_name(rawname, 0)
                rel = safe_relpath(decoded.text)
                if ti.issym() or ti.islnk():
                    raise MemberRefused("symlink", f"member {rel!r} is a link; links are never extracted")
                if ti.isdir():
                    continue
                if not ti.isreg():
                    raise MemberRefused(
                        "special_file", f"member {rel!r} is a device, socket or pipe; refusing it"
                    )
                if ti.size > params.max_member_bytes:
                    raise MemberRefused(
                        "too_large",
                        f"member {rel!r} declares {ti.size:,} bytes, over ingest.max_member_bytes",
                    )
            except MemberRefused as exc:
                rejects.append(_reject(archive.rel, ti.name, exc.reason, f"{archive.rel}: {exc.message}"))
                continue
            named.append((rel, (ti, decoded.warning)))
        _extract_planned(
            archive, named, rejects, journal_path, out, folder, files, params,
            lambda todo, journal, temps: _extract_tar_members(
                archive, tf, out, folder, todo, journal, temps, files, rejects, progress
            ),
        )  # fmt: skip
    return files, rejects


def _extract_tar_members(
    archive: Archive,
    tf: tarfile.TarFile,
    out: Path,
    folder: Path,
    todo: list[tuple[str, Any]],
    journal: _Journal,
    temps: Path,
    files: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    progress: _Progress,
) -> None:
    """Tar members carry no CRC: the length is checked and the sha256 recorded for the manifest."""
    safe_dirs: set[Path] = set()  # folders already resolved inside the archive's folder
    for index, (name, (ti, warning)) in enumerate(todo):
        dest = folder / name
        if dest.parent not in safe_dirs and not _inside(dest.parent, folder):
            rejects.append(
                _reject(
                    archive.rel,
                    name,
                    "outside_out",
                    f"{archive.rel}: {name!r} would be written through a link outside its folder; remove the link",
                )
            )
            continue
        safe_dirs.add(dest.parent)
        tmp = temps / f"{index}.part"
        try:
            sha, crc, size = _copy_tar_member(tf, ti, dest, tmp, progress)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            rejects.append(_member_os_error(archive, name, exc))
            continue
        if size != ti.size:
            rejects.append(_reject(archive.rel, name, "truncated", f"{archive.rel}: {name!r} is cut short"))
            continue
        entry = _entry(out, dest, archive, name, size, sha, crc)
        if warning:
            entry["name_warning"] = warning
        journal.add(entry)
        files.append(entry)


def _copy_tar_member(
    tf: tarfile.TarFile, ti: tarfile.TarInfo, dest: Path, tmp: Path, progress: _Progress
) -> tuple[str, int, int]:
    """Copy one tar member to ``dest`` through ``tmp`` (renamed only when its length is right)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha, crc, size = hashlib.sha256(), 0, 0
    src = tf.extractfile(ti)
    assert src is not None
    with tmp.open("wb") as fh:
        while chunk := src.read(1 << 20):
            sha.update(chunk)
            crc = crc32(chunk, crc)
            size += len(chunk)
            fh.write(chunk)
            progress(len(chunk))
    if size != ti.size:
        tmp.unlink()
    else:
        os.replace(tmp, dest)
    return sha.hexdigest(), crc, size


def folder_rel(archive: Archive) -> str:
    """The archive's output folder relative to OUT: its folder in SRC, then its stem."""
    return (PurePosixPath(archive.rel).parent / archive.stem).as_posix()


def ingest_archive(
    archive: Archive, out: str, params: IngestParams, advance: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Extract one archive into its folder; returns its record (files, rejects, refusal).

    Writes ``<state>/<key>.done`` (:func:`state_dir`) when the archive is complete; a refused archive writes no
    record, so it is looked at again on the next run. The folder must be this archive's alone
    (:func:`assign_folders` refuses collisions before any archive runs).
    """
    out_dir = Path(out)
    state = _open_state(out_dir)
    key = _state_key(archive.rel)
    folder = out_dir / folder_rel(archive)
    progress = _Progress(advance)
    record: dict[str, Any] = {"archive": archive.rel, "fingerprint": archive.fingerprint()}
    try:
        if not _inside(folder, out_dir):  # a link planted in the output must not redirect writes
            raise ArchiveRefused(
                "outside_out",
                f"{archive.rel}: {folder} is a link leading outside {out_dir}; remove the link and run again",
            )
        reader = _ingest_zip if archive.kind == "zip" else _ingest_tar
        files, rejects = reader(archive, out_dir, folder, params, state / f"{key}.journal", progress)
        full = [r for r in rejects if r["reason"] == "no_space"]
        if full:  # not complete: no record, so the next run resumes it (finished members are kept)
            raise ArchiveRefused("no_space", f"{full[0]['message']} ({len(full)} member(s) not written)")
        record.update(files=sorted(files, key=lambda e: e["path"]), rejects=rejects)
        done = json.dumps(record, ensure_ascii=False, sort_keys=True)
        write_text(state / f"{key}.done", done, suffix=TMP_SUFFIX, durable=True)
    except ArchiveRefused as exc:
        progress.finish(archive.size)
        return {
            "archive": archive.rel,
            "fingerprint": archive.fingerprint(),
            "refused": _reject(archive.rel, None, exc.reason, exc.message),
        }
    except OSError as exc:
        progress.finish(archive.size)
        reason = "no_space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "io_error"
        return {
            "archive": archive.rel,
            "fingerprint": archive.fingerprint(),
            "refused": _reject(
                archive.rel, None, reason, f"{archive.rel}: {exc}; check the disk and run ingest again"
            ),
        }
    except Exception as exc:  # one archive that trips a bug must not stop the others
        log.exception("ingest: %s", archive.rel)
        progress.finish(archive.size)
        message = f"{archive.rel}: unexpected {type(exc).__name__}: {exc}; please report it with this archive"
        return {**record, "refused": _reject(archive.rel, None, "internal_error", message)}
    progress.finish(archive.size)
    (state / f"{key}.journal").unlink(missing_ok=True)
    return record


def _folder_key(rel: str) -> str:
    return unicodedata.normalize("NFC", rel).casefold()


def assign_folders(
    archives: list[Archive], rank: Callable[[Archive], int]
) -> tuple[list[Archive], list[dict[str, Any]]]:
    """Keep archives whose output folder is theirs alone; refuse the others before any is extracted.

    Refused: an empty or dot stem (``.zip`` would make the folder its parent), a folder named like
    ingest's own files, and a folder equal (after NFC and case folding) to, inside or around another
    archive's (``X.zip`` beside ``X.tar``; ``a.zip`` beside a folder ``a/`` of archives). Of colliding
    archives the one of lowest ``rank`` is kept (0: its record matches it, 1: it was started before),
    then the first by path; nothing on disk is removed for a refused one.
    """
    reserved = {_folder_key(n) for n in (STATE_DIR, MANIFEST, REJECTS, PAIRS)}
    claimed: dict[str, str] = {}  # folder key -> archive
    around: dict[str, str] = {}  # every parent of a claimed folder -> the archive below it
    keep: list[Archive] = []
    rejects: list[dict[str, Any]] = []
    for archive in sorted(archives, key=lambda a: (rank(a), a.rel)):
        rel = folder_rel(archive)
        key = _folder_key(rel)
        refusal = _folder_refusal(archive, rel, reserved, claimed, around)
        if refusal is not None:
            rejects.append(_reject(archive.rel, None, *refusal))
            continue
        claimed[key] = archive.rel
        for ancestor in _ancestors(key):
            around.setdefault(ancestor, archive.rel)
        keep.append(archive)
    keep.sort(key=lambda a: a.rel)
    return keep, rejects


def _ancestors(key: str) -> list[str]:
    """The folder keys above ``key`` (``a``, ``a/b`` for ``a/b/c``)."""
    parts = PurePosixPath(key).parts
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _folder_refusal(
    archive: Archive, rel: str, reserved: set[str], claimed: dict[str, str], around: dict[str, str]
) -> tuple[str, str] | None:
    """(reason, message) when ``archive`` may not have output folder ``rel``; None when it may."""
    key = _folder_key(rel)
    if archive.stem.strip() in ("", ".", ".."):
        return (
            "bad_archive_name",
            f"{archive.rel}: the name has no stem to name its output folder; rename the archive",
        )
    if PurePosixPath(key).parts[0] in reserved:
        return (
            "bad_archive_name",
            f"{archive.rel}: its output folder {rel!r} is a name ingest keeps for itself; rename the archive",
        )
    other = (
        claimed.get(key)
        or next((claimed[a] for a in _ancestors(key) if a in claimed), None)
        or around.get(key)
    )
    if other is None:
        return None
    return (
        "folder_collision",
        f"{archive.rel}: its output folder {rel!r} is the same as, inside or around that of "
        f"{other} (names compared after NFC and case folding); rename one of them",
    )


def _init_worker(queue: Any, reserved: Any) -> None:
    global _sink, _reserved
    _sink, _reserved = queue, reserved


def _load_done(state: Path, archive: Archive, out: Path) -> dict[str, Any] | None:
    """The archive's record when it is still true: same parts, and every file it lists still in
    ``out`` with its size (the state lives outside the DVC output, which DVC may replace or delete)."""
    path = state / f"{_state_key(archive.rel)}.done"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != archive.fingerprint():
        return None
    for entry in record.get("files", []):
        target = out / entry["path"]
        if not target.is_file() or target.stat().st_size != entry["size"]:
            return None
    return record


def _run_all(pending: list[Archive], out: Path, params: IngestParams) -> list[dict[str, Any]]:
    """Ingest ``pending`` across processes (one archive per process at a time), with a bytes/s bar."""
    from callbot.console import progress

    workers = min(params.workers or os.cpu_count() or 1, len(pending))
    total = sum(a.size for a in pending)
    results: list[dict[str, Any]] = []
    if workers <= 1:
        with progress(transfer=True) as bar:
            task = bar.add_task("ingest", total=total)
            for archive in pending:
                results.append(ingest_archive(archive, str(out), params, lambda n: bar.advance(task, n)))
        return results
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("fork")
    sink = ctx.Queue()
    reserved = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(sink, reserved)
    ) as pool:
        submitted = {
            pool.submit(ingest_archive, a, str(out), params): a
            for a in sorted(pending, key=lambda a: -a.size)
        }
        futures = set(submitted)
        broken: list[Archive] = []
        with progress(transfer=True) as bar:
            task = bar.add_task("ingest", total=total)
            while futures:
                finished, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        results.append(future.result())
                    except BrokenProcessPool:
                        broken.append(submitted[future])
                while True:
                    try:
                        bar.advance(task, sink.get_nowait())
                    except queue_mod.Empty:
                        break
    sink.close()
    # a worker killed (out of memory, by the OOM killer) breaks the pool and every archive it still
    # held: each of those runs again alone, so only the archive that kills its worker is refused
    for archive in sorted(broken, key=lambda a: a.rel):
        results.append(_run_alone(archive, out, params, ctx))
    return results


def _run_alone(archive: Archive, out: Path, params: IngestParams, ctx: Any) -> dict[str, Any]:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker, initargs=(None, None)) as pool:
            return pool.submit(ingest_archive, archive, str(out), params).result()
    except BrokenProcessPool:
        return {
            "archive": archive.rel,
            "fingerprint": archive.fingerprint(),
            "refused": _reject(
                archive.rel,
                None,
                "worker_killed",
                f"{archive.rel}: the process extracting it was killed (out of memory?); finished members "
                "are kept, run ingest again with fewer ingest.workers or more memory",
            ),
        }


def run_ingest(src: Path, out: Path, params: IngestParams, *, strict: bool = False) -> IngestReport:
    """Ingest every archive under ``src`` into ``out``; resumable, idempotent, never writes outside ``out``."""
    started = time.perf_counter()
    report = IngestReport()
    try:
        found = discover(src, skip=out)
    except FileNotFoundError as exc:
        report.fatal = True
        return report.conclude(f"FAILED: {exc}")
    if not found.archives and not found.rejects:
        report.fatal = True
        return report.conclude(
            f"FAILED: {src}: no .zip, .zip.part<N>, .tar or .tar.gz archives found; pass the AI-Hub "
            "download folder (the one holding e.g. '129.채용면접 인터뷰 데이터/')"
        )
    out.mkdir(parents=True, exist_ok=True)
    records, pending, folder_rejects = _resume(found.archives, _open_state(out), out)
    report.archives = len(found.archives) + len(found.rejects)
    report.skipped = len(records)
    for record in _run_all(pending, out, params) if pending else []:
        records[record["archive"]] = record
    found_rejects = [_reject(r.archive, None, r.reason, r.message) for r in found.rejects]
    manifest, rejects = _gather(records, found_rejects + folder_rejects, report)
    report.pairs = pair_archives([a.rel for a in found.archives] + [r.archive for r in found.rejects])
    try:
        _write_outputs(out, manifest, rejects, report.pairs)
    except OSError as exc:  # the previous manifest stays whole (temp + rename); the records are kept
        report.fatal = True
        return report.conclude(
            f"FAILED: cannot write {out / MANIFEST} ({exc.strerror}); free disk space and run ingest "
            "again (finished archives are not extracted again)"
        )
    _tally(report, manifest, rejects, strict)
    _print_table(report)
    elapsed = time.perf_counter() - started
    verdict = " FATAL (--strict)" if report.fatal else ""
    return report.conclude(
        f"{report.ingested}/{report.archives} archives ({report.skipped} already done), {report.files} files, "
        f"{report.bytes / 1e6:,.1f} MB, {len(rejects)} rejects, {len(report.pairs['pairs'])} pairs, "
        f"{len(report.pairs['unpaired'])} unpaired in {elapsed:.1f}s -> {out}{verdict}"
    )


def _resume(
    found: list[Archive], state: Path, out: Path
) -> tuple[dict[str, dict[str, Any]], list[Archive], list[dict[str, Any]]]:
    """(records of archives already done, archives still to ingest, folder rejects)."""
    records: dict[str, dict[str, Any]] = {}
    pending: list[Archive] = []

    def rank(archive: Archive) -> int:  # who keeps a contested folder: what is already there first
        if _load_done(state, archive, out) is not None:
            return 0
        key = _state_key(archive.rel)
        return 1 if (state / f"{key}.done").exists() or (state / f"{key}.journal").exists() else 2

    archives, folder_rejects = assign_folders(found, rank)
    for archive in archives:
        done = _load_done(state, archive, out)
        if done is None:
            pending.append(archive)
        else:
            records[archive.rel] = done
            # a kill between writing the record and removing the journal leaves the journal behind
            (state / f"{_state_key(archive.rel)}.journal").unlink(missing_ok=True)
    return records, pending, folder_rejects


def _gather(
    records: dict[str, dict[str, Any]], rejects: list[dict[str, Any]], report: IngestReport
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The manifest and every reject of this run, each sorted; counts the archives ingested."""
    manifest: list[dict[str, Any]] = []
    for rel in sorted(records):
        record = records[rel]
        if "refused" in record:
            rejects.append(record["refused"])
            continue
        report.ingested += 1
        manifest.extend(record["files"])
        rejects.extend(record["rejects"])
    manifest.sort(key=lambda e: e["path"])
    rejects.sort(key=lambda r: (r["archive"], r["member"] or "", r["reason"]))
    return manifest, rejects


def _write_outputs(
    out: Path, manifest: list[dict[str, Any]], rejects: list[dict[str, Any]], pairs: dict[str, Any]
) -> None:
    """_manifest.jsonl, _rejects.jsonl and _pairs.json, each atomically."""
    write_manifest(out / MANIFEST, [ManifestEntry.model_validate(e) for e in manifest], suffix=TMP_SUFFIX)
    write_text(out / REJECTS, _jsonl(rejects), suffix=TMP_SUFFIX, durable=True)
    text = json.dumps(pairs, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    write_text(out / PAIRS, text, suffix=TMP_SUFFIX, durable=True)


def _tally(
    report: IngestReport, manifest: list[dict[str, Any]], rejects: list[dict[str, Any]], strict: bool
) -> None:
    """Fill the report's counts and verdict from what was written; log the CP437 name fallbacks."""
    report.files = len(manifest)
    report.name_warnings = [f"{e['path']}: {e['name_warning']}" for e in manifest if "name_warning" in e]
    for warning in report.name_warnings:
        log.warning("ingest: %s", warning)
    report.bytes = sum(e["size"] for e in manifest)
    report.rejects = rejects
    report.fatal = strict and bool(rejects)


def _print_table(report: IngestReport) -> None:
    """Per reason code, how many inputs were refused, with one example message each."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="callbot ingest", show_lines=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("example")
    table.add_row("archives ingested", str(report.ingested), f"{report.skipped} unchanged, skipped")
    table.add_row("files", str(report.files), f"{report.bytes:,} bytes")
    table.add_row("pairs", str(len(report.pairs["pairs"])), f"{len(report.pairs['unpaired'])} unpaired")
    if report.name_warnings:
        table.add_row(
            "[yellow]names decoded as CP437", str(len(report.name_warnings)), report.name_warnings[0][:160]
        )
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for r in report.rejects:
        by_reason.setdefault(r["reason"], []).append(r)
    for reason, rows in sorted(by_reason.items()):
        table.add_row(f"[red]reject: {reason}", str(len(rows)), rows[0]["message"][:160])
    Console(stderr=True).print(table)
