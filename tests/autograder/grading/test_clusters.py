"""Cluster recipes: what they would pass to dask-jobqueue and dask-kubernetes (neither is installed for the tests:
stand-in modules record the calls), and the error that names the package when one is missing."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest

from autograder.grading.clusters import WORKER_OVERHEAD_MB, KubernetesRecipe, SlurmRecipe
from geoai_ref.errors import Unavailable


class Recorder:
    """A stand-in cluster class: keeps its keyword arguments and what it was scaled to."""

    def __init__(self, **kwargs: object) -> None:
        self.kwargs, self.scaled = kwargs, None

    def scale(self, **kwargs: object) -> None:
        self.scaled = kwargs


def test_slurm_workers_take_one_submission_at_a_time_with_the_cpus_and_memory_of_a_job(monkeypatch):
    recipe = SlurmRecipe(jobs=8, cpus_per_job=6, memory_mb=12000, walltime_minutes=150, queue="cpu",
                         account="geo101", python="/shared/kit/.venv/bin/python")
    kwargs = recipe.cluster_kwargs()
    assert (kwargs["cores"], kwargs["processes"], kwargs["job_cpu"]) == (1, 1, 6)
    assert (kwargs["memory"], kwargs["walltime"], kwargs["queue"], kwargs["account"]) == (
        "12000MiB", "02:30:00", "cpu", "geo101")
    assert kwargs["python"] == "/shared/kit/.venv/bin/python"
    assert "export OMP_NUM_THREADS=6" in kwargs["job_script_prologue"]
    assert "export TF_NUM_INTRAOP_THREADS=6" in kwargs["job_script_prologue"]
    assert kwargs["worker_extra_args"] == ["--memory-limit", "0"]
    assert "local_directory" not in kwargs  # unset options are left to dask-jobqueue's configuration
    assert SlurmRecipe().memory_mb == 8192 + WORKER_OVERHEAD_MB  # the default per-submission limit fits

    jobqueue = ModuleType("dask_jobqueue")
    jobqueue.SLURMCluster = Recorder
    monkeypatch.setitem(sys.modules, "dask_jobqueue", jobqueue)
    cluster = recipe.start()
    assert cluster.kwargs == kwargs and cluster.scaled == {"jobs": 8}


def test_kubernetes_workers_mount_the_course_claim_where_the_coordinator_sees_the_course(monkeypatch):
    recipe = KubernetesRecipe(image="registry.example/geoai-kit:1", course_claim="course-rwx",
                              mount_path="/srv/course", workers=5, cpus_per_job=2, memory_mb=10240,
                              namespace="grading")
    kwargs = recipe.spec_kwargs()
    assert kwargs["n_workers"] == 5 and kwargs["image"] == "registry.example/geoai-kit:1"
    assert kwargs["resources"]["limits"] == {"cpu": "2", "memory": "10240Mi"} == kwargs["resources"]["requests"]
    assert kwargs["env"]["OMP_NUM_THREADS"] == "2" and kwargs["env"]["TF_NUM_INTRAOP_THREADS"] == "2"
    assert kwargs["worker_command"][:4] == ["dask", "worker", "--nthreads", "1"]

    def make_cluster_spec(**given: object) -> dict:  # the layout of dask-kubernetes' DaskCluster resource
        assert given == kwargs
        return {"spec": {"worker": {"spec": {"containers": [{"name": "worker"}]}},
                         "scheduler": {"spec": {"containers": [{"name": "scheduler"}]}}}}

    operator = ModuleType("dask_kubernetes.operator")
    operator.make_cluster_spec, operator.KubeCluster = make_cluster_spec, Recorder
    monkeypatch.setitem(sys.modules, "dask_kubernetes", ModuleType("dask_kubernetes"))
    monkeypatch.setitem(sys.modules, "dask_kubernetes.operator", operator)
    cluster = recipe.start()
    assert cluster.kwargs["namespace"] == "grading"
    spec = cluster.kwargs["custom_cluster_spec"]["spec"]
    worker = spec["worker"]["spec"]
    assert worker["volumes"] == [{"name": "course", "persistentVolumeClaim": {"claimName": "course-rwx"}}]
    assert worker["containers"][0]["volumeMounts"] == [{"name": "course", "mountPath": "/srv/course"}]
    assert "volumes" not in spec["scheduler"]["spec"]  # the scheduler never reads the course


@pytest.mark.parametrize(("recipe", "module", "package"), [
    (SlurmRecipe(), "dask_jobqueue", "pip install dask-jobqueue"),
    (KubernetesRecipe(image="i", course_claim="c", mount_path="/c"), "dask_kubernetes.operator",
     "pip install dask-kubernetes"),
])
def test_a_missing_cluster_package_is_named_with_its_pip_install(monkeypatch, recipe, module, package):
    monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError, installed or not
    with pytest.raises(Unavailable, match=package) as info:
        recipe.start()
    assert info.value.exit_code == 3
