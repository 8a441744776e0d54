"""conf/grafana-dashboard.json and conf/prometheus.yml against a real scrape
(issue 16): every metric a PromQL expression of the dashboard names (panels
and template queries) exists in what the daemon's MetricsSocket serves,
with every label the expression groups by or matches on; the scrape job's
path and target are the README's MetricsSocket example."""

import json
import os
import re
import urllib.request

import yaml

from conftest import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# PromQL words that are neither metrics nor functions (followed by "(")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "and", "or", "unless", "offset", "inf", "nan"}
# labels Prometheus adds at scrape time, and the histogram's own
SCRAPE_LABELS = {"instance", "job"}


def load_dashboard():
    with open(os.path.join(ROOT, "conf", "grafana-dashboard.json")) as f:
        return json.load(f)


def expressions(dash):
    """every PromQL expression: panel targets (rows' panels too) and the
    template variables' label_values(metric, label) queries as metric"""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append(t["expr"])
            walk(p.get("panels", []))
    walk(dash["panels"])
    for v in dash["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") != "query" or not q:
            continue
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q)
        assert m, "template query not understood: %r" % q
        out.append("%s{%s=~\".*\"}" % m.groups())
    return out


def metric_names(expr):
    """the metric names of one PromQL expression"""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*"
               r"\([^)]*\)", " ", e)
    names = []
    for m in re.finditer(r"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or \
                m.group(0).lower() in KEYWORDS:
            continue
        names.append(m.group(0))
    return names


def label_names(expr):
    """labels an expression groups by or matches on"""
    out = set()
    for g in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        out.update(x.strip() for x in g.split(",") if x.strip())
    for sel in re.findall(r"\{([^}]*)\}", expr):
        out.update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", sel))
    return out


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        return r.read().decode()


def sample_labels(text):
    """{sample name: set of label names} of an OpenMetrics text"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][\w:]*)(?:\{(.*)\})? \S+$", line)
        assert m, "bad sample line %r" % line
        labels = set(re.findall(r'(\w+)="', m.group(2) or ""))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def test_parser_sees_what_it_should():
    """the extraction itself, on the shapes the dashboard uses"""
    assert metric_names('histogram_quantile(0.9, sum by (le) (rate('
                        'a_bucket{instance=~"$instance"}[$__rate_interval])))'
                        ) == ["a_bucket"]
    assert metric_names('sum(rate(a_sum{x="y"}[5m])) / sum(rate(a_count'
                        '[5m]))') == ["a_sum", "a_count"]
    assert metric_names("max by (instance, version) (b{c=~\"d\"})") == ["b"]
    assert label_names('sum by (action) (rate(m{instance=~"$i", '
                       'action=~"reject|tempfail"}[1m]))') == \
        {"action", "instance"}


def test_dashboard_metrics_exist_in_a_real_scrape(milters):
    dash = load_dashboard()
    exprs = expressions(dash)
    assert len(exprs) >= 10, exprs
    port = free_port()
    milters.new("dashboard", [("MetricsSocket",
                               "inet:%d@127.0.0.1" % port)]).start()
    text = scrape(port)
    samples = sample_labels(text)
    used = set()
    for expr in exprs:
        names = metric_names(expr)
        assert names, "no metric in %r" % expr
        have = set()
        for n in names:
            assert n in samples, "%s (in %r) is not in the scrape: %s" % (
                n, expr, sorted(samples))
            used.add(n)
            have |= samples[n]
            if n.endswith("_bucket"):
                have.add("le")
        missing = label_names(expr) - have - SCRAPE_LABELS
        assert not missing, "labels %s of %r are on none of %s" % (
            missing, expr, names)
    # what the issue asks the dashboard to show
    for want in ("authmilter_messages_total", "authmilter_spf_results_total",
                 "authmilter_dkim_results_total",
                 "authmilter_dmarc_results_total",
                 "authmilter_eom_seconds_bucket",
                 "authmilter_dns_timeouts_total", "authmilter_reloads_total",
                 # issues 13 and 14: history, failure reports, iprev,
                 # overrides (authmilter-report exports no metrics)
                 "authmilter_history_queue_depth",
                 "authmilter_history_records_total",
                 "authmilter_failure_reports_total",
                 "authmilter_failure_report_queue",
                 "authmilter_iprev_results_total",
                 "authmilter_dmarc_overrides_total"):
        assert want in used, "the dashboard does not graph %s" % want
    # and the other way round: every metric the daemon serves is graphed,
    # so a metric added to metrics.c without a panel fails here
    graphed = {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}
    for fam in re.findall(r"^# TYPE (\w+) ", text, re.M):
        assert fam in graphed or fam + "_total" in used or fam in used, \
            "%s is served but not graphed" % fam


def test_prometheus_scrape_job_matches_readme():
    with open(os.path.join(ROOT, "conf", "prometheus.yml")) as f:
        cfg = yaml.safe_load(f)
    jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "authmilter"]
    assert len(jobs) == 1, cfg
    job = jobs[0]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    with open(os.path.join(ROOT, "README")) as f:
        readme = f.read()
    port, addr = re.search(r"MetricsSocket inet:(\d+)@([\d.]+)",
                           readme).groups()
    assert targets == ["%s:%s" % (addr, port)], (targets, addr, port)
