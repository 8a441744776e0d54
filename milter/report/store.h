/*
 * store.h - what authmilter-report reads and writes in the history store
 * (schema13: am_message, am_report, am_dest), through db/db.h.
 *
 * The claim protocol (issue 13: "safe to run twice or on two hosts at
 * once"): a report (policy domain, begin, end) is claimed by inserting
 * its am_report row with INSERT ... ON CONFLICT DO NOTHING, or by taking
 * over a 'failed' row, or a 'claimed' one older than AM_STORE_STALE (a
 * run that died), with one UPDATE whose WHERE names the state seen: of
 * two runs on one PostgreSQL exactly one changes the row (the second's
 * UPDATE re-reads it after the first committed and matches nothing).
 * The row keeps the Report-ID of the first claim; a retry sends that one.
 *
 * Not thread-safe (a db handle is one thread's).
 */
#ifndef AM_REPORT_STORE_H
#define AM_REPORT_STORE_H

#include <stddef.h>

#include "db/db.h"
#include "report/agg.h"

/* a claim older than this is a run that died: another run may take it */
#define AM_STORE_STALE		3600LL

/* the messages of one report, their strings owned by the set */
struct am_store_set {
	struct am_agg_msg	*m;
	size_t			 n;
	char			**strs;		/* every string, to free */
	size_t			 nstrs;
	struct am_agg_sig	*sigs;		/* AM_AGG_SIGS_MAX per message */
};

/* a report to retry: a failed or stale am_report row */
struct am_store_retry {
	char		*policy_domain;
	long long	 begin, end;
};

/*
 * am_store_domains - the policy domains with messages in [begin, end],
 * leaving out mail whose envelope-from domain is skip (ReportEmail's:
 * no reports about reports).  0 (free with am_store_strv_free) or -1.
 */
int	am_store_domains(struct am_db *db, long long begin, long long end,
	    const char *skip, char ***out, size_t *n);
void	am_store_strv_free(char **v, size_t n);

/*
 * am_store_load - the messages of one policy domain in [begin, end]
 * (skip as above), grouped by the store (GROUP BY every column a record
 * shows: ->count).  0 or -1; free with am_store_set_free.
 */
int	am_store_load(struct am_db *db, const char *policy_domain,
	    long long begin, long long end, const char *skip,
	    struct am_store_set *set);
void	am_store_set_free(struct am_store_set *set);

/*
 * am_store_claim - claim the report for this run (me: "host:pid").
 * Returns 1 (ours: rid holds the Report-ID to use, the stored one if the
 * row existed), 0 (sent already, or another run holds it), -1 (error).
 */
int	am_store_claim(struct am_db *db, const char *policy_domain,
	    long long begin, long long end, const char *report_id,
	    const char *me, long long now, char *rid, size_t ridlen);

/* am_store_finish - our claim ends: 'sent' (err NULL) or 'failed' */
int	am_store_finish(struct am_db *db, const char *policy_domain,
	    long long begin, long long end, const char *me, long long now,
	    const char *err);

/*
 * am_store_retries - reports of periods before 'before' that are
 * 'failed', or 'claimed' and stale: the next run sends them again.
 */
int	am_store_retries(struct am_db *db, long long before, long long now,
	    struct am_store_retry **out, size_t *n);
void	am_store_retries_free(struct am_store_retry *v, size_t n);

/* one am_dest row; a missing row reads as all zero */
struct am_store_dest {
	unsigned int	 failures;
	long long	 next_try;
	int		 suppressed;
};

int	am_store_dest_get(struct am_db *db, const char *addr,
	    struct am_store_dest *d);
/* am_store_dest_put - write the row (upsert); err "" after a success */
int	am_store_dest_put(struct am_db *db, const char *addr,
	    const struct am_store_dest *d, const char *err);

/*
 * am_store_expire - retention: delete messages older than before, and
 * report rows whose period ended before it.  Rows deleted, or -1.
 */
long	am_store_expire(struct am_db *db, long long before);

#endif /* AM_REPORT_STORE_H */
