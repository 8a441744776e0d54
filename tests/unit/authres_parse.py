#!/usr/bin/python3
# authres_parse.py FILE - parse one Authentication-Results field value (the
# whole content of FILE, without the field name) with Debian's independent
# RFC 8601 parser (python3-authres) and print what it understood, one line
# per item, so check_authres.c can compare contents and not only "it parsed":
#
#	authserv-id=ID
#	METHOD=RESULT[ reason=REASON][ PTYPE.PROPERTY=VALUE]...
#
# Quoted-pairs in reasons and values are undone (the parser keeps them).
# Exit status 1, with "error: ..." on stdout, when the parser refuses.
# Run it with /usr/bin/python3: the python3 first on PATH may lack authres.
import re
import sys

import authres


def unquote(s):
    """Undo RFC 5322 quoted-pairs the parser left in."""
    return re.sub(r'\\(.)', r'\1', s)


def main():
    with open(sys.argv[1], 'rb') as f:
        value = f.read().decode('utf-8', 'surrogateescape')
    try:
        h = authres.AuthenticationResultsHeader.parse(
            'Authentication-Results: ' + value)
    except Exception as e:  # the parser's own SyntaxError and anything else
        print('error: %s' % e)
        return 1
    out = ['authserv-id=%s' % h.authserv_id]
    for r in h.results:
        line = '%s=%s' % (r.method, r.result)
        if r.reason is not None:
            line += ' reason=%s' % unquote(r.reason)
        for p in r.properties:
            line += ' %s.%s=%s' % (p.type, p.name, unquote(str(p.value)))
        out.append(line)
    sys.stdout.write('\n'.join(out) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
