"""The history in PostgreSQL (issue 13): a real throw-away cluster
(tests/lib/pg-start, conftest's session fixture pg), two authmilter
daemons writing to it, and the server stopped mid-run: mail keeps its
verdicts and its time, records that cannot be kept are counted, and after
the restart the writer goes on by itself.

Each daemon has its own AuthservID, which is the rows' reporter column."""


from conftest import engine_only, wait_for
from histlib import history_metrics, metric
from test_history_faults import FAST, send_reject, stop

pytestmark = engine_only("builtin", "the PostgreSQL store does not depend on "
                         "the milter engine (test_history.py runs under both)")


def pg_milter(milters, pg, name, queue="100"):
    from conftest import free_port
    port = free_port()
    m = milters.new(name, [("HistoryDB", pg.uri), ("AuthservID", name),
                           ("HistoryQueueSize", queue),
                           ("MetricsSocket", "inet:%d@127.0.0.1" % port)])
    m.start()
    m.metrics_port = port
    return m


def pg_rows(pg, reporter):
    return pg.query("SELECT source_ip, header_from, dmarc_result, "
                    "disposition, policy_domain, id FROM am_message "
                    "WHERE reporter = '%s' ORDER BY id" % reporter)


def wait_pg(pg, reporter, n, timeout=10.0, ip=None):
    """wait for n rows of reporter (and one from ip, if given)"""
    got = []

    def look():
        got[:] = pg_rows(pg, reporter)
        return len(got) >= n and (ip is None or any(r[0] == ip for r in got))
    wait_for(look, timeout, 0.1)
    assert len(got) >= n, "%d of %d rows of %s: %r" % (len(got), n,
                                                         reporter, got)
    return got


def test_history_pg_two_daemons_one_store(milters, pg):
    a = pg_milter(milters, pg, "mx1.pg.example")
    b = pg_milter(milters, pg, "mx2.pg.example")
    for i in range(3):
        send_reject(a, "203.0.115.%d" % (10 + i))
        send_reject(b, "203.0.115.%d" % (20 + i))
    ra = wait_pg(pg, "mx1.pg.example", 3)
    rb = wait_pg(pg, "mx2.pg.example", 3)
    assert [r[0] for r in ra] == ["203.0.115.10", "203.0.115.11",
                                  "203.0.115.12"], ra
    assert [r[0] for r in rb] == ["203.0.115.20", "203.0.115.21",
                                  "203.0.115.22"], rb
    assert all(r[1:5] == ["hist.example", "fail", "reject", "hist.example"]
               for r in ra + rb), ra + rb
    # one schema, version 1, made once
    assert pg.query("SELECT version FROM am_schema") == [["1"]]
    stop(a)
    stop(b)


def test_history_pg_stopped_mid_run(milters, pg):
    m = pg_milter(milters, pg, "mx3.pg.example", queue="3")
    send_reject(m, "203.0.115.30")
    wait_pg(pg, "mx3.pg.example", 1)
    pg.stop()
    try:
        # mail flows while the store is gone: verdicts and times as before
        times = [send_reject(m, "203.0.115.%d" % (31 + i)) for i in range(6)]
        assert max(times) < FAST, times
        got = {}

        def counted():
            got.update(history_metrics(m.metrics_port))
            return metric(got, "dropped") >= 3 and "history: " in m.log()
        wait_for(counted, 10, 0.1)
        assert metric(got, "dropped") >= 3, got
        assert "postgresql 127.0.0.1:%d/authmilter" % pg.port() in m.log(), \
            m.log()[-2000:]
    finally:
        pg.start()
    # back: what was queued is written (the writer's next try, at most
    # AM_HIST_BACKOFF_MAX_MS away), then what comes now
    wait_for(lambda: history_metrics(m.metrics_port).get(
        "authmilter_history_queue_depth") == 0, 15, 0.1)
    send_reject(m, "203.0.115.40")
    rows = wait_pg(pg, "mx3.pg.example", 2, timeout=15, ip="203.0.115.40")
    assert rows[-1][0] == "203.0.115.40", rows
    g = history_metrics(m.metrics_port)
    total = metric(g, "written") + metric(g, "dropped") + metric(g, "failed") \
        + g.get("authmilter_history_queue_depth", 0)
    assert total == 8, g            # every record is accounted for
    stop(m)
