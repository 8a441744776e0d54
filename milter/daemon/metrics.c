/*
 * metrics.c - counters and their Prometheus/OpenMetrics text.
 *
 * Counters live in file-scope arrays indexed by the result enums, each
 * updated with one relaxed atomic add.  Metric names:
 *   authmilter_messages_total{action}
 *   authmilter_spf_results_total{identity="helo"|"mailfrom",result}
 *   authmilter_dkim_results_total{result}       one per signature
 *   authmilter_dmarc_results_total{result}
 *   authmilter_dmarc_overrides_total{reason}   RFC 9990 override type
 *   authmilter_iprev_results_total{result}     RFC 8601 3 (issue 14)
 *   authmilter_exempt_messages_total
 *   authmilter_eom_seconds (histogram)
 *   authmilter_dns_lookups_total, authmilter_dns_timeouts_total
 *   authmilter_reloads_total{result="ok"|"failed"}
 *   authmilter_build_info{version}
 */
#include <stdint.h>

#include "amconfig.h"
#include "dns/dns.h"
#include "history/history.h"
#include "daemon/metrics.h"
#include "daemon/freport_q.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define NSPF		(AM_SPF_PERMERROR + 1)
#define NDKIM		(AM_DKIM_PERMERROR + 1)
#define NDMARC		(AM_DMARC_PERMERROR + 1)
#define NACTION		(AM_ACT_TEMPFAIL + 1)
#define NOVR		(AM_OVR_OTHER + 1)
#define NIPREV		(AM_IPREV_PERMERROR + 1)

static const double	 bounds[] = AM_METRICS_BUCKETS;

/* process-wide state: see daemon/daemon.h */
static unsigned long	 n_action[NACTION];
static unsigned long	 n_spf[2][NSPF];		/* [0] helo, [1] mailfrom */
static unsigned long	 n_dkim[NDKIM];
static unsigned long	 n_dmarc[NDMARC];
static unsigned long	 n_override[NOVR];		/* [AM_OVR_NONE] unused */
static unsigned long	 n_iprev[NIPREV];		/* [AM_IPREV_NONE] unused */
static unsigned long	 n_exempt;
static unsigned long	 n_bucket[nitems(bounds) + 1];	/* not cumulative */
static uint64_t		 eom_usec_sum;
static unsigned long	 n_reload[2];			/* [0] failed, [1] ok */
static struct am_dns	*metrics_dns;
static struct am_history *metrics_history;

/* inc - one relaxed atomic add */
static void
inc(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* get - one relaxed atomic load */
static unsigned long
get(const unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* observe - one latency into the histogram */
static void
observe(double secs)
{
	size_t	 i;

	if (secs < 0)
		secs = 0;
	for (i = 0; i < nitems(bounds) && secs > bounds[i]; i++)
		continue;
	inc(&n_bucket[i]);
	__atomic_add_fetch(&eom_usec_sum, (uint64_t)(secs * 1e6),
	    __ATOMIC_RELAXED);
}

/* am_metrics_message - count one finished message */
void
am_metrics_message(const struct am_results *r, int exempt, enum am_action act,
    double eom_seconds)
{
	size_t	 i;

	if ((unsigned int)act < NACTION)
		inc(&n_action[act]);
	observe(eom_seconds);
	if (exempt) {
		inc(&n_exempt);
		return;
	}
	if (r->spf_helo.checked && (unsigned int)r->spf_helo.result < NSPF)
		inc(&n_spf[0][r->spf_helo.result]);
	if (r->spf_mailfrom.checked &&
	    (unsigned int)r->spf_mailfrom.result < NSPF)
		inc(&n_spf[1][r->spf_mailfrom.result]);
	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX; i++)
		if ((unsigned int)r->dkim[i].result < NDKIM)
			inc(&n_dkim[r->dkim[i].result]);
	if ((unsigned int)r->dmarc.result < NDMARC)
		inc(&n_dmarc[r->dmarc.result]);
	if (r->dmarc.override != AM_OVR_NONE &&
	    (unsigned int)r->dmarc.override < NOVR)
		inc(&n_override[r->dmarc.override]);
	if (r->iprev.result != AM_IPREV_NONE &&
	    (unsigned int)r->iprev.result < NIPREV)
		inc(&n_iprev[r->iprev.result]);
}

/* am_metrics_reload - count one reload */
void
am_metrics_reload(int ok)
{
	inc(&n_reload[ok ? 1 : 0]);
}

/* am_metrics_set_history - whose history queue to show */
void
am_metrics_set_history(struct am_history *h)
{
	metrics_history = h;
}

/* am_metrics_set_dns - whose DNS counters to show */
void
am_metrics_set_dns(struct am_dns *dns)
{
	metrics_dns = dns;
}

/* head - HELP and TYPE lines */
static void
head(struct am_buf *b, const char *name, const char *type, const char *help)
{
	am_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* render_results - the per-method counters */
static void
render_results(struct am_buf *b)
{
	size_t	 i;

	head(b, "authmilter_spf_results", "counter",
	    "SPF results by identity and result.");
	for (i = 0; i < NSPF; i++) {
		am_buf_addf(b, "authmilter_spf_results_total{identity=\"helo\","
		    "result=\"%s\"} %lu\n", am_spf_result_str(i),
		    get(&n_spf[0][i]));
		am_buf_addf(b, "authmilter_spf_results_total{identity="
		    "\"mailfrom\",result=\"%s\"} %lu\n", am_spf_result_str(i),
		    get(&n_spf[1][i]));
	}
	head(b, "authmilter_dkim_results", "counter",
	    "DKIM results, one per signature (none: unsigned message).");
	for (i = 0; i < NDKIM; i++)
		am_buf_addf(b, "authmilter_dkim_results_total{result=\"%s\"} "
		    "%lu\n", am_dkim_result_str(i), get(&n_dkim[i]));
	head(b, "authmilter_dmarc_results", "counter", "DMARC results.");
	for (i = 0; i < NDMARC; i++)
		am_buf_addf(b, "authmilter_dmarc_results_total{result=\"%s\"} "
		    "%lu\n", am_dmarc_result_str(i), get(&n_dmarc[i]));
}

/* render_latency - the end-of-message histogram (cumulative buckets) */
static void
render_latency(struct am_buf *b)
{
	unsigned long	 cum = 0;
	size_t		 i;

	head(b, "authmilter_eom_seconds", "histogram",
	    "End-of-message processing time.");
	for (i = 0; i < nitems(bounds); i++) {
		cum += get(&n_bucket[i]);
		am_buf_addf(b, "authmilter_eom_seconds_bucket{le=\"%g\"} %lu\n",
		    bounds[i], cum);
	}
	cum += get(&n_bucket[i]);
	am_buf_addf(b, "authmilter_eom_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	am_buf_addf(b, "authmilter_eom_seconds_sum %.6f\n",
	    (double)__atomic_load_n(&eom_usec_sum, __ATOMIC_RELAXED) / 1e6);
	am_buf_addf(b, "authmilter_eom_seconds_count %lu\n", cum);
}

/* render_freport - the failure reports (issue 13, daemon/freport_q.h) */
static void
render_freport(struct am_buf *b)
{
	struct am_freport_counts	 c;

	am_freport_counts(&c);
	head(b, "authmilter_failure_reports", "counter",
	    "DMARC failure reports (RFC 9991) by outcome.");
	am_buf_addf(b, "authmilter_failure_reports_total{result=\"sent\"} %lu\n"
	    "authmilter_failure_reports_total{result=\"failed\"} %lu\n"
	    "authmilter_failure_reports_total{result=\"suppressed\"} %lu\n"
	    "authmilter_failure_reports_total{result=\"dropped\"} %lu\n",
	    c.sent, c.failed, c.suppressed, c.dropped);
	head(b, "authmilter_failure_report_queue", "gauge",
	    "DMARC failure reports waiting to be sent.");
	am_buf_addf(b, "authmilter_failure_report_queue %zu\n", c.queued);
}

/* render_history - the DMARC history queue (history.h) */
static void
render_history(struct am_buf *b)
{
	struct am_history_stats	 st;

	am_history_stats(metrics_history, &st);	/* NULL: zeros */
	head(b, "authmilter_history_queue_depth", "gauge",
	    "History records waiting for the writer.");
	am_buf_addf(b, "authmilter_history_queue_depth %lu\n", st.depth);
	head(b, "authmilter_history_records", "counter",
	    "History records: written to the store, dropped (queue full, "
	    "left at stop), failed (given up after retries).");
	am_buf_addf(b, "authmilter_history_records_total{result=\"written\"} "
	    "%lu\n", st.written);
	am_buf_addf(b, "authmilter_history_records_total{result=\"dropped\"} "
	    "%lu\n", st.dropped);
	am_buf_addf(b, "authmilter_history_records_total{result=\"failed\"} "
	    "%lu\n", st.failed);
}

/* am_metrics_render - the exposition text */
void
am_metrics_render(struct am_buf *b)
{
	unsigned long	 q = 0, t = 0;
	size_t		 i;

	head(b, "authmilter_build_info", "gauge", "Version of authmilter.");
	am_buf_addf(b, "authmilter_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	head(b, "authmilter_messages", "counter", "Messages by action taken.");
	for (i = 0; i < NACTION; i++)
		am_buf_addf(b, "authmilter_messages_total{action=\"%s\"} %lu\n",
		    am_action_str(i), get(&n_action[i]));
	head(b, "authmilter_exempt_messages", "counter",
	    "Messages not checked (IgnoreHosts, authenticated clients).");
	am_buf_addf(b, "authmilter_exempt_messages_total %lu\n", get(&n_exempt));
	render_results(b);
	head(b, "authmilter_dmarc_overrides", "counter",
	    "DMARC failures whose enforcement a local rule changed, by reason.");
	for (i = AM_OVR_NONE + 1; i < NOVR; i++)
		am_buf_addf(b,
		    "authmilter_dmarc_overrides_total{reason=\"%s\"} %lu\n",
		    am_override_str(i), get(&n_override[i]));
	head(b, "authmilter_iprev_results", "counter",
	    "iprev results (RFC 8601 3), messages checked.");
	for (i = AM_IPREV_NONE + 1; i < NIPREV; i++)
		am_buf_addf(b, "authmilter_iprev_results_total{result=\"%s\"} "
		    "%lu\n", am_iprev_result_str(i), get(&n_iprev[i]));
	render_latency(b);
	if (metrics_dns != NULL)
		am_dns_stats(metrics_dns, &q, &t);
	head(b, "authmilter_dns_lookups", "counter", "DNS lookups started.");
	am_buf_addf(b, "authmilter_dns_lookups_total %lu\n", q);
	head(b, "authmilter_dns_timeouts", "counter", "DNS lookups timed out.");
	am_buf_addf(b, "authmilter_dns_timeouts_total %lu\n", t);
	head(b, "authmilter_reloads", "counter", "Configuration reloads.");
	am_buf_addf(b, "authmilter_reloads_total{result=\"ok\"} %lu\n",
	    get(&n_reload[1]));
	am_buf_addf(b, "authmilter_reloads_total{result=\"failed\"} %lu\n",
	    get(&n_reload[0]));
	render_history(b);
	render_freport(b);
	am_buf_adds(b, "# EOF\n");
}
