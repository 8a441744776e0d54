/*
 * freport_q.h - sending DMARC failure reports (RFC 9991) off the mail path.
 *
 * The end of a message (callbacks.c) calls am_freport_offer: when the
 * snapshot says FailureReports yes and the record's fo= asks for a report
 * (report/freport.h am_freport_decide), it copies what the report needs
 * (results, our A-R, the kept header fields and body, the config values)
 * into a job and puts it in a bounded queue, or drops it (counted) when
 * the rate limit says no or the queue is full.  It never blocks on DNS or
 * the MTA and never changes the verdict.
 *
 * One sender thread takes the jobs: for each ruf= address it applies the
 * external destination rule (report/dest.h, through the daemon's
 * resolver), composes the AFRF and pipes it to FailureReportsCommand
 * ("sendmail -oi -f <FailureReportsSentBy> <address>"), at most
 * AM_FREPORT_SEND_SECS per submission (then the child is killed).
 *
 * Process-wide state (listed in daemon.h): the queue, the rate limiter
 * and the counters, in freport.c.  Thread-safe.
 */
#ifndef AM_DAEMON_FREPORT_Q_H
#define AM_DAEMON_FREPORT_Q_H

#include <stddef.h>

#include "common/buf.h"
#include "message/session.h"

/*
 * Limits.  AM_FREPORT_QUEUE_MAX: reports waiting for the sender thread,
 * the most FailureReportsQueueSize (default 64) may say; one more than
 * that key allows is dropped and counted (a log line at most every
 * AM_FREPORT_DROP_LOG_SECS).  AM_FREPORT_SEND_SECS: one submission to the
 * MTA; a command still running then is killed and the report counted as
 * failed.  AM_FREPORT_STOP_SECS: at a clean stop the queue is flushed for
 * at most this long (plus one DNS timeout for a check under way); what is
 * left then is abandoned, counted as dropped and logged.
 */
#define AM_FREPORT_QUEUE_MAX		1024	/* config.c's range for the key */
#define AM_FREPORT_SEND_SECS		30
#define AM_FREPORT_STOP_SECS		3
#define AM_FREPORT_DROP_LOG_SECS	60

struct am_dns;
struct am_outcome;

/* start the sender thread with the daemon's resolver; 0, or -1 and err */
int	am_freport_start(struct am_dns *dns, char *err, size_t errlen);

/* flush the queue (bounded, see above) and join the thread; idempotent */
void	am_freport_stop(void);

/*
 * A finished message and its outcome (after the verdict was decided):
 * queue its failure report if one is due.  Takes the kept header fields
 * and body out of m (m stays valid).  Never blocks for long (one mutex).
 */
void	am_freport_offer(struct am_msg *m, const struct am_outcome *o);

/* the counters, for the metrics exposition (metrics.c) */
struct am_freport_counts {
	unsigned long	 sent;		/* the command exited 0 */
	unsigned long	 failed;	/* command failed or timed out, DNS temperror */
	unsigned long	 suppressed;	/* rate limit, destination not authorized */
	unsigned long	 dropped;	/* queue full, out of memory, abandoned at stop */
	size_t		 queued;	/* waiting now */
};
void	am_freport_counts(struct am_freport_counts *);

#endif /* AM_DAEMON_FREPORT_Q_H */
