"""Hidden-test checks: the trusted logic behind each notebook's ``### BEGIN HIDDEN TESTS`` region.

A hidden test cell calls one function here with the student's function (or output folder);
it raises :class:`~autograder.checks.common.CheckFailed` (an AssertionError, so nbgrader scores
the cell 0) with a message that says what is wrong and what to do. The checks compare with
geoai_ref on inputs the student never saw and test properties, so every correct answer passes
whichever valid method it uses. They run inside the grading kernel only: never released.
"""
