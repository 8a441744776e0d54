"""The admin-facing docs agree with each other and with the code (issue 16):
the README's Postfix lines and conf/postfix-main.cf, the chroot recipe and
the systemd unit, what conf/authmilter.conf says about its values, and the
rendered man page."""

import os
import re
import shutil
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def postfix_section():
    readme = read("README")
    start = readme.index("\nPostfix\n-------\n")
    return readme[start:readme.index("\nSendmail\n--------\n", start)]


def indented_blocks(text):
    """the code blocks (lines indented 7 spaces) of a section, in order"""
    blocks, cur = [], []
    for ln in text.splitlines():
        if ln.startswith("       ") and ln.strip():
            cur.append(ln.strip())
        elif cur and ln.strip():
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def main_cf_settings():
    """the `name = value` lines of conf/postfix-main.cf, in order"""
    return [ln.strip() for ln in read("conf", "postfix-main.cf").splitlines()
            if re.match(r"^[a-z_]+ =", ln)]


def test_readme_postfix_snippet_is_postfix_main_cf():
    blocks = indented_blocks(postfix_section())
    snippet = [ln for ln in blocks[0] if re.match(r"^[a-z_]+ =", ln)]
    assert snippet == blocks[0], blocks[0]
    assert snippet == main_cf_settings(), \
        "README's Postfix lines %r differ from conf/postfix-main.cf's %r" % (
            snippet, main_cf_settings())


def test_chroot_recipe_agrees():
    """conf's commented chroot line is the README recipe's main.cf line;
    the Socket is that name under Postfix's spool; the unit may write
    there"""
    found = re.findall(r"^#(smtpd_milters = unix:(/\S+))$",
                       read("conf", "postfix-main.cf"), re.M)
    assert len(found) == 1, found
    line, inside = found[0]
    recipe = [b for b in indented_blocks(postfix_section())
              if any("chroot" in ln for ln in b)]
    assert len(recipe) == 1, indented_blocks(postfix_section())
    assert line in recipe[0], recipe[0]
    sock = "/var/spool/postfix" + inside
    assert "Socket unix:" + sock in recipe[0], recipe[0]
    sockdir = os.path.dirname(sock)
    assert any(ln.startswith("install -d") and ln.endswith(sockdir)
               for ln in recipe[0]), recipe[0]
    unit = read("systemd", "authmilter.service")
    paths = re.findall(r"^ReadWritePaths=(.*)$", unit, re.M)
    assert any(p.lstrip("-") == sockdir for ps in paths
               for p in ps.split()), (paths, sockdir)
    assert re.search(r"^UMask=0?007$", unit, re.M), "socket not group-writable"


def table_defaults():
    """{key: default text or None} from config.c's keys[] table"""
    src = read("milter", "config", "config.c")
    table = src[src.index("static const struct key keys[]"):]
    table = table[:table.index("\n};")]
    out = {}
    for m in re.finditer(r'\{\s*"(\w+)",\s*am_cfg_set_\w+,[^{}]*?,\s*'
                         r'(NULL|"(?:[^"\\]|\\.)*")\s*\}', table):
        out[m.group(1)] = None if m.group(2) == "NULL" else m.group(2)[1:-1]
    assert len(out) >= 20, out
    return out


def test_shipped_conf_values_are_what_it_says():
    """every value set in conf/authmilter.conf is the key's real default,
    except the keys its header says differ (which must then differ)"""
    conf = read("conf", "authmilter.conf")
    header = conf[:conf.index("\n\n")]
    differs = set(re.findall(r"except\s+([A-Z]\w+)", header))
    defaults = table_defaults()
    set_here = dict(re.findall(r"^([A-Z]\w+)[ \t]+(.*?)\s*$", conf, re.M))
    assert "Socket" in set_here, set_here
    for key, value in set_here.items():
        assert key in defaults, "%s is not a key" % key
        if key in differs:
            assert value != defaults[key], \
                "the header says %s differs from its default; it does " \
                "not (%r)" % (key, value)
        else:
            assert value == defaults[key], \
                "%s %r is not its default %r and the header does not " \
                "say so" % (key, value, defaults[key])


def render(page):
    groff = shutil.which("groff")
    assert groff, "groff not installed (groff-base: scripts/deps)"
    p = subprocess.run([groff, "-mandoc", "-Tutf8", "-P-c",
                        os.path.join(ROOT, "man", page)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return re.sub(r".\x08", "", p.stdout)


def test_man_page_metric_names_render_whole():
    """`authmilter_messages_total{action}`, not `{action }`"""
    text = render("authmilter.8")
    names = re.findall(r"authmilter_\w+\{[^}\n]*\}", text)
    assert len(names) >= 6, names
    bad = [n for n in names if " " in n]
    assert not bad, bad
    src = read("milter", "daemon", "metrics.c")
    for n in names:
        assert n.split("{")[0] in src, n


def test_man_page_reload_example_matches_unit():
    """the reload example works with the shipped unit: systemctl reload
    (the unit has ExecReload), and a pid file it names is one the unit
    or the shipped config sets"""
    text = render("authmilter.8")
    ex = text[text.index("EXAMPLES"):text.index("SEE ALSO")]
    unit = read("systemd", "authmilter.service")
    assert "systemctl reload authmilter" in ex, ex
    assert re.search(r"^ExecReload=", unit, re.M), unit
    for pid in re.findall(r"cat (/\S+\.pid)", ex):
        said = re.search(r"PidFile\s+" + re.escape(pid), ex) or \
            re.search(r"^PIDFile=" + re.escape(pid), unit, re.M)
        assert said, "%s: neither the unit nor the example sets it" % pid


def test_postsuper_release_mentions_postqueue_i():
    sec = postfix_section()
    i = sec.index("postsuper -H")
    assert "postqueue -i" in sec[i:i + 300], sec[i:i + 300]
