"""The autograder: grading of student submissions onto the 100-point rubric.

It imports ``geoai_ref`` for reference answers and never imports student code into its own
process. Its hidden evaluation data (``autograder/hidden_data/``) is never released.

One sub-package per stage, in the order a submission meets them:

- ``authoring``: the course before grading: ``notebooks`` (the assignment notebooks built from their
  sources), ``course`` (the nbgrader course and each phase's data), ``release`` (the student release and its
  audit), ``solutions`` (the executed worked solutions), ``selfcheck`` (autograde a solution and a blank);
- ``checks``: the hidden checks' logic (functions judged from probes, submitted files read by the grader);
- ``probes``: the student's functions called in a jailed process (``runner``), their answers read back as plain
  data (``facts`` for Keras objects) and judged (``run``), per phase (``catalog``); ``jail`` is the sandbox
  every process that runs student code uses;
- ``grading``: one run over a class: ``intake`` (find, snapshot and vet submissions), ``nbgrader_run``
  (nbgrader autograde of one phase in a private course), ``limits`` (wall-time and memory limits),
  ``results`` (the typed result of one phase: outcome, cells, flags), ``config`` and ``coordinator``
  (workers, the one writer, resume);
- ``trusted``: the grader's own checks of the snapshot: ``files`` (deliverables), ``fused`` (the fused
  arrays), ``reeval`` (models re-evaluated on hidden data in the ``sandbox``, run by ``sandbox_worker``),
  ``metrics_match`` (reported vs recomputed), ``reported`` and ``reference`` (their inputs), ``submitted`` (the
  hidden checks of the submitted files), ``checks`` (which checks each phase runs);
- ``rubric``: ``rubric.yaml`` and ``definition`` (the 100-point rubric), ``scoring`` (the one place points
  are computed), ``store`` (the SQLite rubric store: results and the override history);
- ``publish``: what TAs and students read: per-student reports, the class dashboard, student feedback, LMS
  CSVs, from the rubric dicts scoring produces;
- ``demo``: the sample class (one student per typical fault) graded end to end.

``paths`` places the kit's folders; ``cli`` is ``geoai-grade``.
"""
