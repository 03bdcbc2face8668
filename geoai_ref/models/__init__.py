"""Keras models of the exercise. Importing this package imports TensorFlow (about 3 s).

TensorFlow 2.20+ writes start-up lines (oneDNN notice, missing CUDA drivers) straight to
file descriptor 2 before its logging is set up, ignoring ``TF_CPP_MIN_LOG_LEVEL``. They
alarm users and make nbgrader score a cell 0, so the import and device discovery run
with descriptor 2 pointed at /dev/null. Python exceptions are not affected: they are
raised after the descriptor is restored.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (no-op where it cannot be done)."""
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        saved = os.dup(fd)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


with native_stderr_silenced():
    import tensorflow as tf

    tf.config.list_physical_devices()
    import keras  # noqa: F401
    from absl import logging as _absl_logging

    _absl_logging.set_verbosity(_absl_logging.ERROR)
    tf.get_logger().setLevel("ERROR")  # e.g. tf.function retracing notices when several models predict in turn


def build_step_state(model: keras.Model, x: np.ndarray, y: np.ndarray) -> None:
    """Create, from the shapes of ``x`` and ``y``, the variables a compiled model's first ``fit`` or ``evaluate``
    would otherwise create while TensorFlow traces its step: the optimizer's slots, the metrics' and the loss's state.

    ``tf.function`` traces a function a second time when its first call created variables, so without this Keras
    traces the training step twice: 3-25 s more per ResNet-50 fit on 2 cores, the more layers train the more
    (BENCHMARKS.md). Nothing trains and no weight changes. It is what Keras itself does first under a
    distribution strategy (``Trainer._symbolic_build``).

    Raises:
        ValueError: if ``x`` or ``y`` does not fit the model (the fit would raise the same).
    """
    model._symbolic_build(data_batch=(x[:1], y[:1]))
