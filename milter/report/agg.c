/*
 * agg.c - history rows grouped into aggregate report records (agg.h).
 *
 * RFC 9990 sections cited here are those of the last draft
 * (draft-ietf-dmarc-aggregate-reporting-32), the text at hand.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/agg.h"

/* split_field - the next space-separated field of a line, NUL-terminated */
static char *
split_field(char **pp)
{
	char	*p = *pp, *start;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p == ' ')
		*p++ = '\0';
	*pp = p;
	return start;
}

/* am_agg_split_sigs - see agg.h */
size_t
am_agg_split_sigs(char *text, struct am_agg_sig *out, size_t max)
{
	size_t	 n = 0;
	char	*line, *next, *d, *s, *r;

	for (line = text; line != NULL && *line != '\0' && n < max;
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		d = split_field(&line);
		s = d != NULL ? split_field(&line) : NULL;
		r = s != NULL ? split_field(&line) : NULL;
		if (r == NULL || split_field(&line) != NULL)
			continue;
		out[n].domain = d;
		out[n].selector = s;
		out[n].result = r;
		n++;
	}
	return n;
}

/* is_subdomain - d equals parent or ends in ".parent" (case-insensitive) */
static int
is_subdomain(const char *d, const char *parent)
{
	size_t	 dl = strlen(d), pl = strlen(parent);

	if (pl == 0 || dl < pl)
		return 0;
	if (strcasecmp(d + dl - pl, parent) != 0)
		return 0;
	return dl == pl || d[dl - pl - 1] == '.';
}

/*
 * sig_class - RFC 9990 2.1.3's preference: 0 a pass in strict alignment
 * with the From domain, 1 a pass in relaxed alignment (same
 * organizational domain), 2 any other pass, 3 the rest
 */
static int
sig_class(const struct am_agg_msg *m, const struct am_agg_sig *s)
{
	if (strcmp(s->result, "pass") != 0)
		return 3;
	if (strcasecmp(s->domain, m->header_from) == 0)
		return 0;
	if (is_subdomain(s->domain, m->org_domain) &&
	    is_subdomain(m->header_from, m->org_domain))
		return 1;
	return 2;
}

/* sig_cmp - two signatures of one message: class, then by value */
static int
sig_cmp(const struct am_agg_msg *m, const struct am_agg_sig *a,
    const struct am_agg_sig *b)
{
	int	 c;

	if ((c = sig_class(m, a) - sig_class(m, b)) != 0)
		return c;
	if ((c = strcasecmp(a->domain, b->domain)) != 0)
		return c;
	if ((c = strcmp(a->selector, b->selector)) != 0)
		return c;
	return strcmp(a->result, b->result);
}

/* am_agg_order_sigs - see agg.h (insertion sort: a handful per message) */
void
am_agg_order_sigs(struct am_agg_msg *m)
{
	struct am_agg_sig	 t;
	size_t			 i, j;

	for (i = 1; i < m->nsigs; i++) {
		t = m->sigs[i];
		for (j = i; j > 0 && sig_cmp(m, &t, &m->sigs[j - 1]) < 0; j--)
			m->sigs[j] = m->sigs[j - 1];
		m->sigs[j] = t;
	}
	if (m->nsigs > AM_AGG_SIGS_MAX)
		m->nsigs = AM_AGG_SIGS_MAX;
}

/* am_agg_policy - see agg.h */
const char *
am_agg_policy(const char *v, const char *dflt)
{
	if (strcmp(v, "none") == 0)
		return "none";
	if (strcmp(v, "quarantine") == 0)
		return "quarantine";
	if (strcmp(v, "reject") == 0)
		return "reject";
	return dflt;
}

/* applied_policy - the p, sp or np value that applied (defaults: RFC 9989 4.7) */
static const char *
applied_policy(const struct am_agg_msg *m)
{
	const char	*p = am_agg_policy(m->p, "none");
	const char	*sp = am_agg_policy(m->sp, p);

	if (strcmp(m->policy_tag, "np") == 0)
		return am_agg_policy(m->np, sp);
	if (strcmp(m->policy_tag, "sp") == 0)
		return sp;
	return p;
}

/* am_agg_disposition - see agg.h */
const char *
am_agg_disposition(const struct am_agg_msg *m)
{
	const char	*d = m->disposition;

	if (strcmp(d, "quarantine") == 0 || strcmp(d, "reject") == 0 ||
	    strcmp(d, "pass") == 0)
		return d;
	if (strcmp(m->dmarc_result, "pass") == 0 &&
	    strcmp(applied_policy(m), "none") != 0)
		return "pass";
	return "none";
}

/* cmp_str - strings of a key; domains compare case-insensitively */
#define CMP(f)	do { if ((c = strcmp(a->f, b->f)) != 0) return c; } while (0)
#define CMPI(f)	do { if ((c = strcasecmp(a->f, b->f)) != 0) return c; } while (0)

/* msg_cmp - the record key: everything a record element shows */
static int
msg_cmp(const void *va, const void *vb)
{
	const struct am_agg_msg	*a = va, *b = vb;
	size_t			 i;
	int			 c;

	CMP(source_ip);
	CMPI(header_from);
	CMPI(env_from);
	CMPI(env_to);
	if ((c = strcmp(am_agg_disposition(a), am_agg_disposition(b))) != 0)
		return c;
	if ((c = a->dkim_aligned - b->dkim_aligned) != 0)
		return c;
	if ((c = a->spf_aligned - b->spf_aligned) != 0)
		return c;
	CMP(override);
	CMP(override_comment);
	CMPI(spf_domain);
	CMP(spf_scope);
	CMP(spf_result);
	for (i = 0; i < a->nsigs && i < b->nsigs; i++) {
		CMPI(sigs[i].domain);
		CMP(sigs[i].selector);
		CMP(sigs[i].result);
	}
	return (a->nsigs > b->nsigs) - (a->nsigs < b->nsigs);
}

/* rec_cmp - records: most messages first, then by key (a total order) */
static int
rec_cmp(const void *va, const void *vb)
{
	const struct am_agg_record	*a = va, *b = vb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return msg_cmp(a->m, b->m);
}

/* am_agg_group - see agg.h */
size_t
am_agg_group(struct am_agg_msg *msgs, size_t n, struct am_agg_record *out)
{
	size_t	 i, nrec = 0;

	for (i = 0; i < n; i++)
		am_agg_order_sigs(&msgs[i]);
	qsort(msgs, n, sizeof(*msgs), msg_cmp);
	for (i = 0; i < n; i++) {
		if (nrec > 0 && msg_cmp(out[nrec - 1].m, &msgs[i]) == 0) {
			out[nrec - 1].count += msgs[i].count;
			continue;
		}
		out[nrec].m = &msgs[i];
		out[nrec].count = msgs[i].count;
		nrec++;
	}
	qsort(out, nrec, sizeof(*out), rec_cmp);
	return nrec;
}

/* am_agg_latest - see agg.h */
const struct am_agg_msg *
am_agg_latest(const struct am_agg_msg *msgs, size_t n)
{
	const struct am_agg_msg	*best = NULL;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (best == NULL || msgs[i].t >= best->t)
			best = &msgs[i];
	return best;
}
