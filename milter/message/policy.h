/*
 * policy.h - from facts, results, the sticky error and the policy knobs
 * to one verdict: accept, quarantine, reject or tempfail, with the SMTP
 * text.
 *
 * Pure: same inputs, same verdict; no I/O, no clock, no randomness (the
 * RFC 7489 pct sample is drawn by the caller and passed in the facts).
 * It does not read the config: the session fills struct am_policy_conf
 * from the connection's snapshot.
 */
#ifndef AM_POLICY_H
#define AM_POLICY_H

#include <stddef.h>

#include "common/results.h"

/* the first internal failure of a message (OpenSMTPD's tx->error) */
enum am_err {
	AM_ERR_NONE = 0,
	AM_ERR_RESOURCE,	/* out of memory, a limit of ours */
	AM_ERR_MILTER,		/* a reply or header edit failed */
	AM_ERR_LIBRARY,		/* libspf2/libopendkim/... failed internally */
	AM_ERR_INTERNAL		/* state we did not expect */
};

/*
 * The message's From fields (RFC 5322 3.6: exactly one From, a
 * mailbox-list).  Unusable: some From value is no mailbox-list we can take
 * author domains from (rfc5322.h am_rfc5322_from_domains), or there are
 * more From fields or addresses than we keep (session.h AM_FROM_HDRS_MAX,
 * rfc5322.h AM_FROM_ADDRS_MAX).
 */
enum am_from_state {
	AM_FROM_OK = 0,
	AM_FROM_MISSING,	/* no From field at all: OnMissingFrom */
	AM_FROM_UNUSABLE	/* OnMalformedFrom */
};

/* what we know about the client and message besides the check results */
struct am_facts {
	int	trusted_net;	/* client address in IgnoreHosts */
	int	authenticated;	/* SMTP AUTH ({auth_authen}) and IgnoreAuthenticatedClients */
	int	pct_sample;	/* 0..99, drawn once per message (RFC 7489 pct) */
	enum am_from_state from;	/* set at end of message */
};

/* the configuration policy reads; every pointer borrowed for the call */
struct am_policy_conf {
	int		 reject_failures;	/* RejectFailures */
	int		 hold_quarantined;	/* HoldQuarantinedMessages */
	const char	*reject_string;		/* RejectString; NULL: our default */
	enum am_action	 on_temperror;		/* OnTempError: accept|tempfail */
	enum am_action	 on_internal_error;	/* OnInternalError: accept|tempfail */
	enum am_action	 on_malformed_from;	/* OnMalformedFrom: accept|quarantine|reject */
	enum am_action	 on_missing_from;	/* OnMissingFrom: accept|quarantine|reject */
	int		 reject_spf_fail;	/* RejectSPFFail (issue 14) */
};

struct am_verdict {
	enum am_action	 action;
	const char	*why;		/* static text for the log: "dmarc fail, p=reject" */
	char		 code[4];	/* "550", "451"; empty for accept/quarantine */
	char		 xcode[8];	/* "5.7.26", "4.7.0" */
	char		 text[256];	/* reply text; RejectString expanded; for a
					   quarantine its reason, or empty for
					   DMARC's */
};

/* f and r are not read when err is set (no message state to read) */
void	am_policy_decide(const struct am_policy_conf *, const struct am_facts *,
	    const struct am_results *, enum am_err, struct am_verdict *);

/* is the client exempt from checks (and why; static text or NULL)? */
const char *am_policy_exempt(const struct am_facts *);

/*
 * Expand a RejectString template: "%{domain}" becomes domain, "%%" a '%';
 * anything else is copied.  Characters that would break an SMTP reply (CR,
 * LF, other controls) are dropped.  Always NUL-terminates; truncates to fit.
 */
void	am_policy_expand(const char *tmpl, const char *domain, char *out, size_t outlen);

const char *am_err_str(enum am_err);

#endif /* AM_POLICY_H */
