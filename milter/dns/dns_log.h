/*
 * dns_log.h - what dns_query.c tells about each query it finished: the
 * debug line (LogLevel debug: name, type, outcome, the first TXT string)
 * and the budget's record of the last temporary failure (dns.h
 * am_dns_budget_temp).  Private to dns/.
 */
#ifndef AM_DNS_LOG_H
#define AM_DNS_LOG_H

#include "dns/dns.h"

struct ub_result;

/*
 * am_dns_note - one query ended with st; why: the cause of a TEMP
 * ("SERVFAIL", "timeout", static) or NULL; r the answer (OK) or NULL;
 * cached: answered from dns_cache.c.  b may be NULL (then nothing is
 * recorded and the line has no queue id).
 */
void	am_dns_note(struct am_dns_budget *b, const char *name, int rrtype,
	    enum am_dns_status st, const char *why, const struct ub_result *r,
	    int cached);

/* the text of a DNS rcode that is not NOERROR/NXDOMAIN: "SERVFAIL", ... */
const char	*am_dns_rcode_str(int rcode);

#endif /* AM_DNS_LOG_H */
