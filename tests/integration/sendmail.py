"""A throw-away Sendmail in front of authmilter.

Debian's sendmail packages conflict with postfix, so Sendmail is not
installed: tests/integration/run fetches sendmail-bin and sendmail-cf with
`apt-get download` and unpacks them with `dpkg -x` into a cache folder
(SENDMAIL_ROOT).  This module builds a sendmail.cf from a generated .mc
with m4 and the unpacked cf macros, and runs the unpacked binary as a
foreground daemon (-bD) on a loopback port, as root.

Mail to any user at DOMAIN goes to the local mailer, which is replaced by
a shell script that writes each message into a folder the test reads.
Sendmail has no XCLIENT: the client address it sees is the real source
address, so the tests run in a network namespace where 192.0.2.10 etc. are
loopback addresses (see run).
"""

import os
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

DOMAIN = "example.net"
MYHOSTNAME = "mx.example.net"

# the .mc, as a postmaster would write it (conf/sendmail.mc has the
# INPUT_MAIL_FILTER lines); the rest only makes Sendmail self-contained
MC = """divert(-1)
# written by tests/integration/sendmail.py
divert(0)dnl
include(`%(cf)s/m4/cf.m4')dnl
VERSIONID(`authmilter integration test')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `%(myhostname)s')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confHOSTS_FILE', `%(dir)s/hosts')dnl
define(`confSERVICE_SWITCH_FILE', `%(dir)s/service.switch')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`QUEUE_DIR', `%(dir)s/mqueue')dnl
define(`STATUS_FILE', `%(dir)s/statistics')dnl
define(`confPID_FILE', `%(dir)s/sendmail.pid')dnl
define(`ALIAS_FILE', `')dnl
define(`confFORWARD_PATH', `')dnl
define(`confQUEUE_LA', `999')dnl
define(`confREFUSE_LA', `999')dnl
define(`confDELAY_LA', `0')dnl
define(`confMIN_FREE_BLOCKS', `0')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confPRIVACY_FLAGS', `goaway')dnl
define(`confTO_IDENT', `0')dnl
define(`confLOG_LEVEL', `14')dnl
define(`confMILTER_LOG_LEVEL', `14')dnl
define(`confDONT_BLAME_SENDMAIL', `GroupWritableDirPathSafe')dnl
define(`LOCAL_MAILER_PATH', `%(dir)s/deliver')dnl
define(`LOCAL_MAILER_ARGS', `deliver $u')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`promiscuous_relay')dnl
LOCAL_DOMAIN(`%(domain)s')dnl
DAEMON_OPTIONS(`Port=%(port)d, Addr=127.0.0.1, Name=MTA-test')dnl
%(filter)s
MODIFY_MAILER_FLAGS(`LOCAL', `-wA')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""

# the postmaster's lines (conf/sendmail.mc): F=T tempfails when the
# filter is down; the timeouts sit above authmilter's DNSTimeout
FILTER = """INPUT_MAIL_FILTER(`authmilter', `S=inet:%(mport)d@127.0.0.1, F=T, T=C:10s;S:30s;R:60s;E:60s')dnl"""

DELIVER = """#!/bin/sh
# local mailer of the test Sendmail: one file per message and recipient
umask 022
f=%(dir)s/mail/$$.$(date +%%s%%N).$1
cat > "$f.tmp" && mv "$f.tmp" "$f.eml"
"""


class Sendmail:
    """One Sendmail daemon on 127.0.0.1:port with one milter."""

    def __init__(self, root, port, milter_port, base=None):
        self.root = root
        self.binary = os.path.join(root, "usr/libexec/sendmail/sendmail")
        self.cfdir = os.path.join(root, "usr/share/sendmail/cf")
        self.port = port
        self.milter_port = milter_port
        self.dir = tempfile.mkdtemp(prefix="authmilter-sendmail-", dir=base)
        os.chmod(self.dir, 0o755)
        self.maildir = os.path.join(self.dir, "mail")
        self.cf = os.path.join(self.dir, "sendmail.cf")
        self.proc = None

    def _write_config(self):
        d = self.dir
        os.makedirs(os.path.join(d, "mqueue"), mode=0o700, exist_ok=True)
        os.makedirs(self.maildir, exist_ok=True)
        os.chmod(self.maildir, 0o1777)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost %s\n" % MYHOSTNAME)
        with open(os.path.join(d, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        open(os.path.join(d, "statistics"), "w").close()
        deliver = os.path.join(d, "deliver")
        with open(deliver, "w") as f:
            f.write(DELIVER % {"dir": d})
        os.chmod(deliver, 0o755)
        mc = MC % {
            "cf": self.cfdir, "dir": d, "myhostname": MYHOSTNAME,
            "domain": DOMAIN, "port": self.port,
            "filter": FILTER % {"mport": self.milter_port}}
        with open(os.path.join(d, "sendmail.mc"), "w") as f:
            f.write(mc)
        r = subprocess.run(["m4", os.path.join(d, "sendmail.mc")],
                           capture_output=True, text=True, cwd=self.cfdir)
        if r.returncode != 0 or "ERROR" in r.stderr:
            raise RuntimeError("m4 failed:\n%s" % r.stderr)
        with open(self.cf, "w") as f:
            f.write(r.stdout)

    def start(self, timeout=20):
        self._write_config()
        out = open(os.path.join(self.dir, "sendmail.out"), "ab")
        # -bD: daemon in the foreground; -q: no queue runner
        self.proc = subprocess.Popen(
            [self.binary, "-C", self.cf, "-bD", "-d0.1"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        out.close()
        if not _wait(lambda: self.proc.poll() is not None or
                     self._greets(), timeout, 0.1) or \
                self.proc.poll() is not None:
            out = self.log()
            self.stop()
            raise RuntimeError("sendmail did not start:\n%s" % out)
        return self

    def _greets(self):
        try:
            s = smtplib.SMTP("127.0.0.1", self.port, timeout=2)
        except (OSError, smtplib.SMTPException):
            return False
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()
        return True

    def stop(self, timeout=10):
        """SIGTERM the daemon's process group (daemon and the children it
        forked per connection and delivery), SIGKILL what is left"""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def cleanup(self):
        if not os.environ.get("AUTHMILTER_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "sendmail.out"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def send(self, message, mailfrom, rcpts=("root@" + DOMAIN,),
             source="192.0.2.10", helo="mail.example.org", timeout=60):
        """one SMTP transaction from source (an address on lo); returns
        (code, text) of the reply to the end of DATA or of the first
        command that failed"""
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=timeout,
                         source_address=(source, 0),
                         local_hostname=helo)
        try:
            s.ehlo(helo)
            code, text = s.mail(mailfrom)
            if code != 250:
                return code, text.decode(errors="replace")
            for r in rcpts:
                code, text = s.rcpt(r)
                if code not in (250, 251):
                    return code, text.decode(errors="replace")
            code, text = s.data(message)
            return code, text.decode(errors="replace")
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()

    def delivered(self, needle, timeout=15):
        """the delivered message (bytes) containing needle, or None"""
        found = []

        def look():
            try:
                names = [n for n in os.listdir(self.maildir)
                         if n.endswith(".eml")]
            except OSError:
                return False
            for n in names:
                with open(os.path.join(self.maildir, n), "rb") as f:
                    data = f.read()
                if needle.encode() in data:
                    found.append(data)
                    return True
            return False
        _wait(look, timeout, 0.1)
        return found[0] if found else None


def _wait(pred, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()
