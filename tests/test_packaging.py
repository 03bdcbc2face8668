"""Everything the kit imports at run time is a declared runtime dependency.

A grading run imports ``geoai_ref``, ``autograder`` (its hidden checks, ``autograder/checks/``, run inside
the nbgrader grading kernel) and whatever the assignment notebooks import (``assignments/*/*.src.py`` and
the shared cells ``assignments/*.py``). A package that is only in the ``test`` extra is missing after a
plain ``pip install`` of the kit: the grade cell that imports it raises and the student silently gets 0.
This test reads those files' imports statically (``ast``), maps each third-party module to the
distribution that provides it and checks that pyproject.toml's ``[project].dependencies`` names it.
``test_packaging_install.py`` proves the same end to end, in a fresh virtual environment.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.paths import REPO

PYPROJECT = REPO / "pyproject.toml"
#: The kit's own top-level packages: imported from the kit itself, never from a dependency.
KIT_PACKAGES = frozenset({"geoai_ref", "autograder"})


def grading_sources(repo: Path = REPO) -> list[Path]:
    """The Python files a grading run imports: the reference, the autograder, the notebooks' sources."""
    files = [*(repo / "geoai_ref").rglob("*.py"), *(repo / "autograder").rglob("*.py"),
             *(repo / "assignments").glob("*/*.src.py"), *(repo / "assignments").glob("*.py")]
    return sorted(f for f in files if "__pycache__" not in f.parts)


@dataclass(frozen=True)
class Import:
    module: str  # dotted name as written: "hypothesis", "google.auth", "sklearn.metrics"
    file: Path
    line: int


def imports(path: Path) -> list[Import]:
    """Every absolute import in ``path``, at any depth (function-local imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Import(node.module, path, node.lineno))
    return found


def third_party(imported: Iterable[Import]) -> list[Import]:
    """Those not from the standard library and not from the kit itself."""
    return [i for i in imported
            if (top := i.module.partition(".")[0]) not in sys.stdlib_module_names and top not in KIT_PACKAGES]


def normalise(name: str) -> str:
    """A distribution name per PEP 503: lower case, runs of ``-``, ``_`` and ``.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution a PEP 508 requirement names (``"foo[bar]>=1; python_version<'3.12'"`` -> ``foo``)."""
    match = re.match(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)", requirement)
    assert match, f"not a requirement: {requirement!r}"
    return normalise(match.group(1))


def declared(pyproject: Path = PYPROJECT) -> tuple[set[str], dict[str, set[str]]]:
    """The normalised runtime dependencies and, per extra, the normalised optional ones."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    runtime = {requirement_name(r) for r in project.get("dependencies", [])}
    extras = {extra: {requirement_name(r) for r in reqs}
              for extra, reqs in project.get("optional-dependencies", {}).items()}
    return runtime, extras


@cache
def _top_level_distributions() -> dict[str, tuple[str, ...]]:
    return {top: tuple(dists) for top, dists in importlib.metadata.packages_distributions().items()}


def distributions_of(module: str) -> list[str]:
    """The installed distributions that provide ``module`` (normalised names).

    A namespace package (``google``) is shared by several distributions; then only those holding
    the imported sub-package (``google/auth/``) count.
    """
    dists = _top_level_distributions().get(module.partition(".")[0], ())
    if len(dists) > 1 and "." in module:
        prefix = module.replace(".", "/")
        holding = [d for d in dists
                   if any(str(f).startswith((prefix + "/", prefix + ".")) for f in importlib.metadata.files(d) or ())]
        dists = tuple(holding) or dists
    return sorted({normalise(d) for d in dists})


def undeclared(files: Iterable[Path], runtime: set[str], extras: dict[str, set[str]],
               repo: Path = REPO) -> list[str]:
    """One message per import whose distribution is not a runtime dependency (empty when all are)."""
    problems = []
    for imp in third_party(i for f in files for i in imports(f)):
        dists = distributions_of(imp.module)
        if set(dists) & runtime:
            continue
        where = imp.file.relative_to(repo) if imp.file.is_relative_to(repo) else imp.file
        if not dists:
            problems.append(f"{where}:{imp.line} imports {imp.module!r}, which no installed distribution provides: "
                            "install it and add its distribution to [project].dependencies in pyproject.toml")
            continue
        only_in = sorted(extra for extra, names in extras.items() if set(dists) & names)
        note = (f" (it is only in the {', '.join(only_in)} extra, which a plain `pip install` leaves out)"
                if only_in else "")
        problems.append(f"{where}:{imp.line} imports {imp.module!r} from {' or '.join(dists)}{note}: "
                        f"add \"{dists[0]}\" to [project].dependencies in pyproject.toml")
    return problems


def test_every_module_a_grading_run_imports_is_a_runtime_dependency() -> None:
    runtime, extras = declared()
    problems = undeclared(grading_sources(), runtime, extras)
    assert not problems, "imports missing from the runtime dependencies:\n" + "\n".join(problems)


def test_the_scan_sees_the_hidden_checks_and_the_notebooks_imports() -> None:
    found = {(i.module.partition(".")[0], i.file.relative_to(REPO).as_posix())
             for f in grading_sources() for i in third_party(imports(f))}
    # function-local, in a hidden check the grader runs on the submitted files
    assert ("yaml", "autograder/checks/phase4b.py") in found
    assert ("tensorflow", "assignments/setup_cell.py") in found
    assert ("rasterio", "assignments/phase4b/Week_4_Exercise_Phase4B.src.py") in found
    assert not {m for m, _ in found} & (KIT_PACKAGES | set(sys.stdlib_module_names))


def test_a_module_only_in_the_test_extra_is_reported_with_its_file_and_the_fix(tmp_path: Path) -> None:
    # a pyproject.toml with a module the grader imports (yaml, function-local in a check) only in the test extra
    old = tmp_path / "pyproject.toml"
    old.write_text('[project]\nname = "kit"\nversion = "0"\ndependencies = ["numpy>=1.26", "Scikit_Learn>=1.4"]\n'
                   '[project.optional-dependencies]\ntest = ["pytest>=8", "PyYAML>=6.0"]\n')
    runtime, extras = declared(old)
    assert runtime == {"numpy", "scikit-learn"}
    check = REPO / "autograder" / "checks" / "phase4b.py"
    problems = undeclared([check], runtime, extras)
    found = [p for p in problems if "'yaml'" in p]
    assert found, problems
    assert all(p.startswith("autograder/checks/phase4b.py:") for p in found)
    assert "only in the test extra" in found[0] and 'add "pyyaml" to [project].dependencies' in found[0]


def test_stdlib_and_the_kit_are_exempt_and_unknown_modules_are_reported(tmp_path: Path) -> None:
    source = tmp_path / "cell.py"
    source.write_text("from __future__ import annotations\nimport json, os.path\nfrom geoai_ref import layout\n"
                      "from autograder.checks import phase4b\nfrom . import sibling\nimport numpy as np\n"
                      "def f():\n    import no_such_module_geoai_kit\n")
    problems = undeclared([source], {"numpy"}, {})
    assert len(problems) == 1 and "'no_such_module_geoai_kit'" in problems[0] and ":8 " in problems[0], problems


def test_requirement_names_are_normalised_per_pep_503() -> None:
    assert requirement_name("PyYAML>=6.0") == "pyyaml"
    assert requirement_name("scikit_learn[alldeps]>=1.4; python_version >= '3.11'") == "scikit-learn"
    assert requirement_name("zope.interface") == "zope-interface"
    assert distributions_of("yaml") == ["pyyaml"]
    assert distributions_of("google.auth") == ["google-auth"]
