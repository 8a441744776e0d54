/*
 * trace.h - LogLevel debug: each check's outcome for one message, so a
 * postmaster can answer "why was this rejected?" from the log alone.
 * The DNS questions and answers are dns/dns_log.c's lines, the DMARC
 * discovery walk dmarc.c's; these say what each check made of them.
 * Every line carries the message's queue id.  Below debug each call
 * costs one load (common/log.h am_log_enabled).
 */
#ifndef AM_TRACE_H
#define AM_TRACE_H

struct am_msg;

void	am_trace_spf(const struct am_msg *);	/* after the SPF phase */
void	am_trace_dkim(const struct am_msg *);	/* after DKIM at EOM */
void	am_trace_dmarc(const struct am_msg *);	/* after DMARC */
void	am_trace_iprev(const struct am_msg *);	/* after iprev (issue 14) */
void	am_trace_local(const struct am_msg *, int rule);	/* local.h's rule, 0: none */

#endif /* AM_TRACE_H */
