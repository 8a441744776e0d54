#!/usr/bin/python3
"""Write the seed corpus of fuzz_dns_answer (run once; seeds are committed):
  tests/fuzz/make_dns_answer_seeds.py tests/fuzz/corpus/fuzz_dns_answer

Each seed is the 8-byte header fuzz_dns_answer.c describes, an answer
packet (a real DNS reply made with dnspython where one matters: the DKIM
key), and the rdata entries as [len16][bytes].
"""
import os
import struct
import sys

import dns.message
import dns.rrset

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

TXT, PTR, A, AAAA, MX, TXT_ANY = range(6)
HAVEDATA, NXDOMAIN, BOGUS, SECURE = 0x10, 0x20, 0x40, 0x80


def txt_rdata(*strings):
    b = b""
    for s in strings:
        s = s.encode() if isinstance(s, str) else s
        b += bytes([len(s)]) + s
    return b


def wire_name(name):
    b = b""
    for label in name.rstrip(".").split("."):
        b += bytes([len(label)]) + label.encode()
    return b + b"\0"


def reply_packet(qname, rdtype, text):
    q = dns.message.make_query(qname, rdtype)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(qname, 300, "IN", rdtype, text))
    return r.to_wire()


def seed(name, qtype, flags, rdatas, packet=b"", err=0, v6=0, dkimbuf=64,
         ttl=60):
    head = bytes([qtype, flags, err, v6, dkimbuf]) + \
        struct.pack("!H", len(packet)) + bytes([ttl])
    body = b"".join(struct.pack("!H", len(r)) + r for r in rdatas)
    with open(os.path.join(out, name), "wb") as f:
        f.write(head + packet + body)


seed("spf-txt", TXT, HAVEDATA,
     [txt_rdata("v=spf1 ip4:192.0.2.0/24 ", "include:example.net -all")])
seed("spf-txt-two", TXT, HAVEDATA,
     [txt_rdata("v=spf1 -all"), txt_rdata("v=spf1 a mx ptr exists:%{i}.x ~all"),
      txt_rdata("google-site-verification=abc")])
seed("spf-exp", TXT, HAVEDATA,
     [txt_rdata("v=spf1 exp=explain.%{d} redirect=_spf.example.org")])
seed("spf-any", TXT_ANY, HAVEDATA, [txt_rdata("v=spf1 ip4:0.0.0.0/0 -all")])
seed("txt-empty", TXT, HAVEDATA, [txt_rdata(""), b""])
seed("txt-nul", TXT, HAVEDATA, [txt_rdata(b"v=spf1 \0 -all")])
seed("txt-overrun", TXT, HAVEDATA, [b"\x20v=spf1"])
seed("dmarc", TXT, HAVEDATA,
     [txt_rdata("v=DMARC1; p=reject; sp=none; np=quarantine; psd=n; ",
                "rua=mailto:d@example.org; adkim=s; aspf=r; t=y; pct=50")])
seed("dmarc-two", TXT, HAVEDATA,
     [txt_rdata("v=DMARC1; p=reject"), txt_rdata("v=DMARC1; p=none")])
seed("ptr", PTR, HAVEDATA,
     [wire_name("Mail.Example.ORG"), wire_name("other.example.net")])
seed("ptr-bad", PTR, HAVEDATA, [b"\x05ab", b"\x3f" + b"a" * 63 + b"\0"])
seed("a", A, HAVEDATA, [bytes([192, 0, 2, 10]), bytes([192, 0, 2, 11])])
seed("a-short", A, HAVEDATA, [bytes([192, 0, 2])])
seed("aaaa", AAAA, HAVEDATA, [bytes(15) + b"\x10"], v6=1)
seed("mx", MX, HAVEDATA,
     [b"\x00\x0a" + wire_name("mx1.example.org"),
      b"\x00\x14" + wire_name("mx2.example.org"), b"\x00"])
seed("nxdomain", TXT, NXDOMAIN | 3, [])
seed("servfail", TXT, 2, [])
seed("bogus", TXT, BOGUS | HAVEDATA, [txt_rdata("v=spf1 -all")])
seed("nomem", TXT, 0, [], err=2)
seed("nodata", MX, 0, [])
key = ("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDGMjj8MVG"
       "hqLXkQ4VNRp2ZgaCwJ2EyIuMHx1qIRCZKR1Q9Ss1N7o7h3nNvN3t1sZ+3QV4YF4NJ"
       "mV7IgWpn5F8NwIDAQAB")
pk = reply_packet("sel._domainkey.example.org.", "TXT",
                  '"%s" "%s"' % (key[:120], key[120:]))
seed("dkim-key", TXT, HAVEDATA | SECURE,
     [txt_rdata(key[:120], key[120:])], packet=pk, dkimbuf=128)
seed("dkim-key-small-buffer", TXT, HAVEDATA, [txt_rdata(key)], packet=pk,
     dkimbuf=4)
