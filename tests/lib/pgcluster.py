"""A throw-away PostgreSQL cluster for tests (tests/lib/pg-start and
pg-stop do the work): start once per test run, hand out the URI, query it
with psql, stop and start it again mid-test, remove it at the end.

    pg = PgCluster("/tmp/some-dir")
    uri = pg.start()            # postgresql://am@127.0.0.1:PORT/authmilter
    pg.query("SELECT count(*) FROM am_message")   # [['3']]
    pg.stop(); pg.start()       # same data, same port
    pg.remove()

Used by tests/milter/test_history_pg.py (the milter's history store) and
open to authmilter-report's tests.  A missing PostgreSQL is a failure
(scripts/deps installs it), never a skip."""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


class PgCluster:
    def __init__(self, directory):
        self.dir = directory
        self.uri = None

    def start(self, timeout=60):
        p = subprocess.run([os.path.join(HERE, "pg-start"), self.dir],
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("tests/lib/pg-start %s failed:\n%s%s"
                               % (self.dir, p.stdout, p.stderr))
        self.uri = p.stdout.strip().splitlines()[-1]
        return self.uri

    def stop(self, timeout=60):
        subprocess.run([os.path.join(HERE, "pg-stop"), self.dir],
                       check=True, timeout=timeout)

    def remove(self):
        subprocess.run([os.path.join(HERE, "pg-stop"), self.dir, "--remove"],
                       check=False, timeout=60)

    def port(self):
        with open(os.path.join(self.dir, "port")) as f:
            return int(f.read())

    def query(self, sql, db="authmilter"):
        """rows of one statement, each a list of column texts"""
        p = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port()),
                            "-U", "am", "-d", db, "-XAtq", "-F", "\x1f",
                            "-R", "\x1e", "-c", sql],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("psql: %s" % p.stderr)
        out = p.stdout.rstrip("\n")
        return [r.split("\x1f") for r in out.split("\x1e")] if out else []
