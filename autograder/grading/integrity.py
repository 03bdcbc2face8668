"""Integrity: what a submitted notebook's own code shows of an attempt on the grader, as evidence for a TA.

Read statically from the snapshot before anything runs. Only the student's own lines count: every line of a
code cell that the assignment's notebook does not have in the same cell (cells matched by nbgrader grade_id;
cells the student added count whole), so the given code (the locked setup cell reads ``GEOAI_GRADING``) never
does. Each rule names something no honest solution needs:

- importing the grader or the reference (``autograder``, ``geoai_ref``), or naming their files
  (``hidden_data``, ``gradebook``);
- reading the grading mode from the environment (``GEOAI_GRADING``, ``GEOAI_EPOCHS``, ``GEOAI_TRAIN_BATCHES``,
  ``NBGRADER_EXECUTION``);
- swallowing errors for the whole kernel (IPython ``set_custom_exc``) or replacing modules (``sys.modules``);
- replacing a function of NumPy, the standard library or a loaded module (``np.testing.assert_allclose = ...``);
- an ``__eq__`` that returns True whatever it compares with;
- ending the kernel's process (``os._exit``, ``os.kill``).

A finding raises the ``integrity`` flag with the cell and line; it never changes a point (the checks judge
behaviour, which tampering does not change).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

import nbformat

from autograder.authoring.notebooks import PHASES, build_notebook
from geoai_ref.phase import Phase

GRADER_MODULES = ("autograder", "geoai_ref")
GRADER_FILES = re.compile(r"hidden_data|gradebook|autograder[/\\]|geoai_ref[/\\]")
GRADING_MODE_VARIABLES = ("GEOAI_GRADING", "GEOAI_EPOCHS", "GEOAI_TRAIN_BATCHES", "NBGRADER_EXECUTION")
ENDS_PROCESS = {("os", "_exit"), ("os", "kill"), ("os", "abort")}
#: Magics and shell escapes are not Python; they are blanked (line numbers kept) before parsing.
_IPYTHON_LINE = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Finding:
    """One piece of evidence: where it is and what it does."""

    cell: str  # grade_id, or "cell N" for a cell without one
    line: int  # 1-based, within the cell
    what: str

    def __str__(self) -> str:
        return f"{self.cell} line {self.line}: {self.what}"


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, '' otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _grader_module(name: str) -> bool:
    return name.split(".")[0] in GRADER_MODULES


def _always_true(func: ast.FunctionDef) -> bool:
    """An ``__eq__`` whose every return is the constant True (and which returns at all)."""
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) and r.value.value is True for r in returns)


def _replacement(value: ast.AST, functions: set[str]) -> bool:
    """Whether an assigned value is a function of the student's (a lambda, or a function the notebook defines)."""
    return isinstance(value, ast.Lambda) or (isinstance(value, ast.Name) and value.id in functions)


def _findings_in(tree: ast.AST, imported: set[str], functions: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every rule the code in ``tree`` breaks. ``imported`` collects the names that imports
    bind; ``functions`` holds the names of the functions the notebook defines."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
                if _grader_module(alias.name):
                    found.append((node.lineno, f"imports the grader's module {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            imported.update(alias.asname or alias.name for alias in node.names)
            if node.module and _grader_module(node.module):
                found.append((node.lineno, f"imports from the grader's module {node.module}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in GRADER_MODULES or any(node.value.startswith(m + ".") for m in GRADER_MODULES):
                found.append((node.lineno, f"names the grader's module {node.value!r}"))
            elif GRADER_FILES.search(node.value):
                found.append((node.lineno, f"names the grader's files ({node.value[:80]!r})"))
            elif node.value in GRADING_MODE_VARIABLES:
                found.append((node.lineno, f"reads the grading mode ({node.value})"))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func) or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
            if name.split(".")[-1] == "set_custom_exc":
                found.append((node.lineno, "installs a custom exception handler (set_custom_exc): errors of every "
                                           "later cell would be swallowed"))
            elif tuple(name.split(".")[-2:]) in ENDS_PROCESS:
                found.append((node.lineno, f"ends the kernel's process ({name})"))
            elif name.startswith("sys.modules."):
                found.append((node.lineno, f"replaces modules ({name})"))
        elif isinstance(node, ast.Assign | ast.Delete):
            for target in node.targets:
                base = target.value if isinstance(target, ast.Subscript) else target
                name = _dotted(base)
                if name == "sys.modules" or name.startswith("sys.modules."):
                    found.append((node.lineno, "replaces modules (sys.modules)"))
                elif (isinstance(node, ast.Assign) and isinstance(target, ast.Attribute)
                      and name.split(".")[0] in imported | {"builtins"} and _replacement(node.value, functions)):
                    found.append((node.lineno, f"replaces {name}, a function of a loaded module"))
        elif isinstance(node, ast.FunctionDef) and node.name == "__eq__" and _always_true(node):
            found.append((node.lineno, "defines an __eq__ that returns True for anything"))
    return found


def parse_code(source: str) -> ast.AST | None:
    """A code cell's syntax tree (magics and shell escapes blanked), None if it is not Python that parses."""
    python = "\n".join("" if _IPYTHON_LINE.match(line) else line for line in source.splitlines())
    try:
        return ast.parse(python)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # not Python, a NUL byte, nested too deep
        return None


@functools.cache
def _given_lines(phase: Phase) -> dict[str, frozenset[str]]:
    """grade_id -> the stripped lines of that cell in the assignment's notebook (built once per process)."""
    nb = build_notebook(PHASES[phase].source)
    given = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid and cell.cell_type == "code":
            given[gid] = frozenset(line.strip() for line in cell.source.splitlines())
    return given


def scan(nb: nbformat.NotebookNode, phase: Phase) -> list[Finding]:
    """Every finding in the student's own lines of ``nb``, a submitted notebook of ``phase``, in notebook order."""
    given = _given_lines(phase)
    cells = [(i, cell, parse_code(cell.source)) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    functions = {n.name for _, _, tree in cells if tree is not None for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    imported: set[str] = set()
    findings: list[Finding] = []
    for i, cell, tree in cells:
        if tree is None:
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        lines = cell.source.splitlines()
        theirs = given.get(gid, frozenset()) if gid else frozenset()
        for line, what in sorted(_findings_in(tree, imported, functions)):
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            finding = Finding(gid or f"cell {i + 1}", line, what)
            if text not in theirs and finding not in findings:
                findings.append(finding)
    return findings


def integrity_message(findings: list[Finding]) -> str:
    """The flag's message: the evidence, and what it means for the grade."""
    shown = "; ".join(map(str, findings[:6])) + (f"; and {len(findings) - 6} more" if len(findings) > 6 else "")
    return (f"code in the notebook that no solution needs, for a TA to look at (points are not changed by it): "
            f"{shown}")
