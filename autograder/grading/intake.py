"""Intake: find the submissions of a class and decide, before anything runs, whether each can be graded.

Accepted layouts (``SUBMISSIONS`` is a folder or a ``.zip`` file):

- nbgrader's ``submitted/`` layout: ``SUBMISSIONS/<student>/<phase>/<notebook and files>``;
- an LMS-style zip holding that tree (optionally under one top folder), or one ``<student>.zip`` per student
  holding ``<phase>/...``.

A malformed submission is not an error of the batch: it gets an outcome (``missing-notebook``,
``invalid-notebook``, ...) with a message, and the grader records it like any other result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.authoring.notebooks import PHASES, build_notebook, grade_cells
from autograder.grading.integrity import integrity_message, scan
from autograder.grading.results import Flag, Outcome
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_UNZIPPED_BYTES = 2 * 2**30  # a class of 95 MB models fits; a zip bomb does not
SKIPPED = {".ipynb_checkpoints", "__pycache__", "_autograder_outputs", ".DS_Store", "__MACOSX"}


class IntakeError(UsageError):
    """The submissions location cannot be read at all (not a folder or zip, or unsafe); the message says why."""


@dataclass(frozen=True)
class PhaseCheck:
    """Whether one phase of one submission can be executed, and what was noticed."""

    outcome: Outcome | None  # None: ready to grade; otherwise a final outcome (missing or invalid notebook)
    message: str = ""
    flags: tuple[Flag, ...] = ()


@dataclass
class Submission:
    student: str
    phases: dict[Phase, Path] = field(default_factory=dict)  # phase -> submitted folder


def _unzip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest``, refusing absolute paths, '..' and oversized content.

    Raises:
        IntakeError: for a corrupt or unsafe archive.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            total = 0
            for info in zf.infolist():
                name = Path(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise IntakeError(f"{archive.name}: unsafe path {info.filename!r} in the zip")
                total += info.file_size
                if total > MAX_UNZIPPED_BYTES:
                    raise IntakeError(f"{archive.name}: more than {MAX_UNZIPPED_BYTES / 2**30:.0f} GiB unzipped")
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise IntakeError(f"{archive} is not a readable zip file ({exc})") from None


def _tree_root(folder: Path) -> Path:
    """The folder that holds the student folders: ``folder`` itself or its single top-level folder."""
    entries = [p for p in folder.iterdir() if p.name not in SKIPPED]
    if len(entries) == 1 and entries[0].is_dir() and not any((entries[0] / ph).is_dir() for ph in PHASES):
        return entries[0]
    return folder


def unpack(source: Path, workdir: Path) -> Path:
    """A folder in the ``<student>/<phase>/`` layout for ``source`` (unzipping into ``workdir`` if needed).

    Raises:
        IntakeError: if ``source`` is neither a folder nor a zip, or a zip is corrupt or unsafe.
    """
    source = Path(source)
    if source.is_file() and source.suffix == ".zip":
        dest = workdir / "unzipped"
        if dest.exists():
            shutil.rmtree(dest)
        _unzip(source, dest)
        root = _tree_root(dest)
    elif source.is_dir():
        root = source
    else:
        raise IntakeError(f"{source} is neither a folder of submissions nor a .zip file")
    for inner in sorted(root.glob("*.zip")):  # one zip per student
        target = root / inner.stem
        if not target.exists():
            _unzip(inner, target)
    return root


def discover(root: Path) -> tuple[list[Submission], list[str]]:
    """Students (sorted) and the phases each submitted; plus warnings about entries that were skipped."""
    submissions, warnings = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in SKIPPED):
        if not STUDENT_ID.match(folder.name):
            warnings.append(f"skipped {folder.name!r}: a student id is letters, digits, '_', '.' or '-'")
            continue
        sub = Submission(folder.name)
        for phase in PHASES:
            if (folder / phase).is_dir():
                sub.phases[phase] = folder / phase
        if not sub.phases:
            warnings.append(f"{folder.name}: no phase folder ({', '.join(PHASES)}) inside; recorded as not submitted")
        submissions.append(sub)
    return submissions, warnings


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot(submitted: Path, dest: Path) -> dict[str, str]:
    """Copy the submitted files into ``dest`` (read-only) and return ``{relative path: sha256}``.

    The copy is what every later step reads; hashes are taken from the copy, so they describe exactly
    what was graded. Links are not followed (a link could point outside the submission).
    """
    if dest.exists():
        shutil.rmtree(dest)
    manifest: dict[str, str] = {}
    for path in sorted(submitted.rglob("*")):
        rel = path.relative_to(submitted)
        if any(part in SKIPPED for part in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        target.chmod(0o444)
        manifest[rel.as_posix()] = sha256(target)
    dest.mkdir(parents=True, exist_ok=True)
    return manifest


def fingerprint(manifest: dict[str, str], *salt: str) -> str:
    """One hash for a snapshot and the grading configuration: equal fingerprints need no regrading."""
    return hashlib.sha256(json.dumps([sorted(manifest.items()), salt]).encode()).hexdigest()


def check_phase(folder: Path, phase: Phase) -> PhaseCheck:
    """Whether the phase's notebook in ``folder`` can be executed; the reasons if not.

    ``folder`` is a snapshot. Returns a final outcome for a missing or unreadable notebook, and flags
    for what nbgrader repairs or ignores (a foreign kernel, deleted grade cells) and for code that tampers
    (``integrity``, :mod:`autograder.grading.integrity`).
    """
    expected = PHASES[phase].ipynb.name
    notebook = folder / expected
    if not notebook.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        hint = f" (found {', '.join(others)}: rename it to {expected})" if others else ""
        return PhaseCheck(Outcome.MISSING_NOTEBOOK, f"{expected} is not in the submission{hint}")
    try:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any parse or schema error means the same thing to a student
        detail = str(exc).splitlines()[0][:300]
        return PhaseCheck(Outcome.INVALID_NOTEBOOK, f"{expected} is not a valid notebook file ({type(exc).__name__}: "
                          f"{detail}); open it in Jupyter, save it again and resubmit")
    flags = []
    kernel = nb.metadata.get("kernelspec", {}).get("name", "")
    if kernel and not kernel.startswith("python"):
        flags.append(Flag("wrong-kernel", phase, f"the notebook asks for kernel {kernel!r}; it was graded with "
                          "Python 3"))
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    deleted = sorted(_grade_cell_ids(phase) - present)
    if deleted:
        flags.append(Flag("cells-deleted", phase, f"grade cell(s) {', '.join(deleted)} were deleted; nbgrader restored "
                          "them from the release, so their tests ran against the rest of the notebook"))
    findings = scan(nb, phase)
    if findings:
        flags.append(Flag("integrity", phase, integrity_message(findings)))
    return PhaseCheck(None, "", tuple(flags))


@functools.cache
def _grade_cell_ids(phase: Phase) -> frozenset[str]:
    """The grade cells of the phase's notebook, built from its source once per process (not per submission)."""
    return frozenset(grade_cells(build_notebook(PHASES[phase].source)))
