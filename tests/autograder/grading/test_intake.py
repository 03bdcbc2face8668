"""Intake: layouts (folder, zip of the tree, zip per student), snapshots, and malformed notebooks."""

import json
import zipfile

import nbformat
import pytest

from autograder.authoring.notebooks import PHASES, build_notebook
from autograder.grading.intake import (
    IntakeError,
    check_phase,
    discover,
    fingerprint,
    snapshot,
    unpack,
)

NB_4A = PHASES["phase4a"].ipynb.name


def _student_notebook(folder, phase="phase4a", drop=(), kernel="python3"):
    nb = build_notebook(PHASES[phase].source)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in drop]
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / PHASES[phase].ipynb.name)
    return folder


def test_discover_folder_layout(tmp_path):
    _student_notebook(tmp_path / "ada" / "phase4a")
    (tmp_path / "ada" / "phase4b").mkdir()
    (tmp_path / "ben").mkdir()
    (tmp_path / "bad name!").mkdir()
    subs, warnings = discover(tmp_path)
    assert [(s.student, sorted(s.phases)) for s in subs] == [("ada", ["phase4a", "phase4b"]), ("ben", [])]
    assert any("bad name!" in w for w in warnings) and any("ben" in w for w in warnings)


def test_unpack_zip_of_tree_and_zip_per_student(tmp_path):
    tree = tmp_path / "tree"
    _student_notebook(tree / "class" / "ada" / "phase4a")
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in tree.rglob("*"):
            zf.write(path, path.relative_to(tree))
    root = unpack(archive, tmp_path / "work")
    assert [s.student for s in discover(root)[0]] == ["ada"]

    per_student = tmp_path / "per_student"
    per_student.mkdir()
    with zipfile.ZipFile(per_student / "ben.zip", "w") as zf:
        zf.write(tree / "class" / "ada" / "phase4a" / NB_4A, f"phase4a/{NB_4A}")
    root = unpack(per_student, tmp_path / "work2")
    subs = discover(root)[0]
    assert [(s.student, list(s.phases)) for s in subs] == [("ben", ["phase4a"])]


def test_unsafe_or_corrupt_zip_is_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(IntakeError, match="unsafe path"):
        unpack(evil, tmp_path / "work")
    assert not (tmp_path / "outside.txt").exists()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IntakeError, match="not a readable zip"):
        unpack(broken, tmp_path / "work")
    with pytest.raises(IntakeError, match="neither a folder"):
        unpack(tmp_path / "missing", tmp_path / "work")


def test_snapshot_hashes_what_it_copied_and_skips_links(tmp_path):
    sub = tmp_path / "sub"
    (sub / "reports").mkdir(parents=True)
    (sub / "reports" / "a.md").write_text("hello")
    (sub / "_autograder_outputs").mkdir()
    (sub / "_autograder_outputs" / "x.npy").write_text("ignored")
    (sub / "link.md").symlink_to(tmp_path / "elsewhere.md")
    manifest = snapshot(sub, tmp_path / "snap")
    assert manifest == {"reports/a.md": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    (sub / "reports" / "a.md").write_text("changed after the snapshot")
    assert (tmp_path / "snap" / "reports" / "a.md").read_text() == "hello"
    assert fingerprint(manifest, "v1") != fingerprint(manifest, "v2")
    assert fingerprint(manifest, "v1") == fingerprint(dict(manifest), "v1")


def test_check_phase_outcomes(tmp_path):
    good = _student_notebook(tmp_path / "good")
    assert check_phase(good, "phase4a").outcome is None

    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "my_work.ipynb").write_text("{}")
    result = check_phase(missing, "phase4a")
    assert result.outcome == "missing-notebook" and "rename it" in result.message

    invalid = tmp_path / "invalid"
    invalid.mkdir()
    (invalid / NB_4A).write_text((good / NB_4A).read_text()[:500])
    result = check_phase(invalid, "phase4a")
    assert result.outcome == "invalid-notebook" and "save it again" in result.message

    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / NB_4A).write_text(json.dumps({"cells": "not a list", "nbformat": 4, "nbformat_minor": 5,
                                            "metadata": {}}))
    assert check_phase(schema, "phase4a").outcome == "invalid-notebook"

    odd = _student_notebook(tmp_path / "odd", drop=("4a_freeze", "4a_collapse"), kernel="ir")
    result = check_phase(odd, "phase4a")
    flags = {f.id: f.message for f in result.flags}
    assert {f.phase for f in result.flags} == {"phase4a"}
    assert result.outcome is None
    assert "4a_collapse, 4a_freeze" in flags["cells-deleted"] and "'ir'" in flags["wrong-kernel"]
