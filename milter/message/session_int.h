/*
 * session_int.h - what session.c shares with finish.c: the DNS budget
 * phases of a message and the function that runs a check under one.
 * Not for use outside milter/message/.
 */
#ifndef AM_SESSION_INT_H
#define AM_SESSION_INT_H

#include "dns/dns.h"
#include "message/session.h"

/* one DNS budget phase of a message; the limits are in session.h */
struct am_msg_phase {
	unsigned int	 secs;
	unsigned int	 lookups;
};

extern const struct am_msg_phase am_msg_phase_spf;	/* at MAIL */
extern const struct am_msg_phase am_msg_phase_dkim;	/* EOH, EOM */
extern const struct am_msg_phase am_msg_phase_dmarc;
extern const struct am_msg_phase am_msg_phase_arc;

/*
 * am_msg_budgeted - check(m, b) under a fresh budget of phase ph (m->dnsb,
 * armed now); what it ran out of is noted on m (dns_over) and returned
 * (AM_DNS_BUDGET_* bits), a local failure becomes m's internal error
 */
int	am_msg_budgeted(struct am_msg *m, const struct am_msg_phase *ph,
	    void (*check)(struct am_msg *, struct am_dns_budget *));

/*
 * am_msg_local_dns - a local resource failure that budget b met (issue
 * 15: a full socket table, not the DNS) becomes m's internal error
 */
void	am_msg_local_dns(struct am_msg *m, const struct am_dns_budget *b);

#endif /* AM_SESSION_INT_H */
