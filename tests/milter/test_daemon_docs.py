"""Docs and packaging stay in step with the code: every config key is in
authmilter.conf(5), the shipped config and the README; the man pages render
without warnings; the systemd unit passes systemd-analyze verify; make
install puts man pages and systemd files in place."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def table_keys():
    """key names from config.c's keys[] table"""
    src = read("milter", "config", "config.c")
    table = src[src.index("static const struct key keys[]"):]
    table = table[:table.index("};")]
    keys = re.findall(r'\{\s*"(\w+)",\s*am_cfg_set_\w+', table)
    assert len(keys) >= 20, keys
    return keys


def conf_keys():
    """keys documented ("##  Key ...") in conf/authmilter.conf"""
    return re.findall(r"^##  ([A-Z]\w+) .*\n##\tdefault:",
                      read("conf", "authmilter.conf"), re.M)


def man_keys():
    return re.findall(r"^\.It Cm (\w+)", read("man", "authmilter.conf.5"),
                      re.M)


def test_every_key_in_man_page():
    man = set(man_keys())
    missing = [k for k in table_keys() + conf_keys() if k not in man]
    assert not missing, "keys missing from man/authmilter.conf.5: %s" % missing


def test_man_page_has_no_unknown_key():
    known = set(table_keys())
    extra = [k for k in man_keys() if k not in known]
    assert not extra, "man/authmilter.conf.5 documents unknown keys %s" % extra


def test_every_key_in_shipped_conf_and_readme():
    conf = set(conf_keys())
    readme = set(re.findall(r"^\| `(\w+)` \|", read("README"), re.M))
    for k in table_keys():
        assert k in conf, "%s not documented in conf/authmilter.conf" % k
        assert k in readme, "%s not in the README configuration table" % k


def test_restart_keys_agree():
    """keys the reload code calls restart-only are marked so in the man page"""
    src = read("milter", "daemon", "reload.c")
    code = set(re.findall(r'add_name\(out, outlen, &n, "(\w+)"\)', src))
    man = read("man", "authmilter.conf.5")
    marked = set()
    for block in man.split(".It Cm ")[1:]:
        if ".Em restart" in block:
            marked.add(block.split()[0])
    assert code == marked, (code, marked)


@pytest.mark.parametrize("page", ["authmilter.8", "authmilter.conf.5",
                                  "authmilter-keygen.8",
                                  "authmilter-report.8"])
def test_man_page_renders_cleanly(page):
    groff = shutil.which("groff")
    assert groff, "groff not installed (groff-base: scripts/deps)"
    p = subprocess.run([groff, "-mandoc", "-ww", "-z",
                        os.path.join(ROOT, "man", page)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_systemd_unit_verifies(tmp_path, authmilter_bin):
    """systemd-analyze verify on the unit, with its paths pointed at this
    build (verify checks that ExecStart's program exists)"""
    sa = shutil.which("systemd-analyze")
    assert sa, "systemd-analyze not installed (systemd: scripts/deps)"
    unit = read("systemd", "authmilter.service")
    for want in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "RuntimeDirectory=",
                 "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
                 "ExecReload=/bin/kill -USR1 $MAINPID", "User="):
        assert want in unit, "unit lacks %r" % want
    unit = unit.replace("/usr/local/sbin/authmilter", authmilter_bin)
    unit = unit.replace("/usr/local/etc/authmilter.conf",
                        os.path.join(ROOT, "conf", "authmilter.conf"))
    path = tmp_path / "authmilter.service"
    path.write_text(unit)
    p = subprocess.run([sa, "verify", "--man=no", str(path)],
                       capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    if p.returncode != 0 and re.search(r"(?i)failed to (initialize|connect|"
                                       r"create|set up)", out) and \
            "authmilter.service" not in out:
        pytest.skip("systemd-analyze cannot run here: %s" % out.strip())
    assert p.returncode == 0, out
    assert "authmilter.service" not in out, out   # no warning about it


def test_report_units_verify(tmp_path, authmilter_bin):
    """systemd-analyze verify on authmilter-report.service and .timer
    (issue 13), the program pointed at this build"""
    sa = shutil.which("systemd-analyze")
    assert sa, "systemd-analyze not installed (systemd: scripts/deps)"
    unit = read("systemd", "authmilter-report.service")
    timer = read("systemd", "authmilter-report.timer")
    for want in ("Type=oneshot", "User=authmilter", "StateDirectory=",
                 "TimeoutStartSec="):
        assert want in unit, "unit lacks %r" % want
    # the MTA's sendmail is setgid: NoNewPrivileges would break it
    assert "NoNewPrivileges=yes" not in unit
    for want in ("OnCalendar=", "RandomizedDelaySec=", "Persistent=true"):
        assert want in timer, "timer lacks %r" % want
    report = os.path.join(os.path.dirname(authmilter_bin), "authmilter-report")
    unit = unit.replace("/usr/local/sbin/authmilter-report", report)
    unit = unit.replace("/usr/local/etc/authmilter.conf",
                        os.path.join(ROOT, "conf", "authmilter.conf"))
    (tmp_path / "authmilter-report.service").write_text(unit)
    (tmp_path / "authmilter-report.timer").write_text(timer)
    p = subprocess.run([sa, "verify", "--man=no",
                        str(tmp_path / "authmilter-report.service"),
                        str(tmp_path / "authmilter-report.timer")],
                       capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    if p.returncode != 0 and re.search(r"(?i)failed to (initialize|connect|"
                                       r"create|set up)", out) and \
            "authmilter-report" not in out:
        pytest.skip("systemd-analyze cannot run here: %s" % out.strip())
    assert p.returncode == 0, out
    assert "authmilter-report" not in out, out


def test_make_install(tmp_path, authmilter_bin):
    # the build of the daemon under test (BUILD/milter/authmilter): under
    # scripts/test the ASan build is tested before the plain one exists
    build = os.path.dirname(os.path.dirname(authmilter_bin))
    assert os.path.isfile(os.path.join(build, "Makefile")), \
        "%s is not in a configured build directory" % authmilter_bin
    dest = str(tmp_path / "dest")
    p = subprocess.run(["make", "-s", "-C", build, "install",
                        "DESTDIR=" + dest], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    files = set()
    for d, _, fs in os.walk(dest):
        for f in fs:
            files.add(os.path.relpath(os.path.join(d, f), dest))
    for suffix in ("sbin/authmilter", "man/man8/authmilter.8",
                   "sbin/authmilter-keygen", "man/man8/authmilter-keygen.8",
                   "sbin/authmilter-report", "man/man8/authmilter-report.8",
                   "systemd/system/authmilter-report.service",
                   "systemd/system/authmilter-report.timer",
                   "man/man5/authmilter.conf.5",
                   "systemd/system/authmilter.service",
                   "sysusers.d/authmilter.conf",
                   "tmpfiles.d/authmilter.conf"):
        assert any(f.endswith(suffix) for f in files), (suffix, files)
