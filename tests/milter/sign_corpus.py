"""sign_corpus.py - messages for the signing tests (issue 18).

The differential tier's DKIM messages (tests/conformance/dkim_cases.py
--random: the same base message with random edits, one or two dkimpy
signatures) with their signatures removed, plus messages made here for
what signing must get right: odd whitespace in header values and folds,
long and many-line header fields, 8-bit bodies and header values, bodies
with trailing blank lines, no final line end, or none at all.  Every
message is From an example.org address (the signing domain of the tests).
"""

import os
import random
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "conformance", "dkim_cases.py")


def crlf(msg):
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def unsigned(msg):
    """msg without its DKIM-Signature fields (and their folds)"""
    msg = crlf(msg)
    head, sep, body = msg.partition(b"\r\n\r\n")
    out, skip = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        skip = line.lower().startswith(b"dkim-signature:")
        if not skip:
            out.append(line)
    return b"\r\n".join(out) + sep + body


def differential(n, seed):
    """n messages of the differential corpus, unsigned"""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["/usr/bin/python3", CASES, "--random", str(n),
                        str(seed), d], check=True, capture_output=True)
        out = []
        for name in sorted(os.listdir(d)):
            if name.endswith(".eml"):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(("diff-" + name[:-4], unsigned(f.read())))
        return out


BODIES = [
    ("empty", b""),
    ("crlf-only", b"\r\n\r\n\r\n"),
    ("no-final-eol", b"last line without an end"),
    ("trailing-blank", b"text\r\n\r\n\r\n\r\n"),
    ("ws", b"  leading\r\ntrailing \t \r\n\tmid  \t dle\r\n"),
    ("utf8", "Grüße, ça va? Ünïcödé — ok\r\n".encode()),
    ("latin1", b"caf\xe9 na\xefve \xff\xfe\x80\r\n"),
    ("long-line", b"x" * 5000 + b"\r\n"),
    ("dots", b".\r\n..\r\n. \r\n"),
]

HEADERS = [
    ("plain", []),
    ("subject-ws", [("Subject", "\t  lots   of \t space  ")]),
    ("subject-folded", [("Subject", " first\r\n\t second\r\n    third ")]),
    ("subject-utf8", [("Subject", " Grüße \u2014 ok")]),
    ("subject-long", [("Subject", " " + "long " * 300)]),
    ("references-long", [("References", "".join(
        "\r\n <%d.%d@example.org>" % (i, i * 7) for i in range(60)))]),
    ("two-to", [("To", " a@example.net"), ("To", " b@example.net")]),
    ("cc-reply-to", [("Cc", " c@example.net"), ("Reply-To",
                                                 " r@example.org")]),
    ("name-case", [("SUBJECT", " upper"), ("mime-version", " 1.0")]),
    ("empty-value", [("Subject", "")]),
    ("no-space", [("Subject", "nospace")]),
    ("list-headers", [("List-Id", " <l.example.org>"),
                      ("List-Unsubscribe", " <mailto:u@example.org>")]),
]


def made(n, seed):
    """n messages made here: a header variant and a body variant each"""
    r = random.Random(seed)
    out = []
    for i in range(n):
        hname, hdrs = HEADERS[i % len(HEADERS)]
        bname, body = BODIES[(i // len(HEADERS) + i) % len(BODIES)]
        fields = [("From", " %s <user%d@example.org>" % (
            r.choice(["Joe", "\"Doe, Jane\"", "=?utf-8?q?J=C3=B6?="]), i))]
        if not any(h[0].lower() == "to" for h in hdrs):
            fields.append(("To", " rcpt@example.net"))
        if not any(h[0].lower() == "subject" for h in hdrs):
            fields.append(("Subject", " message %d" % i))
        fields.append(("Date", " Tue, 24 Nov 2026 12:00:00 +0000"))
        fields.append(("Message-ID", " <m%d.%d@example.org>" % (seed, i)))
        fields += hdrs
        r.shuffle(fields)
        head = b"".join(("%s:%s\r\n" % (k, v)).encode() for k, v in fields)
        out.append(("made-%03d-%s-%s" % (i, hname, bname),
                    head + b"\r\n" + body))
    return out


def corpus(n_diff, n_made, seed):
    return differential(n_diff, seed) + made(n_made, seed)


def sig_selectors(msg):
    """s= of each DKIM-Signature of msg, in order"""
    return [m.group(1).decode() for m in re.finditer(
        rb"(?ims)^DKIM-Signature:.*?\bs=\s*([A-Za-z0-9._-]+)", msg)]
