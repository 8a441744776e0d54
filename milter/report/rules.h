/*
 * rules.h - the decisions of authmilter-report that need no store and no
 * network: the reporting period, the ReportSuppress list, the back-off of
 * a failing destination, and "is this mail a report of ours".
 *
 * Pure functions (the time is passed in); a suppression list belongs to
 * its caller.
 */
#ifndef AM_REPORT_RULES_H
#define AM_REPORT_RULES_H

#include <stddef.h>

#define AM_RULES_DAY		86400LL

/*
 * Back-off of a destination after its n-th failed run in a row: the next
 * attempt is not before 2^(n-1) days later, less AM_RULES_SLACK so that a
 * daily timer with a random delay does not miss it by minutes; at most
 * AM_RULES_BACKOFF_MAX.
 */
#define AM_RULES_SLACK		3600LL
#define AM_RULES_BACKOFF_MAX	(16 * AM_RULES_DAY)

/*
 * A ReportSuppress file holds at most AM_RULES_SUPPRESS_MAX entries; the
 * rest are ignored and counted (->over), and the program says so.
 */
#define AM_RULES_SUPPRESS_MAX	10000

/*
 * am_rules_day - the UTC day holding t: *begin its first second, *end
 * its last (RFC 9990 2.1.1.4: "typically ... a single UTC day").
 */
void	am_rules_day(long long t, long long *begin, long long *end);

/*
 * am_rules_parse_day - "YYYY-MM-DD" into the first second of that UTC
 * day; 0, or -1 when it is not such a date.
 */
int	am_rules_parse_day(const char *s, long long *begin);

/*
 * am_rules_parse_since - "7d", "12h", "30m" or seconds ("3600") into
 * seconds; 0, or -1.
 */
int	am_rules_parse_since(const char *s, long long *secs);

/*
 * am_rules_backoff - after the n-th (>= 1) failed run in a row at time
 * now: when to try next, and whether the destination is now suppressed
 * for good (n >= max).
 */
void	am_rules_backoff(unsigned int n, unsigned int max, long long now,
	    long long *next_try, int *suppressed);

struct am_rules_suppress {
	char		**v;	/* lower-cased "user@domain" or "domain" */
	size_t		  n;
	size_t		  over;	/* entries past AM_RULES_SUPPRESS_MAX */
};

/*
 * am_rules_suppress_parse - the entries of a ReportSuppress file's text:
 * one per line, "#" to the end of a line is a comment, blanks around.
 * 0, or -1 (ENOMEM; *s then holds what was read).  Free with _free.
 */
int	am_rules_suppress_parse(const char *text, struct am_rules_suppress *s);
void	am_rules_suppress_free(struct am_rules_suppress *s);

/*
 * am_rules_suppressed - is addr ("user@domain") on the list: as an
 * address (case-insensitively), or through its domain or a parent domain
 * of it?
 */
int	am_rules_suppressed(const struct am_rules_suppress *s,
	    const char *addr);

/*
 * am_rules_domain_of - the domain of an address (after the last '@'),
 * or the whole string when it has none
 */
const char *am_rules_domain_of(const char *addr);

#endif /* AM_REPORT_RULES_H */
