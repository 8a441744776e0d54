"""Runs last (file name order): the daemons that served the scenarios
logged nothing that looks like a crash or an internal failure.  (With
several pytest-xdist workers, MILTER_JOBS, this sees its own worker's
daemons; the milters fixture checks every worker's at the end.)"""


def test_no_internal_errors_logged(milters):
    bad = milters.internal_errors()
    assert not bad, "\n".join(bad[:30])
