/*
 * rfc5322.c - author addresses of a From field and the authserv-id of an
 * Authentication-Results field.
 *
 * One small function per ABNF rule of RFC 5322 section 3 (with the
 * obsolete forms of section 4), each taking a pointer into the field value
 * and returning a pointer past what it consumed, or NULL if the rule does
 * not match there.  From is parsed as an address-list (RFC 6854 allows
 * groups in From); addresses inside groups count.  Display names are
 * skipped as phrases, so RFC 2047 encoded words and quoted strings that
 * look like addresses never yield a domain: only the addr-spec does.
 *
 * Hostile inputs this guards against: several addresses (OpenDMARC
 * CVE-2019-16378: every domain is returned, the caller decides),
 * malformed values (CVE-2021-34555: anything that is not a complete
 * address-list is -1), display names that look like addresses, domain
 * literals (not usable for DMARC: -1), comments nested without end.
 *
 * Pure: no I/O, no recursion deeper than a fixed bound; the only
 * allocation is libidn2's, freed before to_alabels() returns.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <idn2.h>

#include "common/ascii.h"
#include "message/rfc5322.h"

#define AM_COMMENT_DEPTH_MAX	32	/* nested comments deeper than this: invalid */

/* domain text as collected from atoms and dots, before checking */
struct dbuf {
	char	 s[AM_DOMAIN_MAX + 2];	/* room for a final dot */
	size_t	 len;
	int	 overflow;
	int	 literal;		/* domain-literal: not usable */
};

/* parse state for one From value */
struct pctx {
	char	(*dom)[AM_DOMAIN_MAX + 1];
	size_t	 max;
	size_t	 n;		/* addresses found */
	size_t	 ngroups;	/* groups seen, empty ones included */
	int	 bad;		/* some address has no usable domain */
};

static const char *cfws(const char *);
static const char *word(const char *);

/* dbuf_addc - append one domain character; overflow is sticky */
static void
dbuf_addc(struct dbuf *d, char c)
{
	if (d == NULL)
		return;
	if (d->len + 1 >= sizeof(d->s)) {
		d->overflow = 1;
		return;
	}
	d->s[d->len++] = c;
	d->s[d->len] = '\0';
}

/* is_wsp - RFC 5234 WSP */
static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* is_atext - RFC 5322 3.2.3 atext, plus UTF-8 (RFC 6532 3.2) */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* fws - RFC 5322 3.2.2 FWS (and obs-FWS): WSP, CRLF or LF followed by WSP */
static const char *
fws(const char *p)
{
	for (;;) {
		if (is_wsp(*p))
			p++;
		else if (p[0] == '\r' && p[1] == '\n' && is_wsp(p[2]))
			p += 3;
		else if (p[0] == '\n' && is_wsp(p[1]))
			p += 2;
		else
			return p;
	}
}

/* comment - RFC 5322 3.2.2 comment, nested up to a fixed depth */
static const char *
comment(const char *p)
{
	const char	*q;
	int		 depth = 0;

	if (*p != '(')
		return NULL;
	for (;;) {
		switch (*p) {
		case '\0':
			return NULL;
		case '(':
			if (++depth > AM_COMMENT_DEPTH_MAX)
				return NULL;
			p++;
			break;
		case ')':
			p++;
			if (--depth == 0)
				return p;
			break;
		case '\\':			/* quoted-pair, obs-qp */
			if (p[1] == '\0')
				return NULL;
			p += 2;
			break;
		case '\r':
		case '\n':
			if ((q = fws(p)) == p)
				return NULL;	/* a line break that is not folding */
			p = q;
			break;
		default:
			p++;
		}
	}
}

/* cfws - RFC 5322 3.2.2 [CFWS]: optional; NULL only for a broken comment */
static const char *
cfws(const char *p)
{
	const char	*q;

	for (;;) {
		q = fws(p);
		if (*q == '(' && (q = comment(q)) == NULL)
			return NULL;
		if (q == p)
			return p;
		p = q;
	}
}

/* atom - RFC 5322 3.2.3 atom; the atext goes to d when d is not NULL */
static const char *
atom(const char *p, struct dbuf *d)
{
	if ((p = cfws(p)) == NULL || !is_atext((unsigned char)*p))
		return NULL;
	while (is_atext((unsigned char)*p))
		dbuf_addc(d, *p++);
	return cfws(p);
}

/* quoted_string - RFC 5322 3.2.4 quoted-string (with obs-qtext, obs-qp) */
static const char *
quoted_string(const char *p)
{
	const char	*q;

	if ((p = cfws(p)) == NULL || *p != '"')
		return NULL;
	for (p++; *p != '"'; ) {
		if (*p == '\0')
			return NULL;
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p += 2;
		} else if (*p == '\r' || *p == '\n') {
			if ((q = fws(p)) == p)
				return NULL;
			p = q;
		} else
			p++;
	}
	return cfws(p + 1);
}

/* word - RFC 5322 3.2.5 word = atom / quoted-string */
static const char *
word(const char *p)
{
	const char	*q;

	if ((q = quoted_string(p)) != NULL)
		return q;
	return atom(p, NULL);
}

/* phrase - RFC 5322 3.2.5 phrase / obs-phrase: word *(word / "." / CFWS) */
static const char *
phrase(const char *p)
{
	const char	*q;

	if ((p = word(p)) == NULL)
		return NULL;
	for (;;) {
		if ((q = word(p)) != NULL)
			p = q;
		else if (*p == '.')
			p++;
		else
			return p;
	}
}

/*
 * local_part - RFC 5322 3.4.1 local-part as obs-local-part,
 * word *("." word); empty words between dots are tolerated ("a..b",
 * "a.") since the local part never decides anything here.
 */
static const char *
local_part(const char *p)
{
	const char	*q;

	if ((p = word(p)) == NULL)
		return NULL;
	while (*p == '.') {
		p++;
		if ((q = word(p)) != NULL)
			p = q;
		else if ((p = cfws(p)) == NULL)
			return NULL;
	}
	return p;
}

/* domain_literal - RFC 5322 3.4.1 domain-literal (obs-dtext included) */
static const char *
domain_literal(const char *p, struct dbuf *d)
{
	if ((p = cfws(p)) == NULL || *p != '[')
		return NULL;
	for (p++; *p != ']'; ) {
		p = fws(p);
		if (*p == '\0' || *p == '[' || *p == '\r' || *p == '\n')
			return NULL;
		if (*p == ']')
			break;
		if (*p == '\\' && p[1] != '\0')
			p++;
		p++;
	}
	d->literal = 1;
	return cfws(p + 1);
}

/*
 * domain - RFC 5322 3.4.1 domain: dot-atom / domain-literal / obs-domain,
 * as atom *("." atom) (CFWS around dots allowed) plus one final dot.
 */
static const char *
domain(const char *p, struct dbuf *d)
{
	const char	*q;

	if ((q = cfws(p)) == NULL)
		return NULL;
	if (*q == '[')
		return domain_literal(q, d);
	if ((p = atom(p, d)) == NULL)
		return NULL;
	while (*p == '.') {
		dbuf_addc(d, '.');
		if ((q = atom(p + 1, d)) == NULL)
			return cfws(p + 1);	/* "example.com." */
		p = q;
	}
	return p;
}

/* addr_spec - RFC 5322 3.4.1 addr-spec = local-part "@" domain */
static const char *
addr_spec(const char *p, struct dbuf *d)
{
	if ((p = local_part(p)) == NULL || *p != '@')
		return NULL;
	return domain(p + 1, d);
}

/*
 * obs_route - RFC 5322 4.4 obs-route = obs-domain-list ":", where
 * obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]).
 * The route domains are not author domains: they are dropped.
 */
static const char *
obs_route(const char *p)
{
	struct dbuf	 scratch;

	for (;;) {
		if ((p = cfws(p)) == NULL)
			return NULL;
		if (*p != ',')
			break;
		p++;
	}
	if (*p != '@')
		return NULL;
	memset(&scratch, 0, sizeof(scratch));
	if ((p = domain(p + 1, &scratch)) == NULL)
		return NULL;
	while (*p == ',') {
		if ((p = cfws(p + 1)) == NULL)
			return NULL;
		if (*p == '@' && (p = domain(p + 1, &scratch)) == NULL)
			return NULL;
	}
	return *p == ':' ? p + 1 : NULL;
}

/* angle_addr - RFC 5322 3.4 angle-addr, with obs-angle-addr (a route) */
static const char *
angle_addr(const char *p, struct dbuf *d)
{
	const char	*q;

	if ((p = cfws(p)) == NULL || *p != '<')
		return NULL;
	p++;
	if ((q = obs_route(p)) != NULL)
		p = q;
	if ((p = addr_spec(p, d)) == NULL || *p != '>')
		return NULL;
	return cfws(p + 1);
}

/* name_addr - RFC 5322 3.4 name-addr = [display-name] angle-addr */
static const char *
name_addr(const char *p, struct dbuf *d)
{
	const char	*q;

	if ((q = phrase(p)) != NULL)
		p = q;
	return angle_addr(p, d);
}

/*
 * needs_idna - RFC 5890 2.3.2.1: a domain with a non-ASCII byte (U-labels,
 * RFC 6532) or an "xn--" label (an A-label, to be checked) goes through
 * IDNA; a plain LDH name is left as it is.
 */
static int
needs_idna(const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	for (p = s;; p++) {
		if (strncmp(p, "xn--", 4) == 0)
			return 1;
		if ((p = strchr(p, '.')) == NULL)
			return 0;
	}
}

/*
 * to_alabels - RFC 8616 4: a From domain as its A-label form, by the
 * IDNA2008 lookup protocol (RFC 5891 5) after the UTS #46 mapping
 * (non-transitional, UTS #46 4.1; NFC, RFC 5891 5.2), so that case, the
 * normalisation form, full-width forms and the ideographic full stop
 * (UTS #46 2.3) all reach the domain's own DNS records.  libidn2 is
 * thread-safe; its result is freed here.  Returns 0, or -1 when libidn2
 * refuses the name (invalid UTF-8, a code point RFC 5892 disallows, a
 * label that is not a valid A-label, BIDI or over-long) or it is no
 * usable name: the caller's "no usable domain".  A libidn2 allocation
 * failure is -1 too (never a pass).
 */
static int
to_alabels(const char *in, char *out, size_t outlen)
{
	char	*a = NULL;
	size_t	 len;

	if (idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
	    IDN2_OK)
		return -1;
	len = strlen(a);
	if (len == 0 || len >= outlen) {
		idn2_free(a);
		return -1;
	}
	memcpy(out, a, len + 1);
	idn2_free(a);
	return 0;
}

/* commit - one address parsed: check and store its domain */
static void
commit(struct pctx *c, struct dbuf *d)
{
	size_t	 i;

	if (d->len > 0 && d->s[d->len - 1] == '.')
		d->s[--d->len] = '\0';
	for (i = 0; i < d->len; i++)
		if (d->s[i] >= 'A' && d->s[i] <= 'Z')
			d->s[i] += 'a' - 'A';
	d->s[d->len] = '\0';
	if (!d->literal && !d->overflow && needs_idna(d->s)) {
		char	 a[AM_DOMAIN_MAX + 2];

		if (to_alabels(d->s, a, sizeof(a)) == -1)
			d->overflow = 1;	/* not a usable name */
		else {
			d->len = strlen(a);
			memcpy(d->s, a, d->len + 1);
		}
	}
	if (d->literal || d->overflow || !am_ascii_dns_name(d->s))
		c->bad = 1;
	else if (c->n < c->max)
		memcpy(c->dom[c->n], d->s, d->len + 1);
	c->n++;
}

/* mailbox - RFC 5322 3.4 mailbox = name-addr / addr-spec */
static const char *
mailbox(const char *p, struct pctx *c)
{
	struct dbuf	 d;
	const char	*q;

	memset(&d, 0, sizeof(d));
	if ((q = name_addr(p, &d)) == NULL) {
		memset(&d, 0, sizeof(d));
		if ((q = addr_spec(p, &d)) == NULL)
			return NULL;
	}
	commit(c, &d);
	return q;
}

static const char *list(const char *, struct pctx *, int);

/* group - RFC 5322 3.4 group = display-name ":" [group-list] ";" [CFWS] */
static const char *
group(const char *p, struct pctx *c)
{
	if ((p = phrase(p)) == NULL || *p != ':')
		return NULL;
	c->ngroups++;
	if ((p = list(p + 1, c, 0)) == NULL || *p != ';')
		return NULL;
	return cfws(p + 1);
}

/* at_end - end of the list: ";" in a group, else the end of the value */
static int
at_end(const char *p, int top)
{
	if (!top)
		return *p == ';';
	while (*p == '\r' || *p == '\n' || is_wsp(*p))
		p++;
	return *p == '\0';
}

/*
 * list - RFC 5322 3.4 address-list (top, groups allowed) or mailbox-list
 * (inside a group), with the obsolete empty elements of 4.4:
 * *([CFWS] ",") address *("," [address / CFWS]).  Returns a pointer to
 * the terminator; an empty list is fine here, the caller decides.
 */
static const char *
list(const char *p, struct pctx *c, int top)
{
	const char	*q;

	for (;;) {
		if ((p = cfws(p)) == NULL)
			return NULL;
		if (*p == ',') {
			p++;
			continue;
		}
		if (at_end(p, top))
			return p;
		if ((q = mailbox(p, c)) == NULL && top)
			q = group(p, c);
		if (q == NULL)
			return NULL;
		if (*q == ',')
			p = q + 1;
		else if (at_end(q, top))
			return q;
		else
			return NULL;	/* junk after an address */
	}
}

/* am_rfc5322_from_domains - author domains of one From field value */
int
am_rfc5322_from_domains(const char *value, char domains[][AM_DOMAIN_MAX + 1],
    size_t max)
{
	struct pctx	 c;

	if (value == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.dom = domains;
	c.max = max;
	if (list(value, &c, 1) == NULL || c.bad)
		return -1;
	if (c.n == 0 && c.ngroups == 0)
		return -1;		/* empty value: not a mailbox-list */
	return c.n > INT_MAX ? -1 : (int)c.n;
}

/* is_token_char - RFC 2045 5.1 token character (RFC 8601 2.2 value) */
static int
is_token_char(unsigned char c)
{
	if (c <= ' ' || c >= 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* am_rfc5322_authserv_id - RFC 8601 2.2 authserv-id, unquoted */
int
am_rfc5322_authserv_id(const char *value, char *out, size_t outlen)
{
	const char	*p;
	size_t		 n = 0;

	if (value == NULL || out == NULL || outlen == 0 ||
	    (p = cfws(value)) == NULL)
		return -1;
	if (*p != '"') {
		while (is_token_char((unsigned char)*p)) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p++;
		}
	} else {
		for (p++; *p != '"'; p++) {
			if (*p == '\0' || *p == '\r' || *p == '\n')
				return -1;
			if (*p == '\\' && *++p == '\0')
				return -1;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* am_rfc5322_lost_space - what the MTA dropped after the colon; see .h */
const char *
am_rfc5322_lost_space(const char *value)
{
	/* RFC 5322 2.2: the field body follows the colon; the space is usage */
	if (value != NULL && value[0] == '\t')
		return "";
	return " ";
}
