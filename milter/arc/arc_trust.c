/*
 * arc_trust.c - ARCTrustedSealers and the override decision (arc_trust.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc/arc_trust.h"
#include "common/readfile.h"

#define SEALERS_FILE_MAX	(1024 * 1024)

struct am_arc_sealers {
	char	**d;
	size_t	  n;
};

/* am_arc_sealers_free - see arc_trust.h */
void
am_arc_sealers_free(struct am_arc_sealers *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->d[i]);
	free(l->d);
	free(l);
}

/* is_domain - letters, digits, '-', '_', '.', not starting with a dot */
static int
is_domain(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > AM_DOMAIN_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) == NULL)
			return 0;
	return 1;
}

/* add - one domain, lower-cased, without a final dot */
static int
add(struct am_arc_sealers *l, const char *s, size_t n, char *err,
    size_t errlen)
{
	char	**d, *c;
	size_t	  i;

	if (n > 1 && s[n - 1] == '.')
		n--;
	if (!is_domain(s, n)) {
		snprintf(err, errlen, "\"%.*s\" is not a domain", (int)(n > 64 ?
		    64 : n), s);
		return -1;
	}
	if (l->n == AM_ARC_SEALERS_MAX) {
		snprintf(err, errlen, "more than %d sealers", AM_ARC_SEALERS_MAX);
		return -1;
	}
	if ((d = realloc(l->d, (l->n + 1) * sizeof(*d))) == NULL ||
	    (l->d = d, (c = strndup(s, n)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		c[i] = (char)tolower((unsigned char)c[i]);
	l->d[l->n++] = c;
	return 0;
}

/* add_words - domains separated by commas or whitespace; '#' ends it */
static int
add_words(struct am_arc_sealers *l, const char *s, char *err, size_t errlen)
{
	size_t	 n;

	for (;;) {
		s += strspn(s, ", \t\r");
		if (*s == '\0' || *s == '#')
			return 0;
		n = strcspn(s, ", \t\r#");
		if (add(l, s, n, err, errlen) == -1)
			return -1;
		s += n;
	}
}

/* load_file - one domain a line */
static int
load_file(struct am_arc_sealers *l, const char *path, char *err,
    size_t errlen)
{
	char	*buf, *pos, *line;
	size_t	 len, lineno = 0;
	int	 nul, rc = 0;
	char	 why[256];

	if (am_readfile(path, SEALERS_FILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	pos = buf;
	while (rc == 0 && (line = am_readfile_line(&pos, buf + len, &nul)) !=
	    NULL) {
		lineno++;
		if (nul || add_words(l, line, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno,
			    nul ? "NUL byte" : why);
			rc = -1;
		}
	}
	free(buf);
	return rc;
}

/* am_arc_sealers_load - see arc_trust.h */
struct am_arc_sealers *
am_arc_sealers_load(const char *val, const char *dir, char *err, size_t errlen)
{
	struct am_arc_sealers	*l;
	char			 path[4096];
	int			 rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strncmp(val, "file:", 5) == 0) {
		val += 5;
		if (*val != '/' && dir != NULL)
			snprintf(path, sizeof(path), "%s/%s", dir, val);
		else
			snprintf(path, sizeof(path), "%s", val);
		rc = load_file(l, path, err, errlen);
	} else
		rc = add_words(l, val, err, errlen);
	if (rc == -1) {
		am_arc_sealers_free(l);
		return NULL;
	}
	return l;
}

/* am_arc_sealers_has - see arc_trust.h */
int
am_arc_sealers_has(const struct am_arc_sealers *l, const char *domain)
{
	size_t	 i;

	if (l == NULL || *domain == '\0')
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->d[i], domain) == 0)
			return 1;
	return 0;
}

/* within - d is org or a subdomain of it */
static int
within(const char *d, const char *org)
{
	size_t	 n = strlen(d), o = strlen(org);

	if (o == 0 || n < o)
		return 0;
	if (strcasecmp(d + n - o, org) != 0)
		return 0;
	return n == o || d[n - o - 1] == '.';
}

/* am_arc_aligned - see arc_trust.h */
int
am_arc_aligned(const char *word, const struct am_dmarc_res *dm)
{
	const char	*from = dm->from_domain, *d;
	int		 strict;

	if (strncmp(word, "dmarc:", 6) == 0)
		return strcasecmp(word + 6, from) == 0;
	if (strncmp(word, "dkim:", 5) == 0) {
		d = word + 5;
		strict = dm->adkim_strict;
	} else if (strncmp(word, "spf:", 4) == 0) {
		d = word + 4;
		strict = dm->aspf_strict;
	} else
		return 0;
	if (*from == '\0')
		return 0;
	if (strcasecmp(d, from) == 0)
		return 1;
	/* RFC 9989 4.4 relaxed: the same Organizational Domain */
	return !strict && within(d, dm->org_domain) &&
	    within(from, dm->org_domain);
}

/* aar_aligned - one of the hop's AAR passes aligns */
static int
aar_aligned(const char *pass, const struct am_dmarc_res *dm)
{
	char	 buf[AM_ARC_AAR_PASS_MAX], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", pass);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		if (am_arc_aligned(tok, dm))
			return 1;
	return 0;
}

/* am_arc_trust - see arc_trust.h */
int
am_arc_trust(const struct am_arc_sealers *l, const struct am_arc_res *arc,
    const struct am_dmarc_res *dm, char *by, size_t bylen)
{
	size_t	 i;

	if (l == NULL || dm->result != AM_DMARC_FAIL ||
	    arc->result != AM_ARC_PASS)
		return 0;
	for (i = 0; i < arc->nhops && i < AM_ARC_KEEP; i++) {
		const struct am_arc_hop	*h = &arc->hop[i];

		if (!am_arc_sealers_has(l, h->sealer))
			return 0;	/* an untrusted sealer in between */
		if (aar_aligned(h->aar_pass, dm)) {
			snprintf(by, bylen, "sealer %s i=%u", h->sealer,
			    h->instance);
			return 1;
		}
	}
	return 0;
}
