/*
 * record.c - one DMARC policy record: the tag parser (RFC 9989 4.7, 4.8;
 * RFC 7489 6.3) and the policy (p, sp or np) it imposes on an author
 * domain.  Pure: no DNS, no configuration, no state (see record.h).
 *
 * One tiny function per ABNF rule.  Where RFC 9989 and RFC 7489 differ
 * (a missing p, np, psd, t, pct), the record keeps both readings and the
 * caller says which mode it evaluates in.
 */
#include <string.h>
#include <strings.h>

#include "dmarc/record.h"

/* skip_wsp - *WSP */
static const char *
skip_wsp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* eq_ci - value v[0..len) is word, case-insensitively (ABNF literals) */
static int
eq_ci(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

/* version - dmarc-version = "v" equals %s"DMARC1", then a sep or the end */
static const char *
version(const char *p)
{
	p = skip_wsp(p);
	if (*p != 'v' && *p != 'V')
		return NULL;
	p = skip_wsp(p + 1);
	if (*p != '=')
		return NULL;
	p = skip_wsp(p + 1);
	if (strncmp(p, "DMARC1", 6) != 0)	/* case-sensitive */
		return NULL;
	p = skip_wsp(p + 6);
	return *p == ';' || *p == '\0' ? p : NULL;
}

/* policy_value - dmarc-request; sets *tag VALID or INVALID */
static enum am_dmarc_policy
policy_value(const char *v, size_t len, enum am_dmarc_tag *tag)
{
	*tag = AM_DMARC_TAG_VALID;
	if (eq_ci(v, len, "none"))
		return AM_DMARC_P_NONE;
	if (eq_ci(v, len, "quarantine"))
		return AM_DMARC_P_QUARANTINE;
	if (eq_ci(v, len, "reject"))
		return AM_DMARC_P_REJECT;
	*tag = AM_DMARC_TAG_INVALID;
	return AM_DMARC_P_UNSPEC;
}

/* uri_ok - one dmarc-uri looks like scheme ":" something (RFC 3986 3.1) */
static int
uri_ok(const char *v, size_t len)
{
	size_t	 i = 0;

	if (len == 0 || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return 0;
	while (i < len && v[i] != ':' && (strchr("+-.", v[i]) != NULL ||
	    (v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
	    (v[i] >= 'A' && v[i] <= 'Z')))
		i++;
	return i < len && v[i] == ':' && i + 1 < len;
}

/* urilist_ok - dmarc-urilist with at least one valid-looking URI */
static int
urilist_ok(const char *v, size_t len)
{
	size_t	 i = 0, start;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (uri_ok(v + start, i - start))
			return 1;
	}
	return 0;
}

/* pct_value - RFC 7489 6.3 pct: 0..100, else the default 100 */
static int
pct_value(const char *v, size_t len)
{
	int	 n = 0;
	size_t	 i;

	if (len == 0 || len > 3)
		return 100;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 100;
		n = n * 10 + (v[i] - '0');
	}
	return n <= 100 ? n : 100;
}

/* flag_value - one-letter value out of allowed, lower-cased; 0 if not */
static char
flag_value(const char *v, size_t len, const char *allowed)
{
	char	 c;

	if (len != 1)
		return 0;
	c = (v[0] >= 'A' && v[0] <= 'Z') ? v[0] + ('a' - 'A') : v[0];
	return strchr(allowed, c) != NULL ? c : 0;
}

/*
 * raw_copy - a tag's value as published, for the history.  A URI list
 * that does not fit keeps its whole URIs up to the last comma that fits;
 * any other value that does not fit is left out.
 */
static void
raw_copy(char *out, size_t outlen, const char *v, size_t len, int urilist)
{
	size_t	 n = len;

	out[0] = '\0';
	if (len >= outlen) {
		if (!urilist)
			return;
		for (n = outlen - 1; n > 0 && v[n] != ','; n--)
			;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

/* apply_tag - one dmarc-tag; unknown tags and bad values are ignored */
static void
apply_tag(struct am_dmarc_record *r, const char *name, size_t nlen,
    const char *v, size_t len)
{
	char	 c;

	if (eq_ci(name, nlen, "p"))
		r->p = policy_value(v, len, &r->p_tag);
	else if (eq_ci(name, nlen, "sp"))
		r->sp = policy_value(v, len, &r->sp_tag);
	else if (eq_ci(name, nlen, "np"))
		r->np = policy_value(v, len, &r->np_tag);
	else if (eq_ci(name, nlen, "psd"))
		r->psd = (c = flag_value(v, len, "ynu")) ? c : 'u';
	else if (eq_ci(name, nlen, "t"))
		r->testing = flag_value(v, len, "yn") == 'y';
	else if (eq_ci(name, nlen, "adkim"))
		r->adkim_strict = flag_value(v, len, "rs") == 's';
	else if (eq_ci(name, nlen, "aspf"))
		r->aspf_strict = flag_value(v, len, "rs") == 's';
	else if (eq_ci(name, nlen, "pct"))
		r->pct = pct_value(v, len);
	else if (eq_ci(name, nlen, "rua")) {
		r->rua_ok = urilist_ok(v, len);
		raw_copy(r->rua, sizeof(r->rua), v, len, 1);
	} else if (eq_ci(name, nlen, "ruf"))
		raw_copy(r->ruf, sizeof(r->ruf), v, len, 1);
	else if (eq_ci(name, nlen, "fo"))
		raw_copy(r->fo, sizeof(r->fo), v, len, 0);
	/* rf, ri and unknown tags: nothing to decide here */
}

/* seen_bit - a bit per known tag, so that the first of two counts */
static unsigned int
seen_bit(const char *name, size_t nlen)
{
	static const char *const tags[] = { "p", "sp", "np", "psd", "t",
	    "adkim", "aspf", "pct", "rua", "ruf", "fo" };
	size_t	 i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (eq_ci(name, nlen, tags[i]))
			return 1u << i;
	return 0;
}

/* tag - dmarc-tag = 1*ALPHA equals 1*dmarc-value; returns the end (";" or NUL) */
static const char *
tag(const char *p, struct am_dmarc_record *r, unsigned int *seen)
{
	const char	*name = p, *v, *end;
	size_t		 nlen, len;
	unsigned int	 bit;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	nlen = (size_t)(p - name);
	end = p + strcspn(p, ";");
	p = skip_wsp(p);
	if (nlen == 0 || *p != '=')
		return end;			/* syntax error: discarded */
	v = skip_wsp(p + 1);
	for (len = (size_t)(end - v); len > 0 &&
	    (v[len - 1] == ' ' || v[len - 1] == '\t'); len--)
		;
	bit = seen_bit(name, nlen);
	if (bit == 0 || (*seen & bit) == 0)
		apply_tag(r, name, nlen, v, len);
	*seen |= bit;
	return end;
}

/* am_dmarc_record_parse - one TXT string as a DMARC record, or -1 */
int
am_dmarc_record_parse(const char *txt, struct am_dmarc_record *r)
{
	const char	*p;
	unsigned int	 seen = 0;

	memset(r, 0, sizeof(*r));
	r->psd = 'u';
	r->pct = 100;
	if (txt == NULL || (p = version(txt)) == NULL)
		return -1;
	while (*p == ';') {
		p = skip_wsp(p + 1);
		if (*p != '\0' && *p != ';')
			p = tag(p, r, &seen);
	}
	return 0;
}

/* am_dmarc_policy_pick - RFC 9989 4.10.1 / RFC 7489 6.6.3 p, sp, np */
int
am_dmarc_policy_pick(const struct am_dmarc_record *r, int at_author,
    int nonexistent, int rfc7489, enum am_dmarc_policy *policy,
    const char **tagp)
{
	enum am_dmarc_policy	 p;
	int			 bad;

	/*
	 * A bad p (RFC 7489: or none at all), sp or np (RFC 9989): with a
	 * valid rua act as if p=none, else no DMARC processing.
	 */
	if (rfc7489)
		bad = r->p_tag != AM_DMARC_TAG_VALID ||
		    r->sp_tag == AM_DMARC_TAG_INVALID;
	else
		bad = r->p_tag == AM_DMARC_TAG_INVALID ||
		    r->sp_tag == AM_DMARC_TAG_INVALID ||
		    r->np_tag == AM_DMARC_TAG_INVALID;
	*tagp = "p";
	*policy = AM_DMARC_P_NONE;
	if (bad)
		return r->rua_ok ? 0 : -1;
	/* RFC 9989 4.7: no p in an otherwise valid record is p=none */
	p = r->p_tag == AM_DMARC_TAG_VALID ? r->p : AM_DMARC_P_NONE;
	*policy = p;
	if (at_author)
		return 0;
	if (!rfc7489 && nonexistent && r->np_tag == AM_DMARC_TAG_VALID) {
		*policy = r->np;
		*tagp = "np";
	} else if (r->sp_tag == AM_DMARC_TAG_VALID) {
		*policy = r->sp;
		*tagp = "sp";
	}
	return 0;
}
