#!/usr/bin/python3
"""arc_yaml2lines.py - the ValiMail ARC validation suite as lines for
arc_suite (tests/conformance/arc/): one case per "T name expected", its
keys as "K name record" (record %-encoded), the message in a file of its
own ("M path"), "E" at the end of a case.

Usage: arc_yaml2lines.py SUITE.yml OUTDIR > cases.lines
"""
import os
import sys
import urllib.parse

import yaml


def enc(s):
    return urllib.parse.quote(s, safe="") or "-"


def main():
    suite, outdir = sys.argv[1], sys.argv[2]
    n = 0
    with open(suite, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    for doc in docs:
        if not doc:
            continue
        keys = doc.get("txt-records") or {}
        for name, t in doc["tests"].items():
            n += 1
            path = os.path.join(outdir, "%03d.eml" % n)
            with open(path, "w", encoding="utf-8", newline="") as m:
                m.write(t.get("message") or "")
            cv = str(t["cv"]).strip().lower()
            # three "failing message" cases (cv_fail_i1_as_cv_fail,
            # cv_fail_i2_as2_fail, cv_fail_i2_as1_fail) have an empty
            # "cv: |" in the suite; their descriptions say fail
            print("T %s %s" % (name, cv or "fail"))
            for k, v in keys.items():
                print("K %s %s" % (k, enc(str(v))))
            print("M %s" % path)
            print("E")


if __name__ == "__main__":
    main()
