"""Runs last (file name order): the daemons that served the scenarios
logged nothing that looks like a crash or an internal failure."""

import re


def test_no_internal_errors_logged(milters):
    bad = []
    for m in milters.daemons.values():
        for ln in m.log().splitlines():
            if re.search(r"internal error|assert|double free|"
                         r"AddressSanitizer|segmentation", ln, re.I):
                bad.append("%s: %s" % (m.name, ln))
    assert not bad, "\n".join(bad[:30])
