/*
 * run.h - one run of authmilter-report: for every policy domain with
 * history in the period, and every report a previous run failed to send,
 * build the aggregate report (agg.h, xml.h, mail.h), choose its
 * destinations (rua= of the record, ReportSuppress, am_dest back-off and
 * suppression, the external destination rule of dest.h, a domain that
 * can receive mail), claim it in the store (store.h), and hand it to the
 * local MTA; then retention.
 *
 * With dry_dir set nothing is sent and the store is not written: each
 * report goes to dry_dir as its .xml.gz file and the mail beside it
 * (same name + ".eml").
 *
 * Not thread-safe; one run per process.
 */
#ifndef AM_REPORT_RUN_H
#define AM_REPORT_RUN_H

#include <stdio.h>

struct am_config;
struct am_db;
struct am_dns;

/* the largest report mail; a bigger one is not sent (counted as failed) */
#define AM_RUN_MAIL_MAX		(64u << 20)

struct am_run_opts {
	struct am_config *cfg;
	struct am_db	*db;
	struct am_dns	*dns;		/* the project's resolver */
	long long	 begin, end;	/* the period, Unix seconds, inclusive */
	long long	 now;
	const char	*dry_dir;	/* NULL: send */
	const char	*me;		/* "host:pid": who claims */
	unsigned int	 history_days;	/* retention; 0: none */
	FILE		*log;		/* one line per event */
};

struct am_run_stats {
	unsigned int	 reports;	/* built */
	unsigned int	 sent;		/* handed to the MTA (or written, dry run) */
	unsigned int	 failed;	/* submission failed: retried next run */
	unsigned int	 skipped;	/* no destination, or claimed elsewhere */
	unsigned int	 dest_failed;	/* destinations that failed this run */
	unsigned int	 dest_suppressed;	/* skipped: suppressed */
	long		 expired;	/* rows deleted by retention */
};

/*
 * am_run - the whole run.  0 when every report was handled (sent, or
 * skipped for a reason), 1 when some submission failed (the next run
 * retries it), -1 when the store failed.
 */
int	am_run(const struct am_run_opts *, struct am_run_stats *);

/*
 * am_run_report_email - ReportEmail, or postmaster@AuthservID, into
 * out; am_run_receiver - its domain
 */
void	am_run_report_email(const struct am_config *, char *out, size_t len);
const char *am_run_receiver(const char *email);

#endif /* AM_REPORT_RUN_H */
