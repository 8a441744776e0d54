"""One end-of-message path: the offline checker (authmilter -t) and the
daemon give the same header set for the same message and config, with
AddReceivedSPF off and on (issue 11, section 2).

The daemon's header set is its edits applied to the headers it was sent;
the checker's is the headers it printed (top first) on the message after
the deletions it printed ("Deleted: Authentication-Results n").  Both run
the one session function (am_msg_end), so they must agree field by field,
with the same action."""

import subprocess

import pytest

from conftest import (AUTHSERV_ID, BAD_IP, GOOD_IP, header_list, make_msg,
                      sign)

HELO = "mail.example.org"
MAILFROM = "<user@example.org>"


def forged(msg):
    """the message with two A-R fields claiming our authserv-id"""
    fake = ("Authentication-Results: %s; spf=pass smtp.mailfrom=x\r\n"
            % AUTHSERV_ID).encode()
    other = b"Authentication-Results: other.example; dkim=pass\r\n"
    return fake + other + fake + msg


def messages(keys):
    signed = sign(make_msg(from_="user@example.org", subject="signed"),
                  "rsa", "example.org", keys.rsa_key)
    return {
        "pass": (signed, GOOD_IP),
        "pass-forged-ar": (forged(signed), GOOD_IP),
        "spf-only": (make_msg(from_="user@example.org"), GOOD_IP),
        "p-quarantine": (make_msg(from_="user@example.biz"),
                         GOOD_IP),
        "reject": (make_msg(from_="user@example.org"), BAD_IP),
    }


def run_checker(binary, conf, path, ip):
    p = subprocess.run([binary, "-c", conf, "-t", str(path), "-i", ip,
                        "-H", HELO, "-m", MAILFROM],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p
    lines = []
    for line in p.stdout.splitlines():
        if line[:1] in (" ", "\t") and lines:   # a folded header line
            name, value = lines[-1]
            lines[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(": ")
        lines.append((name, value))
    return lines


def checker_headers(lines, sent, action):
    """the header set the checker says the MTA ends up with"""
    out = list(sent)
    for name, value in lines:
        if name != "Deleted":
            continue
        field, n = value.rsplit(" ", 1)
        pos = [i for i, (h, _) in enumerate(out)
               if h.lower() == field.lower()][int(n) - 1]
        del out[pos]
    added = [(n, v) for n, v in lines
             if n not in ("Deleted", "Action", "Summary")]
    if not action.startswith(("accept", "quarantine")):
        return out          # refused: the MTA takes no edits
    return added + out


def daemon_action(res):
    if res.quarantine is not None:
        return "quarantine"
    if res.rejected:
        return "reject"
    if res.tempfailed:
        return "tempfail"
    return "accept"


@pytest.mark.parametrize("received_spf", ["no", "yes"])
def test_checker_and_daemon_agree(milters, authmilter_bin, keys, tmp_path,
                                  received_spf):
    m = milters.get("eom-same-" + received_spf,
                    [("AddReceivedSPF", received_spf)])
    seen_spf_header = False
    for label, (msg, ip) in messages(keys).items():
        res = m.send(msg, mailfrom=MAILFROM, client_addr=ip, helo=HELO)
        f = tmp_path / ("%s.eml" % label)
        f.write_bytes(msg)
        lines = run_checker(authmilter_bin, m.conf, f, ip)
        action = dict(lines)["Action"]
        assert action.split(" ")[0] == daemon_action(res), (label, action,
                                                            res)
        sent = header_list(msg)
        mine = checker_headers(lines, sent, action)
        theirs = res.apply(res.headers_sent) if res.delivered else sent
        assert mine == theirs, (label, mine[:4], theirs[:4])
        names = [n for n, _ in mine]
        if received_spf == "no":
            assert "Received-SPF" not in names, label
        elif res.delivered and "Received-SPF" in names:
            seen_spf_header = True
            assert names[:2] == ["Authentication-Results",
                                 "Received-SPF"], (label, names[:3])
        if label == "pass-forged-ar":
            ours = [v for n, v in mine if n == "Authentication-Results"
                    and v.lstrip().startswith(AUTHSERV_ID)]
            assert len(ours) == 1, (label, ours)
    assert seen_spf_header == (received_spf == "yes")
