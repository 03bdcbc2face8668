"""TA review: nbgrader's formgrader on a graded course, and the scores TAs save there, into the rubric store.

- ``ta_log``  the log of formgrader saves kept inside the course's nbgrader gradebook (who, when, what);
- ``sync``    copying those saves into the rubric store, tied to the answers they were given to;
- ``server``  starting formgrader for a TA (``geoai-grade grade-ui``).
"""
