"""Ingest throughput: `callbot ingest` against the dataset page's merge-then-unzip and a plain `cp`.

Builds (in a temp dir, removed at the end) a set of STORED zips of WAV-like random-ish members,
split AI-Hub style into ``X.zip.part<byte offset>`` parts, at least 2 GiB in all, then times, in this
same script and on the same bytes:

  (a) the page's way: order the parts with ``sort -V``, ``cat`` them into one zip, ``unzip -q`` it
  (b) ``callbot ingest SRC --out OUT`` (CRC-32 and sha256 of every member verified and recorded)
  (c) ``cp -r --reflink=never`` of the parts (the physical limit of reading and writing the bytes)

Each timing ends with ``sync`` so bytes still in the page cache count. Peak extra disk is sampled (every 0.5 s)
from the output folders while each method runs. Goals: (b) >= 1.5x faster than (a); (b) >= 0.6x the
speed of (c); (b)'s peak disk == the extracted bytes (no merged copy).

Usage: ``python benchmarks/ingest_bench.py [--gib 2.0] [--repeat 1]``. Other work on the machine
(CPU or disk) shifts all three figures; compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEMBER = 700_000  # about 22 s of 16 kHz mono 16-bit audio, a typical interview answer
PART = 48 << 20  # small enough that every archive has more than ten parts (string order breaks)


def _disk_bytes(paths: list[Path]) -> int:
    total = 0
    for root in paths:
        for dirpath, _, files in os.walk(root):
            for name in files:
                with contextlib.suppress(FileNotFoundError):  # removed while sampling
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


class PeakDisk:
    """Samples the bytes under ``paths`` every 0.5 s while a method runs (rarely: it costs CPU too)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, _disk_bytes(self.paths))

    def __enter__(self) -> PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _disk_bytes(self.paths))


def build(src: Path, total: int) -> tuple[int, list[Path]]:
    """Write archives of ~512 MiB until ``total`` bytes; returns (bytes, logical archive paths)."""
    pool = os.urandom(64 << 20)
    folder = src / "129.채용면접 인터뷰 데이터" / "01-1.정식개방데이터" / "Training" / "01.원천데이터"
    folder.mkdir(parents=True)
    written, archives, n = 0, [], 0
    while written < total:
        path = folder / f"TS_0{n + 1}.Bench_Male_New.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for i in range(min(767, (total - written) // MEMBER + 1)):
                start = (i * 7919 + n * 104729) % (len(pool) - MEMBER)
                header = b"RIFF" + (MEMBER - 8).to_bytes(4, "little") + b"WAVEfmt "
                zf.writestr(
                    f"0{n + 1}.Bench/Male/New/ckmk_a_bm_m_n_{i:06d}.wav",
                    header + pool[start : start + MEMBER - 16],
                )
        size = path.stat().st_size
        written += size
        with path.open("r+b") as fh:  # split from the end so the build needs one part of extra disk
            for offset in sorted(range(PART, size, PART), reverse=True):
                fh.seek(offset)
                path.with_name(f"{path.name}.part{offset}").write_bytes(fh.read())
                fh.truncate(offset)
        path.rename(path.with_name(f"{path.name}.part0"))
        archives.append(path)
        n += 1
    return written, archives


def page_way(archives: list[Path], out: Path) -> None:
    """The dataset page: order the parts (sort -V), cat them into X.zip, then unzip X.zip."""
    merged = out / "merged"
    merged.mkdir(parents=True)
    for archive in archives:
        listing = subprocess.run(
            f"ls -1 '{archive}'.part* | sort -V", shell=True, check=True, capture_output=True, text=True
        ).stdout.split("\n")
        with (merged / archive.name).open("wb") as fh:
            subprocess.run(["cat", *[p for p in listing if p]], stdout=fh, check=True)
    for archive in archives:
        subprocess.run(["unzip", "-q", str(merged / archive.name), "-d", str(out / archive.stem)], check=True)


def callbot_ingest(src: Path, out: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "callbot.cli",
            "--params",
            str(REPO / "params.yaml"),
            "ingest",
            str(src),
            "--out",
            str(out),
        ],
        check=True,
        cwd=REPO,
        env={**os.environ, "CALLBOT_PROGRESS": "0"},
        stderr=subprocess.DEVNULL,
    )


def plain_copy(src: Path, out: Path) -> None:
    subprocess.run(["cp", "-r", "--reflink=never", str(src), str(out)], check=True)


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(name: str, run, out: Path, repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs (sync included), the CPU seconds its processes used, peak disk."""
    best, peak, cpu = float("inf"), 0, 0.0
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        with PeakDisk([out]) as disk:
            start, cpu_start = time.perf_counter(), _child_cpu()
            run(out)
            os.sync()
            took = time.perf_counter() - start
        if took < best:
            best, cpu = took, _child_cpu() - cpu_start
        peak = max(peak, disk.peak)
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"{name:<28} {best:7.2f} s wall {cpu:6.2f} s CPU  peak extra disk {peak / 2**30:5.2f} GiB", flush=True
    )
    return best, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--gib", type=float, default=2.0, help="size of the archive set (at least 2 for the claim)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per method; the fastest counts")
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: the system temp dir)")
    args = ap.parse_args()
    if shutil.which("unzip") is None:
        sys.exit(
            "ingest_bench: `unzip` is not installed; run `apt-get install -y unzip` (the page's way needs it)"
        )
    where = args.dir or Path(tempfile.gettempdir())
    need = int(args.gib * 2**30 * 3.3)  # the set, the page's merged copy and its extracted copy
    free = shutil.disk_usage(where).free
    print(
        f"free disk at {where}: {free / 2**30:.1f} GiB, needed about {need / 2**30:.1f} GiB; cores: {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the box slows the CPU-heavy methods most)"
    )
    if free < need + (1 << 30):
        sys.exit(
            f"ingest_bench: not enough free disk at {where}; pass --dir on a bigger disk or a smaller --gib"
        )
    root = Path(tempfile.mkdtemp(prefix="ingest_bench_", dir=where))
    try:
        src = root / "src"
        start = time.perf_counter()
        total, archives = build(src, int(args.gib * 2**30))
        parts = sum(1 for _ in src.rglob("*.part*"))
        print(
            f"built {total / 2**30:.2f} GiB: {len(archives)} STORED zips in {parts} parts ({time.perf_counter() - start:.1f} s)"
        )
        os.sync()
        subprocess.run(
            ["cat", *map(str, src.rglob("*.part*"))], stdout=subprocess.DEVNULL, check=True
        )  # warm cache
        t_c, p_c = timed("(c) cp -r", lambda out: plain_copy(src, out), root / "c", args.repeat)
        t_a, p_a = timed(
            "(a) sort -V | cat; unzip", lambda out: page_way(archives, out), root / "a", args.repeat
        )
        t_b, p_b = timed("(b) callbot ingest", lambda out: callbot_ingest(src, out), root / "b", args.repeat)
        gib = total / 2**30
        print(f"throughput: (a) {gib / t_a:.2f} GiB/s  (b) {gib / t_b:.2f} GiB/s  (c) {gib / t_c:.2f} GiB/s")
        print(
            f"ingest_vs_page_speedup={t_a / t_b:.2f}x (goal >=1.5) ingest_vs_cp_speed={t_c / t_b:.2f}x (goal >=0.6) "
            f"peak_disk_GiB a={p_a / 2**30:.2f} b={p_b / 2**30:.2f} c={p_c / 2**30:.2f} set={gib:.2f}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
