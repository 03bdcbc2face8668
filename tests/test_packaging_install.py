"""A plain ``pip install`` of the kit, without extras, grades a worked solution with full points.

A fresh virtual environment in ``tmp_path`` gets ``pip install <copy of the repository>`` (no extras,
not editable, so nothing is built inside the repository), and its interpreter then autogrades the Phase
4B worked solution with nbgrader, using the suite's own machinery (``make_course``, ``run_solution``,
``Course.autograde``; see ``autograder/authoring/selfcheck.py``). Phase 4B because its hidden split check
(``autograder/checks/phase4b.py``) imports hypothesis inside the grading kernel: with hypothesis only in
the ``test`` extra that cell failed and the student silently lost its points.

The kit's own code runs from the copy (``PYTHONPATH``): ``autograder.paths`` finds ``assignments/``,
``fixtures/``, ``autograder/hidden_data/`` and ``nbgrader_config.py`` next to the package, which only a
source tree has. Every third-party module comes from the fresh environment; a ``.pth`` hook installed
there records where each grading process (nbgrader, the kernel) found hypothesis, the kit and the main
libraries, and the test asserts it.

It costs far more than ``make test``'s budget allows: measured 826 s on 2 cores shared with another
test run (installing about 3 GB of dependencies, TensorFlow included, from the registry: 231 s; executing
the 4B solution: 278 s; autograding it: 292 s; unloaded, 4B's grading run alone is about 60 s, see
BENCHMARKS.md). So it runs under ``make test-all`` only (``--full-e2e``); ``tests/test_packaging.py``
checks the same dependencies statically in ``make test``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.paths import REPO

PHASE = "phase4b"
SPLIT_CELL = "4b_split"  # the grade cell whose hidden check imports hypothesis
#: What a copy of the repository leaves out: generated, cached or environment folders.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "venv", "runs", "release", "gradebook", "solutions", "build",
                                    "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
                                    ".hypothesis", "_autograder_outputs", ".ipynb_checkpoints")

#: Installed into the fresh environment: logs, per process, where the watched top-level modules are found.
AUDIT_MODULE = '''\
import json, os, sys

_LOG = os.environ.get("KIT_IMPORT_AUDIT")
_WATCH = {"hypothesis", "autograder", "geoai_ref", "tensorflow", "numpy", "nbgrader", "rasterio"}


class _Audit:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in _WATCH:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not cls else None
            spec = find(name, path, target) if find else None
            if spec is not None:
                with open(_LOG, "a") as log:
                    log.write(json.dumps({"pid": os.getpid(), "executable": sys.executable, "module": name,
                                          "origin": spec.origin, "kernel": "ipykernel" in sys.modules}) + "\\n")
                return spec
        return None


if _LOG:
    sys.meta_path.insert(0, _Audit)
'''

#: Run by the fresh environment's interpreter: execute the phase's solution, submit it, autograde it.
DRIVER = '''\
import json, sys, time
from pathlib import Path

from autograder.authoring.course import make_course
from autograder.authoring.selfcheck import SOLUTION_STUDENT, autograded_notebook, submit
from autograder.authoring.solutions import run_solution

phase, root = sys.argv[1], Path(sys.argv[2])
start = time.perf_counter()
course = make_course(root)
course.generate(phase)
solved = run_solution(phase, root / "work" / SOLUTION_STUDENT / phase, epochs=1)
submit(course, phase, SOLUTION_STUDENT, solved.folder)
graded = time.perf_counter()
scores = course.autograde(phase, SOLUTION_STUDENT)
errors = {}
for cell in autograded_notebook(course, phase, SOLUTION_STUDENT).cells:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    for out in cell.get("outputs", []):
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
            text = out.get("evalue", out.get("text", ""))[:500]
            errors.setdefault(gid, []).append(out.get("ename", "stderr") + ": " + text)
print("RESULT " + json.dumps({"scores": scores, "errors": errors, "solution_s": solved.seconds,
                              "prepare_s": graded - start, "autograde_s": time.perf_counter() - graded}))
'''


def _copy_repository(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=NOT_COPIED, symlinks=True)
    return dest


def _clean_env(venv: Path, home: Path) -> dict[str, str]:
    """This process's environment without the dev virtualenv: the fresh venv's bin first on PATH, no
    PYTHONPATH / VIRTUAL_ENV / user site-packages, Jupyter and IPython configuration in ``home``."""
    dev_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "JUPYTER_PATH", "CONDA_PREFIX"}}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != dev_bin]
    env.update(PATH=os.pathsep.join([str(venv / "bin"), *path]), PYTHONNOUSERSITE="1",
               JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
               IPYTHONDIR=str(home / "ipython"), MPLBACKEND="Agg")
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    log = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, f"{' '.join(cmd)} failed (exit {done.returncode}):\n{log}"
    return done


@pytest.mark.slow
def test_a_plain_install_without_extras_grades_the_4b_solution_with_full_points(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("--full-e2e"):
        pytest.skip("installs the kit into a fresh venv and autogrades 4B (4-15 minutes): `make test-all`")
    start = time.perf_counter()
    repo = _copy_repository(tmp_path / "kit")
    venv = tmp_path / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        python = venv / "bin" / "python"
        env = _clean_env(venv, tmp_path)
        _run([str(python), "-m", "pip", "install", "--quiet", str(repo)], env, tmp_path, timeout=1800)  # no extras
        installed = time.perf_counter()

        site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         env, tmp_path, 60).stdout.strip())
        (site / "_kit_import_audit.py").write_text(AUDIT_MODULE)
        (site / "_kit_import_audit.pth").write_text("import _kit_import_audit\n")
        audit = tmp_path / "imports.jsonl"
        driver = tmp_path / "grade_solution.py"
        driver.write_text(DRIVER)
        # the kit's own code from the copy (see the module docstring), everything else from the fresh venv
        env.update(PYTHONPATH=str(repo), KIT_IMPORT_AUDIT=str(audit))
        done = _run([str(python), str(driver), PHASE, str(tmp_path / "course")], env, tmp_path, timeout=2400)
        site_prefix = str(site.resolve())
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # 3 GB; pytest keeps the last three runs' tmp_path
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    print(f"install {installed - start:.0f} s, solution {result['prepare_s']:.0f} s, "
          f"autograde {result['autograde_s']:.0f} s, whole test {time.perf_counter() - start:.0f} s")

    scores = {gid: tuple(s) for gid, s in result["scores"].items()}
    lost = {gid: result["errors"].get(gid, "no error output") for gid, (score, top) in scores.items()
            if score is not None and score < top}
    assert not lost, f"the solution lost automatic points after a plain install: {lost}"
    assert scores[SPLIT_CELL][0] == scores[SPLIT_CELL][1] > 0, scores[SPLIT_CELL]

    # Kernels run the solution (hidden tests stripped) and then grade it: only the grading kernel imports hypothesis.
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(r["module"] == "hypothesis" and r["kernel"] for r in records), \
        f"the grading kernel did not import hypothesis from the fresh venv: {records}"
    assert {r["module"] for r in records if r["kernel"]} >= {"hypothesis", "autograder", "geoai_ref", "tensorflow"}
    repo_prefix = str(repo.resolve())
    for r in records:
        assert Path(r["executable"]).parent == venv / "bin", r
        origin = str(Path(r["origin"]).resolve())
        expected = repo_prefix if r["module"] in {"autograder", "geoai_ref"} else site_prefix
        assert origin.startswith(expected + os.sep), f"{r['module']} came from {origin}, not {expected}: {r}"
