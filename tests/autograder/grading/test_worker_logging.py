"""A local grading cluster's workers drop Dask's end-of-run heartbeat error, and nothing else."""

from __future__ import annotations

import logging
from pathlib import Path

from autograder.grading.config import GradingConfig
from autograder.grading.engine import grading_client
from autograder.grading.worker_logging import HEARTBEAT_AT_CLOSE, WORKER_LOGGER, HeartbeatAtCloseFilter


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(WORKER_LOGGER, level, __file__, 1, message, None, None)


def test_only_the_heartbeat_at_close_is_dropped() -> None:
    quiet = HeartbeatAtCloseFilter()
    assert not quiet.filter(_record(HEARTBEAT_AT_CLOSE + "."))
    for message in ("Failed to communicate with scheduler during close", "Worker process 123 was killed by signal 9",
                    "Unexpected exception during heartbeat. Closing worker."):
        assert quiet.filter(_record(message)), message


def _worker_is_quiet() -> bool:
    return any(isinstance(f, HeartbeatAtCloseFilter) for f in logging.getLogger(WORKER_LOGGER).filters)


def test_every_worker_of_a_local_grading_cluster_carries_it_a_restarted_one_too(tmp_path: Path) -> None:
    with grading_client(GradingConfig(course=tmp_path, workers=2), progress=lambda m: None) as client:
        assert list(client.run(_worker_is_quiet).values()) == [True, True]
        client.restart()  # new worker processes, as after a worker killed mid-job
        assert list(client.run(_worker_is_quiet).values()) == [True, True]
    assert not _worker_is_quiet()  # the coordinator's own logging is left alone
