/*
 * spf_check.c - RFC 7208 record syntax, rewriting for libspf2, macros.
 *
 * One small function per ABNF rule of RFC 7208 section 12, each taking a
 * span [p, e) and returning 1 if it matches entirely.  See spf_check.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf/spf_check.h"

#define LABEL_MAX	63
#define PARTS_MAX	128

/* span_eq - case-insensitive compare of [p, e) with word */
static int
span_eq(const char *p, const char *e, const char *word)
{
	size_t	 n = strlen(word);

	return (size_t)(e - p) == n && strncasecmp(p, word, n) == 0;
}

/* is_alnum - ASCII letter or digit (no locale) */
static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* is_alpha - ASCII letter */
static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* macro_letter - 7.1 macro-letter; c, r, t only in explanations */
static int
macro_letter(int c, int exp_text)
{
	c = tolower((unsigned char)c);
	if (strchr("slodiphv", c) != NULL)
		return 1;
	return exp_text && strchr("crt", c) != NULL;
}

/*
 * macro_expand_end - one macro-expand starting at p ('%'): pointer past
 * it, or NULL.  "%{" letter *DIGIT ["r"] *delimiter "}" / %% / %_ / %-
 */
static const char *
macro_expand_end(const char *p, const char *e, int exp_text)
{
	long	 n;

	if (p + 1 >= e)
		return NULL;
	if (p[1] == '%' || p[1] == '_' || p[1] == '-')
		return p + 2;
	if (p[1] != '{' || p + 2 >= e || !macro_letter(p[2], exp_text))
		return NULL;
	p += 3;
	if (p < e && isdigit((unsigned char)*p)) {
		n = 0;
		while (p < e && isdigit((unsigned char)*p) && n <= PARTS_MAX)
			n = n * 10 + (*p++ - '0');
		if (n == 0 || n > PARTS_MAX)	/* 7.3: nonzero */
			return NULL;
	}
	if (p < e && (*p == 'r' || *p == 'R'))
		p++;
	while (p < e && strchr(".-+,/_=", *p) != NULL)
		p++;
	return p < e && *p == '}' ? p + 1 : NULL;
}

/*
 * macro_string - 7.1 macro-string (and explain-string with SP when
 * exp_text); *last_macro says whether it ends in a macro-expand.
 */
static int
macro_string(const char *p, const char *e, int exp_text, int *last_macro)
{
	int	 lm = 0;

	while (p < e) {
		if (*p == '%') {
			if ((p = macro_expand_end(p, e, exp_text)) == NULL)
				return 0;
			lm = 1;
		} else if ((*p >= 0x21 && *p <= 0x7e) ||
		    (exp_text && *p == ' ')) {
			p++;
			lm = 0;
		} else
			return 0;
	}
	if (last_macro != NULL)
		*last_macro = lm;
	return 1;
}

/* toplabel - 7.1: alphanumerics with a letter, or with an inner hyphen */
static int
toplabel(const char *p, const char *e)
{
	const char	*q;
	int		 alpha = 0, hyphen = 0;

	if (p >= e || !is_alnum(*p) || !is_alnum(e[-1]))
		return 0;
	for (q = p; q < e; q++) {
		if (is_alpha(*q))
			alpha = 1;
		else if (*q == '-')
			hyphen = 1;
		else if (!is_alnum(*q))
			return 0;
	}
	return alpha || hyphen;
}

/* literal_labels - no empty or over-long label in the literal parts */
static int
literal_labels(const char *p, const char *e)
{
	const char	*q;
	size_t		 lab = 0;
	int		 prev_dot = 0;

	for (q = p; q < e; q++) {
		if (*q == '%') {		/* a macro: lengths unknown */
			q = macro_expand_end(q, e, 1);
			if (q == NULL)
				return 0;
			q--;
			lab = 0;
			prev_dot = 0;
			continue;
		}
		if (*q == '.') {
			if (prev_dot)
				return 0;	/* empty label */
			prev_dot = 1;
			lab = 0;
			continue;
		}
		prev_dot = 0;
		if (++lab > LABEL_MAX)
			return 0;
	}
	return 1;
}

/* domain_spec - 7.1: macro-string domain-end */
static int
domain_spec(const char *p, const char *e)
{
	const char	*dot;
	int		 lm;

	if (p >= e || !macro_string(p, e, 0, &lm))
		return 0;
	if (*p == '.' || !literal_labels(p, e))
		return 0;
	if (lm)
		return 1;			/* domain-end = macro-expand */
	if (e[-1] == '.')			/* one final dot allowed */
		e--;
	for (dot = e; dot > p && dot[-1] != '.' && dot[-1] != '}'; dot--)
		continue;
	if (dot == p || dot[-1] != '.')
		return 0;			/* no "." toplabel */
	return toplabel(dot, e);
}

/* cidr_num - "0" or a number without leading zero, at most max */
static int
cidr_num(const char *p, const char *e, int max)
{
	int	 n = 0;

	if (p >= e || (*p == '0' && e - p > 1))
		return -1;
	for (; p < e; p++) {
		if (!isdigit((unsigned char)*p) || (n = n * 10 + *p - '0') > max)
			return -1;
	}
	return n;
}

/*
 * split_cidr - find a dual-cidr-length at the end of [p, e): sets *c4 and
 * *c6 (-1 if absent, -2 if malformed) and returns where it starts.
 */
static const char *
split_cidr(const char *p, const char *e, int *c4, int *c6)
{
	const char	*q;

	*c4 = *c6 = -1;
	for (q = e; q > p && isdigit((unsigned char)q[-1]); q--)
		continue;
	if (q < e && q - p >= 2 && q[-1] == '/' && q[-2] == '/') {
		*c6 = cidr_num(q, e, 128) < 0 ? -2 : cidr_num(q, e, 128);
		e = q - 2;
		for (q = e; q > p && isdigit((unsigned char)q[-1]); q--)
			continue;
	}
	if (q < e && q > p && q[-1] == '/' && (q - 1 == p || q[-2] != '/')) {
		*c4 = cidr_num(q, e, 32) < 0 ? -2 : cidr_num(q, e, 32);
		e = q - 1;
	}
	return e;
}

/* qnum_ip4 - 5.6 ip4-network: four qnum, no leading zeros */
static int
ip4_network(const char *p, const char *e)
{
	int	 i, n;
	const char *q;

	for (i = 0; i < 4; i++) {
		for (q = p; q < e && *q != '.'; q++)
			continue;
		if ((n = cidr_num(p, q, 255)) < 0)
			return 0;
		if (i < 3 && (q >= e || *q != '.'))
			return 0;
		p = q + 1;
		if (i == 3 && q != e)
			return 0;
	}
	return 1;
}

/* ip6_network - 5.6 ip6-network: what inet_pton accepts */
static int
ip6_network(const char *p, const char *e)
{
	char		 buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr	 a;

	if (e - p <= 0 || (size_t)(e - p) >= sizeof(buf))
		return 0;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* ip_mech - ip4:/ip6: network and optional cidr; *c0 if cidr is 0 */
static const char *
ip_mech(const char *arg, const char *e, int v6, int *c0)
{
	const char	*slash;
	int		 c;

	for (slash = arg; slash < e && *slash != '/'; slash++)
		continue;
	if (v6 ? !ip6_network(arg, slash) : !ip4_network(arg, slash))
		return "bad address";
	if (slash < e) {
		c = cidr_num(slash + 1, e, v6 ? 128 : 32);
		if (c < 0)
			return "bad CIDR length";
		*c0 = c == 0;
	}
	return NULL;
}

/* host_mech - a, mx: [":" domain-spec] [dual-cidr-length] */
static const char *
host_mech(const char *arg, const char *e, int *c4, int *c6)
{
	const char	*d;

	d = split_cidr(arg, e, c4, c6);
	if (*c4 == -2 || *c6 == -2)
		return "bad CIDR length";
	if (arg == d)
		return NULL;			/* no domain-spec */
	if (*arg != ':' || !domain_spec(arg + 1, d))
		return "bad domain-spec";
	return NULL;
}

/* mechanism - 5: check one directive without its qualifier */
static const char *
mechanism(const char *p, const char *e, int *c0)
{
	const char	*n = p;
	int		 c4, c6;

	while (n < e && is_alnum(*n))
		n++;
	*c0 = 0;
	if (span_eq(p, n, "all"))
		return n == e ? NULL : "bad all";
	if (span_eq(p, n, "include") || span_eq(p, n, "exists"))
		return n < e && *n == ':' && domain_spec(n + 1, e) ? NULL :
		    "bad domain-spec";
	if (span_eq(p, n, "ptr"))
		return n == e || (*n == ':' && domain_spec(n + 1, e)) ? NULL :
		    "bad domain-spec";
	if (span_eq(p, n, "ip4") || span_eq(p, n, "ip6"))
		return n < e && *n == ':' ? ip_mech(n + 1, e, p[2] == '6', c0) :
		    "bad address";
	if (span_eq(p, n, "a") || span_eq(p, n, "mx")) {
		const char *why = host_mech(n, e, &c4, &c6);

		*c0 = c4 == 0 || c6 == 0;
		return why;
	}
	return "unknown mechanism";
}

/* modifier_name - 6: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static const char *
modifier_name(const char *p, const char *e)
{
	if (p >= e || !is_alpha(*p))
		return NULL;
	for (p++; p < e && (is_alnum(*p) || strchr("-_.", *p) != NULL); p++)
		continue;
	return p < e && *p == '=' ? p : NULL;
}

/* term - 4.6.1: one term; counts redirect/exp; *c0 for a CIDR of 0 */
static const char *
term(const char *p, const char *e, int *nredir, int *nexp, int *c0)
{
	const char	*eq;

	*c0 = 0;
	if ((eq = modifier_name(p, e)) != NULL) {
		if (span_eq(p, eq, "redirect") || span_eq(p, eq, "exp")) {
			if (++*(tolower((unsigned char)*p) == 'r' ? nredir :
			    nexp) > 1)
				return "duplicate modifier";
			return domain_spec(eq + 1, e) ? NULL :
			    "bad domain-spec";
		}
		return macro_string(eq + 1, e, 0, NULL) ? NULL :
		    "bad modifier value";
	}
	if (strchr("+-~?", *p) != NULL)
		p++;
	return mechanism(p, e, c0);
}

/* next_term - the next space-separated term of a record: *p..*e; 0 at end */
static int
next_term(const char **p, const char **e)
{
	const char	*q = *e;

	while (*q == ' ')
		q++;
	if (*q == '\0')
		return 0;
	for (*p = q; *q != '\0' && *q != ' '; q++)
		continue;
	*e = q;
	return 1;
}

/* am_spf_is_record - 4.5: "v=spf1" followed by SP or the end */
int
am_spf_is_record(const char *rec)
{
	return strncasecmp(rec, "v=spf1", 6) == 0 &&
	    (rec[6] == '\0' || rec[6] == ' ');
}

/* am_spf_record_check - whole-record syntax, 4.6 */
const char *
am_spf_record_check(const char *rec)
{
	const char	*p, *e, *why;
	int		 nredir = 0, nexp = 0, c0;

	for (p = rec; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return "character outside printable ASCII";
	if (!am_spf_is_record(rec))
		return "not an SPF record";
	for (e = rec + 6; next_term(&p, &e);)
		if ((why = term(p, e, &nredir, &nexp, &c0)) != NULL)
			return why;
	return NULL;
}

/* am_spf_record_mechanisms - terms of a record that are not modifiers */
size_t
am_spf_record_mechanisms(const char *rec)
{
	const char	*p, *e;
	size_t		 n = 0;

	if (!am_spf_is_record(rec))
		return 0;
	for (e = rec + 6; next_term(&p, &e);)
		if (modifier_name(p, e) == NULL)
			n++;
	return n;
}

/* put - append [p, p+n) to out; -1 if it does not fit */
static int
put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

/* rewrite_host - a/mx with a CIDR of 0: marker label in front (see .h) */
static int
rewrite_host(const char *p, const char *e, char *out, size_t outlen,
    size_t *o)
{
	const char	*n = p, *d;
	char		 buf[600];
	int		 c4, c6, len;

	if (strchr("+-~?", *n) != NULL)
		n++;
	while (n < e && is_alnum(*n))
		n++;
	d = split_cidr(n, e, &c4, &c6);
	len = snprintf(buf, sizeof(buf), "%.*s:%s.%.*s", (int)(n - p), p,
	    c4 == 0 && c6 == 0 ? AM_SPF_ANY46 : c4 == 0 ? AM_SPF_ANY4 :
	    AM_SPF_ANY6, d > n ? (int)(d - n - 1) : 4, d > n ? n + 1 : "%{d}");
	if (len < 0 || (size_t)len >= sizeof(buf))
		return -1;
	if (c4 > 0)
		len += snprintf(buf + len, sizeof(buf) - len, "/%d", c4);
	if (c6 > 0)
		len += snprintf(buf + len, sizeof(buf) - len, "//%d", c6);
	return put(out, outlen, o, buf, strlen(buf));
}

/* rewrite_ip - ip4:x/0, ip6:x/0 as two /1 halves with the qualifier */
static int
rewrite_ip(const char *p, const char *e, char *out, size_t outlen, size_t *o)
{
	char		 buf[80];
	const char	*q = p;
	int		 qual = 0;

	if (strchr("+-~?", *q) != NULL)
		qual = *q++;
	(void)e;
	if (tolower((unsigned char)q[2]) == '6')
		snprintf(buf, sizeof(buf), "%.1sip6:::/1 %.1sip6:8000::/1",
		    qual ? (char *)&qual : "", qual ? (char *)&qual : "");
	else
		snprintf(buf, sizeof(buf), "%.1sip4:0.0.0.0/1 %.1sip4:128.0.0.0/1",
		    qual ? (char *)&qual : "", qual ? (char *)&qual : "");
	return put(out, outlen, o, buf, strlen(buf));
}

/* rewrite_exp - exp=D as exp=D.<mark><n> (final dot of D dropped) */
static int
rewrite_exp(const char *p, const char *e, unsigned int idx, char *out,
    size_t outlen, size_t *o)
{
	char	 buf[32];

	if (e[-1] == '.')
		e--;
	if (put(out, outlen, o, p, (size_t)(e - p)) == -1)
		return -1;
	snprintf(buf, sizeof(buf), ".%s%u", AM_SPF_EXP_MARK, idx);
	return put(out, outlen, o, buf, strlen(buf));
}

/* has_all - does the record have an "all" mechanism (6.1)? */
static int
has_all(const char *rec)
{
	const char	*p, *e;

	for (e = rec + 6; next_term(&p, &e);) {
		if (strchr("+-~?", *p) != NULL)
			p++;
		if (span_eq(p, e, "all"))
			return 1;
	}
	return 0;
}

/* am_spf_record_rewrite - see spf_check.h */
int
am_spf_record_rewrite(const char *rec, unsigned int exp_index, char *out,
    size_t outlen)
{
	const char	*p, *e, *eq, *redir = NULL, *redir_end = NULL;
	size_t		 o = 0;
	int		 nr = 0, nx = 0, c0, r, all = has_all(rec);

	if (put(out, outlen, &o, "v=spf1", 6) == -1)
		return -1;
	for (e = rec + 6; next_term(&p, &e);) {
		if (term(p, e, &nr, &nx, &c0) != NULL)
			return -1;
		eq = modifier_name(p, e);
		/*
		 * 6.3: unknown modifiers are ignored (libspf2 refuses some
		 * valid names); 6.1: redirect= is ignored if there is "all".
		 */
		if (eq != NULL && !span_eq(p, eq, "exp") &&
		    (!span_eq(p, eq, "redirect") || all))
			continue;
		/* 6.1: redirect= after every mechanism (libspf2 follows it
		 * where it stands) */
		if (eq != NULL && span_eq(p, eq, "redirect")) {
			redir = p;
			redir_end = e;
			continue;
		}
		if (put(out, outlen, &o, " ", 1) == -1)
			return -1;
		if (eq != NULL && span_eq(p, eq, "exp"))
			r = rewrite_exp(p, e, exp_index, out, outlen, &o);
		else if (eq == NULL && c0 && strchr("iI", p[strchr(
		    "+-~?", *p) != NULL]) != NULL)
			r = rewrite_ip(p, e, out, outlen, &o);
		else if (eq == NULL && c0)
			r = rewrite_host(p, e, out, outlen, &o);
		else
			r = put(out, outlen, &o, p, (size_t)(e - p));
		if (r == -1)
			return -1;
	}
	if (redir != NULL && (put(out, outlen, &o, " ", 1) == -1 ||
	    put(out, outlen, &o, redir, (size_t)(redir_end - redir)) == -1))
		return -1;
	return 0;
}

/* macro_value - 7.3: the raw value of one macro letter into buf */
static const char *
macro_value(int letter, const struct am_spf_macros *m, char *buf,
    size_t buflen)
{
	size_t	 i, o = 0;

	switch (tolower(letter)) {
	case 's': return m->sender;
	case 'l': return m->local;
	case 'o': return m->sender_dom;
	case 'd': return m->domain;
	case 'c': return m->ip;
	case 'p': return m->ptr != NULL ? m->ptr : "unknown";
	case 'h': return m->helo;
	case 'r': return m->receiver != NULL ? m->receiver : "unknown";
	case 'v': return m->ipv6 ? "ip6" : "in-addr";
	case 't':
		snprintf(buf, buflen, "%lld", m->now);
		return buf;
	case 'i':
		if (!m->ipv6) {
			snprintf(buf, buflen, "%u.%u.%u.%u", m->addr[0],
			    m->addr[1], m->addr[2], m->addr[3]);
			return buf;
		}
		for (i = 0; i < 16 && o + 4 < buflen; i++)
			o += (size_t)snprintf(buf + o, buflen - o, "%s%X.%X",
			    i ? "." : "", m->addr[i] >> 4, m->addr[i] & 15);
		return buf;
	}
	return "";
}

/* transform - 7.3: split on delimiters, reverse, keep the rightmost n */
static int
transform(const char *v, int n, int rev, const char *delim, char *out,
    size_t outlen)
{
	const char	*part[PARTS_MAX * 2];
	size_t		 plen[PARTS_MAX * 2], o = 0;
	int		 np = 0, i, first;
	const char	*p = v, *q;

	for (;;) {
		for (q = p; *q != '\0' && strchr(delim, *q) == NULL; q++)
			continue;
		if (np >= PARTS_MAX * 2)
			return -1;
		part[np] = p;
		plen[np++] = (size_t)(q - p);
		if (*q == '\0')
			break;
		p = q + 1;
	}
	out[0] = '\0';
	if (rev)
		for (i = 0; i < np / 2; i++) {
			const char	*tp = part[i];
			size_t		 tl = plen[i];

			part[i] = part[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			part[np - 1 - i] = tp;
			plen[np - 1 - i] = tl;
		}
	first = n > 0 && n < np ? np - n : 0;
	for (i = first; i < np; i++)
		if ((i > first && put(out, outlen, &o, ".", 1) == -1) ||
		    put(out, outlen, &o, part[i], plen[i]) == -1)
			return -1;
	return 0;
}

/* url_escape - 7.3: uppercase macro letters escape all but unreserved */
static int
url_escape(const char *v, char *out, size_t outlen, size_t *o)
{
	char	 hex[4];

	for (; *v != '\0'; v++) {
		if (is_alnum(*v) || strchr("-._~", *v) != NULL) {
			if (put(out, outlen, o, v, 1) == -1)
				return -1;
			continue;
		}
		snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)*v);
		if (put(out, outlen, o, hex, 3) == -1)
			return -1;
	}
	return 0;
}

/* expand_one - one %{...}: value, transformers, delimiters, escaping */
static int
expand_one(const char *p, const char *end, const struct am_spf_macros *m,
    char *out, size_t outlen, size_t *o)
{
	char		 raw[512], t[1024], delim[16];
	const char	*v;
	int		 letter = p[2], n = 0, rev = 0;
	size_t		 nd = 0;

	p += 3;
	while (isdigit((unsigned char)*p))
		n = n * 10 + (*p++ - '0');
	if (*p == 'r' || *p == 'R') {
		rev = 1;
		p++;
	}
	while (p < end - 1 && nd < sizeof(delim) - 1)
		delim[nd++] = *p++;
	delim[nd] = '\0';
	v = macro_value(letter, m, raw, sizeof(raw));
	if (transform(v != NULL ? v : "", n, rev, nd ? delim : ".", t,
	    sizeof(t)) == -1)
		return -1;
	if (isupper(letter))
		return url_escape(t, out, outlen, o);
	return put(out, outlen, o, t, strlen(t));
}

/* am_spf_macro_expand - 7.3/7.4 expansion of in into out */
int
am_spf_macro_expand(const char *in, int exp_text,
    const struct am_spf_macros *m, char *out, size_t outlen)
{
	const char	*p = in, *e = in + strlen(in), *q;
	size_t		 o = 0;
	int		 r;

	if (!macro_string(in, e, exp_text, NULL) || outlen == 0)
		return -1;
	out[0] = '\0';
	while (p < e) {
		if (*p != '%') {
			if (put(out, outlen, &o, p++, 1) == -1)
				return -1;
			continue;
		}
		q = macro_expand_end(p, e, exp_text);
		if (p[1] == '%')
			r = put(out, outlen, &o, "%", 1);
		else if (p[1] == '_')
			r = put(out, outlen, &o, " ", 1);
		else if (p[1] == '-')
			r = put(out, outlen, &o, "%20", 3);
		else
			r = expand_one(p, q, m, out, outlen, &o);
		if (r == -1)
			return -1;
		p = q;
	}
	return 0;
}

/* am_spf_macro_uses_p - does in contain %{p...} or %{P...}? */
int
am_spf_macro_uses_p(const char *in)
{
	const char	*p;

	for (p = in; (p = strstr(p, "%{")) != NULL; p += 2)
		if (p[2] == 'p' || p[2] == 'P')
			return 1;
	return 0;
}
