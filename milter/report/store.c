/*
 * store.c - authmilter-report's statements on the history store
 * (store.h).  Plain SQL that SQLite 3.24+ and PostgreSQL both take;
 * parameters are text ($1 ...), numbers are compared with the columns'
 * types (SQLite: numeric affinity; PostgreSQL: inferred).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/store.h"

/* num - a decimal into a parameter buffer */
#define NUM(buf, v)	(snprintf((buf), sizeof(buf), "%lld", (long long)(v)), (buf))

/* col - a column's text, "" for NULL */
static const char *
col(struct am_db_rows *r, int i)
{
	const char	*s = am_db_col(r, i);

	return s != NULL ? s : "";
}

/* am_store_strv_free - see store.h */
void
am_store_strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* push - append a copy of s to a growing string vector */
static int
push(char ***v, size_t *n, size_t *size, const char *s)
{
	char	**nv;

	if (*n == *size) {
		*size = *size ? *size * 2 : 16;
		if ((nv = realloc(*v, *size * sizeof(**v))) == NULL)
			return -1;
		*v = nv;
	}
	if (((*v)[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* am_store_domains - see store.h */
int
am_store_domains(struct am_db *db, long long begin, long long end,
    const char *skip, char ***out, size_t *n)
{
	char			 b[24], e[24];
	const char		*p[3] = { NUM(b, begin), NUM(e, end), skip };
	struct am_db_rows	*r;
	size_t			 size = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	r = am_db_query(db, "SELECT DISTINCT policy_domain FROM am_message "
	    "WHERE t >= $1 AND t <= $2 AND env_from <> $3 "
	    "ORDER BY policy_domain", 3, p);
	if (r == NULL)
		return -1;
	while ((rc = am_db_next(r)) == 1)
		if (push(out, n, &size, col(r, 0)) == -1)
			break;
	am_db_rows_free(r);
	if (rc != 0) {
		am_store_strv_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* the columns of am_store_load, in the order fill() reads them */
#define LOAD_COLS "source_ip, env_from, env_to, header_from, org_domain, " \
	"discovery, p, sp, np, adkim, aspf, testing, fo, rua, policy_tag, " \
	"dmarc_result, dkim_aligned, spf_aligned, disposition, override, " \
	"override_comment, spf_domain, spf_scope, spf_result, dkim"

/* keep - a copy of a column owned by the set; NULL on ENOMEM */
static char *
keep(struct am_store_set *s, size_t *size, const char *v)
{
	if (push(&s->strs, &s->nstrs, size, v) == -1)
		return NULL;
	return s->strs[s->nstrs - 1];
}

/* fill - one grouped row into m (columns: MAX(t), COUNT(*), LOAD_COLS) */
static int
fill(struct am_store_set *s, size_t *size, struct am_db_rows *r,
    const char *pd, struct am_agg_msg *m, struct am_agg_sig *sigs)
{
	const char	**f[] = { &m->source_ip, &m->env_from, &m->env_to,
	    &m->header_from, &m->org_domain, &m->discovery, &m->p, &m->sp,
	    &m->np, &m->adkim, &m->aspf, &m->testing, &m->fo, &m->rua,
	    &m->policy_tag, &m->dmarc_result };
	const char	**g[] = { &m->disposition, &m->override,
	    &m->override_comment, &m->spf_domain, &m->spf_scope,
	    &m->spf_result };
	size_t		 i;
	char		*dkim;

	memset(m, 0, sizeof(*m));
	m->t = strtoll(col(r, 0), NULL, 10);
	m->count = strtoul(col(r, 1), NULL, 10);
	m->policy_domain = pd;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if ((*f[i] = keep(s, size, col(r, 2 + (int)i))) == NULL)
			return -1;
	m->dkim_aligned = atoi(col(r, 18)) != 0;
	m->spf_aligned = atoi(col(r, 19)) != 0;
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		if ((*g[i] = keep(s, size, col(r, 20 + (int)i))) == NULL)
			return -1;
	if ((dkim = keep(s, size, col(r, 26))) == NULL)
		return -1;
	m->sigs = sigs;
	m->nsigs = am_agg_split_sigs(dkim, sigs, AM_AGG_SIGS_MAX);
	return 0;
}

/* grow - room for one more message (and its signatures) in the set */
static int
grow(struct am_store_set *s, size_t *cap)
{
	struct am_agg_msg	*m;
	struct am_agg_sig	*g;
	size_t			 i, nc;

	if (s->n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if ((m = realloc(s->m, nc * sizeof(*m))) == NULL)
		return -1;
	s->m = m;
	if ((g = realloc(s->sigs, nc * AM_AGG_SIGS_MAX * sizeof(*g))) == NULL)
		return -1;
	s->sigs = g;
	for (i = 0; i < s->n; i++)	/* the array moved */
		s->m[i].sigs = g + i * AM_AGG_SIGS_MAX;
	*cap = nc;
	return 0;
}

/* am_store_load - see store.h */
int
am_store_load(struct am_db *db, const char *policy_domain, long long begin,
    long long end, const char *skip, struct am_store_set *set)
{
	char			 b[24], e[24];
	const char		*p[4] = { policy_domain, NUM(b, begin),
	    NUM(e, end), skip };
	struct am_db_rows	*r;
	size_t			 cap = 0, ssize = 0;
	char			*pd;
	int			 rc;

	memset(set, 0, sizeof(*set));
	r = am_db_query(db, "SELECT MAX(t), COUNT(*), " LOAD_COLS
	    " FROM am_message WHERE policy_domain = $1 AND t >= $2 AND "
	    "t <= $3 AND env_from <> $4 GROUP BY " LOAD_COLS, 4, p);
	if (r == NULL)
		return -1;
	if ((pd = keep(set, &ssize, policy_domain)) == NULL) {
		am_db_rows_free(r);
		return -1;
	}
	while ((rc = am_db_next(r)) == 1) {
		if (grow(set, &cap) == -1 || fill(set, &ssize, r, pd,
		    &set->m[set->n], set->sigs + set->n * AM_AGG_SIGS_MAX) == -1) {
			rc = -1;
			break;
		}
		set->n++;
	}
	am_db_rows_free(r);
	if (rc != 0) {
		am_store_set_free(set);
		return -1;
	}
	return 0;
}

/* am_store_set_free - see store.h */
void
am_store_set_free(struct am_store_set *set)
{
	am_store_strv_free(set->strs, set->nstrs);
	free(set->m);
	free(set->sigs);
	memset(set, 0, sizeof(*set));
}

/* stored_id - the Report-ID of an existing row into rid */
static int
stored_id(struct am_db *db, const char *const *key, char *rid, size_t len)
{
	struct am_db_rows	*r;
	int			 rc;

	r = am_db_query(db, "SELECT report_id FROM am_report WHERE "
	    "policy_domain = $1 AND begin_t = $2 AND end_t = $3", 3, key);
	if (r == NULL)
		return -1;
	if ((rc = am_db_next(r)) == 1)
		snprintf(rid, len, "%s", col(r, 0));
	am_db_rows_free(r);
	return rc == 1 ? 0 : -1;
}

/* am_store_claim - see store.h */
int
am_store_claim(struct am_db *db, const char *policy_domain, long long begin,
    long long end, const char *report_id, const char *me, long long now,
    char *rid, size_t ridlen)
{
	char		 b[24], e[24], n[24], st[24];
	const char	*ins[6] = { policy_domain, NUM(b, begin), NUM(e, end),
	    report_id, me, NUM(n, now) };
	const char	*upd[6] = { policy_domain, b, e, me, n,
	    NUM(st, now - AM_STORE_STALE) };
	long		 c;

	c = am_db_exec(db, "INSERT INTO am_report (policy_domain, begin_t, "
	    "end_t, report_id, state, claimed_by, claimed_at, attempts, "
	    "last_error, sent_at) VALUES ($1, $2, $3, $4, 'claimed', $5, $6, "
	    "0, '', 0) ON CONFLICT DO NOTHING", 6, ins);
	if (c == 0)	/* a row exists: take it over if it failed or is stale */
		c = am_db_exec(db, "UPDATE am_report SET state = 'claimed', "
		    "claimed_by = $4, claimed_at = $5 WHERE policy_domain = $1 "
		    "AND begin_t = $2 AND end_t = $3 AND (state = 'failed' OR "
		    "(state = 'claimed' AND claimed_at < $6))", 6, upd);
	if (c < 0)
		return -1;
	if (c == 0)
		return 0;
	return stored_id(db, ins, rid, ridlen) == 0 ? 1 : -1;
}

/* am_store_finish - see store.h */
int
am_store_finish(struct am_db *db, const char *policy_domain, long long begin,
    long long end, const char *me, long long now, const char *err)
{
	char		 b[24], e[24], n[24];
	const char	*p[6] = { policy_domain, NUM(b, begin), NUM(e, end), me,
	    err != NULL ? err : "", NUM(n, now) };

	if (err == NULL)
		return am_db_exec(db, "UPDATE am_report SET state = 'sent', "
		    "attempts = attempts + 1, last_error = $5, sent_at = $6 "
		    "WHERE policy_domain = $1 AND begin_t = $2 AND end_t = $3 "
		    "AND claimed_by = $4", 6, p) < 0 ? -1 : 0;
	return am_db_exec(db, "UPDATE am_report SET state = 'failed', "
	    "attempts = attempts + 1, last_error = $5 WHERE policy_domain = $1 "
	    "AND begin_t = $2 AND end_t = $3 AND claimed_by = $4", 5, p) < 0 ?
	    -1 : 0;
}

/* am_store_retries - see store.h */
int
am_store_retries(struct am_db *db, long long before, long long now,
    struct am_store_retry **out, size_t *n)
{
	char			 b[24], st[24];
	const char		*p[2] = { NUM(b, before),
	    NUM(st, now - AM_STORE_STALE) };
	struct am_db_rows	*r;
	struct am_store_retry	*v = NULL, *nv;
	size_t			 cnt = 0;
	int			 rc;

	r = am_db_query(db, "SELECT policy_domain, begin_t, end_t FROM "
	    "am_report WHERE begin_t < $1 AND (state = 'failed' OR "
	    "(state = 'claimed' AND claimed_at < $2)) ORDER BY begin_t, "
	    "policy_domain", 2, p);
	if (r == NULL)
		return -1;
	while ((rc = am_db_next(r)) == 1) {
		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			rc = -1;
			break;
		}
		v = nv;
		if ((v[cnt].policy_domain = strdup(col(r, 0))) == NULL) {
			rc = -1;
			break;
		}
		v[cnt].begin = strtoll(col(r, 1), NULL, 10);
		v[cnt].end = strtoll(col(r, 2), NULL, 10);
		cnt++;
	}
	am_db_rows_free(r);
	*out = v;
	*n = cnt;
	if (rc != 0) {
		am_store_retries_free(v, cnt);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* am_store_retries_free - see store.h */
void
am_store_retries_free(struct am_store_retry *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].policy_domain);
	free(v);
}

/* am_store_dest_get - see store.h */
int
am_store_dest_get(struct am_db *db, const char *addr, struct am_store_dest *d)
{
	struct am_db_rows	*r;
	int			 rc;

	memset(d, 0, sizeof(*d));
	r = am_db_query(db, "SELECT failures, next_try, suppressed FROM "
	    "am_dest WHERE address = $1", 1, &addr);
	if (r == NULL)
		return -1;
	if ((rc = am_db_next(r)) == 1) {
		d->failures = (unsigned int)strtoul(col(r, 0), NULL, 10);
		d->next_try = strtoll(col(r, 1), NULL, 10);
		d->suppressed = atoi(col(r, 2)) != 0;
	}
	am_db_rows_free(r);
	return rc < 0 ? -1 : 0;
}

/* am_store_dest_put - see store.h */
int
am_store_dest_put(struct am_db *db, const char *addr,
    const struct am_store_dest *d, const char *err)
{
	char		 f[24], nt[24], s[24];
	const char	*p[5] = { addr, NUM(f, d->failures),
	    NUM(nt, d->next_try), NUM(s, d->suppressed), err };

	return am_db_exec(db, "INSERT INTO am_dest (address, failures, "
	    "next_try, suppressed, last_error) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (address) DO UPDATE SET failures = $2, next_try = "
	    "$3, suppressed = $4, last_error = $5", 5, p) < 0 ? -1 : 0;
}

/* am_store_expire - see store.h */
long
am_store_expire(struct am_db *db, long long before)
{
	char		 b[24];
	const char	*p[1] = { NUM(b, before) };
	long		 n, m;

	if ((n = am_db_exec(db, "DELETE FROM am_message WHERE t < $1", 1,
	    p)) < 0)
		return -1;
	if ((m = am_db_exec(db, "DELETE FROM am_report WHERE end_t < $1", 1,
	    p)) < 0)
		return -1;
	return n + m;
}
