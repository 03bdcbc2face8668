"""End to end with nbgrader: autograde each phase's worked solution, its untouched release and a
submission with typical wrong answers, in a throw-away course (1-epoch budget).

The solution must earn every automatic point; the blank release none; each wrong answer must
lose exactly its own cell's points, with a message in the autograded notebook saying why, or, for the
hidden checks judged from probes, fail exactly its own probe with a message saying why.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import nbformat
import pytest
from conftest import ALLOW_UNJAILED, removed_when_passed

from autograder.authoring.notebooks import PHASES, SOLUTION_BEGIN, SOLUTION_END
from autograder.authoring.selfcheck import SelfCheck, autograded_notebook, selfcheck, submit
from autograder.probes import PROBE_SUFFIX
from autograder.probes.catalog import PROBES
from autograder.probes.run import run_probes
from geoai_ref.phase import Phase


@dataclass(frozen=True)
class WrongAnswers:
    """Solution regions to replace and submitted files to delete.

    ``bodies`` maps a task cell's grade_id (``"id#2"`` for its second solution region) to the new body.
    """

    bodies: dict[str, str]
    delete: tuple[str, ...]
    expected: dict[str, str]  # grade cell -> regex its error message must match (the cell scores 0)
    probed: dict[str, str] = field(default_factory=dict)  # rubric check -> regex of its failed probe's message


WRONG: dict[str, WrongAnswers] = {
    "phase4a": WrongAnswers(
        bodies={
            # standardised with each set's own statistics
            "4a_normalise_code": "    own = lambda x: ((x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2)))"
                                 ".astype(np.float32)\n    return own(x_train), own(x_other)\n",
            # "collapsed" only when a single class is predicted: passes the visible tests, not the hidden ones
            "4a_collapse_code": "    counts = np.bincount(np.asarray(y_pred, dtype=int), minlength=NUM_CLASSES)\n"
                                "    majority = int(np.argmax(counts))\n"
                                "    return {'collapsed': int((counts > 0).sum()) == 1, 'majority_class': majority,\n"
                                "            'majority_share': float(counts[majority] / counts.sum()),\n"
                                "            'predicted_classes': [int(c) for c in np.flatnonzero(counts)]}\n",
        },
        delete=("figures/phase4a_confusion_matrix.png",),
        expected={"4a_normalise": "its own statistics|never the other set's own",
                  "4a_artifacts": "phase4a_confusion_matrix.png is missing"},
        # the wrong detector passes the visible test: its hidden check is a probe, judged outside the kernel
        probed={"4a_normalise": "training statistics", "4a_collapse": "collapsed should be True"},
    ),
    "phase4b": WrongAnswers(
        # the first len(names) channels instead of the named ones
        bodies={"4b_select_bands_code": "    return np.asarray(x)[..., :len(names)]\n"},
        delete=("config.yaml",),
        expected={"4b_select_bands": "order of `names`", "4b_config": "config.yaml"},
    ),
    "phase4c": WrongAnswers(
        # the first len(names) channels instead of the named ones (second region of the cell)
        bodies={"4c_subsets_code#2": "    return X[..., :len(names)]\n"},
        delete=("figures/phase4c_accuracy_comparison.png",),
        expected={"4c_subsets": "DEM", "4c_figures": "phase4c_accuracy_comparison.png"},
    ),
}


def _replace_solution(source: str, body: str, region: int = 1) -> str:
    pattern = re.compile(rf"({re.escape(SOLUTION_BEGIN)}\n).*?(\s*{re.escape(SOLUTION_END)})", re.DOTALL)
    matches = list(pattern.finditer(source))
    assert len(matches) >= region, f"no solution region {region} to replace"
    m = matches[region - 1]
    return source[:m.start()] + m.group(1) + body.rstrip("\n") + m.group(2) + source[m.end():]


def _wrong_submission(check: SelfCheck, phase: str, wrong: WrongAnswers, student: str) -> None:
    solved = check.course.root / "work" / "solution" / phase
    folder = check.course.root / "work" / student / phase
    shutil.copytree(solved, folder)
    path = folder / f"{PHASES[phase].notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for key, body in wrong.bodies.items():
        gid, _, region = key.partition("#")
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        cell.source = _replace_solution(cell.source, body, int(region or 1))
    nbformat.write(nb, path)
    for rel in wrong.delete:
        (folder / rel).unlink()
    submit(check.course, phase, student, folder)


def _error(nb: nbformat.NotebookNode, grade_id: str) -> str:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return " ".join(f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error")
    raise AssertionError(f"no cell {grade_id}")


@pytest.fixture(scope="module", params=list(PHASES))
def graded(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SelfCheck]]:
    phase = request.param
    with removed_when_passed(request, tmp_path_factory.mktemp(phase)) as root:
        yield phase, selfcheck(phase, root, epochs=1)


@pytest.mark.slow
def test_solution_earns_every_automatic_point_and_leaves_answers_to_the_ta(graded: tuple[str, SelfCheck]) -> None:
    phase, check = graded
    lost = {g: s for g, s in check.solution.items() if s[0] is not None and s[0] < s[1]}
    nb = autograded_notebook(check.course, phase, "solution")
    assert not lost, {g: _error(nb, g) for g in lost}
    manual = [g for g, (score, _) in check.solution.items() if score is None]
    assert manual, "the written answers should wait for a TA (needs_manual_grade)"


@pytest.mark.slow
def test_blank_release_scores_nothing_and_says_what_to_do(graded: tuple[str, SelfCheck]) -> None:
    phase, check = graded
    assert sum(score for score, _ in check.blank.values()) == 0, check.blank
    nb = autograded_notebook(check.course, phase, "blank")
    messages = [_error(nb, g) for g, (_, top) in check.blank.items() if top > 0 and _error(nb, g)]
    assert messages, "the blank release's grade cells should fail with messages"
    assert all(("not implemented" in m.lower() or "NotImplementedError" in m or "missing" in m or "NameError" in m)
               for m in messages), messages


#: Phases whose wrong-answer submission is autograded by `make test` (the others by `make test-all`, to keep the
#: suite under 15 minutes on 2 cores: each autograde reruns the notebook, 40-90 s).
DEFAULT_WRONG = ("phase4a",)


@pytest.mark.slow
def test_typical_wrong_answers_lose_their_own_points_with_a_reason(graded: tuple[str, SelfCheck],
                                                                   request: pytest.FixtureRequest) -> None:
    phase, check = graded
    if phase not in DEFAULT_WRONG and not request.config.getoption("--full-e2e"):
        pytest.skip(f"the {phase} wrong-answer submission is autograded by `make test-all` (--full-e2e)")
    wrong = WRONG[phase]
    _wrong_submission(check, phase, wrong, "wrong")
    scores = check.course.autograde(phase, "wrong")
    nb = autograded_notebook(check.course, phase, "wrong")
    for gid, pattern in wrong.expected.items():
        assert scores[gid][0] == 0, f"{gid} should score 0: {scores[gid]}"
        assert re.search(pattern, _error(nb, gid)), f"{gid}: {_error(nb, gid)!r} does not match {pattern!r}"
    for gid, (score, top) in scores.items():
        if gid not in wrong.expected and score is not None:
            assert score == top, f"{gid} lost points it should not: {_error(nb, gid)}"
    if wrong.probed:
        submitted = check.course.root / "work" / "wrong" / phase / f"{PHASES[phase].notebook}.ipynb"
        judged = {r.id.removesuffix(PROBE_SUFFIX): r for r in run_probes(submitted, Phase.parse(phase),
                                                                          PROBES[Phase.parse(phase)],
                                                                          jailed=not ALLOW_UNJAILED)}
        for check_id, pattern in wrong.probed.items():
            assert not judged[check_id].passed and re.search(pattern, judged[check_id].message), judged[check_id]
        assert all(r.passed for cid, r in judged.items() if cid not in wrong.probed), judged
