"""Special-use names (RFC 6761 test., RFC 8375 home.arpa.) are asked of the
configured name server, not answered by libunbound's built-in local zones
(issue 16).  nsd serves example.test and lab.home.arpa (conftest
zone_records): SPF allows GOOD_IP, DKIM key rsa, _dmarc p=reject.  Before
the fix these came out spf=none dkim=permerror dmarc=none."""

import pytest

from conftest import GOOD_IP, accepted_ar, assert_ar, make_msg, sign


@pytest.mark.parametrize("domain", ["example.test", "lab.home.arpa"])
def test_special_use_domain_passes(milter, keys, nsd, domain):
    # the oracle: nsd itself answers the name (so a failure is ours)
    rcode, rds = nsd.query("_dmarc." + domain, "TXT")
    assert rcode == "NOERROR" and rds, (rcode, rds)
    msg = sign(make_msg(from_="user@" + domain), "rsa", domain,
               keys.rsa_key)
    res = milter.send(msg, mailfrom="<user@%s>" % domain,
                      client_addr=GOOD_IP)
    ar = accepted_ar(res)
    assert_ar(ar, [("spf", "pass", {"smtp.mailfrom": "user@" + domain}),
                   ("dkim", "pass", {"header.d": domain}),
                   ("dmarc", "pass", {"header.from": domain})])
