/*
 * uri.c - rua=/ruf= tag values (RFC 9989 4.7 dmarc-urilist) into a
 * bounded list of mail addresses (RFC 6068 mailto:).  Pure (see uri.h).
 *
 * One small function per step: split at commas, the scheme (RFC 3986
 * 3.1), the obsolete "!size" (RFC 9989 obs-dmarc-report-size), the
 * hfields cut (RFC 6068 2), %-decoding (RFC 3986 2.1), then the address
 * itself (RFC 5321 4.1.2 Dot-string "@" Domain).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/ascii.h"
#include "report/uri.h"

#define LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define LABEL_MAX	63	/* RFC 1035 2.3.4 */
#define DOMAIN_MAX	253
#define SIZE_DIGITS	15	/* "!size": more digits is no size */

/* is_wsp - WSP (RFC 5234) */
static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* hexval - one hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * scheme - RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
 * Returns the length of the scheme (the ':' follows it), or 0.
 */
static size_t
scheme(const char *v, size_t len)
{
	size_t	 i;

	if (len == 0 || !isalpha((unsigned char)v[0]))
		return 0;
	for (i = 1; i < len && v[i] != ':'; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '+' &&
		    v[i] != '-' && v[i] != '.')
			return 0;
	return i < len ? i : 0;
}

/*
 * size_suffix - obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" /
 * "t" ] at s[0..len) (s[0] is the '!').  Sets *size in bytes; -1 if
 * malformed.
 */
static int
size_suffix(const char *s, size_t len, unsigned long long *size)
{
	unsigned long long	 v = 0;
	size_t			 i;
	int			 shift = 0;

	for (i = 1; i < len && isdigit((unsigned char)s[i]); i++) {
		if (i > SIZE_DIGITS)
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (i == 1)
		return -1;
	if (i < len) {
		switch (tolower((unsigned char)s[i])) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		default: return -1;
		}
		if (++i != len)
			return -1;
	}
	/* 15 digits times 2^40 would wrap: saturate instead */
	*size = v > (~0ULL >> shift) ? ~0ULL : v << shift;
	return 0;
}

/*
 * pct_decode - RFC 3986 2.1 on v[0..len) into out (AM_REPORT_ADDR_MAX + 1
 * bytes).  Raw bytes must be printable ASCII other than space; a decoded
 * byte must be printable ASCII too (the address check narrows it further).
 * Returns the decoded length or -1.
 */
static int
pct_decode(const char *v, size_t len, char *out)
{
	size_t	 i, o = 0;
	int	 c, h, l;

	for (i = 0; i < len; i++) {
		c = (unsigned char)v[i];
		if (c <= 0x20 || c >= 0x7f)
			return -1;
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			h = hexval((unsigned char)v[i + 1]);
			l = hexval((unsigned char)v[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
			if (c <= 0x20 || c >= 0x7f)
				return -1;
		}
		if (o >= AM_REPORT_ADDR_MAX)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* local_ok - RFC 5321 Dot-string, and no '-' first (a sendmail argument) */
static int
local_ok(const char *s, size_t len)
{
	return len <= LOCAL_MAX && len > 0 && s[0] != '-' &&
	    am_ascii_dot_atom(s, len);
}

/* domain_ok - letter-digit-hyphen labels (RFC 5321 4.1.2 Domain, A-labels) */
static int
domain_ok(const char *s, size_t len)
{
	size_t	 i, lab = 0;

	if (len == 0 || len > DOMAIN_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (lab == 0 || lab > LABEL_MAX || s[i - 1] == '-' ||
			    s[i - lab] == '-')
				return 0;
			lab = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-')
			lab++;
		else
			return 0;
	}
	return 1;
}

/* addr_check - the decoded "local@domain": validate, lower-case the domain */
static int
addr_check(struct am_report_addr *a, size_t len)
{
	char	*at = strchr(a->addr, '@');
	size_t	 i;

	if (at == NULL || strchr(at + 1, '@') != NULL)
		return -1;
	a->at = (size_t)(at - a->addr);
	if (!local_ok(a->addr, a->at) || !domain_ok(at + 1, len - a->at - 1))
		return -1;
	for (i = a->at + 1; i < len; i++)
		a->addr[i] = (char)tolower((unsigned char)a->addr[i]);
	return 0;
}

/* am_report_uri_one - one dmarc-uri (see uri.h) */
int
am_report_uri_one(const char *v, size_t len, struct am_report_addr *a)
{
	size_t	 sl = scheme(v, len), i, end;
	int	 n;

	memset(a, 0, sizeof(*a));
	if (sl == 0)
		return -1;
	if (sl != 6 || strncasecmp(v, "mailto", 6) != 0)
		return 0;
	v += sl + 1;
	len -= sl + 1;
	/* '!' and ',' MUST be encoded in the URI: a raw '!' starts the size */
	for (end = 0; end < len && v[end] != '!'; end++)
		;
	if (end < len && size_suffix(v + end, len - end, &a->size) < 0)
		return -1;
	for (i = 0; i < end && v[i] != '?'; i++)
		;
	if ((n = pct_decode(v, i, a->addr)) < 0 || addr_check(a, (size_t)n) < 0) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 1;
}

/* am_report_addr_domain - see uri.h */
const char *
am_report_addr_domain(const struct am_report_addr *a)
{
	return a->addr + a->at + 1;
}

/* seen - is a (domain already lower-case) in out->a[0..n)? */
static int
seen(const struct am_report_uris *out, const struct am_report_addr *a)
{
	size_t	 i;

	for (i = 0; i < out->n; i++)
		if (strcmp(out->a[i].addr, a->addr) == 0)
			return 1;
	return 0;
}

/* add - one URI's outcome into the list */
static void
add(struct am_report_uris *out, const char *v, size_t len)
{
	struct am_report_addr	 a;

	while (len > 0 && is_wsp((unsigned char)v[0]))
		v++, len--;
	while (len > 0 && is_wsp((unsigned char)v[len - 1]))
		len--;
	switch (am_report_uri_one(v, len, &a)) {
	case 0:
		out->other++;
		return;
	case -1:
		out->bad++;
		return;
	}
	if (seen(out, &a))
		out->dup++;
	else if (out->n >= AM_REPORT_URI_MAX)
		out->over++;
	else
		out->a[out->n++] = a;
}

/* am_report_uri_parse - see uri.h */
size_t
am_report_uri_parse(const char *value, struct am_report_uris *out)
{
	size_t	 len, start = 0, i;

	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return 0;
	len = strnlen(value, AM_REPORT_URILIST_MAX + 1);
	if (len > AM_REPORT_URILIST_MAX) {
		len = AM_REPORT_URILIST_MAX;
		out->cut = 1;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && value[i] != ',')
			continue;
		if (len > 0)
			add(out, value + start, i - start);
		start = i + 1;
	}
	return out->n;
}
