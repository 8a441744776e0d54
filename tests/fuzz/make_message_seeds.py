#!/usr/bin/python3
"""Write the seed corpus of fuzz_message (run once; seeds are committed).

Each seed: zone lines, "%%", client IP / HELO / MAIL FROM, "%%", message.
One seed carries a real DKIM signature (RSA key made here), so the fuzzer
starts from a passing signature and mutates towards the interesting fails.
"""
import base64
import os
import subprocess
import sys
import tempfile

import dkim

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

ZONE = [
    'example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"',
    'example.net. 300 IN TXT "v=spf1 include:example.com ~all"',
    '_dmarc.example.net. 300 IN TXT "v=DMARC1; p=quarantine; " "sp=none; adkim=s"',
    'sub.example.org. 300 IN A 192.0.2.1',
    '_dmarc.example.org. 300 IN TXT "v=DMARC1; p=none; np=reject; psd=n"',
    'loop.example. 300 IN TXT "v=spf1 include:loop.example -all"',
]


def seed(name, zone, ip, helo, mailfrom, msg):
    data = "\n".join(zone).encode() + b"\n%%\n" + \
        f"{ip}\n{helo}\n{mailfrom}\n%%\n".encode() + msg
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


plain = (b"From: Alice <alice@example.com>\nTo: bob@example.net\n"
         b"Subject: hi\nAuthentication-Results: MX.FUZZ.EXAMPLE; dkim=pass\n"
         b"\nhello\r\nworld\r\n")
seed("plain", ZONE, "192.0.2.10", "mail.example.com", "<alice@example.com>", plain)
seed("spf-fail", ZONE, "198.51.100.7", "[198.51.100.7]", "<a@example.net>",
     b"From: a@example.net, b@example.org\nFrom: c@sub.example.org\n\nx\r\n")
seed("v6", ZONE, "::ffff:192.0.2.10", "mail.example.com", "<>",
     b"From: \"x@evil.example\" <a@nonexistent.example.org>\n"
     b"Subject: folded\n\tcontinued\n\nbody\r\n")
seed("loop", ZONE, "2001:db8::1", "loop.example", "<x@loop.example>",
     b"From: =?utf-8?q?a=40example.com?= <x@loop.example>\n\n")

with tempfile.TemporaryDirectory() as d:
    key = os.path.join(d, "k.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "1024"], check=True,
                   capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform",
                          "DER"], check=True, capture_output=True).stdout
    priv = open(key, "rb").read()
msg = (b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
       b"Subject: signed\r\nDate: Tue, 24 Nov 2026 14:00:00 +0000\r\n"
       b"\r\nsigned body\r\n")
sig = dkim.sign(msg, b"sel", b"example.com", priv,
                include_headers=[b"from", b"to", b"subject", b"date"])
sig = sig.replace(b"\r\n", b"\n")
p = base64.b64encode(pub).decode()
zone = ZONE + ['sel._domainkey.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=%s"' % p]
body = sig + msg.replace(b"\r\n\r\n", b"\n\n", 1).split(b"\n\n", 1)[0].replace(b"\r\n", b"\n") \
    + b"\n\n" + b"signed body\r\n"
seed("dkim", zone, "198.51.100.7", "mail.example.com", "<alice@example.com>", body)
