"""A throw-away Postfix instance for the integration tests.

Everything lives under one temp folder (mode 0755, so the postfix user and
the delivery user can reach it): config_directory etc/, queue_directory
queue/, data_directory data/, Maildir mail/inbox/, log file maillog.
The instance listens only on 127.0.0.1, one smtpd per listener given to
start(), each with its own smtpd_milters / milter_default_action (so one
instance serves several authmilter configurations).  Mail to any address
in DOMAIN is delivered by the virtual(8) agent into one Maildir.

Needs root (postfix start) and Debian's postfix package.
"""

import email
import email.policy
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

DOMAIN = "example.net"          # mydestination-style: virtual_mailbox_domains
MYHOSTNAME = "mx.example.net"
NOBODY = 65534                  # delivery uid/gid of virtual(8)

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
POSTSUPER = shutil.which("postsuper") or "/usr/sbin/postsuper"

MAIN_CF = """# written by tests/integration/postfix.py
compatibility_level = 3.6
config_directory = %(dir)s/etc
queue_directory = %(dir)s/queue
data_directory = %(dir)s/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-authmilter-test
maillog_file = %(dir)s/maillog
maillog_file_prefixes = %(dir)s
myhostname = %(myhostname)s
mydomain = example.net
myorigin = $myhostname
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = all
mynetworks = 127.0.0.0/8
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_client_restrictions =
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
alias_maps =
alias_database =
smtputf8_enable = no
# no DNS anywhere in Postfix itself: the tests' DNS is authmilter's
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
virtual_mailbox_domains = %(domain)s
virtual_mailbox_base = %(dir)s/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:%(nobody)d
virtual_gid_maps = static:%(nobody)d
virtual_minimum_uid = 100
local_transport = error:no local delivery in tests
default_transport = error:no relaying in tests
# authmilter: the same settings as conf/postfix-main.cf
smtpd_milters =
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 10s
milter_content_timeout = 30s
# fast queue handling in tests
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

MASTER_CF = """# written by tests/integration/postfix.py
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One Postfix instance.  listeners: {name: (port, {param: value})}
    where the params are smtpd -o overrides (e.g. smtpd_milters); the
    smtpd of each listener named in chroot runs chrooted to the queue
    directory (master.cf chroot column "y", as Debian ships it)."""

    def __init__(self, listeners, base=None, chroot=()):
        self.dir = tempfile.mkdtemp(prefix="authmilter-postfix-", dir=base)
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.maildir = os.path.join(self.dir, "mail", "inbox")
        self.listeners = dict(listeners)
        self.chroot = set(chroot)
        self.started = False

    def port(self, name):
        return self.listeners[name][0]

    def _write_config(self):
        for d in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chown(os.path.join(self.dir, "data"), _uid("postfix"), -1)
        os.chown(os.path.join(self.dir, "mail"), NOBODY, NOBODY)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF % {"dir": self.dir, "myhostname": MYHOSTNAME,
                               "domain": DOMAIN, "nobody": NOBODY})
        lines = [MASTER_CF]
        for name, (port, params) in sorted(self.listeners.items()):
            lines.append("# listener %s" % name)
            lines.append("127.0.0.1:%d inet n - %s - - smtpd"
                         % (port, "y" if name in self.chroot else "n"))
            for k, v in sorted(params.items()):
                lines.append("  -o %s=%s" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _cmd(self, *args, check=True, timeout=60):
        return subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                              capture_output=True, text=True, check=check,
                              timeout=timeout)

    def start(self, timeout=20):
        self._write_config()
        r = self._cmd("start", check=False)
        if r.returncode != 0:
            raise RuntimeError("postfix start failed (%d):\n%s%s\n%s%s" % (
                r.returncode, r.stdout, r.stderr, self.log(),
                self._who_holds()))
        self.started = True
        ports = [p for p, _ in self.listeners.values()]
        if not _wait(lambda: all(_listening(p) for p in ports), timeout):
            raise RuntimeError("postfix does not listen on %r:\n%s"
                               % (ports, self.log()))
        return self

    def _who_holds(self):
        """which of the listeners' ports something else holds now (the
        master's own "bind: Address already in use" goes nowhere we can
        read when it dies before postlogd runs)"""
        try:
            ss = subprocess.run(["ss", "-Htanp"], capture_output=True,
                                text=True, timeout=10).stdout.splitlines()
        except (OSError, subprocess.SubprocessError) as e:
            return "(ss: %s)" % e
        out = []
        for name, (port, _) in sorted(self.listeners.items()):
            held = [l for l in ss if ":%d " % port in l.split(None, 5)[3] + " "]
            if held:
                out.append("listener %s port %d held: %s"
                           % (name, port, "; ".join(held)))
        return "\n".join(out) or "(no listener port held by anything else)"

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=10):
        """postfix stop, then make sure the master and its children are
        gone (SIGKILL after timeout)"""
        if not self.started:
            return
        pid = self.master_pid()
        try:
            self._cmd("stop", check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pid is not None and not _wait(lambda: not _alive(pid), timeout):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.started = False

    def cleanup(self):
        if os.environ.get("AUTHMILTER_KEEP_TMP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # ------------------------------------------------------------ SMTP

    def send(self, listener, message, mailfrom, rcpts=("rcpt@" + DOMAIN,),
             addr=None, helo="mail.example.org", login=None, timeout=60):
        """One SMTP transaction on a listener.  addr/helo/login: claimed
        with XCLIENT (ADDR= NAME= HELO= LOGIN=) before EHLO.  Returns
        (code, text) of the reply to the end of DATA (or of the first
        command that failed)."""
        port = self.port(listener)
        s = smtplib.SMTP("127.0.0.1", port, timeout=timeout)
        try:
            code, text = s.ehlo("client.invalid")
            if addr is not None:
                assert s.has_extn("xclient"), "no XCLIENT: %r" % text
                args = ["ADDR=%s" % addr, "NAME=[UNAVAILABLE]",
                        "HELO=%s" % helo]
                if login is not None:
                    args.append("LOGIN=%s" % login)
                code, text = s.docmd("XCLIENT", " ".join(args))
                if code != 220:
                    return code, text.decode(errors="replace")
                s.ehlo_resp = s.helo_resp = None
            s.ehlo(helo)
            code, text = s.mail(mailfrom)
            if code != 250:
                return code, text.decode(errors="replace")
            for r in rcpts:
                code, text = s.rcpt(r)
                if code != 250:
                    return code, text.decode(errors="replace")
            code, text = s.data(message)
            return code, text.decode(errors="replace")
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()

    # ------------------------------------------------------------ results

    def delivered(self, needle, timeout=15):
        """the delivered message (bytes) whose text contains needle
        (e.g. a unique Message-ID), waiting up to timeout; None if none"""
        found = []

        def look():
            for sub in ("new", "cur"):
                d = os.path.join(self.maildir, sub)
                try:
                    names = os.listdir(d)
                except OSError:
                    continue
                for n in names:
                    try:
                        with open(os.path.join(d, n), "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    if needle.encode() in data:
                        found.append(data)
                        return True
            return False
        _wait(look, timeout, 0.1)
        return found[0] if found else None

    def queue_list(self):
        """postqueue -j: one dict per queued message"""
        r = subprocess.run([POSTQUEUE, "-c", self.etc, "-j"],
                           capture_output=True, text=True, timeout=30)
        return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]

    def queued(self, queue_id, timeout=10):
        """the postqueue -j entry of one message, waiting for it"""
        found = []

        def look():
            found[:] = [m for m in self.queue_list()
                        if m.get("queue_id") == queue_id]
            return bool(found)
        _wait(look, timeout, 0.2)
        return found[0] if found else None


def queue_id_of(reply_text):
    """'2.0.0 Ok: queued as 4Q2k9T3x' -> '4Q2k9T3x'"""
    m = re.search(r"queued as ([0-9A-Za-z]+)", reply_text)
    return m.group(1) if m else None


def headers_of(raw):
    """[(name, raw value)] of a delivered message, in order, unfolded
    values left as they are (continuation lines included)"""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return list(msg.items())


def _uid(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _listening(port):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _wait(pred, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()
