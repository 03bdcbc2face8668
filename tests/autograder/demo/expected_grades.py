"""The sample class's grades in brief (points of every check, flags, phase outcomes), for the regression test.

``sample_class_expected.json`` holds them as the grader gave them before the autograder was regrouped by
stage; ``test_sample_class_demo.py`` checks that the sample class still grades to exactly that. To record
the grades of a new demo run (after a deliberate change of the rules), run::

    python tests/autograder/demo/expected_grades.py runs/demo_grading > tests/autograder/demo/sample_class_expected.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

EXPECTED = Path(__file__).with_name("sample_class_expected.json")


def summarise(rubrics: Iterable[Mapping]) -> dict[str, dict]:
    """student -> {total, points of every check (None: waiting for a TA), sorted flag ids, phase outcomes}."""
    return {str(r["student"]): {
        "total": r["total"],
        "points": {c["id"]: c["points"] for cr in r["criteria"] for c in cr["checks"]},
        "flags": sorted({f["id"] for f in r["flags"]}),
        "outcomes": {phase: info["outcome"] for phase, info in sorted(r["phases"].items())},
    } for r in sorted(rubrics, key=lambda r: r["student"])}


def from_report_folder(out: Path) -> dict[str, dict]:
    """The summary of a demo run's ``OUT/<student>/rubric.json`` files."""
    return summarise(json.loads(p.read_text()) for p in sorted(Path(out).glob("*/rubric.json")))


if __name__ == "__main__":
    print(json.dumps(from_report_folder(Path(sys.argv[1])), indent=1, sort_keys=True))
