/*
 * metrics.h - process counters for monitoring, and their text exposition
 * (Prometheus / OpenMetrics text format 0.0.4).
 *
 * Callers report events; nothing here decides anything.  Every counter is
 * a relaxed atomic, so any thread may report at any time for the price of
 * one atomic add; a scrape reads each counter once (no snapshot across
 * counters).  The HTTP server that serves the text is metrics_http.h.
 */
#ifndef AM_METRICS_H
#define AM_METRICS_H

#include "common/buf.h"
#include "config/config.h"
#include "common/results.h"

struct am_dns;

/* latency histogram bucket bounds, seconds (a +Inf bucket follows) */
#define AM_METRICS_BUCKETS	{ 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, \
				  0.25, 0.5, 1, 2.5, 5, 10 }

/*
 * One finished message: its results (ignored when exempt is set), the
 * action taken and the seconds end-of-message processing took.
 */
void	am_metrics_message(const struct am_results *, int exempt,
	    enum am_action, double eom_seconds);
/* whose history queue to show (once, before the metrics thread starts) */
struct am_history;
void	am_metrics_set_history(struct am_history *);
/* one reload: ok 1 (swapped in) or 0 (kept the old config) */
void	am_metrics_reload(int ok);

/* the DNS counters to show (borrowed until exit; NULL: none shown) */
void	am_metrics_set_dns(struct am_dns *);

/* the whole exposition into b; ends with "# EOF" */
void	am_metrics_render(struct am_buf *b);

#endif /* AM_METRICS_H */
