/*
 * config.c - the configuration's keys: one table (keys[]) lists every key
 * with its setter, the field it fills, its range and its default as text;
 * am_config_defaults runs the same setters on the default texts, so
 * defaults are checked like file values.  Also the snapshots' lifetime
 * (am_config_ref/unref).  Reading the file is load.c's, through keys.h.
 *
 * Relative file names (IgnoreHosts "./file", PublicSuffixList) are taken
 * relative to the directory of the config file, which the loader passes
 * to the setters.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "arc/arc_trust.h"
#include "config/config.h"
#include "config/setters.h"
#include "config/keys.h"
#include "config/local.h"
#include "common/log.h"
#include "common/netlist.h"
#include "dkim/sign.h"
#include "dmarc/psl.h"
#include "common/results.h"
#include "common/sockspec.h"

#define AUTHSERV_MAX	255
#define PATH_LEN	4096

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* the keys, in the order of conf/authmilter.conf */
#define F(field)	offsetof(struct am_config, field)

static const struct key keys[] = {
	{ "Socket", am_cfg_set_socket, F(socket), 0, 0, "inet:8895@127.0.0.1" },
	{ "AuthservID", am_cfg_set_authserv, F(authserv_id), 0, 0, NULL },
	{ "Nameservers", am_cfg_set_nameservers, 0, 0, 0, NULL },
	{ "DNSTimeout", am_cfg_set_uint, F(dns_timeout), 1, 60, "5" },
	{ "IgnoreHosts", am_cfg_set_ignore, F(ignore_hosts), 0, 0, "127.0.0.1, ::1" },
	{ "IgnoreAuthenticatedClients", am_cfg_set_bool, F(ignore_auth), 0, 0, "yes" },
	{ "RejectFailures", am_cfg_set_bool, F(reject_failures), 0, 0, "yes" },
	{ "HoldQuarantinedMessages", am_cfg_set_bool, F(hold_quarantined), 0, 0,
	    "no" },
	{ "RejectString", am_cfg_set_reject, 0, 0, 0,
	    "Rejected by DMARC policy for %{domain}" },
	{ "PublicSuffixList", am_cfg_set_psl, 0, 0, 0, NULL },
	{ "MinimumKeyBits", am_cfg_set_uint, F(min_key_bits), 512, 16384, "1024" },
	{ "MaximumSignaturesToVerify", am_cfg_set_uint, F(max_signatures), 1,
	    AM_DKIM_SIGS_MAX, "8" },
	{ "AddReceivedSPF", am_cfg_set_bool, F(add_received_spf), 0, 0, "no" },
	{ "OnTempError", am_cfg_set_action, F(on_temperror), 0, 0, "accept" },
	{ "OnInternalError", am_cfg_set_action, F(on_internal_error), 0, 0,
	    "tempfail" },
	{ "OnMalformedFrom", am_cfg_set_from_action, F(on_malformed_from), 0, 0,
	    "reject" },
	{ "OnMissingFrom", am_cfg_set_from_action, F(on_missing_from), 0, 0,
	    "reject" },
	{ "Syslog", am_cfg_set_bool, F(syslog), 0, 0, "yes" },
	{ "SyslogFacility", am_cfg_set_facility, F(syslog_facility), 0, 0, "mail" },
	{ "LogLevel", am_cfg_set_loglevel, F(log_level), 0, 0, "info" },
	{ "LogDestination", am_cfg_set_logdest, 0, 0, 0, NULL },
	{ "LogFormat", am_cfg_set_logformat, 0, 0, 0, "text" },
	{ "UserID", am_cfg_set_userid, 0, 0, 0, NULL },
	{ "UMask", am_cfg_set_umask, 0, 0, 0, NULL },
	{ "PidFile", am_cfg_set_path, F(pid_file), 0, 0, NULL },
	{ "MetricsSocket", am_cfg_set_metrics, 0, 0, 0, NULL },
	/* signing (issue 18): keys read and checked by config/signing.c */
	{ "InternalHosts", am_cfg_set_ignore, F(internal_hosts), 0, 0, NULL },
	{ "KeyTable", am_cfg_set_file, F(key_table), 0, 0, NULL },
	{ "SigningTable", am_cfg_set_file, F(signing_table), 0, 0, NULL },
	{ "Domain", am_cfg_set_dnsname, F(sign_domain), 0, 0, NULL },
	{ "Selector", am_cfg_set_dnsname, F(sign_selector), 0, 0, NULL },
	{ "KeyFile", am_cfg_set_file, F(key_file), 0, 0, NULL },
	{ "MilterEngine", am_cfg_set_engine, F(milter_engine), 0, 0, "builtin" },
	/* failure reports (issue 13): daemon/freport_q.c */
	{ "FailureReports", am_cfg_set_bool, F(failure_reports), 0, 0, "no" },
	{ "FailureReportsBody", am_cfg_set_bool, F(failure_reports_body), 0, 0, "no" },
	{ "FailureReportsSentBy", am_cfg_set_email, F(failure_reports_sent_by), 0, 0,
	    NULL },
	{ "FailureReportsCommand", am_cfg_set_path, F(failure_reports_command), 0, 0,
	    "/usr/sbin/sendmail" },
	{ "FailureReportsPerHour", am_cfg_set_uint, F(failure_reports_per_hour), 1,
	    1000000, "60" },
	{ "FailureReportsPerDomainPerHour", am_cfg_set_uint,
	    F(failure_reports_per_domain), 1, 1000000, "10" },
	/* at most AM_FREPORT_QUEUE_MAX (daemon/freport_q.h) */
	{ "FailureReportsQueueSize", am_cfg_set_uint, F(failure_reports_queue), 1,
	    1024, "64" },
	/* iprev and local policy (issue 14) */
	{ "IPRev", am_cfg_set_bool, F(iprev), 0, 0, "yes" },
	{ "TrustedDKIMDomains", am_cfg_set_local, 0, 0, 0, NULL },
	{ "TrustedSenders", am_cfg_set_local, 0, 0, 0, NULL },
	{ "DomainPolicy", am_cfg_set_local, 0, 0, 0, NULL },
	{ "MailingListAction", am_cfg_set_local, 0, 0, 0, "quarantine" },
	{ "RejectSPFFail", am_cfg_set_bool, F(reject_spf_fail), 0, 0, "no" },
	/* ARC (issue 14) */
	{ "ARCTrustedSealers", am_cfg_set_sealers, 0, 0, 0, NULL },
	/* the DMARC history (issue 13); 5000 is history.h's AM_HIST_QUEUE_DEFAULT */
	{ "HistoryDB", am_cfg_set_history, 0, 0, 0, "/var/lib/authmilter/history.db" },
	{ "HistoryDays", am_cfg_set_uint, F(history_days), 1, 3660, "14" },
	{ "HistoryQueueSize", am_cfg_set_uint, F(history_queue), 1, 1000000, "5000" },
	/* aggregate reports (issue 13): read by authmilter-report */
	{ "ReportOrgName", am_cfg_set_text, F(report_org_name), 0, 0, NULL },
	{ "ReportEmail", am_cfg_set_email, F(report_email), 0, 0, NULL },
	{ "ReportSendmail", am_cfg_set_path, F(report_sendmail), 0, 0,
	    "/usr/sbin/sendmail" },
	{ "ReportSuppress", am_cfg_set_file, F(report_suppress), 0, 0, NULL },
	{ "ReportMaxFailures", am_cfg_set_uint, F(report_max_failures), 1, 1000,
	    "5" },
};

#define NKEYS	nitems(keys)

/* am_config_nkeys - see keys.h */
size_t
am_config_nkeys(void)
{
	return NKEYS;
}

/* am_config_key_name - see keys.h */
const char *
am_config_key_name(size_t i)
{
	return keys[i].name;
}

/* am_config_key_find - see keys.h */
int
am_config_key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcasecmp(name, keys[i].name) == 0)
			return (int)i;
	return -1;
}

/* am_config_key_set - see keys.h */
int
am_config_key_set(size_t i, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	return keys[i].set(&keys[i], cfg, dir, val, err, errlen);
}

/* has_inner_dot - a dot between two labels: "mx." or ".lan" has none */
static int
has_inner_dot(const char *name)
{
	const char	*dot;

	if (name == NULL || name[0] == '.' || (dot = strchr(name, '.')) == NULL)
		return 0;
	return dot[1] != '\0' && dot[1] != '.';
}

/* am_config_fqdn_pick - see config.h */
const char *
am_config_fqdn_pick(const char *host, const char *canon)
{
	if (has_inner_dot(host))
		return host;
	if (has_inner_dot(canon))
		return canon;
	return NULL;
}

/* canonical_name - getaddrinfo's AI_CANONNAME of host into out ("" if none) */
static void
canonical_name(const char *host, char *out, size_t outlen)
{
	struct addrinfo	 hints, *res = NULL;

	out[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;	/* one answer per address */
	hints.ai_flags = AI_CANONNAME;
	if (host[0] == '\0' || getaddrinfo(host, NULL, &hints, &res) != 0)
		return;
	if (res != NULL && res->ai_canonname != NULL)
		snprintf(out, outlen, "%s", res->ai_canonname);
	freeaddrinfo(res);
}

/*
 * am_config_default_authserv - see keys.h.  The FQDN as Debian sets
 * Postfix's myhostname (hostname --fqdn) and Postfix keeps a dotted
 * gethostname() (mail_params.c): RFC 8601 section 2.5 wants a name that
 * identifies this host within the ADMD, and "mx;" does not.
 */
int
am_config_default_authserv(struct am_config *cfg, int warn)
{
	const struct key	*k = &keys[am_config_key_find("AuthservID")];
	char			 host[HOST_NAME_MAX + 1], canon[256];
	char			 err[AM_CONFIG_ERR_MAX];
	const char		*pick;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	canon[0] = '\0';
	if (!has_inner_dot(host))
		canonical_name(host, canon, sizeof(canon));
	if ((pick = am_config_fqdn_pick(host, canon)) == NULL) {
		pick = host;
		if (warn)
			am_log_warn(NULL, "AuthservID: host name \"%s\" is not "
			    "a domain name and getaddrinfo gives none; using it "
			    "as the authserv-id (set AuthservID to this "
			    "host's FQDN)", host);
	}
	if (am_cfg_set_authserv(k, cfg, NULL, pick, err, sizeof(err)) == 0 ||
	    am_cfg_set_authserv(k, cfg, NULL, host, err, sizeof(err)) == 0)
		return 0;
	return am_cfg_set_authserv(k, cfg, NULL, "localhost", err, sizeof(err));
}

/* am_config_base - see keys.h */
struct am_config *
am_config_base(void)
{
	struct am_config	*cfg;
	char			 err[AM_CONFIG_ERR_MAX];
	size_t			 i;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->refs = 1;
	cfg->log_dest = -1;		/* unset: Syslog decides */
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		if (keys[i].set(&keys[i], cfg, NULL, keys[i].def, err,
		    sizeof(err)) == -1) {
			am_config_unref(cfg);
			return NULL;
		}
	}
	return cfg;
}

/* am_config_defaults - a snapshot holding every default */
struct am_config *
am_config_defaults(void)
{
	struct am_config	*cfg;

	if ((cfg = am_config_base()) == NULL)
		return NULL;
	if (am_config_default_authserv(cfg, 0) == -1) {
		am_config_unref(cfg);
		return NULL;
	}
	return cfg;
}

/* am_config_ref - one more reference on a snapshot */
struct am_config *
am_config_ref(struct am_config *cfg)
{
	if (cfg != NULL)
		__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

/* am_config_unref - drop a reference; the last one frees the snapshot */
void
am_config_unref(struct am_config *cfg)
{
	if (cfg == NULL ||
	    __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(cfg->path);
	free(cfg->socket);
	free(cfg->authserv_id);
	am_cfg_free_strv(cfg->nameservers, cfg->nnameservers);
	am_netlist_free(cfg->ignore_hosts);
	free(cfg->reject_string);
	free(cfg->psl_path);
	am_psl_free(cfg->psl);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pid_file);
	free(cfg->metrics_socket);
	free(cfg->log_file);
	am_netlist_free(cfg->internal_hosts);
	free(cfg->key_table);
	free(cfg->signing_table);
	free(cfg->sign_domain);
	free(cfg->sign_selector);
	free(cfg->key_file);
	am_signconf_free(cfg->sign);
	free(cfg->failure_reports_sent_by);
	free(cfg->failure_reports_command);
	am_config_local_free(cfg);
	am_arc_sealers_free(cfg->arc_sealers);
	free(cfg->history_db);
	free(cfg->report_org_name);
	free(cfg->report_email);
	free(cfg->report_sendmail);
	free(cfg->report_suppress);
	free(cfg);
}
