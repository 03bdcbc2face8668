"""Benchmark: the worked solutions executed one at a time vs two at a time (`geoai-grade solutions`).

    .venv/bin/python bench/solutions.py [--epochs 1] [--rounds 2] [--out runs/bench/solutions]

Each round executes the three solutions (`build_solutions`, the kit's data) once with ``at_once=1`` and once with
``at_once=2``, alternating which goes first, and records the wall time of each arm and how busy the machine's
CPUs were meanwhile (from /proc/stat, so other work on the machine counts too: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from autograder.authoring.solutions import build_solutions
from autograder.paths import REPO


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot (Linux /proc/stat)."""
    user, nice, system, idle, iowait, irq, softirq = (int(v) for v in Path("/proc/stat").read_text().split()[1:8])
    busy = user + nice + system + irq + softirq
    return busy, busy + idle + iowait


def run_arm(out: Path, epochs: int, at_once: int) -> tuple[float, float, dict]:
    """Wall seconds, share of the CPUs busy, and seconds per phase of one execution of the three solutions."""
    shutil.rmtree(out, ignore_errors=True)
    busy0, total0 = cpu_ticks()
    start = time.perf_counter()
    seconds = build_solutions(out, epochs=epochs, at_once=at_once)
    wall = time.perf_counter() - start
    busy1, total1 = cpu_ticks()
    return wall, (busy1 - busy0) / max(1, total1 - total0), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epoch budget of the solutions (default: 1)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both arms (default: 2)")
    parser.add_argument("--out", default=str(REPO / "runs" / "bench" / "solutions"))
    args = parser.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    for r in range(args.rounds):
        for at_once in ((1, 2) if r % 2 == 0 else (2, 1)):
            wall, busy, seconds = run_arm(Path(args.out) / f"at_once{at_once}", args.epochs, at_once)
            walls[at_once].append(wall)
            per_phase = ", ".join(f"{phase} {s:.0f} s" for phase, s in seconds.items())
            print(f"round {r + 1}, {at_once} at a time: {wall:6.1f} s wall, CPUs {busy:4.0%} busy ({per_phase})",
                  flush=True)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"median wall: one at a time {one:.1f} s, two at a time {two:.1f} s, ratio {one / two:.2f}")


if __name__ == "__main__":
    main()
