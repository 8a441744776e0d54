/*
 * arc_parse.c - ARC header field values (RFC 8617 4.1): DKIM tag lists
 * (RFC 6376 3.2) and the ARC-Authentication-Results payload (RFC 8601
 * 2.2).  One small function per grammar rule, each returning a pointer
 * past what it read.  Pure.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arc/arc_parse.h"
#include "common/fmt.h"

/* is_fws - WSP, or a line break of a fold (FWS, RFC 5322 3.2.2) */
static int
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* skip_fws - past [FWS] */
static const char *
skip_fws(const char *p)
{
	while (is_fws(*p))
		p++;
	return p;
}

/* tag_name - RFC 6376 3.2 tag-name = ALPHA *ALNUMPUNC; NULL if none */
static const char *
tag_name(const char *p)
{
	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return p;
}

/* is_valchar - VALCHAR = %x21-3A / %x3C-7E */
static int
is_valchar(char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/*
 * tag_value - tag-value = [ tval *( 1*(WSP / FWS) tval ) ]; sets *end past
 * the last tval (trailing FWS not included); returns where it stopped
 */
static const char *
tag_value(const char *p, const char **end)
{
	const char	*q;

	*end = p;
	for (;;) {
		while (is_valchar(*p))
			p++;
		*end = p;
		q = skip_fws(p);
		if (q == p || !is_valchar(*q))
			return q;
		p = q;
	}
}

/* seen - a tag of this name already in out */
static int
seen(const struct am_arc_tags *out, const char *name, size_t nlen)
{
	size_t	 i;

	for (i = 0; i < out->n; i++)
		if (out->t[i].nlen == nlen &&
		    memcmp(out->t[i].name, name, nlen) == 0)
			return 1;
	return 0;
}

/* tag_spec - one [FWS] name [FWS] "=" [FWS] value [FWS]; NULL if bad */
static const char *
tag_spec(const char *p, struct am_arc_tags *out)
{
	struct am_arc_tag	*t;
	const char		*name, *e, *v, *ve;

	name = skip_fws(p);
	if ((e = tag_name(name)) == NULL)
		return NULL;
	p = skip_fws(e);
	if (*p != '=')
		return NULL;
	v = skip_fws(p + 1);
	p = tag_value(v, &ve);
	if (out->n == AM_ARC_TAGS_MAX || seen(out, name, (size_t)(e - name)))
		return NULL;
	t = &out->t[out->n++];
	t->name = name;
	t->nlen = (size_t)(e - name);
	t->val = v;
	t->vlen = (size_t)(ve - v);
	return p;
}

/* am_arc_tags_parse - see arc_parse.h */
int
am_arc_tags_parse(const char *s, struct am_arc_tags *out)
{
	const char	*p = s;

	out->n = 0;
	for (;;) {
		if ((p = tag_spec(p, out)) == NULL)
			return -1;
		if (*p == '\0')
			return 0;
		if (*p != ';')
			return -1;
		p = skip_fws(p + 1);
		if (*p == '\0')		/* a trailing ';' is allowed */
			return 0;
	}
}

/* am_arc_tag - see arc_parse.h */
const struct am_arc_tag *
am_arc_tag(const struct am_arc_tags *tl, const char *name)
{
	size_t	 i, n = strlen(name);

	for (i = 0; i < tl->n; i++)
		if (tl->t[i].nlen == n && memcmp(tl->t[i].name, name, n) == 0)
			return &tl->t[i];
	return NULL;
}

/* am_arc_tag_copy - see arc_parse.h */
int
am_arc_tag_copy(const struct am_arc_tag *t, int strip, char *out, size_t len)
{
	size_t	 i, o = 0;

	for (i = 0; i < t->vlen; i++) {
		if (strip && is_fws(t->val[i]))
			continue;
		if (o + 1 >= len)
			return -1;
		out[o++] = t->val[i];
	}
	out[o] = '\0';
	return 0;
}

/* digits - an instance number of at most two digits, 1..50; 0 if not */
static unsigned int
digits(const char *p, size_t n)
{
	unsigned int	 v = 0;
	size_t		 i;

	if (n == 0 || n > 2 || p[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	return v <= AM_ARC_SETS_MAX ? v : 0;
}

/* am_arc_instance - see arc_parse.h */
unsigned int
am_arc_instance(const struct am_arc_tag *t)
{
	return t == NULL ? 0 : digits(t->val, t->vlen);
}

/* skip_cfws - past FWS and (nested) comments; NULL on an unclosed one */
static const char *
skip_cfws(const char *p)
{
	int	 depth;

	for (;;) {
		p = skip_fws(p);
		if (*p != '(')
			return p;
		for (depth = 0; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (*p == '\0')
			return NULL;
		p++;
	}
}

/* am_arc_aar_instance - see arc_parse.h */
unsigned int
am_arc_aar_instance(const char *value, const char **payload)
{
	const char	*p, *d;
	unsigned int	 i;

	*payload = value;
	if ((p = skip_cfws(value)) == NULL || p[0] != 'i')
		return 0;
	if ((p = skip_cfws(p + 1)) == NULL || *p != '=')
		return 0;
	if ((p = skip_cfws(p + 1)) == NULL)
		return 0;
	for (d = p; isdigit((unsigned char)*d); d++)
		continue;
	i = digits(p, (size_t)(d - p));
	if ((p = skip_cfws(d)) == NULL || *p != ';')
		return 0;
	*payload = p + 1;
	return i;
}

/*
 * word - a token or quoted-string value (RFC 2045 token, RFC 5322
 * quoted-string), copied unquoted into out; NULL if none
 */
static const char *
word(const char *p, char *out, size_t len)
{
	size_t	 o = 0;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (o + 1 < len)
				out[o++] = *p;
		}
		if (*p != '"')
			return NULL;
		out[o] = '\0';
		return p + 1;
	}
	for (; *p > ' ' && *p < 127 && strchr("()<>,;:\\\"[]?=", *p) == NULL;
	    p++)
		if (o + 1 < len)
			out[o++] = *p;
	out[o] = '\0';
	return o > 0 ? p : NULL;
}

/* one resinfo as far as the trust decision cares */
struct resinfo {
	char	 method[32], result[32];
	char	 from[AM_DOMAIN_MAX + 1], d[AM_DOMAIN_MAX + 1];
	char	 mailfrom[AM_DOMAIN_MAX + 1], ip[46];
};

/* domain_part - the domain of "local@domain" or "@domain", else s */
static const char *
domain_part(const char *s)
{
	const char	*at = strrchr(s, '@');

	return at ? at + 1 : s;
}

/* keep_prop - one ptype.property=value of a resinfo */
static void
keep_prop(struct resinfo *ri, const char *prop, const char *val)
{
	if (strcasecmp(prop, "header.from") == 0)
		am_fmt(ri->from, sizeof(ri->from), "%s", domain_part(val));
	else if (strcasecmp(prop, "header.d") == 0)
		am_fmt(ri->d, sizeof(ri->d), "%s", val);
	else if (strcasecmp(prop, "header.i") == 0 && ri->d[0] == '\0')
		am_fmt(ri->d, sizeof(ri->d), "%s", domain_part(val));
	else if (strcasecmp(prop, "smtp.mailfrom") == 0 ||
	    strcasecmp(prop, "smtp.mfrom") == 0)
		am_fmt(ri->mailfrom, sizeof(ri->mailfrom), "%s",
		    domain_part(val));
	else if (strcasecmp(prop, "smtp.remote-ip") == 0 ||
	    (strcasecmp(prop, "policy.iprev") == 0 && ri->ip[0] == '\0'))
		am_fmt(ri->ip, sizeof(ri->ip), "%.45s", val);
}

/*
 * resinfo - RFC 8601 2.2: method[/version]=result [reasonspec] *propspec;
 * returns the position after it (at ';' or the end), NULL if malformed
 */
static const char *
resinfo(const char *p, struct resinfo *ri)
{
	char	 prop[64], val[AM_DOMAIN_MAX + 1];

	memset(ri, 0, sizeof(*ri));
	if ((p = word(p, ri->method, sizeof(ri->method))) == NULL)
		return NULL;
	if (*p == '/' &&			/* method version */
	    ((p = skip_cfws(p + 1)) == NULL ||
	    (p = word(p, val, sizeof(val))) == NULL))
		return NULL;
	if ((p = skip_cfws(p)) == NULL || *p != '=')
		return NULL;
	if ((p = skip_cfws(p + 1)) == NULL ||
	    (p = word(p, ri->result, sizeof(ri->result))) == NULL)
		return NULL;
	while ((p = skip_cfws(p)) != NULL && *p != ';' && *p != '\0') {
		if ((p = word(p, prop, sizeof(prop))) == NULL)
			return NULL;
		if ((p = skip_cfws(p)) == NULL || *p != '=')
			return NULL;
		if ((p = skip_cfws(p + 1)) == NULL ||
		    (p = word(p, val, sizeof(val))) == NULL)
			return NULL;
		keep_prop(ri, prop, val);
	}
	return p;
}

/* add_pass - one "method:domain" word, when it fits */
static void
add_pass(struct am_arc_aar_info *out, const char *method, const char *dom)
{
	size_t	 n = strlen(out->pass);

	if (*dom == '\0' || n + strlen(method) + strlen(dom) + 3 >
	    sizeof(out->pass))
		return;
	am_fmt(out->pass + n, sizeof(out->pass) - n, "%s%s:%s",
	    n > 0 ? " " : "", method, dom);
}

/* is_ip - an IPv4 or IPv6 address (what the A-R may repeat of it) */
static int
is_ip(const char *s)
{
	unsigned char	 a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* note - what one resinfo contributes */
static void
note(const struct resinfo *ri, struct am_arc_aar_info *out)
{
	if (ri->ip[0] != '\0' && out->remote_ip[0] == '\0' && is_ip(ri->ip))
		memcpy(out->remote_ip, ri->ip, sizeof(out->remote_ip));
	if (strcasecmp(ri->result, "pass") != 0)
		return;
	if (strcasecmp(ri->method, "dmarc") == 0)
		add_pass(out, "dmarc", ri->from);
	else if (strcasecmp(ri->method, "dkim") == 0)
		add_pass(out, "dkim", ri->d);
	else if (strcasecmp(ri->method, "spf") == 0)
		add_pass(out, "spf", ri->mailfrom);
}

/* am_arc_aar_payload - see arc_parse.h */
int
am_arc_aar_payload(const char *payload, struct am_arc_aar_info *out)
{
	struct resinfo	 ri;
	char		 id[AM_DOMAIN_MAX + 1];
	const char	*p;

	memset(out, 0, sizeof(*out));
	if ((p = skip_cfws(payload)) == NULL ||
	    (p = word(p, id, sizeof(id))) == NULL)
		return -1;
	/* [ CFWS authres-version ] */
	if ((p = skip_cfws(p)) != NULL && isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	while (p != NULL && (p = skip_cfws(p)) != NULL && *p == ';') {
		if ((p = skip_cfws(p + 1)) == NULL || *p == '\0')
			break;
		if (strncasecmp(p, "none", 4) == 0 &&
		    (p[4] == '\0' || is_fws(p[4]) || p[4] == ';'))
			break;
		if ((p = resinfo(p, &ri)) == NULL)
			break;
		note(&ri, out);
	}
	return 0;
}
