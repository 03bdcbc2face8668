"""Recipes for grading on a cluster: Dask workers as Slurm jobs (dask-jobqueue) or Kubernetes pods (dask-kubernetes).

Grading on a cluster is the same command as on one machine, pointed at the cluster's scheduler::

    geoai-grade grade --scheduler tcp://HOST:8786 --threads 4 --submissions ... --out ... --course COURSE

Each worker grades one submission at a time (one Dask thread per worker process, ``cores=1`` to Dask): its nbgrader
run and sandbox get the worker's CPUs (``cpus_per_job``, passed to the kernel as ``--threads``) and must fit its
memory (``memory_mb``: the per-submission limit ``--memory-mb`` plus the worker and the sandbox,
:data:`WORKER_OVERHEAD_MB`). Tasks carry paths, not files: **every worker must see the course folder (snapshots,
gradebook template, assignments) at the same path as the coordinator** — a shared filesystem (NFS, Lustre, a
ReadWriteMany volume) mounted at the same place. A worker that does not see it fails the run with a message saying
so (:func:`autograder.grading.engine.grade_job`).

dask-jobqueue and dask-kubernetes are optional (``pip install 'geoai-week4-kit[slurm]'`` or ``[kubernetes]``):
they are imported only when a recipe starts a cluster, and a missing one raises
:class:`geoai_ref.errors.Unavailable` naming the package to install.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from geoai_ref.errors import Unavailable

#: Memory (MiB) a worker needs beside its submission's nbgrader run: the worker process and the trusted checks'
#: sandbox (which re-evaluates the submitted models after nbgrader has finished).
WORKER_OVERHEAD_MB = 2048

SHARED_FILESYSTEM = ("every worker must see the course folder at the same path as the coordinator (a shared "
                     "filesystem mounted at the same place): tasks carry paths, never files")


def job_environment(cpus: int) -> dict[str, str]:
    """The environment of a worker that grades with ``cpus`` CPU threads (the grader passes the same counts to
    each kernel; these cap the worker's own libraries)."""
    return {"OMP_NUM_THREADS": str(cpus), "TF_NUM_INTRAOP_THREADS": str(cpus), "TF_NUM_INTEROP_THREADS": "1",
            "GEOAI_GRADING": "1"}


def _optional(module: str, package: str, extra: str) -> ModuleType:
    """Import an optional cluster package (by name: it is not a dependency of the kit).

    Raises:
        geoai_ref.errors.Unavailable: if it is not installed (the message names the pip package).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"{module} is not installed: `pip install {package}` (or the kit's extra: `pip install "
                          f"'geoai-week4-kit[{extra}]'`) to start the grading workers this way ({exc})") from exc


def _minutes_to_walltime(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


@dataclass(frozen=True)
class SlurmRecipe:
    """Dask workers as Slurm jobs (dask-jobqueue ``SLURMCluster``): one worker process per job, ``cpus_per_job``
    CPUs and ``memory_mb`` of memory each, for ``walltime_minutes`` (a worker grades submission after submission:
    give it the length of the whole run, not of one submission).

    ``python``: the kit's interpreter on the compute nodes (default: this one, which works when the nodes share
    its filesystem). ``local_directory``: a node-local scratch folder for Dask's own files.
    """

    jobs: int = 4
    cpus_per_job: int = 4
    memory_mb: int = 8192 + WORKER_OVERHEAD_MB
    walltime_minutes: int = 240
    queue: str | None = None
    account: str | None = None
    python: str = sys.executable
    local_directory: str | None = None

    def cluster_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``dask_jobqueue.SLURMCluster``."""
        kwargs: dict[str, Any] = {
            "cores": 1,  # one Dask thread per worker process: one submission at a time
            "processes": 1,
            "job_cpu": self.cpus_per_job,  # what Slurm reserves (--cpus-per-task): the kernel's threads
            "memory": f"{self.memory_mb}MiB",
            "walltime": _minutes_to_walltime(self.walltime_minutes),
            "python": self.python,
            "job_script_prologue": [f"export {k}={v}" for k, v in job_environment(self.cpus_per_job).items()],
            # the kit limits each submission's memory itself; Dask's manager would only see the worker process
            "worker_extra_args": ["--memory-limit", "0"],
        }
        optional = {"queue": self.queue, "account": self.account, "local_directory": self.local_directory}
        return kwargs | {k: v for k, v in optional.items() if v is not None}

    def start(self) -> Any:
        """Submit the Slurm jobs; returns the running ``SLURMCluster`` (its ``scheduler_address`` is what
        ``geoai-grade grade --scheduler`` takes; keep this process alive while grading).

        Raises:
            geoai_ref.errors.Unavailable: if dask-jobqueue is not installed.
        """
        jobqueue = _optional("dask_jobqueue", "dask-jobqueue", "slurm")
        cluster = jobqueue.SLURMCluster(**self.cluster_kwargs())
        cluster.scale(jobs=self.jobs)
        return cluster


@dataclass(frozen=True)
class KubernetesRecipe:
    """Dask workers as Kubernetes pods (dask-kubernetes operator ``KubeCluster``), each mounting the course
    folder's PersistentVolumeClaim ``course_claim`` (ReadWriteMany) at ``mount_path``: the path at which the
    coordinator sees the course folder.

    ``image``: a container image with this kit installed (the same version as the coordinator's).
    """

    image: str
    course_claim: str
    mount_path: str
    workers: int = 4
    cpus_per_job: int = 4
    memory_mb: int = 8192 + WORKER_OVERHEAD_MB
    name: str = "geoai-grading"
    namespace: str | None = None

    def spec_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``dask_kubernetes.operator.make_cluster_spec``."""
        amount = {"cpu": str(self.cpus_per_job), "memory": f"{self.memory_mb}Mi"}
        return {"name": self.name, "image": self.image, "n_workers": self.workers,
                "resources": {"requests": dict(amount), "limits": dict(amount)},
                "env": job_environment(self.cpus_per_job),
                # one submission at a time per pod; the kit limits each submission's memory itself
                "worker_command": ["dask", "worker", "--nthreads", "1", "--memory-limit", "0"]}

    def with_course_volume(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``spec`` (a DaskCluster resource from ``make_cluster_spec``) with the course claim mounted in every
        worker container at ``mount_path`` (changed in place and returned)."""
        pod = spec["spec"]["worker"]["spec"]
        pod.setdefault("volumes", []).append({"name": "course",
                                              "persistentVolumeClaim": {"claimName": self.course_claim}})
        for container in pod["containers"]:
            container.setdefault("volumeMounts", []).append({"name": "course", "mountPath": self.mount_path})
        return spec

    def start(self) -> Any:
        """Create the DaskCluster resource; returns the running ``KubeCluster``.

        Raises:
            geoai_ref.errors.Unavailable: if dask-kubernetes is not installed.
        """
        operator = _optional("dask_kubernetes.operator", "dask-kubernetes", "kubernetes")
        spec = self.with_course_volume(operator.make_cluster_spec(**self.spec_kwargs()))
        options = {"namespace": self.namespace} if self.namespace is not None else {}
        return operator.KubeCluster(custom_cluster_spec=spec, **options)
