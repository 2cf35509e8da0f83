"""prepare at the interview set's full label cardinality: records/s and peak RSS vs a naive baseline.

Builds ``callbot sample --records N --audio stub`` (+ the call-centre sample), ingests it, then
times, each in its own process so peak RSS is that phase's alone:

- baseline: what a notebook does first: ``json.load`` every label file into one list (no audio,
  no normalisation, no output);
- prepare: ``run_prepare`` (labels + WAV headers + streaming signal stats + parquet + HF datasets).

Goals (issue 4): under 2 minutes and under 2 GB peak RSS on the 2-core machine. CPU seconds are
printed next to wall time: on a shared machine wall time measures the neighbours too. The last line
prints the ratios. ``--workdir`` keeps the generated trees for a re-run (``--reuse``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = r"""
import json, os, resource, sys, time
from pathlib import Path
raw = Path(sys.argv[1]); start = time.perf_counter(); labels = []
for dirpath, _, files in os.walk(raw):
    if "라벨링데이터" not in dirpath:
        continue
    for name in files:
        if name.endswith(".json"):
            labels.append(json.loads(Path(dirpath, name).read_text(encoding="utf-8-sig")))
seconds = time.perf_counter() - start
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "labels": len(labels), "cpu_s": use.ru_utime + use.ru_stime,
                  "rss_mb": use.ru_maxrss / 1024}))
"""

PREPARE = r"""
import json, resource, sys, time
from pathlib import Path
from callbot.config import load_params
from callbot.prepare.run import run_prepare
params = load_params(sys.argv[3]).prepare
start = time.perf_counter()
report = run_prepare(Path(sys.argv[1]), Path(sys.argv[2]), params)
seconds = time.perf_counter() - start
use = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the label/WAV worker processes
print(json.dumps({"seconds": seconds, "inputs": report.inputs, "records": report.records,
                  "quarantined": report.quarantined,
                  "cpu_s": use.ru_utime + use.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rss_mb": use.ru_maxrss / 1024, "worker_rss_mb": kids.ru_maxrss / 1024}))
"""


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args[:4])} ...\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=84134)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep an existing download/raw tree")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prepare-bench-"))
    env = {**os.environ, "CALLBOT_PROGRESS": "0", "PYTHONPATH": str(repo)}
    callbot = [sys.executable, "-m", "callbot.cli", "--params", str(repo / "params.yaml")]
    download, raw, out = work / "download", work / "raw", work / "prepared"
    started = time.perf_counter()
    if not (args.reuse and raw.is_dir()):
        for path in (download, raw):
            shutil.rmtree(path, ignore_errors=True)
        sample = [
            *callbot,
            "sample",
            "--out",
            str(download),
            "--records",
            str(args.records),
            "--audio",
            "stub",
        ]
        _run(sample, env)
        _run([*sample, "--dataset", "callcenter"], env)
        _run([*callbot, "ingest", str(download), "--out", str(raw)], env)
    print(f"tree ready in {time.perf_counter() - started:.0f}s under {work}")

    base = json.loads(_run([sys.executable, "-c", BASELINE, str(raw)], env))
    prep = json.loads(
        _run([sys.executable, "-c", PREPARE, str(raw), str(out), str(repo / "params.yaml")], env)
    )
    base_rate = base["labels"] / base["seconds"]
    rate = prep["inputs"] / prep["seconds"]
    print(
        f"baseline json.load of {base['labels']} label files: {base['seconds']:.1f}s "
        f"({base_rate:.0f} labels/s), {base['cpu_s']:.1f} CPU-s, peak RSS {base['rss_mb']:.0f} MB"
    )
    print(
        f"prepare: {prep['inputs']} inputs -> {prep['records']} records + {prep['quarantined']} quarantined "
        f"in {prep['seconds']:.1f}s ({rate:.0f} records/s), {prep['cpu_s']:.1f} CPU-s, "
        f"peak RSS {prep['rss_mb']:.0f} MB (largest worker {prep['worker_rss_mb']:.0f} MB)"
    )
    ok = prep["seconds"] < 120 and max(prep["rss_mb"], prep["worker_rss_mb"]) < 2048
    print(
        f"prepare_s={prep['seconds']:.1f} records_per_s={rate:.0f} peak_rss_mb={prep['rss_mb']:.0f} "
        f"cpu_s={prep['cpu_s']:.1f} time_ratio_vs_naive_json={prep['seconds'] / base['seconds']:.2f}x "
        f"cpu_ratio_vs_naive_json={prep['cpu_s'] / base['cpu_s']:.2f}x "
        f"rss_ratio_vs_naive_json={prep['rss_mb'] / base['rss_mb']:.2f}x goal=<120s,<2048MB {'OK' if ok else 'MISSED'}"
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
