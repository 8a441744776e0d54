/*
 * summary.h - authmilter-report --summary: what the history store holds,
 * per policy domain, for a postmaster to read at a glance: messages,
 * DMARC pass/fail, aligned DKIM and SPF, dispositions, the top failing
 * source IPs; then the reports of the period by state and the report
 * addresses that failed or are suppressed.  A table, or JSON.
 *
 * Not thread-safe (a db handle is one thread's).
 */
#ifndef AM_REPORT_SUMMARY_H
#define AM_REPORT_SUMMARY_H

#include <stdio.h>

struct am_db;

#define AM_SUMMARY_TOP		3	/* failing sources shown per domain */
#define AM_SUMMARY_DOMAINS_MAX	1000	/* domains shown; the rest counted */

/*
 * am_summary - the summary of messages with t >= since (label: how the
 * period was given, e.g. "7d").  0, or -1 with the store's error.
 */
int	am_summary(struct am_db *db, long long since, const char *label,
	    int json, FILE *out);

/*
 * am_summary_text - s for a terminal: bytes outside printable ASCII
 * become '?' (a From domain is the sender's to choose)
 */
void	am_summary_text(const char *s, char *out, size_t len);

/* am_summary_json - s as a JSON string (RFC 8259 7), quotes included */
void	am_summary_json(FILE *out, const char *s);

#endif /* AM_REPORT_SUMMARY_H */
