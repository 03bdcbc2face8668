"""Hidden checks: domain checks of the student's functions and submitted files, on data the student never saw.

None runs in the student's kernel (student code runs first there and could fake it). A check of a function
(``check_*(function)``) judges the answers a probe recorded in a jailed process (:mod:`autograder.probes`: the
check's ``*_inputs`` / ``*_calls`` list the calls to make); a check of the submitted files (``check_*(folder)``)
is run by the grader on the submission's snapshot (:mod:`autograder.trusted.submitted`). Each raises
:class:`~autograder.checks.common.CheckFailed` with a message that says what is wrong and what to do. The checks
compare with geoai_ref on inputs the student never saw and test properties, so every correct answer passes
whichever valid method it uses. Never released.
"""
