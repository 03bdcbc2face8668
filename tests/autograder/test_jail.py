"""The jail: a process in it runs Python with NumPy, writes its own folder, and finds nothing of the grader.

Needs bubblewrap and namespaces; skipped where the machine has neither unless GEOAI_REQUIRE_JAIL=1 (CI sets it
and installs bubblewrap), so that a machine without them fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from autograder.jail import jail_command, python_folders
from autograder.paths import HIDDEN_DATA, REPO

HOSTILE = '''
import json, os, socket, sys
found = {}
def attempt(name, action):
    try:
        found[name] = ["ok", action()]
    except BaseException as exc:
        found[name] = ["refused", f"{type(exc).__name__}: {exc}"[:200]]
attempt("list_repo", lambda: os.listdir(REPO))
attempt("read_hidden_labels", lambda: open(HIDDEN_LABELS, "rb").read(10))
attempt("import_autograder", lambda: __import__("autograder"))
attempt("import_geoai_ref", lambda: __import__("geoai_ref"))
for i, canary in enumerate(CANARIES):  # may succeed inside the jail's own throw-away root: never outside
    attempt(f"write_canary{i}", lambda: open(canary, "w").write("escaped"))
attempt("network", lambda: socket.create_connection(("10.255.255.1", 80), timeout=2))
attempt("numpy", lambda: __import__("numpy").arange(3).sum())
attempt("write_own_folder", lambda: open("mine.txt", "w").write("fine"))
attempt("root_listing", lambda: sorted(os.listdir("/")))
attempt("environment", lambda: sorted(os.environ))
json.dump(found, open("found.json", "w"), default=repr)
'''


def test_a_jailed_process_finds_nothing_of_the_grader(jail, tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    canaries = [tmp_path / f"canary-{uuid.uuid4().hex}", REPO / f"canary-{uuid.uuid4().hex}"]
    labels = next(HIDDEN_DATA.rglob("y_*.npy"))
    script = (f"REPO = {str(REPO)!r}\nHIDDEN_LABELS = {str(labels)!r}\nCANARIES = {list(map(str, canaries))!r}\n"
              + textwrap.dedent(HOSTILE))
    (box / "probe.py").write_text(script)
    cmd = jail_command([sys.executable, "-I", "probe.py"], workdir=box, env={"PATH": "/usr/bin:/bin"})
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GEOAI_SECRET": "not for students"})
    assert done.returncode == 0, done.stderr
    found = json.loads((box / "found.json").read_text())
    for refused in ("read_hidden_labels", "import_autograder", "import_geoai_ref", "network"):
        assert found[refused][0] == "refused", (refused, found[refused])
    # the repository's folder exists only as the mount point of the virtual environment (when it lives there)
    listing = found["list_repo"]
    assert listing[0] == "refused" or set(listing[1]) <= {p.name for p in python_folders() if p.parent == REPO}
    assert not any(canary.exists() for canary in canaries)
    assert found["numpy"] == ["ok", "np.int64(3)"]  # NumPy works (its scalar, as repr)
    assert (box / "mine.txt").read_text() == "fine"
    assert "GEOAI_SECRET" not in found["environment"][1] and "PATH" in found["environment"][1]
    mounted = {Path(p).parts[1] for p in (*python_folders(), box)}  # where the bound folders hang
    system = {"bin", "sbin", "lib", "lib64", "usr", "etc", "proc", "dev", "tmp"}
    assert set(found["root_listing"][1]) <= system | mounted


def test_the_jails_memory_backed_folders_are_capped(jail, tmp_path):
    """/tmp and /dev/shm live in memory the watchdog does not see: filling them stops at their size."""
    fill = ("import sys\nfor folder in ('/tmp', '/dev/shm'):\n    try:\n"
            "        with open(folder + '/fill', 'wb') as f:\n"
            "            for _ in range(80):\n                f.write(bytes(2**20))\n"
            "        print(folder, 'full size written')\n"
            "    except OSError as exc:\n        print(folder, 'refused', exc.errno)\n")
    (tmp_path / "fill.py").write_text(fill)
    cmd = jail_command([sys.executable, "-I", "fill.py"], workdir=tmp_path, env={"PATH": "/usr/bin:/bin"}, tmp_mb=16)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["/tmp refused 28", "/dev/shm refused 28"], done.stdout + done.stderr


def test_the_jail_names_only_what_it_is_given(tmp_path):
    cmd = jail_command(["true"], workdir=tmp_path, writable=[tmp_path / "home"], env={"A": "1"})
    assert cmd[0].endswith("bwrap") and cmd[-1] == "true" and cmd[-2] == "--"
    binds = [(cmd[i], cmd[i + 1], cmd[i + 2]) for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")]
    writable = [src for kind, src, _ in binds if kind == "--bind"]
    assert writable == [str(tmp_path.resolve()), str((tmp_path / "home").resolve())]
    assert str(REPO) not in [src for _, src, _ in binds]
    assert ("--setenv", "A", "1") in [tuple(cmd[i:i + 3]) for i in range(len(cmd) - 2)]
    assert "--clearenv" in cmd and "--unshare-net" in cmd and "--die-with-parent" in cmd


def test_an_installed_copy_of_the_kit_is_covered_by_an_empty_folder(tmp_path, monkeypatch):
    """A non-editable install puts autograder/ inside the Python environment the jail shows: it is hidden."""
    from types import SimpleNamespace

    from autograder import jail

    env = tmp_path / "env"
    package = env / "lib" / "site-packages" / "autograder"
    package.mkdir(parents=True)
    monkeypatch.setattr(jail, "python_folders", lambda: [env])
    real = jail.importlib.util.find_spec

    def find_spec(name, *args):
        return SimpleNamespace(submodule_search_locations=[str(package)]) if name == "autograder" else real(name, *args)

    monkeypatch.setattr(jail.importlib.util, "find_spec", find_spec)
    cmd = jail.jail_command(["true"], workdir=tmp_path / "box")
    assert ("--size", str(1 << 20), "--tmpfs", str(package.resolve())) in [tuple(cmd[i:i + 4])
                                                                          for i in range(len(cmd) - 3)]
    assert jail.kit_packages() == [package.resolve()]  # geoai_ref is editable here: in the repository, not shown


def test_the_grading_kernel_keeps_only_the_variables_it_needs():
    from autograder.grading.jailed_kernel import kernel_environment

    env = kernel_environment({"GEOAI_EPOCHS": "1", "GEOAI_GRADING": "1", "OMP_NUM_THREADS": "1",
                              "AWS_SECRET_ACCESS_KEY": "x", "JUPYTER_TOKEN": "t", "TF_CLI_CONFIG_FILE": "/root/c"})
    assert env["GEOAI_EPOCHS"] == "1" and env["OMP_NUM_THREADS"] == "1" and env["HOME"].startswith("/tmp")
    assert not {"AWS_SECRET_ACCESS_KEY", "JUPYTER_TOKEN", "TF_CLI_CONFIG_FILE"} & set(env)
