/*
 * setters.c - the setters of config.c's key table (setters.h), one per
 * kind of value: numbers, yes/no, actions, sockets, names, files, lists,
 * addresses; the keys of a feature with its own file (config/local.c,
 * arc/arc_trust.h, config/signing.c) are handed on to it.
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

/* field - address of a key's field in cfg */
static void *
field(const struct key *k, struct am_config *cfg)
{
	return (char *)cfg + k->off;
}

/* nomem - the ENOMEM problem text */
static int
nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	return -1;
}

/* replace_str - swap a string field for a copy of val */
static int
replace_str(char **dst, const char *val, char *err, size_t errlen)
{
	char	*s;

	if ((s = strdup(val)) == NULL)
		return nomem(err, errlen);
	free(*dst);
	*dst = s;
	return 0;
}

/* parse_uint - strict decimal in [min, max]; 0 or -1 */
static int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

/* resolve - a relative file name taken relative to dir (if any) */
static const char *
resolve(const char *dir, const char *name, char *buf, size_t buflen)
{
	const char	*p = name;

	if (name[0] == '/' || dir == NULL)
		return name;
	if (p[0] == '.' && p[1] == '/')
		p += 2;
	if ((size_t)snprintf(buf, buflen, "%s/%s", dir, p) >= buflen)
		return name;
	return buf;
}

/* set_uint - number in [k->min, k->max] */
int
am_cfg_set_uint(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	unsigned long	 v;

	if (parse_uint(val, k->min, k->max, &v) == -1) {
		snprintf(err, errlen, "\"%s\" is not a number from %u to %u",
		    val, k->min, k->max);
		return -1;
	}
	*(unsigned int *)field(k, cfg) = (unsigned int)v;
	return 0;
}

/* set_bool - yes/no, true/false, on/off, 1/0 */
int
am_cfg_set_bool(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(val, yes[i]) == 0) {
			*(int *)field(k, cfg) = 1;
			return 0;
		}
		if (strcasecmp(val, no[i]) == 0) {
			*(int *)field(k, cfg) = 0;
			return 0;
		}
	}
	snprintf(err, errlen, "\"%s\" is not yes or no", val);
	return -1;
}

/* set_action - accept or tempfail */
int
am_cfg_set_action(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	enum am_action	*a = field(k, cfg);

	if (strcasecmp(val, "accept") == 0)
		*a = AM_ACT_ACCEPT;
	else if (strcasecmp(val, "tempfail") == 0)
		*a = AM_ACT_TEMPFAIL;
	else {
		snprintf(err, errlen, "\"%s\" is not accept or tempfail", val);
		return -1;
	}
	return 0;
}

/* set_from_action - accept, quarantine or reject (OnMalformedFrom, ...) */
int
am_cfg_set_from_action(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	enum am_action	*a = field(k, cfg);

	if (strcasecmp(val, "accept") == 0)
		*a = AM_ACT_ACCEPT;
	else if (strcasecmp(val, "quarantine") == 0)
		*a = AM_ACT_QUARANTINE;
	else if (strcasecmp(val, "reject") == 0)
		*a = AM_ACT_REJECT;
	else {
		snprintf(err, errlen, "\"%s\" is not accept, quarantine or "
		    "reject", val);
		return -1;
	}
	return 0;
}

/* set_facility - syslog facility name */
int
am_cfg_set_facility(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	int	 f;

	if ((f = am_log_facility_parse(val)) == -1) {
		snprintf(err, errlen, "\"%s\" is not one of mail, daemon, "
		    "user, local0 .. local7", val);
		return -1;
	}
	*(int *)field(k, cfg) = f;
	return 0;
}

/* set_loglevel - err, warning, info or debug */
int
am_cfg_set_loglevel(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	int	 l;

	if ((l = am_log_level_parse(val)) == -1) {
		snprintf(err, errlen, "\"%s\" is not one of err, warning, "
		    "info, debug", val);
		return -1;
	}
	*(int *)field(k, cfg) = l;
	return 0;
}

/*
 * set_logdest - LogDestination: syslog, stderr or file:/abs/path (log.h).
 * Unset, it follows Syslog: yes is syslog, no is stderr.
 */
int
am_cfg_set_logdest(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*path;
	int		 d;

	(void)k;
	(void)dir;
	if ((d = am_log_dest_parse(val, &path)) == -1) {
		snprintf(err, errlen, "\"%s\" is not syslog, stderr or "
		    "file:/absolute/path", val);
		return -1;
	}
	cfg->log_dest = d;
	if (path == NULL) {
		free(cfg->log_file);
		cfg->log_file = NULL;
		return 0;
	}
	return replace_str(&cfg->log_file, path, err, errlen);
}

/* set_logformat - LogFormat: text or json */
int
am_cfg_set_logformat(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	(void)k;
	(void)dir;
	if (strcasecmp(val, "text") == 0)
		cfg->log_json = 0;
	else if (strcasecmp(val, "json") == 0)
		cfg->log_json = 1;
	else {
		snprintf(err, errlen, "\"%s\" is not text or json", val);
		return -1;
	}
	return 0;
}

/* set_engine - MilterEngine: builtin or libmilter (server/engine.h) */
int
am_cfg_set_engine(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	if (strcasecmp(val, "builtin") == 0)
		*(int *)field(k, cfg) = AM_CONFIG_ENGINE_BUILTIN;
	else if (strcasecmp(val, "libmilter") == 0)
		*(int *)field(k, cfg) = AM_CONFIG_ENGINE_LIBMILTER;
	else {
		snprintf(err, errlen, "\"%s\" is not one of builtin, "
		    "libmilter", val);
		return -1;
	}
	return 0;
}

/* check_socket - the milter socket syntax (libmilter's); NULL or a problem */
static const char *
check_socket(const char *s)
{
	struct am_sockspec	 ss;

	return am_sockspec_parse(s, &ss);
}

/* set_socket - validated libmilter socket specification */
int
am_cfg_set_socket(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*why;

	if ((why = check_socket(val)) != NULL) {
		snprintf(err, errlen, "\"%s\": %s", val, why);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/* is_token - RFC 2045 token (RFC 8601 authserv-id): no SP, CTL, tspecial */
static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
		if (strchr("()<>@,;:\\\"/[]?=", *s) != NULL)
			return 0;
	}
	return 1;
}

/* set_authserv - RFC 8601 section 2.5 authserv-id, here always a token */
int
am_cfg_set_authserv(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	if (strlen(val) > AUTHSERV_MAX || !is_token(val)) {
		snprintf(err, errlen, "\"%s\" is not a valid authserv-id "
		    "(a host name or a token without spaces, ';' or quotes)",
		    val);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/* check_nameserver - "ip" or "ip@port"; NULL or a problem */
static const char *
check_nameserver(const char *s)
{
	char		 ip[INET6_ADDRSTRLEN];
	unsigned char	 addr[16];
	const char	*at = strrchr(s, '@');
	size_t		 len = at != NULL ? (size_t)(at - s) : strlen(s);
	unsigned long	 port;

	if (len == 0 || len >= sizeof(ip))
		return "bad address";
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1)
		return "bad address";
	if (at != NULL && parse_uint(at + 1, 1, 65535, &port) == -1)
		return "bad port (1 to 65535)";
	return NULL;
}

/* am_cfg_free_strv - free n strings and the array (setters.h) */
void
am_cfg_free_strv(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}

/* next_item - copy the next comma-separated item, trimmed; NULL at end */
static const char *
next_item(const char *p, char *buf, size_t buflen)
{
	const char	*end;
	size_t		 len;

	if (*p == '\0')
		return NULL;
	end = p + strcspn(p, ",");
	while (p < end && isspace((unsigned char)*p))
		p++;
	len = (size_t)(end - p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	if (len >= buflen)
		len = buflen - 1;	/* truncated: fails the address check */
	memcpy(buf, p, len);
	buf[len] = '\0';
	return *end == ',' ? end + 1 : end;
}

/* set_nameservers - comma list of "ip" or "ip@port" */
int
am_cfg_set_nameservers(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	char		 item[INET6_ADDRSTRLEN + 8], **v = NULL, **nv;
	const char	*p = val, *why;
	size_t		 n = 0;

	while ((p = next_item(p, item, sizeof(item))) != NULL) {
		why = *item == '\0' ? "empty entry" : check_nameserver(item);
		if (why != NULL) {
			snprintf(err, errlen, "\"%s\": %s", item, why);
			am_cfg_free_strv(v, n);
			return -1;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL ||
		    (nv[n] = strdup(item)) == NULL) {
			am_cfg_free_strv(nv != NULL ? nv : v, n);
			return nomem(err, errlen);
		}
		v = nv;
		n++;
	}
	am_cfg_free_strv(cfg->nameservers, cfg->nnameservers);
	cfg->nameservers = v;
	cfg->nnameservers = n;
	return 0;
}

/* set_ignore - CIDR list, or a file of them when val starts "/" or "./" */
int
am_cfg_set_ignore(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	struct am_netlist	*nl;
	char			 buf[PATH_LEN];
	int			 rc;

	if ((nl = am_netlist_new()) == NULL)
		return nomem(err, errlen);
	if (val[0] == '/' || (val[0] == '.' && val[1] == '/'))
		rc = am_netlist_add_file(nl,
		    resolve(dir, val, buf, sizeof(buf)), err, errlen);
	else
		rc = am_netlist_add_list(nl, val, err, errlen);
	if (rc == -1) {
		am_netlist_free(nl);
		return -1;
	}
	am_netlist_free(*(struct am_netlist **)field(k, cfg));
	*(struct am_netlist **)field(k, cfg) = nl;
	return 0;
}

/*
 * set_file - a file name, relative ones taken relative to the config
 * file's folder; OpenDKIM's "refile:" and "file:" prefixes are accepted
 * (our SigningTable always takes wildcards: signtable.h)
 */
int
am_cfg_set_file(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	char	 buf[PATH_LEN];

	if (strncmp(val, "refile:", 7) == 0)
		val += 7;
	else if (strncmp(val, "file:", 5) == 0)
		val += 5;
	if (*val == '\0' || strlen(val) >= PATH_LEN) {
		snprintf(err, errlen, "\"%s\" is not a file name", val);
		return -1;
	}
	return replace_str(field(k, cfg), resolve(dir, val, buf, sizeof(buf)),
	    err, errlen);
}

/* set_dnsname - a domain or selector: letters, digits, '-', '_', '.' */
int
am_cfg_set_dnsname(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*p;

	for (p = val; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			break;
	if (*p != '\0' || *val == '.' || strlen(val) > 253) {
		snprintf(err, errlen, "\"%s\" is not a DNS name", val);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/* set_reject - SMTP reply text: printable ASCII only */
int
am_cfg_set_reject(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f) {
			snprintf(err, errlen, "control or non-ASCII character "
			    "0x%02x at offset %zu", *p,
			    (size_t)(p - (const unsigned char *)val));
			return -1;
		}
	}
	return replace_str(&cfg->reject_string, val, err, errlen);
}

/* set_text - printable ASCII text (ReportOrgName) */
int
am_cfg_set_text(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f) {
			snprintf(err, errlen, "control or non-ASCII character "
			    "0x%02x at offset %zu", *p,
			    (size_t)(p - (const unsigned char *)val));
			return -1;
		}
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/*
 * set_email - local@domain, printable ASCII without spaces, quotes or
 * angle brackets, not starting with '-': it goes on sendmail's command
 * line (-f) and into From: as it is (ReportEmail, FailureReportsSentBy)
 */
int
am_cfg_set_email(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*at = strrchr(val, '@'), *p;

	for (p = val; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>(),;:\\[]", *p))
			break;
	if (*p != '\0' || at == NULL || at == val || at[1] == '\0' ||
	    val[0] == '-' || strchr(val, '@') != at || strlen(val) > 254) {
		snprintf(err, errlen, "\"%s\" is not a mail address "
		    "(local@domain)", val);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/* set_psl - load the Public Suffix List file */
int
am_cfg_set_psl(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	struct am_psl	*psl;
	char		 buf[PATH_LEN];
	const char	*path = resolve(dir, val, buf, sizeof(buf));

	if ((psl = am_psl_load(path, err, errlen)) == NULL)
		return -1;
	if (replace_str(&cfg->psl_path, path, err, errlen) == -1) {
		am_psl_free(psl);
		return -1;
	}
	am_psl_free(cfg->psl);
	cfg->psl = psl;
	return 0;
}

/* set_sealers - ARCTrustedSealers: domains, or file:PATH (arc_trust.h) */
int
am_cfg_set_sealers(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	struct am_arc_sealers	*l;

	(void)k;
	if ((l = am_arc_sealers_load(val, dir, err, errlen)) == NULL)
		return -1;
	am_arc_sealers_free(cfg->arc_sealers);
	cfg->arc_sealers = l;
	return 0;
}

/* set_userid - "user" or "user:group"; both must exist now */
int
am_cfg_set_userid(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		 buf[16384], *user, *group;

	if ((user = strdup(val)) == NULL)
		return nomem(err, errlen);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if (*user == '\0' || (group != NULL && *group == '\0')) {
		snprintf(err, errlen, "\"%s\": expected user or user:group", val);
		goto fail;
	}
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL) {
		snprintf(err, errlen, "no such user \"%s\"", user);
		goto fail;
	}
	if (group != NULL && (getgrnam_r(group, &gr, buf, sizeof(buf),
	    &grp) != 0 || grp == NULL)) {
		snprintf(err, errlen, "no such group \"%s\"", group);
		goto fail;
	}
	if (replace_str(&cfg->user, user, err, errlen) == -1 ||
	    (group != NULL &&
	    replace_str(&cfg->group, group, err, errlen) == -1))
		goto fail;
	free(user);
	return 0;
fail:
	free(user);
	return -1;
}

/* set_umask - octal 0 .. 0777 */
int
am_cfg_set_umask(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	unsigned long	 v = 0;
	const char	*p;

	for (p = val; *p >= '0' && *p <= '7' && v <= 0777; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (*val == '\0' || *p != '\0' || v > 0777) {
		snprintf(err, errlen, "\"%s\" is not an octal mode from 000 "
		    "to 777", val);
		return -1;
	}
	cfg->umask = (unsigned int)v;
	cfg->umask_set = 1;
	return 0;
}

/* set_path - an absolute file name */
int
am_cfg_set_path(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	if (val[0] != '/' || strlen(val) >= PATH_LEN) {
		snprintf(err, errlen, "\"%s\" is not an absolute path", val);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/*
 * check_metrics - inet:port[@ipv4] or inet6:port[@ipv6]; NULL or a
 * problem.  No host: loopback (sockspec.h says why).
 */
static const char *
check_metrics(const char *val)
{
	struct am_sockspec	 ss;
	const char		*why = am_sockspec_parse(val, &ss);

	if (ss.kind != AM_SOCKSPEC_INET && ss.kind != AM_SOCKSPEC_INET6)
		return "expected inet:port@address or inet6:port@address";
	if (why != NULL)
		return why;
	if (ss.host[0] != '\0' && !ss.host_is_addr)
		return "the host must be an address";
	return NULL;
}

/* set_metrics - where the metrics HTTP server listens */
int
am_cfg_set_metrics(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*why;

	if ((why = check_metrics(val)) != NULL) {
		snprintf(err, errlen, "\"%s\": %s", val, why);
		return -1;
	}
	return replace_str(&cfg->metrics_socket, val, err, errlen);
}

/*
 * set_history - HistoryDB: "none", an absolute path or sqlite:/path, or a
 * postgresql:// (postgres://) URI; db.h's am_db_spec_kind is the one that
 * decides at open, this catches the typos at load.
 */
int
am_cfg_set_history(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*p = val;

	if (strncmp(p, "sqlite:", 7) == 0)
		p += 7;
	if (strlen(val) >= 1024 || !(strcasecmp(val, "none") == 0 ||
	    (p[0] == '/' && p[strlen(p) - 1] != '/') ||
	    strncmp(val, "postgresql://", 13) == 0 ||
	    strncmp(val, "postgres://", 11) == 0)) {
		snprintf(err, errlen, "\"%.80s\" is not none, an absolute path, "
		    "sqlite:/path or a postgresql:// URI", val);
		return -1;
	}
	return replace_str(&cfg->history_db, val, err, errlen);
}

/* set_local - the local policy keys (config/local.c, issue 14) */
int
am_cfg_set_local(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	return am_config_local_set(k->name, cfg, dir, val, err, errlen);
}

