"""`callbot ingest`: AI-Hub archives -> a verified, NFC-named tree with a manifest, resumable.

Output contract (prepare builds on it)::

    OUT/<archive's folder relative to SRC>/<archive stem>/<member path, NFC>
    OUT/_manifest.jsonl   one line per extracted file: path, size, sha256, crc32, archive, member
    OUT/_rejects.jsonl    one line per refused input: archive, member (or null), reason, message
    OUT/_pairs.json       TS<->TL and VS<->VL pairs, unpaired archives

Crash safety: each member is written to a temp file and renamed when its CRC matches; each finished
member is appended to a per-archive journal in ``OUT/.ingest/``; an archive's record (its files and
rejects, and the sizes and mtimes of its parts) is written there only when the archive is complete.
The manifest and rejects files are rebuilt from those records at the end of every run, sorted, so a
run killed at any moment and run again ends with the same tree and the same bytes in both files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.aihub.layout import pair_archives
from callbot.aihub.names import MemberRefused, decode_name, safe_relpath
from callbot.aihub.params import IngestParams
from callbot.aihub.parts import ERROR_BODY_MAX, Archive, PartedFile, discover
from callbot.aihub.zipstream import (
    TMP_SUFFIX,
    ArchiveRefused,
    check_member,
    crc32,
    extract_member,
    read_directory,
)
from callbot.atomic import write_text

STATE_DIR = ".ingest"
MANIFEST = "_manifest.jsonl"
REJECTS = "_rejects.jsonl"
PAIRS = "_pairs.json"
_PROGRESS_STEP = 4 << 20
log = logging.getLogger("callbot.ingest")

_sink: Any = None  # a multiprocessing queue in pool workers: (bytes read) for the parent's progress bar
_reserved: Any = None  # a shared counter in pool workers: bytes other archives are about to write


@dataclass
class IngestReport:
    """What a run did; ``fatal`` is what the CLI turns into a non-zero exit."""

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


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def _reject(archive: str, member: str | None, reason: str, message: str) -> dict[str, Any]:
    return {"archive": archive, "member": member, "reason": reason, "message": message}


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
    """Per-archive list of finished members; lets a re-run after a crash skip what is on disk."""

    def __init__(self, path: Path, fingerprint: Any, out: Path, folder: Path) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        fresh = True
        raw = path.read_bytes() if path.exists() else b""
        if raw:
            lines = raw.decode("utf-8", "replace").splitlines()
            try:
                fresh = json.loads(lines[0]).get("fingerprint") != fingerprint
            except (IndexError, ValueError):
                fresh = True
            if not fresh:
                for line in lines[1:]:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # the line a kill cut short
                    target = out / entry["path"]
                    if target.is_file() and target.stat().st_size == entry["size"]:
                        self.done[entry["member"]] = entry
        if fresh and folder.exists():
            shutil.rmtree(folder)  # an older copy of this archive; cleared before the journal says "fresh"
        _clear_temps(folder)
        if fresh:
            write_text(path, json.dumps({"fingerprint": fingerprint}) + "\n", suffix=TMP_SUFFIX)
        self._fh = path.open("a", encoding="utf-8")
        if not fresh and not raw.endswith(b"\n"):
            self._fh.write("\n")  # end the line a kill cut short, so the next entry stands alone

    def add(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _clear_temps(folder: Path) -> None:
    if folder.is_dir():
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                if name.endswith(TMP_SUFFIX):
                    os.unlink(os.path.join(dirpath, name))


def _plan(
    archive: Archive, names: list[tuple[str, Any]], rejects: list[dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Drop duplicate names: neither copy is trusted, the archive's maker must say which is right."""
    counts = Counter(name for name, _ in names)
    keep = []
    for name, item in names:
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
        else:
            keep.append((name, item))
    return keep


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
        named: list[tuple[str, Any]] = []
        for m in directory.members:
            try:
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
            lambda todo, journal: _extract_zip_members(
                archive, f, out, folder, todo, journal, files, rejects, progress
            ),
        )  # fmt: skip
    return files, rejects


def _extract_planned(
    archive: Archive,
    named: list[tuple[str, Any]],
    rejects: list[dict[str, Any]],
    journal_path: Path,
    out: Path,
    folder: Path,
    files: list[dict[str, Any]],
    params: IngestParams,
    extract: Callable[[list[tuple[str, Any]], Any], None],
) -> None:
    """What zip and tar share once their members are named and checked: refuse an archive of only
    folders, plan the names, skip what the journal says is done, reserve disk, extract the rest."""
    if not named and not rejects:
        raise ArchiveRefused(
            "empty_archive", f"{archive.rel}: holds only folders, no files; check the download"
        )
    named = _plan(archive, named, rejects)
    journal = _Journal(journal_path, archive.fingerprint(), out, folder)
    try:
        todo = [(n, it) for n, it in named if n not in journal.done]
        files.extend(journal.done[n] for n, _ in named if n in journal.done)
        with _disk_reserved(archive, out, sum(it[0].size for _, it in todo), params):
            extract(todo, journal)
    finally:
        journal.close()


def _extract_zip_members(
    archive: Archive,
    f: PartedFile,
    out: Path,
    folder: Path,
    todo: list[tuple[str, Any]],
    journal: _Journal,
    files: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    progress: _Progress,
) -> None:
    """Members in the order their bytes lie in the archive, so the parts are read front to back."""
    safe_dirs: set[Path] = set()  # folders already resolved inside the archive's folder
    for name, (m, warning) in sorted(todo, key=lambda t: t[1][0].header_offset):
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
        try:
            sha, crc = extract_member(f, m, name, dest, progress)
        except MemberRefused as exc:
            rejects.append(_reject(archive.rel, name, exc.reason, f"{archive.rel}: {exc.message}"))
            continue
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            rejects.append(
                _reject(
                    archive.rel,
                    name,
                    "path_conflict",
                    f"{archive.rel}: {name!r} clashes with "
                    f"another member as file and folder ({exc.strerror}); fix the archive",
                )
            )
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
            lambda todo, journal: _extract_tar_members(
                archive, tf, out, folder, todo, journal, files, rejects, progress
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
    files: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    progress: _Progress,
) -> None:
    """Tar members carry no CRC: the length is checked and the sha256 recorded for the manifest."""
    safe_dirs: set[Path] = set()  # folders already resolved inside the archive's folder
    for name, (ti, warning) in todo:
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
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}{TMP_SUFFIX}")
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
            rejects.append(_reject(archive.rel, name, "truncated", f"{archive.rel}: {name!r} is cut short"))
            continue
        os.replace(tmp, dest)
        entry = _entry(out, dest, archive, name, size, sha.hexdigest(), crc)
        if warning:
            entry["name_warning"] = warning
        journal.add(entry)
        files.append(entry)


def ingest_archive(
    archive: Archive, out: str, params: IngestParams, advance: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Extract one archive into its folder; returns its record (files, rejects, refusal).

    Writes ``OUT/.ingest/<key>.done`` when the archive is complete; a refused archive writes no
    record, so it is looked at again on the next run.
    """
    out_dir = Path(out)
    state = out_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    key = _state_key(archive.rel)
    folder = out_dir / Path(archive.rel).parent / archive.stem
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
    except ArchiveRefused as exc:
        progress.finish(archive.size)
        return {**record, "refused": _reject(archive.rel, None, exc.reason, exc.message)}
    except OSError as exc:
        progress.finish(archive.size)
        return {
            **record,
            "refused": _reject(
                archive.rel, None, "io_error", f"{archive.rel}: {exc}; check the disk and run ingest again"
            ),
        }
    except Exception as exc:  # one archive that trips a bug must not stop the others
        log.exception("ingest: %s", archive.rel)
        progress.finish(archive.size)
        message = f"{archive.rel}: unexpected {type(exc).__name__}: {exc}; please report it with this archive"
        return {**record, "refused": _reject(archive.rel, None, "internal_error", message)}
    progress.finish(archive.size)
    record.update(files=sorted(files, key=lambda e: e["path"]), rejects=rejects)
    done = json.dumps(record, ensure_ascii=False, sort_keys=True)
    write_text(state / f"{key}.done", done, suffix=TMP_SUFFIX)
    (state / f"{key}.journal").unlink(missing_ok=True)
    return record


def _init_worker(queue: Any, reserved: Any) -> None:
    global _sink, _reserved
    _sink, _reserved = queue, reserved


def _load_done(state: Path, archive: Archive) -> dict[str, Any] | None:
    path = state / f"{_state_key(archive.rel)}.done"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("fingerprint") == archive.fingerprint() else None


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

    ctx = mp.get_context("fork")
    sink = ctx.Queue()
    reserved = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(sink, reserved)
    ) as pool:
        futures = {
            pool.submit(ingest_archive, a, str(out), params) for a in sorted(pending, key=lambda a: -a.size)
        }
        with progress(transfer=True) as bar:
            task = bar.add_task("ingest", total=total)
            while futures:
                finished, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                results.extend(f.result() for f in finished)
                while True:
                    try:
                        bar.advance(task, sink.get_nowait())
                    except queue_mod.Empty:
                        break
    sink.close()
    return results


def run_ingest(src: Path, out: Path, params: IngestParams, *, strict: bool = False) -> IngestReport:
    """Ingest every archive under ``src`` into ``out``; resumable, idempotent, never writes outside ``out``."""
    from callbot.console import summary

    started = time.perf_counter()
    report = IngestReport()
    try:
        found = discover(src, skip=out)
    except FileNotFoundError as exc:
        report.fatal = True
        report.summary = summary("ingest", f"FAILED: {exc}")
        return report
    if not found.archives and not found.rejects:
        report.fatal = True
        report.summary = summary(
            "ingest",
            f"FAILED: {src}: no .zip, .zip.part<N>, .tar or .tar.gz archives found; pass the AI-Hub "
            "download folder (the one holding e.g. '129.채용면접 인터뷰 데이터/')",
        )
        return report
    out.mkdir(parents=True, exist_ok=True)
    state = out / STATE_DIR
    state.mkdir(exist_ok=True)
    records: dict[str, dict[str, Any]] = {}
    pending: list[Archive] = []
    for archive in found.archives:
        done = _load_done(state, archive)
        if done is None:
            pending.append(archive)
        else:
            records[archive.rel] = done
            # a kill between writing the record and removing the journal leaves the journal behind
            (state / f"{_state_key(archive.rel)}.journal").unlink(missing_ok=True)
    report.archives = len(found.archives) + len(found.rejects)
    report.skipped = len(records)
    for record in _run_all(pending, out, params) if pending else []:
        records[record["archive"]] = record
    rejects = [_reject(r.archive, None, r.reason, r.message) for r in found.rejects]
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
    write_text(out / MANIFEST, _jsonl(manifest), suffix=TMP_SUFFIX)
    write_text(out / REJECTS, _jsonl(rejects), suffix=TMP_SUFFIX)
    report.pairs = pair_archives([a.rel for a in found.archives] + [r.archive for r in found.rejects])
    pairs = json.dumps(report.pairs, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    write_text(out / PAIRS, pairs, suffix=TMP_SUFFIX)
    report.files = len(manifest)
    report.name_warnings = [f"{e['path']}: {e['name_warning']}" for e in manifest if "name_warning" in e]
    for warning in report.name_warnings:
        log.warning("ingest: %s", warning)
    report.bytes = sum(e["size"] for e in manifest)
    report.rejects = rejects
    report.fatal = strict and bool(rejects)
    _print_table(report)
    elapsed = time.perf_counter() - started
    verdict = " FATAL (--strict)" if report.fatal else ""
    report.summary = summary(
        "ingest",
        f"{report.ingested}/{report.archives} archives ({report.skipped} already done), {report.files} files, "
        f"{report.bytes / 1e6:,.1f} MB, {len(rejects)} rejects, {len(report.pairs['pairs'])} pairs, "
        f"{len(report.pairs['unpaired'])} unpaired in {elapsed:.1f}s -> {out}{verdict}",
    )
    return report


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
