"""Hidden checks judged outside the student's kernel: probes (see :mod:`autograder.probes.run`)."""

#: The ids of probe results end with this (``4a_collapse_probe``); rubric.yaml names them in ``confirmed_by``.
PROBE_SUFFIX = "_probe"


def is_probe(result_id: str) -> bool:
    """Whether a confirming result comes from a probe (a hidden check of the student's functions)."""
    return result_id.endswith(PROBE_SUFFIX)
