/*
 * dmarc.c - DMARC evaluation of the author domain(s) of one message.
 *
 * RFC 9989 mode (no PSL): policy discovery and Organizational Domains by
 * the DNS Tree Walk of section 4.10 (at most AM_DMARC_WALK_MAX queries per
 * domain), psd/np/t honoured.  RFC 7489 mode (a PSL): the org domain is
 * the PSL's, discovery asks the author domain then the org domain, pct is
 * recorded for policy.c to sample, np/psd/t are ignored.
 *
 * Records are parsed by record.c's pure parser (RFC 9989 4.7, 4.8);
 * libopendmarc is not used at all (see NOTES: it takes the first
 * "v=DMARC" TXT, falls back to a parent policy on SERVFAIL, ignores pct
 * and can lose DKIM alignment); only the unit test links it, to
 * cross-check the classic tags against opendmarc_policy_store_dmarc().
 *
 * One evaluation keeps a cache of the _dmarc answers and of the org
 * domains it has worked out, so no name is asked or walked twice.  A DNS
 * TEMP never falls back to a parent's policy: it is temperror.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ascii.h"
#include "common/fmt.h"
#include "common/log.h"
#include "dmarc/dmarc.h"
#include "dmarc/record.h"
#include "dns/dns.h"
#include "dmarc/psl.h"

#define RR_A		1
#define RR_CNAME	5
#define RR_MX		15
#define RR_AAAA		28

/* Q_MULTI: several DMARC records at one name (none of them is used) */
enum qstate { Q_NONE = 0, Q_FOUND, Q_TEMP, Q_MULTI };

/* one _dmarc look-up, cached for the evaluation */
struct qent {
	char			 name[AM_DOMAIN_MAX + 1];
	enum qstate		 state;
	struct am_dmarc_record	 rec;
	char			 why[AM_REASON_MAX];	/* Q_TEMP: "_dmarc.x: SERVFAIL" */
};

/* one org domain worked out, cached for the evaluation */
struct oent {
	char	 domain[AM_DOMAIN_MAX + 1];
	char	 org[AM_DOMAIN_MAX + 1];
	int	 temp;			/* 1: a walk query failed, org unknown */
	char	 why[AM_REASON_MAX];	/* then: which one, and how */
};

/* one evaluation */
struct ectx {
	struct am_dns		*dns;
	struct am_dns_budget	*budget;	/* every look-up counts; may be NULL */
	const struct am_psl	*psl;		/* NULL: RFC 9989 mode */
	struct qent		*q;
	size_t			 nq, qcap;
	struct oent		*o;
	size_t			 no, ocap;
};

/* the records a walk found, as indexes into the query cache */
struct walk {
	size_t	 idx[AM_DMARC_WALK_MAX];
	size_t	 n;
	int	 temp;
	const char *why;	/* temp: the failed look-up (a qent's why) */
};

/* policy discovery outcome for one author domain */
struct disc {
	enum qstate		 state;
	struct am_dmarc_record	 rec;
	char			 where[AM_DOMAIN_MAX + 1];	/* policy domain */
	char			 why[AM_REASON_MAX];	/* Q_TEMP: the failed look-up */
};

/* alignment checks of the authenticated identifiers */
struct idres {
	int	 spf;		/* aligned SPF pass */
	int	 dkim;		/* aligned DKIM pass */
	int	 temp;		/* a temperror on an identifier that may align */
	char	 why[AM_REASON_MAX];	/* the first such: "DKIM d: reason" */
};

enum { AL_NO = 0, AL_YES, AL_UNKNOWN };

/* ---- tree walk and org domain selection (RFC 9989 4.10): pure ---- */

/* nlabels - number of labels of a domain without a final dot */
static size_t
nlabels(const char *d)
{
	size_t	 n = *d != '\0';

	for (; *d != '\0'; d++)
		n += *d == '.';
	return n;
}

/* drop_labels - d without its n left-most labels */
static const char *
drop_labels(const char *d, size_t n)
{
	const char	*dot;

	while (n-- > 0 && (dot = strchr(d, '.')) != NULL)
		d = dot + 1;
	return d;
}

/* copy_domain - strlcpy-like; -1 if it does not fit */
static int
copy_domain(char *out, size_t outlen, const char *d)
{
	size_t	 len = strlen(d);

	if (len >= outlen)
		return -1;
	memcpy(out, d, len + 1);
	return 0;
}

/* am_dmarc_walk_names - RFC 9989 4.10: the names a full walk asks */
size_t
am_dmarc_walk_names(const char *domain, char names[][AM_DOMAIN_MAX + 1],
    size_t max)
{
	size_t		 x, n = 0;
	const char	*cur = domain;

	if (domain == NULL || *domain == '\0' || max == 0 ||
	    copy_domain(names[n++], AM_DOMAIN_MAX + 1, cur) == -1)
		return 0;
	/* step 4: x < 8 drops one label, x >= 8 keeps the last 7 */
	x = nlabels(cur);
	if (x >= AM_DMARC_WALK_MAX) {
		cur = drop_labels(cur, x - (AM_DMARC_WALK_MAX - 1));
		x = AM_DMARC_WALK_MAX - 1;
	} else {
		cur = drop_labels(cur, 1);
		x--;
	}
	/* step 7: then one label at a time until none is left */
	for (; x > 0 && n < max; x--) {
		(void)copy_domain(names[n++], AM_DOMAIN_MAX + 1, cur);
		cur = drop_labels(cur, 1);
	}
	return n;
}

/* am_dmarc_org_select - RFC 9989 4.10.2 selection from a walk's records */
int
am_dmarc_org_select(const char *start, const struct am_dmarc_found *found,
    size_t n, char *out, size_t outlen)
{
	const char	*best = NULL;
	size_t		 i, lbl, bestlbl = 0, keep;

	for (i = 0; i < n; i++) {
		/* 1. psd=n: this is the Organizational Domain */
		if (found[i].psd == 'n')
			return copy_domain(out, outlen, found[i].domain);
		/* 2. psd=y, not at the start: the domain one label below */
		if (found[i].psd == 'y' && strcasecmp(found[i].domain, start) != 0) {
			keep = nlabels(found[i].domain) + 1;
			lbl = nlabels(start);
			return copy_domain(out, outlen, lbl > keep ?
			    drop_labels(start, lbl - keep) : start);
		}
		lbl = nlabels(found[i].domain);
		if (best == NULL || lbl < bestlbl) {
			best = found[i].domain;
			bestlbl = lbl;
		}
	}
	/* 3. the record with the fewest labels; none at all: the start */
	return copy_domain(out, outlen, best != NULL ? best : start);
}

/* ---- DNS and the per-evaluation caches ---- */

/* grow - room for one more element; -1 on ENOMEM */
static int
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t	 ncap;
	void	*p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size || (p = realloc(*arr, ncap * size)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* qid - the message's queue id for debug lines, or NULL */
static const char *
qid(const struct am_dns_budget *b)
{
	return b != NULL ? b->qid : NULL;
}

/* lookup - the one DMARC record at _dmarc.name (RFC 9989 4.10 step 2) */
static enum qstate
lookup(struct am_dns *dns, struct am_dns_budget *b, const char *name,
    struct am_dmarc_record *rec, char *why, size_t whylen)
{
	char			 qname[AM_DOMAIN_MAX + 16];
	char			**txt;
	size_t			 ntxt, i, nrec = 0;
	struct am_dmarc_record	 tmp;
	enum am_dns_status	 st;

	if ((size_t)am_fmt(qname, sizeof(qname), "_dmarc.%s", name) >=
	    sizeof(qname))
		return Q_NONE;
	if (b != NULL)
		b->temp_name[0] = '\0';	/* whatever fails next is ours */
	st = am_dns_txt(dns, b, qname, &txt, &ntxt);
	if (st == AM_DNS_TEMP) {
		/* the look-up that failed, for the A-R reason and the log */
		if (am_dns_budget_temp(b, why, whylen) == NULL) {
			why[0] = '\0';
			am_ascii_append(why, whylen, qname);
			am_ascii_append(why, whylen, ": temporary failure");
		}
		am_log_debug(qid(b), "dmarc: %s: look-up failed (%s)", qname,
		    why);
		return Q_TEMP;
	}
	if (st != AM_DNS_OK) {
		am_log_debug(qid(b), "dmarc: %s: no record (%s)", qname,
		    am_dns_status_str(st));
		return Q_NONE;		/* NXDOMAIN, NODATA, PERM */
	}
	for (i = 0; i < ntxt; i++) {
		if (am_dmarc_record_parse(txt[i], &tmp) != 0)
			continue;
		if (nrec++ == 0)
			*rec = tmp;
		am_log_debug(qid(b), "dmarc: %s: DMARC record \"%.300s\"",
		    qname, txt[i]);
	}
	if (nrec == 0)
		am_log_debug(qid(b), "dmarc: %s: %zu TXT record%s, none is "
		    "DMARC", qname, ntxt, ntxt == 1 ? "" : "s");
	else if (nrec > 1)
		am_log_debug(qid(b), "dmarc: %s: %zu DMARC records: none is "
		    "used", qname, nrec);
	am_dns_txt_free(txt, ntxt);
	/*
	 * Several DMARC records at one name: none is used.  What follows
	 * differs by mode (discover): RFC 9989 4.10 step 2 discards them and
	 * walks on; RFC 7489 6.6.3 step 5 ends discovery.
	 */
	return nrec == 1 ? Q_FOUND : nrec > 1 ? Q_MULTI : Q_NONE;
}

/* fetch - cached look-up of _dmarc.name; cache index, or -1 on ENOMEM */
static long
fetch(struct ectx *c, const char *name)
{
	struct qent	*e;
	size_t		 i;

	for (i = 0; i < c->nq; i++)
		if (strcmp(c->q[i].name, name) == 0)
			return (long)i;
	if (grow((void **)&c->q, &c->qcap, c->nq, sizeof(*c->q)) == -1)
		return -1;
	e = &c->q[c->nq];
	memset(e, 0, sizeof(*e));
	if (copy_domain(e->name, sizeof(e->name), name) == -1)
		e->state = Q_NONE;
	else
		e->state = lookup(c->dns, c->budget, name, &e->rec, e->why,
		    sizeof(e->why));
	return (long)c->nq++;
}

/* walk - RFC 9989 4.10: the records from domain up; 0, or -1 on ENOMEM */
static int
walk(struct ectx *c, const char *domain, struct walk *w)
{
	char	 names[AM_DMARC_WALK_MAX][AM_DOMAIN_MAX + 1];
	size_t	 i, nn;
	long	 k;

	memset(w, 0, sizeof(*w));
	nn = am_dmarc_walk_names(domain, names, AM_DMARC_WALK_MAX);
	for (i = 0; i < nn; i++) {
		if ((k = fetch(c, names[i])) == -1)
			return -1;
		if (c->q[k].state == Q_TEMP) {
			w->temp = 1;	/* never guess past a failed query */
			w->why = c->q[k].why;
			return 0;
		}
		if (c->q[k].state != Q_FOUND)
			continue;
		w->idx[w->n++] = (size_t)k;
		if (c->q[k].rec.psd != 'u')
			break;		/* steps 2 and 6: psd=y or psd=n stops */
	}
	return 0;
}

/* walk_org - org domain from a finished walk */
static int
walk_org(struct ectx *c, const char *domain, const struct walk *w,
    char *out)
{
	struct am_dmarc_found	 found[AM_DMARC_WALK_MAX];
	size_t			 i;

	for (i = 0; i < w->n; i++) {
		found[i].domain = c->q[w->idx[i]].name;
		found[i].psd = c->q[w->idx[i]].rec.psd;
	}
	return am_dmarc_org_select(domain, found, w->n, out, AM_DOMAIN_MAX + 1);
}

/* org_of - cached org domain: 0, 1 (unknown: DNS TEMP), -1 on ENOMEM */
static int
org_of(struct ectx *c, const char *domain, char *out)
{
	struct oent	*e;
	struct walk	 w;
	size_t		 i;

	for (i = 0; i < c->no; i++)
		if (strcmp(c->o[i].domain, domain) == 0)
			return copy_domain(out, AM_DOMAIN_MAX + 1, c->o[i].org) == 0 ?
			    c->o[i].temp : -1;
	if (grow((void **)&c->o, &c->ocap, c->no, sizeof(*c->o)) == -1)
		return -1;
	e = &c->o[c->no];
	memset(e, 0, sizeof(*e));
	if (copy_domain(e->domain, sizeof(e->domain), domain) == -1)
		return -1;
	if (c->psl != NULL) {
		/* RFC 7489 3.2; a public suffix is its own org domain */
		if (am_psl_org_domain(c->psl, domain, e->org, sizeof(e->org)) == -1)
			(void)copy_domain(e->org, sizeof(e->org), domain);
	} else {
		if (walk(c, domain, &w) == -1)
			return -1;
		if (w.temp || walk_org(c, domain, &w, e->org) == -1)
			e->temp = 1;
		if (w.temp && w.why != NULL)
			am_fmt(e->why, sizeof(e->why), "%s", w.why);
	}
	c->no++;
	if (e->temp)
		am_log_debug(qid(c->budget), "dmarc: organizational domain of "
		    "%s unknown (a look-up failed)", domain);
	else
		am_log_debug(qid(c->budget), "dmarc: organizational domain of "
		    "%s: %s (%s)", domain, e->org, c->psl != NULL ?
		    "public suffix list" : "tree walk");
	return copy_domain(out, AM_DOMAIN_MAX + 1, e->org) == 0 ? e->temp : -1;
}

/* ---- discovery, alignment, one author domain ---- */

/* org_why - why the org domain of domain is unknown ("" if not known) */
static const char *
org_why(const struct ectx *c, const char *domain)
{
	size_t	 i;

	for (i = 0; i < c->no; i++)
		if (strcmp(c->o[i].domain, domain) == 0)
			return c->o[i].why;
	return "";
}

/* take - record found at cache entry k becomes the policy */
static void
take(struct disc *d, const struct qent *e)
{
	d->state = Q_FOUND;
	d->rec = e->rec;
	(void)copy_domain(d->where, sizeof(d->where), e->name);
}

/*
 * discover - RFC 9989 4.10.1: the author domain's record, else its org
 * domain's, else its PSD's (psd=y); RFC 7489 6.6.3: author, then org.
 */
static int
discover(struct ectx *c, const char *dom, struct disc *d)
{
	char		 org[AM_DOMAIN_MAX + 1];
	struct walk	 w;
	long		 k;
	size_t		 i;
	int		 t;

	memset(d, 0, sizeof(*d));
	if ((k = fetch(c, dom)) == -1)
		return -1;
	if (c->q[k].state == Q_FOUND || c->q[k].state == Q_TEMP ||
	    (c->q[k].state == Q_MULTI && c->psl != NULL)) {
		/* found, TEMP, or several (RFC 7489 6.6.3 steps 3, 5): end */
		if ((d->state = c->q[k].state) == Q_FOUND)
			take(d, &c->q[k]);
		if (d->state == Q_TEMP)
			am_fmt(d->why, sizeof(d->why), "%s", c->q[k].why);
		return 0;
	}
	/* none, or (RFC 9989 4.10 step 2) several discarded: walk on */
	if ((t = org_of(c, dom, org)) != 0) {
		d->state = t == 1 ? Q_TEMP : Q_NONE;
		if (t == 1)
			am_fmt(d->why, sizeof(d->why), "%s", org_why(c, dom));
		return t == -1 ? -1 : 0;
	}
	if (c->psl != NULL) {
		if (strcmp(org, dom) == 0)
			return 0;	/* the author domain is the org domain */
		if ((k = fetch(c, org)) == -1)
			return -1;
		if ((d->state = c->q[k].state) == Q_FOUND)
			take(d, &c->q[k]);	/* Q_MULTI: step 5, none */
		if (d->state == Q_TEMP)
			am_fmt(d->why, sizeof(d->why), "%s", c->q[k].why);
		return 0;
	}
	if (walk(c, dom, &w) == -1)	/* cached: asks nothing again */
		return -1;
	for (i = 0; i < w.n; i++)
		if (strcmp(c->q[w.idx[i]].name, org) == 0)
			take(d, &c->q[w.idx[i]]);
	for (i = 0; i < w.n && d->state != Q_FOUND; i++)
		if (c->q[w.idx[i]].rec.psd == 'y')
			take(d, &c->q[w.idx[i]]);
	return 0;
}

/* within - d is parent or a subdomain of it */
static int
within(const char *d, const char *parent)
{
	size_t	 dl = strlen(d), pl = strlen(parent);

	if (dl == pl)
		return strcmp(d, parent) == 0;
	return dl > pl && d[dl - pl - 1] == '.' && strcmp(d + dl - pl, parent) == 0;
}

/* last_label_eq - both names end in the same label */
static int
last_label_eq(const char *a, const char *b)
{
	const char	*la = strrchr(a, '.'), *lb = strrchr(b, '.');

	return strcmp(la ? la + 1 : a, lb ? lb + 1 : b) == 0;
}

/* norm - lower-case copy without a final dot; -1 if empty or too long */
static int
norm(const char *in, char *out)
{
	size_t	 i, len = strlen(in);

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > AM_DOMAIN_MAX)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? in[i] + ('a' - 'A') : in[i];
	out[len] = '\0';
	return 0;
}

/* align - RFC 9989 4.4: AL_YES, AL_NO, AL_UNKNOWN (TEMP), -1 ENOMEM */
static int
align(struct ectx *c, const char *author, const char *ident, int strict)
{
	char	 id[AM_DOMAIN_MAX + 1], oa[AM_DOMAIN_MAX + 1];
	char	 oi[AM_DOMAIN_MAX + 1];
	int	 t;

	if (norm(ident, id) == -1)
		return AL_NO;
	if (strcmp(author, id) == 0)
		return AL_YES;		/* strict, hence relaxed too */
	if (strict)
		return AL_NO;
	if ((t = org_of(c, author, oa)) != 0)
		return t == -1 ? -1 : last_label_eq(author, id) ? AL_UNKNOWN : AL_NO;
	if (!within(id, oa))
		return AL_NO;		/* org(id) is a suffix of id: cannot match */
	if ((t = org_of(c, id, oi)) != 0)
		return t == -1 ? -1 : AL_UNKNOWN;
	return strcmp(oa, oi) == 0 ? AL_YES : AL_NO;
}

/* trace_align - debug line of one identifier's alignment */
static void
trace_align(const struct ectx *c, const char *what, const char *ident,
    const char *author, int strict, int a)
{
	am_log_debug(qid(c->budget), "dmarc: %s %s %s From domain %s (%s)",
	    what, ident, a == AL_YES ? "aligns with" : a == AL_NO ?
	    "does not align with" : "may align (look-up failed) with",
	    author, strict ? "strict" : "relaxed");
}

/* note_why - name the first identifier that made ir->temp */
static void
note_why(struct idres *ir, const char *method, const char *domain,
    const char *reason)
{
	if (!ir->temp || ir->why[0] != '\0')
		return;
	am_ascii_append(ir->why, sizeof(ir->why), method);
	am_ascii_append(ir->why, sizeof(ir->why), domain);
	if (reason[0] != '\0') {
		am_ascii_append(ir->why, sizeof(ir->why), " (");
		am_ascii_append(ir->why, sizeof(ir->why), reason);
		am_ascii_append(ir->why, sizeof(ir->why), ")");
	}
}

/* note - fold one alignment outcome into *ir; -1 on ENOMEM */
static int
note(int a, int pass, int *aligned, struct idres *ir)
{
	if (a == -1)
		return -1;
	if (pass && a == AL_YES)
		*aligned = 1;
	else if (a == AL_UNKNOWN || (!pass && a == AL_YES))
		ir->temp = 1;		/* may have aligned */
	return 0;
}

/*
 * check_ids - align the SPF identity and every DKIM pass (all of them, in
 * any order) with the author domain.  rec NULL (record unknown): only an
 * exact match counts.  Returns 0, or -1 on ENOMEM.
 */
static int
check_ids(struct ectx *c, const char *author, const struct am_dmarc_record *rec,
    const struct am_results *r, struct idres *ir)
{
	const struct am_spf_check	*s = &r->spf_mailfrom;
	const struct am_dkim_sig	*k;
	size_t				 i;
	int				 strict;

	int				 a;

	memset(ir, 0, sizeof(*ir));
	strict = rec == NULL || rec->aspf_strict;
	if (s->checked && (s->result == AM_SPF_PASS ||
	    s->result == AM_SPF_TEMPERROR)) {
		a = align(c, author, s->domain, strict);
		if (a != -1)
			trace_align(c, s->result == AM_SPF_PASS ? "SPF pass for" :
			    "SPF temperror for", s->domain, author, strict, a);
		if (note(a, s->result == AM_SPF_PASS, &ir->spf, ir) == -1)
			return -1;
		note_why(ir, "SPF ", s->domain, s->reason);
	} else if (s->checked)
		am_log_debug(qid(c->budget), "dmarc: SPF %s for %s: cannot "
		    "align", am_spf_result_str(s->result), s->domain);
	strict = rec == NULL || rec->adkim_strict;
	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX && !ir->dkim; i++) {
		k = &r->dkim[i];
		if (k->result != AM_DKIM_PASS && k->result != AM_DKIM_TEMPERROR)
			continue;
		a = align(c, author, k->domain, strict);
		if (a != -1)
			trace_align(c, k->result == AM_DKIM_PASS ?
			    "DKIM pass for" : "DKIM temperror for", k->domain,
			    author, strict, a);
		if (note(a, k->result == AM_DKIM_PASS, &ir->dkim, ir) == -1)
			return -1;
		note_why(ir, "DKIM ", k->domain, k->reason);
	}
	return 0;
}

/*
 * domain_exists - RFC 9989 3.2.13 (RFC 8020) and A.4: 1, 0 (NXDOMAIN), -1
 * unknown.  At most AM_DMARC_EXIST_QUERIES queries (A, then AAAA, MX if
 * one fails).  An NXDOMAIN is checked with a CNAME query: for a name
 * that is a CNAME the rcode is the target's (RFC 6604 section 3), and a
 * name with an RR, a CNAME too, exists (A.4).
 */
static int
domain_exists(struct am_dns *dns, struct am_dns_budget *b, const char *d)
{
	static const int	 types[] = { RR_A, RR_AAAA, RR_MX };
	enum am_dns_status	 st;
	size_t			 i, asked = 0;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		st = am_dns_query(dns, b, d, types[i], NULL);
		asked++;
		if (st == AM_DNS_OK || st == AM_DNS_NODATA)
			return 1;
		if (st != AM_DNS_NXDOMAIN)
			continue;		/* TEMP or PERM: try the next type */
		if (asked == AM_DMARC_EXIST_QUERIES)
			return -1;		/* no query left to check it */
		st = am_dns_query(dns, b, d, RR_CNAME, NULL);
		if (st == AM_DNS_NXDOMAIN)
			return 0;
		return st == AM_DNS_OK || st == AM_DNS_NODATA ? 1 : -1;
	}
	return -1;			/* TEMP or PERM for all three */
}

/* set_reason - out->reason */
static void
set_reason(struct am_dmarc_res *out, enum am_dmarc_result res, const char *why)
{
	out->result = res;
	am_fmt(out->reason, sizeof(out->reason), "%s", why);
}

/* apply_np - RFC 9989 4.10.1: np for a non-existent author domain */
static void
apply_np(struct ectx *c, const char *dom, const struct disc *d,
    struct am_dmarc_res *out)
{
	enum am_dmarc_policy	 p0, p1;
	const char		*t0, *t1;
	char			 why[AM_REASON_MAX];

	(void)am_dmarc_policy_pick(&d->rec, 0, 0, 0, &p0, &t0);
	(void)am_dmarc_policy_pick(&d->rec, 0, 1, 0, &p1, &t1);
	if (p0 == p1)
		return;			/* existence would change nothing */
	if (c->budget != NULL)
		c->budget->temp_name[0] = '\0';
	switch (domain_exists(c->dns, c->budget, dom)) {
	case 0:
		out->policy = p1;
		am_fmt(out->policy_tag, sizeof(out->policy_tag), "%s", t1);
		break;
	case -1:
		am_fmt(out->reason, sizeof(out->reason), "cannot tell "
		    "whether the author domain exists");
		if (am_dns_budget_temp(c->budget, why, sizeof(why)) != NULL) {
			am_ascii_append(out->reason, sizeof(out->reason), ": ");
			am_ascii_append(out->reason, sizeof(out->reason), why);
		}
		out->result = AM_DMARC_TEMPERROR;
		break;
	}
}

/* verdict - pass, fail or temperror from the alignment checks */
static void
verdict(const struct idres *ir, struct am_dmarc_res *out)
{
	out->spf_aligned = ir->spf;
	out->dkim_aligned = ir->dkim;
	if (ir->spf || ir->dkim)
		set_reason(out, AM_DMARC_PASS, ir->spf && ir->dkim ?
		    "aligned SPF and DKIM pass" : ir->spf ?
		    "aligned SPF pass" : "aligned DKIM pass");
	else if (ir->temp) {
		set_reason(out, AM_DMARC_TEMPERROR,
		    "temporary error on an identifier that may align");
		if (ir->why[0] != '\0') {
			am_ascii_append(out->reason, sizeof(out->reason), ": ");
			am_ascii_append(out->reason, sizeof(out->reason), ir->why);
		}
	}
	else
		set_reason(out, AM_DMARC_FAIL, "no aligned pass");
}

/* publish - the record as published, for the history (results.h) */
static void
publish(const struct ectx *c, const struct am_dmarc_record *rec,
    struct am_dmarc_published *pub)
{
	am_fmt(pub->p, sizeof(pub->p), "%s", rec->p_tag == AM_DMARC_TAG_VALID ?
	    am_dmarc_policy_str(rec->p) : "");
	am_fmt(pub->sp, sizeof(pub->sp), "%s", rec->sp_tag ==
	    AM_DMARC_TAG_VALID ? am_dmarc_policy_str(rec->sp) : "");
	am_fmt(pub->np, sizeof(pub->np), "%s", rec->np_tag ==
	    AM_DMARC_TAG_VALID ? am_dmarc_policy_str(rec->np) : "");
	pub->adkim = rec->adkim_strict ? 's' : 'r';
	pub->aspf = rec->aspf_strict ? 's' : 'r';
	pub->psd = rec->psd;
	memcpy(pub->fo, rec->fo, sizeof(pub->fo));
	memcpy(pub->rua, rec->rua, sizeof(pub->rua));
	memcpy(pub->ruf, rec->ruf, sizeof(pub->ruf));
	am_fmt(pub->discovery, sizeof(pub->discovery), "%s",
	    c->psl != NULL ? "psl" : "treewalk");
}

/* eval_record - a record applies to dom: alignment and policy */
static int
eval_record(struct ectx *c, const char *dom, const struct disc *d,
    const struct am_results *r, struct am_dmarc_res *out)
{
	struct idres	 ir;
	const char	*t;
	int		 at_author = strcmp(d->where, dom) == 0;
	int		 rfc7489 = c->psl != NULL;

	(void)copy_domain(out->policy_domain, sizeof(out->policy_domain), d->where);
	publish(c, &d->rec, &out->pub);
	if (am_dmarc_policy_pick(&d->rec, at_author, 0, rfc7489, &out->policy,
	    &t) == -1) {
		out->policy = AM_DMARC_P_UNSPEC;
		set_reason(out, AM_DMARC_NONE,
		    "DMARC record unusable: bad p, sp or np and no rua");
		return 0;
	}
	am_fmt(out->policy_tag, sizeof(out->policy_tag), "%s", t);
	out->p = d->rec.p_tag == AM_DMARC_TAG_VALID ? d->rec.p : AM_DMARC_P_NONE;
	out->testing = !rfc7489 && d->rec.testing;
	out->pct = rfc7489 ? d->rec.pct : 100;
	out->adkim_strict = d->rec.adkim_strict;	/* for ARC trust (issue 14) */
	out->aspf_strict = d->rec.aspf_strict;
	if (check_ids(c, dom, &d->rec, r, &ir) == -1)
		return -1;
	verdict(&ir, out);
	if (out->result != AM_DMARC_PASS && !at_author && !rfc7489)
		apply_np(c, dom, d, out);
	return 0;
}

/* eval_one - DMARC for one author domain */
static int
eval_one(struct ectx *c, const char *from, const struct am_results *r,
    struct am_dmarc_res *out)
{
	char		 dom[AM_DOMAIN_MAX + 1];
	struct disc	 d;
	struct idres	 ir;

	memset(out, 0, sizeof(*out));
	out->pct = 100;
	if (norm(from, dom) == -1) {
		set_reason(out, AM_DMARC_PERMERROR, "unusable author domain");
		return 0;
	}
	(void)copy_domain(out->from_domain, sizeof(out->from_domain), dom);
	if (discover(c, dom, &d) == -1)
		return -1;
	if (d.state != Q_TEMP && org_of(c, dom, out->org_domain) != 0)
		out->org_domain[0] = '\0';	/* unknown; TEMP matters only if used */
	if (d.state == Q_NONE || d.state == Q_MULTI) {
		set_reason(out, AM_DMARC_NONE, d.state == Q_NONE ?
		    "no DMARC record" : "several DMARC records (RFC 7489 6.6.3)");
		return 0;
	}
	if (d.state == Q_FOUND) {
		am_log_debug(qid(c->budget), "dmarc: %s: policy record at "
		    "_dmarc.%s", dom, d.where);
		return eval_record(c, dom, &d, r, out);
	}
	/* TEMP: never a parent's policy instead; an exact match still passes */
	if (check_ids(c, dom, NULL, r, &ir) == -1)
		return -1;
	out->spf_aligned = ir.spf;
	out->dkim_aligned = ir.dkim;
	out->result = ir.spf || ir.dkim ? AM_DMARC_PASS : AM_DMARC_TEMPERROR;
	/* RFC 8601 2.7.1 temperror: name the look-up that failed */
	am_fmt(out->reason, sizeof(out->reason), "%s: ", ir.spf || ir.dkim ?
	    "aligned pass; DMARC record look-up failed" :
	    "DMARC record look-up failed");
	am_ascii_append(out->reason, sizeof(out->reason), d.why[0] ? d.why : "temporary");
	return 0;
}

/* rank - strictness of an outcome, for several author domains */
static int
rank(const struct am_dmarc_res *d)
{
	switch (d->result) {
	case AM_DMARC_FAIL:
		return 10 + 2 * (int)d->policy + !d->testing;
	case AM_DMARC_TEMPERROR:
		return 4;
	case AM_DMARC_PERMERROR:
		return 3;
	case AM_DMARC_NONE:
		return 2;
	default:
		return 1;		/* pass */
	}
}

/* eval_all - every distinct author domain; the strictest outcome wins */
static int
eval_all(struct ectx *c, char (*from)[AM_DOMAIN_MAX + 1], size_t nfrom,
    const struct am_results *r, struct am_dmarc_res *out)
{
	struct am_dmarc_res	 one;
	size_t			 i, j;

	for (i = 0; i < nfrom; i++) {
		for (j = 0; j < i; j++)
			if (strcasecmp(from[i], from[j]) == 0)
				break;
		if (j < i)
			continue;	/* already evaluated */
		if (eval_one(c, from[i], r, &one) == -1)
			return -1;
		if (i == 0 || rank(&one) > rank(out))
			*out = one;
	}
	return 0;
}

/* am_dmarc_eval - DMARC for the author domains of one message */
int
am_dmarc_eval(struct am_dns *dns, struct am_dns_budget *b,
    const struct am_psl *psl, char (*from)[AM_DOMAIN_MAX + 1], size_t nfrom,
    const struct am_results *r, struct am_dmarc_res *out)
{
	struct ectx	 c;
	int		 rv = 0;

	memset(out, 0, sizeof(*out));
	out->pct = 100;
	if (nfrom == 0) {
		set_reason(out, AM_DMARC_PERMERROR, "no author domain");
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.dns = dns;
	c.budget = b;
	c.psl = psl;
	if (dns == NULL || r == NULL || eval_all(&c, from, nfrom, r, out) == -1) {
		memset(out, 0, sizeof(*out));
		out->pct = 100;
		set_reason(out, AM_DMARC_TEMPERROR, "internal error in DMARC evaluation");
		rv = -1;
	}
	free(c.q);
	free(c.o);
	return rv;
}
