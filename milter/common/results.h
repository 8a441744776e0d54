/*
 * results.h - the per-message verdicts every check module fills in.
 *
 * Plain values, no pointers: a struct am_results can be copied, zeroed and
 * compared.  spf.c fills spf_helo/spf_mailfrom, dkim.c fills dkim[],
 * dmarc.c fills dmarc; authres.c and policy.c only read them.
 * Result names follow the RFC 8601 registry (section 2.7).
 */
#ifndef AM_RESULTS_H
#define AM_RESULTS_H

#include <stddef.h>

#define AM_DOMAIN_MAX		253	/* RFC 1035 2.3.4, without the final dot */
#define AM_ADDR_MAX		320	/* local-part 64 + @ + domain 255 */
#define AM_REASON_MAX		160	/* human text for log and A-R comments */
#define AM_SELECTOR_MAX		63
#define AM_DKIM_SIGS_MAX	32	/* hard cap; config MaximumSignaturesToVerify <= this */
#define AM_BPREFIX_LEN		8	/* header.b prefix (RFC 6008) */
#define AM_DMARC_FO_MAX		16	/* a record's fo= kept ("0:1:d:s" is 7) */
#define AM_DMARC_URITAG_MAX	1024	/* a record's rua=/ruf= kept; a longer one is
					   cut at the comma before (record.h) */

/* RFC 7208 section 2.6 */
enum am_spf_result {
	AM_SPF_NONE = 0,
	AM_SPF_NEUTRAL,
	AM_SPF_PASS,
	AM_SPF_FAIL,
	AM_SPF_SOFTFAIL,
	AM_SPF_TEMPERROR,
	AM_SPF_PERMERROR
};

struct am_spf_check {
	int			 checked;	/* 0: identity not checked */
	enum am_spf_result	 result;
	char			 identity[AM_ADDR_MAX + 1]; /* mailfrom address or helo name */
	char			 domain[AM_DOMAIN_MAX + 1];  /* domain the check ran for */
	char			 reason[AM_REASON_MAX];	    /* comment for log and A-R */
	char			 explanation[AM_REASON_MAX]; /* RFC 7208 6.2, fail only */
};

/* RFC 8601 section 2.7.1 */
enum am_dkim_result {
	AM_DKIM_NONE = 0,
	AM_DKIM_PASS,
	AM_DKIM_FAIL,
	AM_DKIM_NEUTRAL,
	AM_DKIM_POLICY,
	AM_DKIM_TEMPERROR,
	AM_DKIM_PERMERROR
};

struct am_dkim_sig {
	enum am_dkim_result	 result;
	char			 domain[AM_DOMAIN_MAX + 1];	/* d= */
	char			 selector[AM_SELECTOR_MAX + 1];	/* s= */
	char			 algorithm[32];			/* a= */
	char			 bprefix[AM_BPREFIX_LEN + 1];	/* first chars of b= */
	unsigned int		 keybits;			/* 0 if unknown */
	char			 reason[AM_REASON_MAX];
};

/* RFC 9989 / RFC 7489 results */
enum am_dmarc_result {
	AM_DMARC_NONE = 0,
	AM_DMARC_PASS,
	AM_DMARC_FAIL,
	AM_DMARC_TEMPERROR,
	AM_DMARC_PERMERROR
};

enum am_dmarc_policy {
	AM_DMARC_P_UNSPEC = 0,		/* no record, or not evaluated */
	AM_DMARC_P_NONE,
	AM_DMARC_P_QUARANTINE,
	AM_DMARC_P_REJECT
};

struct am_dmarc_res {
	enum am_dmarc_result	 result;
	enum am_dmarc_policy	 policy;	/* the one that applies: p, sp or np */
	enum am_dmarc_policy	 p;		/* the record's p= (for the A-R comment) */
	char			 policy_tag[4];	/* "p", "sp" or "np": which tag applied */
	int			 testing;	/* t=y (RFC 9989) */
	int			 pct;		/* RFC 7489 pct=, 100 in RFC 9989 mode */
	int			 spf_aligned;
	int			 dkim_aligned;
	char			 from_domain[AM_DOMAIN_MAX + 1];   /* header.from */
	char			 policy_domain[AM_DOMAIN_MAX + 1]; /* where the record was */
	char			 org_domain[AM_DOMAIN_MAX + 1];
	char			 reason[AM_REASON_MAX];
	/* the applied record's report tags (issue 13), "" if absent */
	char			 psd;		/* 'y', 'n', 'u'; 0: no record */
	char			 fo[AM_DMARC_FO_MAX + 1];
	char			 rua[AM_DMARC_URITAG_MAX + 1];
	char			 ruf[AM_DMARC_URITAG_MAX + 1];
};

/* what happens to the message: the MTA's choices for a milter */
enum am_action {
	AM_ACT_ACCEPT = 0,	/* deliver (with our A-R header) */
	AM_ACT_QUARANTINE,	/* deliver into the MTA's hold queue */
	AM_ACT_REJECT,		/* 5xx */
	AM_ACT_TEMPFAIL		/* 4xx */
};

struct am_results {
	struct am_spf_check	 spf_helo;
	struct am_spf_check	 spf_mailfrom;
	size_t			 ndkim;
	struct am_dkim_sig	 dkim[AM_DKIM_SIGS_MAX];
	struct am_dmarc_res	 dmarc;
};

const char	*am_spf_result_str(enum am_spf_result);
const char	*am_dkim_result_str(enum am_dkim_result);
const char	*am_dmarc_result_str(enum am_dmarc_result);
const char	*am_dmarc_policy_str(enum am_dmarc_policy);	/* "none", ... "" for UNSPEC */
const char	*am_action_str(enum am_action);			/* "accept", ... */

#endif /* AM_RESULTS_H */
