/*
 * signtable.c - KeyTable and SigningTable lines, pattern matching, the
 * sign decision (signtable.h).  Pure: no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/signtable.h"

/* lower - lower-case s in place */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * two_words - split "first rest" at white space; both non-empty and no
 * third word.  Copies into a and b (NUL-terminated).  0 or -1.
 */
static int
two_words(const char *line, char *a, size_t alen, char *b, size_t blen)
{
	size_t	 n;

	n = strcspn(line, " \t");
	if (n == 0 || n >= alen)
		return -1;
	memcpy(a, line, n);
	a[n] = '\0';
	line += n;
	line += strspn(line, " \t");
	n = strcspn(line, " \t");
	if (n == 0 || n >= blen || line[n + strspn(line + n, " \t")] != '\0')
		return -1;
	memcpy(b, line, n);
	b[n] = '\0';
	return 0;
}

/* dns_label_ok - letters, digits, '-', '_' and dots; not empty */
static int
dns_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

/* am_signtable_keyline - "name domain:selector:keyfile" */
int
am_signtable_keyline(const char *line, struct am_sign_keyent *e,
    char *err, size_t errlen)
{
	char	 name[AM_SIGN_NAME_MAX + 1], val[4096 + 2 * AM_SIGN_NAME_MAX];
	char	*sel, *file;

	if (two_words(line, name, sizeof(name), val, sizeof(val)) == -1) {
		snprintf(err, errlen, "expected \"keyname domain:selector:keyfile\"");
		return -1;
	}
	if ((sel = strchr(val, ':')) == NULL ||
	    (file = strchr(sel + 1, ':')) == NULL) {
		snprintf(err, errlen, "%s: expected domain:selector:keyfile",
		    name);
		return -1;
	}
	*sel++ = '\0';
	*file++ = '\0';
	lower(val);
	if (!dns_name_ok(val) || !dns_name_ok(sel) || *file == '\0' ||
	    strlen(val) > AM_SIGN_NAME_MAX || strlen(sel) > 63) {
		snprintf(err, errlen, "%s: bad domain, selector or key file",
		    name);
		return -1;
	}
	e->name = strdup(name);
	e->domain = strdup(val);
	e->selector = strdup(sel);
	e->keyfile = strdup(file);
	if (e->name == NULL || e->domain == NULL || e->selector == NULL ||
	    e->keyfile == NULL) {
		am_signtable_keyent_clear(e);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* am_signtable_keyent_clear - free one KeyTable entry's strings */
void
am_signtable_keyent_clear(struct am_sign_keyent *e)
{
	free(e->name);
	free(e->domain);
	free(e->selector);
	free(e->keyfile);
	e->name = e->domain = e->selector = e->keyfile = NULL;
}

/* am_signtable_ruleline - "pattern keyname" */
int
am_signtable_ruleline(const char *line, struct am_sign_rule *r,
    char *err, size_t errlen)
{
	char	 pat[AM_SIGN_ADDR_MAX + 1], name[AM_SIGN_NAME_MAX + 1];

	if (two_words(line, pat, sizeof(pat), name, sizeof(name)) == -1) {
		snprintf(err, errlen, "expected \"pattern keyname\"");
		return -1;
	}
	lower(pat);
	if ((r->pattern = strdup(pat)) == NULL ||
	    (r->keyname = strdup(name)) == NULL) {
		am_signtable_rule_clear(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* am_signtable_rule_clear - free one SigningTable entry's strings */
void
am_signtable_rule_clear(struct am_sign_rule *r)
{
	free(r->pattern);
	free(r->keyname);
	r->pattern = r->keyname = NULL;
}

/* glob - '*' matches any run of characters, everything else itself */
static int
glob(const char *p, const char *s)
{
	const char	*star = NULL, *mark = s;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			mark = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++mark;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* ends_with_label - domain is a proper subdomain of parent (".parent") */
static int
subdomain_of(const char *domain, const char *dotparent)
{
	size_t	 dl = strlen(domain), pl = strlen(dotparent);

	return dl > pl && strcmp(domain + dl - pl, dotparent) == 0;
}

/* am_signtable_match - one pattern against a From address and domain */
int
am_signtable_match(const char *pattern, const char *addr, const char *domain)
{
	if (strchr(pattern, '*') != NULL)
		return glob(pattern, addr);
	if (pattern[0] == '.')
		return subdomain_of(domain, pattern);
	if (strchr(pattern, '@') != NULL)
		return addr[0] != '@' && strcmp(pattern, addr) == 0;
	return strcmp(pattern, domain) == 0;
}

/* am_signtable_select - the first matching rule and its same-pattern kin */
size_t
am_signtable_select(const struct am_sign_rule *rules, size_t nrules,
    const char *addr, const char *domain, size_t *out, size_t max)
{
	size_t	 i, n = 0;
	const char *first = NULL;

	for (i = 0; i < nrules && n < max; i++) {
		if (first == NULL) {
			if (!am_signtable_match(rules[i].pattern, addr, domain))
				continue;
			first = rules[i].pattern;
		} else if (strcmp(rules[i].pattern, first) != 0)
			continue;
		out[n++] = i;
	}
	return n;
}

/*
 * local_part - the local part before "@domain" at the end of s[0..len),
 * if it is a plain dot-atom (RFC 5322 3.4.1); else NULL
 */
static const char *
plain_local(const char *s, size_t len, const char *domain, size_t *llen)
{
	size_t	 dl = strlen(domain), i;

	if (len < dl + 2 || s[len - dl - 1] != '@' ||
	    strncasecmp(s + len - dl, domain, dl) != 0)
		return NULL;
	*llen = len - dl - 1;
	for (i = 0; i < *llen; i++)
		if (s[i] <= ' ' || s[i] >= 127 || strchr("\"()<>[]:;@\\,", s[i]))
			return NULL;
	return s;
}

/* am_signtable_from_addr - "local@domain" or "@domain" */
int
am_signtable_from_addr(const char *value, const char *domain, char *out,
    size_t outlen)
{
	const char	*s = value, *lt, *gt, *local;
	size_t		 len, llen = 0;
	int		 n;

	/* name-addr: the angle-addr; addr-spec: the trimmed value */
	if ((lt = strrchr(value, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL) {
		s = lt + 1;
		len = (size_t)(gt - s);
	} else {
		s += strspn(s, " \t\r\n");
		len = strlen(s);
		while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
			len--;
	}
	local = plain_local(s, len, domain, &llen);
	if (local != NULL)
		n = snprintf(out, outlen, "%.*s@%s", (int)llen, local, domain);
	else
		n = snprintf(out, outlen, "@%s", domain);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	lower(out);
	return 0;
}

/* am_sign_decide - outside clients are never signed */
enum am_sign_mode
am_sign_decide(int configured, int authenticated, int ignore_host,
    int internal_host)
{
	if (!configured)
		return AM_SIGN_OFF;
	if (authenticated)
		return AM_SIGN_AUTH;
	if (internal_host)
		return AM_SIGN_INTERNAL;
	if (ignore_host)
		return AM_SIGN_IGNORE;
	return AM_SIGN_OUTSIDE;
}

/* am_sign_mode_signs - is a message in this mode signed? */
int
am_sign_mode_signs(enum am_sign_mode m)
{
	return m == AM_SIGN_AUTH || m == AM_SIGN_IGNORE ||
	    m == AM_SIGN_INTERNAL;
}

/* am_sign_mode_str - for the log */
const char *
am_sign_mode_str(enum am_sign_mode m)
{
	switch (m) {
	case AM_SIGN_AUTH:
		return "auth";
	case AM_SIGN_IGNORE:
		return "ignorehosts";
	case AM_SIGN_INTERNAL:
		return "internalhosts";
	case AM_SIGN_OUTSIDE:
		return "outside";
	case AM_SIGN_OFF:
	default:
		return "off";
	}
}
