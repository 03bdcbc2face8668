"""What a local cluster's workers log: the one Dask message that reads as a failure when nothing failed.

When a run ends, the scheduler can close under a worker's heartbeat; the worker then logs
:data:`HEARTBEAT_AT_CLOSE` with a traceback (dask/distributed issue 7105), printed after the class table, where it
reads as a failed run. :class:`QuietHeartbeatAtClose` drops that record in every worker of the cluster, those the
nanny restarts included; every other record passes. A scheduler lost in the middle of a run is still reported: the
coordinator's client fails with its own message.
"""

from __future__ import annotations

import logging

from distributed.diagnostics.plugin import WorkerPlugin

HEARTBEAT_AT_CLOSE = "Failed to communicate with scheduler during heartbeat"
WORKER_LOGGER = "distributed.worker"


class HeartbeatAtCloseFilter(logging.Filter):
    """Drops a :data:`HEARTBEAT_AT_CLOSE` record; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return HEARTBEAT_AT_CLOSE not in record.getMessage()


class QuietHeartbeatAtClose(WorkerPlugin):
    """Puts :class:`HeartbeatAtCloseFilter` (once) on the ``distributed.worker`` logger of each worker process."""

    name = "geoai-quiet-heartbeat-at-close"

    def setup(self, worker: object) -> None:
        log = logging.getLogger(WORKER_LOGGER)
        if not any(isinstance(f, HeartbeatAtCloseFilter) for f in log.filters):
            log.addFilter(HeartbeatAtCloseFilter())
