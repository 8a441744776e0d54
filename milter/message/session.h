/*
 * session.h - per-connection (struct am_conn) and per-message (struct
 * am_msg) state, and the message pipeline that runs the checks.
 *
 * Knows nothing of the milter protocol: callbacks.c unpacks the engine's
 * arguments and calls these functions, so the whole pipeline can be driven
 * from a unit test.  The engine runs one connection's callbacks one at a
 * time, so an
 * am_conn and its am_msg need no locks.  Shared things are read-only (the
 * config snapshot) or internally thread-safe (am_dns, am_dkim_lib).
 *
 * Ownership: am_conn holds one reference on its config snapshot and owns
 * its am_msg; every string in them is a private copy.
 */
#ifndef AM_SESSION_H
#define AM_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "config/config.h"
#include "dkim/signtable.h"
#include "dmarc/dmarc.h"
#include "dns/dns.h"
#include "message/outcome.h"
#include "message/policy.h"
#include "common/results.h"
#include "message/rfc5322.h"
#include "report/freport.h"

/*
 * Input limits, enforced here.  Going over one is a result, never a crash,
 * a hang or unbounded growth (README "Limits" has the table):
 *
 * AM_HEADERS_MAX, AM_HEADER_VALUE_MAX, AM_HEADER_BYTES_MAX: past any of
 *	them DKIM verification of the message stops (dkim=permerror "not
 *	verified: ..."); From and A-R fields are still tracked, DMARC is
 *	still evaluated (so a spoof cannot escape p=reject by padding).
 * AM_FROM_HDRS_MAX: more From fields than this is dmarc=permerror (or
 *	fail, when a kept From domain fails).
 * AM_AUTHRES_FORGED_MAX: more A-R fields claiming our authserv-id than
 *	we can remove is an internal error (OnInternalError), never a
 *	delivery with a forged header left in.
 * AM_AUTHRES_MAX: our A-R value; DKIM entries that do not fit are left
 *	out of the header (they still count for DMARC and are logged).
 * AM_DNS_*: the DNS budget of each phase (dns.h am_dns_budget).  Postfix
 *	waits milter_command_timeout (30 s) for the command after MAIL, so
 *	SPF (run at MAIL, SMFIP_NR_MAIL) must finish well within 30 s; EOH
 *	and EOM fall under milter_content_timeout (300 s).  Worst case per
 *	message: 20 (SPF) + 30 (DKIM at EOH) + 30 (DKIM at EOM) + 60 (DMARC)
 *	= 140 s of DNS waiting.  SPF and DKIM over budget: the queries not
 *	asked are temperror, like a timeout.  DMARC over budget: an internal
 *	error "DNS budget exhausted" (OnInternalError), because a DMARC
 *	temperror under OnTempError=accept would let a message listing many
 *	slow From domains before a spoofed one escape that one's policy.
 */
#define AM_FROM_HDRS_MAX	8	/* From fields kept; more is a permerror */
/*
 * Log only (summary line): AM_MSGID_LOG_MAX characters of the Message-ID
 * are kept (a longer one ends in "..."); AM_FROM_LOG_MAX bytes of the
 * list of From domains (more domains: "...").
 */
#define AM_MSGID_LOG_MAX	200
#define AM_FROM_LOG_MAX		1024
#define AM_HEADER_VALUE_MAX	(128 * 1024)	/* one field (Postfix header_size_limit is 100 KB) */
#define AM_HEADER_BYTES_MAX	(1024 * 1024)	/* all header fields together */
#define AM_HEADERS_MAX		2000	/* header fields */
/* AM_AUTHRES_MAX, AM_AUTHRES_FORGED_MAX: outcome.h */

#define AM_DNS_SPF_SECS		20	/* SPF at MAIL: HELO + MAIL FROM */
#define AM_DNS_SPF_LOOKUPS	240	/* > RFC 7208 4.6.4 worst case for two identities */
#define AM_DNS_DKIM_SECS	30	/* key look-ups, at EOH and again at EOM */
#define AM_DNS_DKIM_LOOKUPS	(2 * AM_DKIM_SIGS_MAX)
#define AM_DNS_DMARC_SECS	60	/* policy discovery of every From domain */
#define AM_DNS_DMARC_LOOKUPS	(AM_FROM_ADDRS_MAX * (AM_DMARC_WALK_MAX + 3))
/* ARC keys at EOM (issue 14): the lookup cap is arc.h's AM_ARC_KEYS_MAX;
   over it or the deadline the chain is fail (ARC has no temperror) */
#define AM_DNS_ARC_SECS		20

struct am_dns;
struct am_dkim_lib;
struct am_dkim;
struct am_arc;
struct am_spf;
struct am_signer;
struct am_iprev;

/* the long-lived handles a connection borrows; owned by the daemon */
struct am_env {
	struct am_dns		*dns;
	struct am_dkim_lib	*dkim;
};

struct am_msg;

struct am_conn {
	const struct am_env	*env;
	struct am_config	*cfg;		/* one reference held */
	struct sockaddr_storage	 client;	/* AF_UNSPEC if none; v4-mapped as v4 */
	char			 client_ip[64];	/* printed, for log and Received-SPF;
						   "unknown" if none */
	char			*hostname;	/* MTA's reverse name for the client */
	char			*helo;
	int			 trusted_net;	/* client in IgnoreHosts */
	int			 internal_net;	/* client in InternalHosts: signed,
						   not verified (issue 18) */
	int			 hdr_space_lost;	/* the MTA drops one space after
						   a header's colon (no
						   SMFIP_HDR_LEADSPC): put back
						   by am_msg_header */
	struct am_spf		*spf;		/* made on first use */
	struct am_msg		*msg;		/* current message or NULL */
	unsigned long		 nmsgs;
};

struct am_msg {
	struct am_conn		*conn;
	char			 qid[64];	/* "NOQUEUE" until known */
	char			*mailfrom;	/* without <> */
	struct am_facts		 facts;
	const char		*exempt;	/* why the checks are skipped, or NULL */
	struct am_results	 res;
	struct am_dkim		*dkim;
	struct am_arc		*arc;		/* ARC chain (issue 14) */
	enum am_sign_mode	 sign_mode;	/* who is signed (signtable.h) */
	struct am_signer	*signer;	/* when sign_mode signs and keys exist */
	char			*from[AM_FROM_HDRS_MAX];	/* From field values */
	char			 from_list[AM_FROM_LOG_MAX];	/* distinct From domains,
							   "a.example,b.example" (log) */
	size_t			 nfrom_domains;	/* distinct From domains */
	char			*msgid;		/* first Message-ID, trimmed and
						   cut (AM_MSGID_LOG_MAX), or NULL */
	size_t			 nfrom;		/* From fields seen (may exceed the array) */
	int			 from_bad;	/* some From could not be kept or parsed */
	size_t			 nauthres;	/* A-R fields seen */
	size_t			*forged;	/* 1-based A-R indexes claiming our id */
	size_t			 nforged;
	size_t			 nheaders;
	size_t			 hdrbytes;	/* header names + values so far */
	const char		*limit;		/* first header limit hit, or NULL */
	struct am_iprev		*iprev;		/* iprev look-ups under way (issue 14) */
	int			 list_id;	/* a List-Id field was seen (local.h) */
	struct am_dns_budget	 dnsb;		/* this phase's DNS budget */
	int			 dns_over;	/* AM_DNS_BUDGET_* bits of any phase */
	enum am_err		 err;		/* first internal failure */
	char			 errwhy[128];
	struct am_overlap	*ov;		/* look-ups started early (overlap.h) */
	/* FailureReports (issue 13): the fields and body as received, kept
	   for the report (AM_FREPORT_HEADERS_MAX, AM_FREPORT_BODY_MAX) */
	struct am_buf		 frep_hdrs;
	struct am_buf		 frep_body;
	int			 frep_hdrs_cut;
	int			 frep_body_cut;
	/* the first RCPT's domain (history envelope_to, issue 13); set by
	   the daemon's RCPT callback, "" until then or for none */
	int			 rcpt_seen;
	char			 rcpt_domain[AM_DOMAIN_MAX + 1];
};

/* am_conn_new - NULL on ENOMEM; takes a new reference on cfg */
struct am_conn	*am_conn_new(const struct am_env *, struct am_config *cfg,
		    const char *hostname, const struct sockaddr *client);
void		 am_conn_free(struct am_conn *);	/* NULL is fine */
/* the client address (AF_INET or AF_INET6), or NULL; valid as long as c */
const struct sockaddr *am_conn_client(const struct am_conn *c);
int		 am_conn_helo(struct am_conn *, const char *helo);

/*
 * Start a message (frees any previous one).  mailfrom as given (with or
 * without <>; m->mailfrom keeps it without); auth_authen is the
 * {auth_authen} macro or NULL.  Runs the
 * SPF checks unless the client is exempt.  NULL on ENOMEM.
 */
struct am_msg	*am_msg_new(struct am_conn *, const char *mailfrom,
		    const char *auth_authen);
/* the same with the MTA's queue id (or NULL) known at MAIL: the SPF
 * debug lines carry it */
struct am_msg	*am_msg_begin(struct am_conn *, const char *qid,
		    const char *mailfrom, const char *auth_authen);
void		 am_msg_free(struct am_msg *);		/* also detaches from conn */
void		 am_msg_set_qid(struct am_msg *, const char *);
void		 am_msg_set_err(struct am_msg *, enum am_err, const char *why);

/*
 * One header field: value is everything after the colon as the message has
 * it (leading whitespace and CRLF/LF folds kept), or, when the
 * connection's hdr_space_lost is set, as an MTA without SMFIP_HDR_LEADSPC
 * sends it; the space it dropped is then put back the way
 * am_rfc5322_lost_space says (rfc5322.h lists the forms that are lost).
 */
void	am_msg_header(struct am_msg *, const char *name, const char *value);
void	am_msg_eoh(struct am_msg *);
void	am_msg_body(struct am_msg *, const unsigned char *, size_t);

/* end of message: DKIM results, From domains, DMARC.  Errors stick. */
void	am_msg_finish(struct am_msg *);

/*
 * am_msg_end - the one end of a message (eom.c): the last checks
 * (am_msg_finish), the verdict, our A-R, Received-SPF when configured, and
 * the header edits that go with the verdict, into *o (initialised here;
 * the caller calls am_outcome_clear).  An A-R that cannot be built for a
 * delivered message is an internal error, decided as such.  The engine
 * applies o's edits and replies with its verdict; the offline checker
 * prints them.
 */
void	am_msg_end(struct am_msg *, struct am_outcome *o);

/*
 * The MTA refused one of o's edits: AM_ERR_MILTER sticks to the message
 * and o's verdict is decided again (OnInternalError); o keeps no edits.
 */
void	am_msg_edits_failed(struct am_msg *, struct am_outcome *o);

/*
 * An internal error with no message state to stick it to (out of memory
 * at connect, a callback without its connection): the verdict
 * OnInternalError of cfg, the connection's snapshot, gives.  Initialises
 * *o; no edits.
 */
void	am_outcome_internal(const struct am_config *cfg, const char *why,
	    struct am_outcome *o);

/*
 * The pieces of am_msg_end, for tests: the verdict, and our A-R value
 * (into b, initialised by the caller).  am_msg_authres returns 0, or -1
 * if the header could not be built.
 */
void	am_msg_decide(const struct am_msg *, struct am_verdict *);
int	am_msg_authres(const struct am_msg *, const struct am_verdict *, struct am_buf *b);

/* one key=value summary line for the log */
void	am_msg_summary(const struct am_msg *, const struct am_verdict *, struct am_buf *b);

#endif /* AM_SESSION_H */
