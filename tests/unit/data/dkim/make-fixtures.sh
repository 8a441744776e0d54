#!/bin/sh
# make-fixtures.sh - regenerate the test-only DKIM fixtures signed here.
#
# Every signature is made by an independent signer, python3-dkim's dkimsign
# (Debian's /usr/bin/python3), never by authmilter.  Keys made here are test
# keys: never publish them.  Run from anywhere; writes next to this script.
# Needs: openssl, dkimsign (python3-dkim), base64.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
SIGN() { "$PY" /usr/bin/dkimsign "$@"; }

# pubrec KEYFILE [extra tags] - a DKIM key record for an RSA private key
pubrec() {
	p=$(openssl pkey -in "$1" -pubout -outform DER | base64 -w0)
	printf 'v=DKIM1; k=rsa;%s p=%s' "${2:-}" "$p"
}

# The message the generated fixtures sign.
cat > unsigned.eml <<'MSG'
From: Alice <alice@example.org>
To: bob@example.net
Subject: fixture
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <fixture@example.org>

Hello.
MSG

# RFC 8301 3.2: a 512-bit RSA key (too small; verifiers must fail it).
openssl genrsa -out small512.private 512 2>/dev/null
pubrec small512.private > small512.dns
SIGN --signalg rsa-sha256 small example.org small512.private \
    < unsigned.eml > small512.signed.eml

# RFC 8301 3.1: rsa-sha1, by the 2048-bit example.org key published as
# selector rs1 without h= (so only our rule, not the key, refuses it).
pubrec example.org-rs.private > rs1.dns
SIGN --signalg rsa-sha1 rs1 example.org example.org-rs.private \
    < unsigned.eml > sha1.signed.eml

# c=simple/simple over odd whitespace: runs of spaces, a trailing tab and a
# folded To field.  The MTA must pass the value's leading space through.
printf '%s\n' \
    'From: Alice <alice@example.org>' \
    'To: bob@example.net,' \
    '	carol@example.net' \
    'Subject:   two  spaces	' \
    'Date: Mon, 01 Jan 2024 00:00:00 +0000' \
    'Message-ID: <ws@example.org>' \
    '' \
    'Body  with  spaces  ' \
    '' > simple-ws.eml
SIGN --signalg ed25519-sha256 --hcanon simple --bcanon simple \
    ed example.org example.org-ed.private < simple-ws.eml \
    > simple-ws.signed.eml
rm -f simple-ws.eml
echo "fixtures written"
