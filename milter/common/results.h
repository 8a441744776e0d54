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

/*
 * RFC 9990 PolicyOverrideType: why the policy enforced is not the one the
 * record asks for (issue 14 sets it, issue 13's history records it).
 */
enum am_override {
	AM_OVR_NONE = 0,
	AM_OVR_LOCAL_POLICY,		/* DomainPolicy, TrustedDKIMDomains, TrustedSenders */
	AM_OVR_MAILING_LIST,		/* MailingListAction */
	AM_OVR_TRUSTED_FORWARDER,	/* ARCTrustedSealers */
	AM_OVR_POLICY_TEST_MODE,	/* t=y (set by whoever records it; policy.c
					   applies t=y itself) */
	AM_OVR_OTHER
};

/*
 * The record that applied, as published (RFC 9990 policy_published; issue
 * 13's history records it).  fo, rua and ruf are the raw tag values;
 * a rua or ruf longer than AM_DMARC_URIS_MAX - 1 is kept up to its last
 * whole URI that fits (README "Limits"): never a cut address.
 */
#define AM_DMARC_URIS_MAX	512
#define AM_DMARC_FO_MAX		32

struct am_dmarc_published {
	char	 p[12], sp[12], np[12];	/* "none" .. "reject"; "" if absent or bad */
	char	 adkim, aspf;		/* 'r' | 's' (default 'r') */
	char	 psd;			/* 'y' | 'n' | 'u' */
	char	 fo[AM_DMARC_FO_MAX];
	char	 rua[AM_DMARC_URIS_MAX];
	char	 ruf[AM_DMARC_URIS_MAX];
	char	 discovery[12];		/* "treewalk" (RFC 9989) | "psl" (RFC 7489) */
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
	/*
	 * A local override of the enforcement (issue 14), decided before
	 * policy.c runs: the result stays what DMARC found, but policy.c
	 * enforces override_policy instead of policy (and neither t=y nor
	 * pct softens it further).  override_by says who or what, for the
	 * log ("sealer lists.example.org", "DomainPolicy").
	 */
	enum am_override	 override;
	enum am_dmarc_policy	 override_policy;
	int			 adkim_strict;	/* the record's adkim=s, aspf=s: */
	int			 aspf_strict;	/* alignment of ARC AAR passes */
	char			 override_by[AM_REASON_MAX];
	struct am_dmarc_published pub;	/* set with policy_domain */
};

/*
 * ARC (RFC 8617), filled by arc/ (issue 14).  The newest AM_ARC_KEEP sets
 * are kept for the trusted-sealer decision, newest first; a deeper chain is
 * still verified but its older sets cannot be the ones trusted.
 */
enum am_arc_result {
	AM_ARC_NONE = 0,		/* no ARC sets */
	AM_ARC_PASS,
	AM_ARC_FAIL
};

#define AM_ARC_KEEP		8
#define AM_ARC_AAR_PASS_MAX	512

struct am_arc_hop {
	unsigned int	 instance;			/* i= */
	char		 sealer[AM_DOMAIN_MAX + 1];	/* the ARC-Seal's d= */
	/* what this hop's ARC-Authentication-Results says passed, as
	   "method:domain" words separated by one space: "dmarc:<header.from>",
	   "dkim:<header.d>", "spf:<smtp.mailfrom domain>" */
	char		 aar_pass[AM_ARC_AAR_PASS_MAX];
};

struct am_arc_res {
	enum am_arc_result	 result;
	unsigned int		 nsets;		/* ARC sets found (0..) */
	unsigned int		 oldest_pass;	/* header.oldest-pass, 0 if unknown */
	char			 remote_ip[46];	/* smtp.remote-ip of the AAR at i=1 */
	char			 reason[AM_REASON_MAX];
	size_t			 nhops;		/* <= AM_ARC_KEEP */
	struct am_arc_hop	 hop[AM_ARC_KEEP];	/* newest first */
};

/* iprev (RFC 8601 3), filled by the iprev check (issue 14) */
enum am_iprev_result {
	AM_IPREV_NONE = 0,		/* not checked */
	AM_IPREV_PASS,
	AM_IPREV_FAIL,
	AM_IPREV_TEMPERROR,
	AM_IPREV_PERMERROR
};

struct am_iprev_res {
	enum am_iprev_result	 result;
	char			 name[AM_DOMAIN_MAX + 1];	/* the confirmed name, if any */
	char			 reason[AM_REASON_MAX];
	char			 addr[46];	/* the client address checked (policy.iprev) */
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
	struct am_arc_res	 arc;
	struct am_iprev_res	 iprev;
};

const char	*am_spf_result_str(enum am_spf_result);
const char	*am_dkim_result_str(enum am_dkim_result);
const char	*am_dmarc_result_str(enum am_dmarc_result);
const char	*am_dmarc_policy_str(enum am_dmarc_policy);	/* "none", ... "" for UNSPEC */
const char	*am_action_str(enum am_action);			/* "accept", ... */
const char	*am_override_str(enum am_override);	/* RFC 9990 name, "" for NONE */
const char	*am_iprev_result_str(enum am_iprev_result);	/* RFC 8601 3 keyword */

#endif /* AM_RESULTS_H */
