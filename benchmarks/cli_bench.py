"""CLI start-up: `callbot --help` wall time against a bare `python -c pass` baseline (same script).

Goal: under 1 s, i.e. the heavy stack (torch, transformers, prefect, ...) is imported lazily.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    base = _time([sys.executable, "-c", "pass"])
    cli = _time([sys.executable, "-m", "callbot.cli", "--help"])
    print(f"python baseline {base:.3f}s  callbot --help {cli:.3f}s")
    print(
        f"cli_startup_s={cli:.3f} ratio_vs_bare_python={cli / base:.1f}x goal=<1.0s {'OK' if cli < 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
