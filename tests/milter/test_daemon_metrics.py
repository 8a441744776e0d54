"""MetricsSocket: OpenMetrics text at /metrics with counters that match
the messages sent."""

import re
import signal
import urllib.error
import urllib.request

from conftest import (BAD_IP, GOOD_IP, accepted_ar, free_port, make_msg,
                      rejected, sign, wait_for)


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=10) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def samples(text):
    """{'name{labels}': float}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_metrics_count_messages(milters, keys):
    port = free_port()
    m = milters.new("metrics", [("MetricsSocket",
                                 "inet:%d@127.0.0.1" % port)]).start()
    ctype, text = scrape(port)
    assert ctype.startswith("application/openmetrics-text"), ctype
    assert text.endswith("# EOF\n")
    s0 = samples(text)
    assert s0['authmilter_messages_total{action="accept"}'] == 0
    assert re.search(r'^authmilter_build_info\{version="[^"]+"\} 1$', text,
                     re.M)

    signed = sign(make_msg(from_="user@example.org"), "rsa", "example.org",
                  keys.rsa_key)
    for _ in range(2):
        accepted_ar(m.send(signed, mailfrom="<user@example.org>",
                           client_addr=GOOD_IP))
    rejected(m.send(make_msg(from_="user@example.org"),
                    mailfrom="<user@example.org>", client_addr=BAD_IP))
    accepted_ar(m.send(make_msg(from_="user@example.org"),
                       mailfrom="<user@example.org>", client_addr=BAD_IP,
                       auth_authen="alice"))
    m.proc.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: "reload: configuration" in m.log(), 10)

    s = samples(scrape(port)[1])
    assert s['authmilter_messages_total{action="accept"}'] == 3
    assert s['authmilter_messages_total{action="reject"}'] == 1
    assert s["authmilter_exempt_messages_total"] == 1
    assert s['authmilter_dkim_results_total{result="pass"}'] == 2
    assert s['authmilter_dmarc_results_total{result="pass"}'] == 2
    assert s['authmilter_dmarc_results_total{result="fail"}'] == 1
    assert s['authmilter_spf_results_total{identity="mailfrom",'
             'result="pass"}'] == 2
    assert s['authmilter_spf_results_total{identity="mailfrom",'
             'result="fail"}'] == 1
    assert s["authmilter_eom_seconds_count"] == 4
    assert s['authmilter_eom_seconds_bucket{le="+Inf"}'] == 4
    assert 0 < s["authmilter_eom_seconds_sum"] < 10
    buckets = [v for k, v in s.items()
               if k.startswith("authmilter_eom_seconds_bucket")]
    assert buckets == sorted(buckets), "histogram buckets not cumulative"
    assert s["authmilter_dns_lookups_total"] > 0
    assert s["authmilter_dns_timeouts_total"] == 0
    assert s['authmilter_reloads_total{result="ok"}'] == 1
    assert s['authmilter_reloads_total{result="failed"}'] == 0


def test_metrics_other_paths(milters):
    port = free_port()
    milters.new("metrics-404", [("MetricsSocket",
                                 "inet:%d@127.0.0.1" % port)]).start()
    try:
        scrape(port, "/")
        assert False, "expected 404"
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_metrics_dns_timeouts(milters, blackhole):
    port = free_port()
    m = milters.new("metrics-dns", [("MetricsSocket",
                                     "inet:%d@127.0.0.1" % port),
                                    ("DNSTimeout", "1")],
                    nameservers="127.0.0.1@%d" % blackhole.port).start()
    res = m.send(make_msg(from_="user@example.org"),
                 mailfrom="<user@example.org>", client_addr=GOOD_IP)
    assert res.step == "eom", res
    s = samples(scrape(port)[1])
    assert s["authmilter_dns_timeouts_total"] >= 1, s
    assert s["authmilter_dns_lookups_total"] >= \
        s["authmilter_dns_timeouts_total"]
