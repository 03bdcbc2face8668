"""A jail for processes that run student work: bubblewrap namespaces that show only the Python environment.

:func:`jail_command` wraps a command line in ``bwrap`` (Debian's ``bubblewrap`` package) so that it runs in new
user, mount, network, PID, IPC and UTS namespaces and sees, read-only, the operating system's ``/usr`` and
``/etc`` and the Python environment the grader runs in (the virtual environment and its base interpreter), plus
the folders it is given, and nothing else: not the repository, not ``autograder/`` or ``geoai_ref/`` (an
editable install's import hook points into the repository, which is not there; an installed copy is covered by an
empty folder), not the hidden data, the
gradebook or other students' folders, and no network (only a loopback interface of its own). It gets a fresh
``/tmp`` and ``/dev`` (memory-backed, so their size is capped), a clean environment (only the variables given) and
dies with its parent.

:func:`jail_available` probes once per process whether this machine can create the namespaces (some
containers cannot); callers decide what to do without it and say so in what they report.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

BWRAP = "bwrap"
#: Read-only system folders every Python process needs (libraries, the loader cache, certificates, fonts).
SYSTEM_FOLDERS = ("/usr", "/etc")
#: Links of a merged-/usr Debian, recreated inside the jail.
SYSTEM_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
#: Size of the jail's own ``/tmp`` and ``/dev/shm`` (memory-backed: the memory watchdog, which sums resident
#: memory, does not see them, so they are capped here). The 4A notebook keeps a 250 MB checkpoint in /tmp.
JAIL_TMP_MB = 1024
JAIL_SHM_MB = 64
#: What a jailed process is told when the machine has no bubblewrap.
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) on the grading machine"


class JailUnavailable(RuntimeError):
    """This machine cannot create the jail's namespaces; the message says why and what to do."""


def python_folders() -> list[Path]:
    """The folders of the running Python environment: the virtual environment and its base installation."""
    found: list[Path] = []
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
        path = Path(prefix).resolve()
        if not any(path == f or f in path.parents for f in found):
            found = [f for f in found if path not in f.parents] + [path]
    return found


#: The kit's own packages: never visible in the jail.
KIT_PACKAGES = ("autograder", "geoai_ref")


def kit_packages() -> list[Path]:
    """The folders of the kit's packages that lie inside the Python environment (a non-editable install); an
    editable install's packages stay in the repository, which the jail does not show at all."""
    folders = python_folders()
    found = []
    for name in KIT_PACKAGES:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            path = Path(location).resolve()
            if any(f in path.parents for f in folders):
                found.append(path)
    return found


@functools.cache
def _sizes_tmpfs(exe: str) -> bool:
    """Whether this bubblewrap caps a tmpfs (``--size``, bubblewrap 0.8 and newer; Ubuntu 22.04 has 0.6)."""
    try:
        return "--size" in subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False


def _sized(mb: int) -> list[str]:
    """``--size`` for the next ``--tmpfs``, where bubblewrap supports it (older ones leave it unbounded)."""
    exe = shutil.which(BWRAP)
    return ["--size", str(mb << 20)] if exe is not None and _sizes_tmpfs(exe) else []


def jail_command(argv: Iterable[str], *, workdir: Path, writable: Iterable[Path] = (),
                 env: Mapping[str, str] | None = None, tmp_mb: int = JAIL_TMP_MB) -> list[str]:
    """``argv`` wrapped in bubblewrap: run in ``workdir`` seeing only what the module docs list, plus ``workdir``
    and the ``writable`` folders, writable, at their own paths. ``env`` is the whole environment of the jailed
    process; its ``/tmp`` holds at most ``tmp_mb`` MiB.

    Raises:
        JailUnavailable: if ``bwrap`` is not installed.
    """
    exe = shutil.which(BWRAP)
    if exe is None:
        raise JailUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    cmd = [exe, "--unshare-user", "--uid", "65534", "--gid", "65534", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--clearenv",
           "--proc", "/proc", "--dev", "/dev", *_sized(tmp_mb), "--tmpfs", "/tmp",
           *_sized(JAIL_SHM_MB), "--tmpfs", "/dev/shm"]
    for folder in SYSTEM_FOLDERS:
        if Path(folder).exists():
            cmd += ["--ro-bind", folder, folder]
    for link, target in SYSTEM_LINKS.items():
        if Path(link).is_symlink():
            cmd += ["--symlink", target, link]
    for folder in python_folders():
        cmd += ["--ro-bind", str(folder), str(folder)]
    for package in kit_packages():  # installed into the environment (not editable): hidden behind an empty folder
        cmd += [*_sized(1), "--tmpfs", str(package)]
    for folder in (workdir, *writable):
        cmd += ["--bind", str(Path(folder).resolve()), str(Path(folder).resolve())]
    for key, value in (env or {}).items():
        cmd += ["--setenv", key, value]
    return [*cmd, "--chdir", str(Path(workdir).resolve()), "--", *argv]


@functools.cache
def jail_available() -> str | None:
    """None when a jailed ``python -c pass`` runs here; otherwise why not (probed once per process)."""
    with tempfile.TemporaryDirectory(prefix="geoai_jail_probe_") as tmp:
        try:
            cmd = jail_command([sys.executable, "-I", "-c", "pass"], workdir=Path(tmp))
        except JailUnavailable as exc:
            return str(exc)
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not start ({exc})"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return (f"bubblewrap cannot create namespaces here ({reason[0]}): allow unprivileged user namespaces "
                "(Debian: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04: sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0), or run the grader outside this container")
    return None
