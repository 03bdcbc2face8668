"""The autograder: grading of student submissions onto the 100-point rubric.

It imports ``geoai_ref`` for reference answers and never imports student code into its
own process. Its hidden evaluation data (``autograder/hidden_data/``) is never released.

Modules, in the order a submission meets them:

- ``intake``: find submissions (folder or zip), snapshot them, reject unreadable notebooks;
- ``grading``: nbgrader autograde per phase in a private course, in parallel, one writer;
- ``limits``: wall-time and memory limits on those subprocesses;
- ``trusted`` and ``sandbox``: the grader's own checks of the submitted files, models re-evaluated
  in a sandboxed subprocess (``sandbox_worker``) on hidden data;
- ``rubric`` (``rubric.yaml``) and ``scoring``: the 100-point rubric and the one place points are computed;
- ``store``: the SQLite rubric store (results and the override history);
- ``publish``, ``reports``, ``dashboard``, ``feedback``: what TAs and students read;
- ``sample_class`` and ``demo``: the sample class with one student per typical fault;
- ``cli``: ``geoai-grade``; ``notebooks``, ``release``, ``solutions``, ``selfcheck``, ``course``,
  ``checks``: the assignment notebooks, their hidden tests and the nbgrader course (issue 4).
"""
