/*
 * config.h - the configuration file: "Key value" lines, '#' comments.
 *
 * am_config_load parses a file into an immutable struct am_config (a
 * snapshot).  Every problem is reported, not just the first, as
 * "file:line: Key: problem" through the caller's error callback, and the
 * load fails if there was any.  A loaded snapshot is read-only: any number
 * of threads may read it.  Snapshots are reference-counted so a reload can
 * swap in a new one while connections finish on the old one (am_config_ref /
 * am_config_unref; the last unref frees it).
 */
#ifndef AM_CONFIG_H
#define AM_CONFIG_H

#include <stddef.h>

#include "common/results.h"

/*
 * Largest configuration file read (a bigger one is an error, "file: larger
 * than ... bytes").  Real ones are a few KB; 1 MiB stops a runaway file or
 * a device from being read into memory at every reload.
 */
#define AM_CONFIG_FILE_MAX	(1024 * 1024)

struct am_arc_sealers;
struct am_netlist;
struct am_psl;

/*
 * DomainPolicy (issue 14, config/local.c): what is enforced for one From
 * domain when DMARC fails.  The rules are sorted by domain (bsearch).
 */
struct am_domain_rule {
	char			*domain;	/* lower case, no final dot */
	enum am_dmarc_policy	 policy;	/* reject, quarantine or none */
	int			 dryrun;	/* evaluate and log; enforce none */
};
#define AM_DOMAIN_POLICY_FILE_MAX	(4 * 1024 * 1024)	/* DomainPolicy file */
struct am_signconf;

struct am_config {
	int		 refs;			/* atomic; see am_config_ref */
	char		*path;			/* file it came from */

	char		*socket;		/* Socket; libmilter syntax */
	char		*authserv_id;		/* AuthservID; default the FQDN */
	char	       **nameservers;		/* Nameservers: "ip" or "ip@port"; NULL = resolv.conf */
	size_t		 nnameservers;
	unsigned int	 dns_timeout;		/* DNSTimeout, seconds per query (default 5) */
	struct am_netlist *ignore_hosts;	/* IgnoreHosts (default 127.0.0.1, ::1) */
	int		 ignore_auth;		/* IgnoreAuthenticatedClients (default 1) */
	int		 reject_failures;	/* RejectFailures (default 1) */
	int		 hold_quarantined;	/* HoldQuarantinedMessages (default 0) */
	char		*reject_string;		/* RejectString; "%{domain}" = From domain */
	char		*psl_path;		/* PublicSuffixList; NULL = RFC 9989 tree walk */
	struct am_psl	*psl;			/* loaded list when psl_path is set */
	unsigned int	 min_key_bits;		/* MinimumKeyBits (default 1024) */
	unsigned int	 max_signatures;	/* MaximumSignaturesToVerify (default 8, <= AM_DKIM_SIGS_MAX) */
	int		 add_received_spf;	/* AddReceivedSPF (default 0) */
	enum am_action	 on_temperror;		/* OnTempError: accept|tempfail (default accept) */
	enum am_action	 on_internal_error;	/* OnInternalError: accept|tempfail (default tempfail) */
	enum am_action	 on_malformed_from;	/* OnMalformedFrom: accept|quarantine|reject (default reject) */
	enum am_action	 on_missing_from;	/* OnMissingFrom: accept|quarantine|reject (default reject) */
	int		 syslog;		/* Syslog (default 1) */
	int		 syslog_facility;	/* SyslogFacility (default LOG_MAIL) */
	int		 log_level;		/* LogLevel, enum am_log_level (default info) */
	int		 log_dest;		/* LogDestination, enum am_log_dest; -1: unset (Syslog decides) */
	char		*log_file;		/* LogDestination file:PATH; NULL otherwise */
	int		 log_json;		/* LogFormat json (default text) */

	/* process keys (read at start; a reload only warns when they change) */
	char		*user;			/* UserID user name; NULL = keep running as started */
	char		*group;			/* UserID ":group"; NULL = the user's login group */
	int		 umask_set;		/* UMask given */
	unsigned int	 umask;			/* UMask, 0 .. 0777 */
	char		*pid_file;		/* PidFile; NULL = none */
	char		*metrics_socket;	/* MetricsSocket inet:port@addr; NULL = off */

	/* signing (issue 18; dkim/sign.h) */
	struct am_netlist *internal_hosts;	/* InternalHosts; NULL = none */
	char		*key_table;		/* KeyTable file */
	char		*signing_table;		/* SigningTable file */
	char		*sign_domain;		/* Domain (with Selector, KeyFile) */
	char		*sign_selector;		/* Selector */
	char		*key_file;		/* KeyFile */
	struct am_signconf *sign;		/* the keys read; NULL = no signing */
	int		 milter_engine;		/* MilterEngine, AM_CONFIG_ENGINE_* (default builtin) */

	/* failure reports (issue 13; daemon/freport_q.h) */
	int		 failure_reports;	/* FailureReports (default 0) */
	int		 failure_reports_body;	/* FailureReportsBody (default 0) */
	char		*failure_reports_sent_by; /* FailureReportsSentBy; NULL = postmaster@AuthservID */
	char		*failure_reports_command; /* FailureReportsCommand (default /usr/sbin/sendmail) */
	unsigned int	 failure_reports_per_hour;	/* FailureReportsPerHour (default 60) */
	unsigned int	 failure_reports_per_domain;	/* FailureReportsPerDomainPerHour (default 10) */
	unsigned int	 failure_reports_queue;	/* FailureReportsQueueSize (default 64) */
	/* iprev and local policy (issue 14; config/local.c, message/local.h) */
	int		 iprev;			/* IPRev (default 1) */
	char	       **trusted_dkim;		/* TrustedDKIMDomains, lower case */
	size_t		 ntrusted_dkim;
	char	       **trusted_senders;	/* TrustedSenders: "user@domain" or "domain" */
	size_t		 ntrusted_senders;
	struct am_domain_rule *domain_rules;	/* DomainPolicy file, sorted */
	size_t		 ndomain_rules;
	enum am_dmarc_policy mlist_action;	/* MailingListAction (default quarantine) */
	int		 reject_spf_fail;	/* RejectSPFFail (default 0) */
	struct am_arc_sealers *arc_sealers;	/* ARCTrustedSealers; NULL = none (issue 14) */
	/* the DMARC history (issue 13; history/history.h, db/db.h) */
	char		*history_db;		/* HistoryDB: "none", a path, sqlite:, postgresql:// */
	unsigned int	 history_days;		/* HistoryDays (default 14; authmilter-report) */
	unsigned int	 history_queue;		/* HistoryQueueSize (default 5000) */
	/* aggregate reports, read by authmilter-report only (issue 13) */
	char		*report_org_name;	/* ReportOrgName; NULL: ReportEmail's domain */
	char		*report_email;		/* ReportEmail; NULL: postmaster@AuthservID */
	char		*report_sendmail;	/* ReportSendmail (default /usr/sbin/sendmail) */
	char		*report_suppress;	/* ReportSuppress file; NULL: none */
	unsigned int	 report_max_failures;	/* ReportMaxFailures (default 5) */
};

/* MilterEngine values (the same numbers as server/engine.h's enum am_engine_kind) */
#define AM_CONFIG_ENGINE_BUILTIN	0
#define AM_CONFIG_ENGINE_LIBMILTER	1

/* error callback: one call per problem, already formatted "file:line: ..." */
typedef void (*am_config_err_fn)(void *arg, const char *msg);

/*
 * Parse path.  Returns a new snapshot with refs == 1, or NULL after reporting
 * every problem through errfn (and NULL for an unreadable file, reported the
 * same way).  Allocation failure is reported as a problem too.
 */
struct am_config *am_config_load(const char *path, am_config_err_fn errfn, void *arg);

/*
 * A snapshot with every default, no file.  For tests and for am_config_load's
 * starting point.  NULL on ENOMEM.
 */
struct am_config *am_config_defaults(void);

/*
 * am_config_fqdn_pick - AuthservID's default from the host name
 * (gethostname) and its canonical name (getaddrinfo AI_CANONNAME, NULL or
 * "" if none): the host name if it is a domain name (has a dot between
 * labels), else the canonical name if that is one, else NULL (the caller
 * falls back to the host name and warns).  Pure; returns an argument.
 */
const char	*am_config_fqdn_pick(const char *host, const char *canon);

struct am_config *am_config_ref(struct am_config *);	/* returns its argument */
void		 am_config_unref(struct am_config *);	/* NULL is fine */

#endif /* AM_CONFIG_H */
