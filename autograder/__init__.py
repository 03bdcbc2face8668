"""The autograder: grading of student submissions onto the 100-point rubric.

It imports ``geoai_ref`` for reference answers and never imports student code into its
own process. Its hidden evaluation data (``autograder/hidden_data/``) is never released.
"""
