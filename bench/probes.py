"""Benchmark: the probe process of each phase (the hidden checks of the student's functions), jailed and not.

For each phase, the worked solution's probes are run ``--repeat`` times in the jail (bubblewrap, as grading runs
them) and as many times without it, in one run. Prints the median and best seconds of each arm, the jail's share,
and the peak resident memory of the probe process (sampled every 0.1 s by autograder.grading.limits). One probe
process serves every hidden check of a phase, so this is the whole cost probes add to grading one phase.

    .venv/bin/python bench/probes.py [--phase all] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.authoring.notebooks import PHASES
from autograder.authoring.solutions import solution_notebook
from autograder.jail import jail_available
from autograder.probes.catalog import PROBES
from autograder.probes.run import run_probes
from geoai_ref.phase import PHASE_HELP, Phase, phase_argument


def measure(notebook: Path, phase: Phase, jailed: bool) -> tuple[float, float]:
    """Seconds (the whole of :func:`run_probes`) and peak MiB of one probe process of ``phase``; every result must
    pass (it is the worked solution)."""
    start = time.monotonic()
    results = run_probes(notebook, phase, PROBES[phase], jailed=jailed)
    seconds = time.monotonic() - start
    failed = [r.id for r in results if not r.passed]
    if failed:
        raise SystemExit(f"the worked solution failed probes {failed}: fix the kit before timing it")
    return seconds, float(results[0].evidence.get("process_peak_mb") or 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=phase_argument, default="all", help=PHASE_HELP)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    missing = jail_available()
    if missing is not None:
        raise SystemExit(f"the jail cannot run here ({missing}): this benchmark compares it with no jail")
    print(f"{'phase':7} {'checks':>6} {'jailed median s':>16} {'best':>6} {'unjailed median s':>18} {'best':>6} "
          f"{'jail share':>11} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for phase in args.phase:
            notebook = Path(tmp) / PHASES[phase].ipynb.name
            nbformat.write(solution_notebook(phase), notebook)
            arms: dict[bool, list[float]] = {True: [], False: []}
            peak = 0.0
            for _ in range(args.repeat):
                for jailed in (True, False):  # interleaved, so a busy moment hits both arms
                    seconds, mb = measure(notebook, phase, jailed)
                    arms[jailed].append(seconds)
                    peak = max(peak, mb)
            jailed_median, free_median = statistics.median(arms[True]), statistics.median(arms[False])
            print(f"{phase.label:7} {len(PROBES[phase]):6d} {jailed_median:16.1f} {min(arms[True]):6.1f} "
                  f"{free_median:18.1f} {min(arms[False]):6.1f} {jailed_median / free_median - 1:+10.0%} {peak:9.0f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
