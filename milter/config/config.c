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

struct key;

/* parse val into cfg; dir: config file's directory or NULL; 0 or -1 + err */
typedef int (*setter_fn)(const struct key *, struct am_config *,
    const char *dir, const char *val, char *err, size_t errlen);

struct key {
	const char	*name;
	setter_fn	 set;
	size_t		 off;		/* field, for the generic setters */
	unsigned int	 min, max;	/* for set_uint */
	const char	*def;		/* default text, or NULL */
};

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
static int
set_uint(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_bool(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_action(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_from_action(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_facility(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_loglevel(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_logdest(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_logformat(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_engine(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_socket(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_authserv(const struct key *k, struct am_config *cfg, const char *dir,
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

/* free_strv - free n strings and the array */
static void
free_strv(char **v, size_t n)
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
static int
set_nameservers(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	char		 item[INET6_ADDRSTRLEN + 8], **v = NULL, **nv;
	const char	*p = val, *why;
	size_t		 n = 0;

	while ((p = next_item(p, item, sizeof(item))) != NULL) {
		why = *item == '\0' ? "empty entry" : check_nameserver(item);
		if (why != NULL) {
			snprintf(err, errlen, "\"%s\": %s", item, why);
			free_strv(v, n);
			return -1;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL ||
		    (nv[n] = strdup(item)) == NULL) {
			free_strv(nv != NULL ? nv : v, n);
			return nomem(err, errlen);
		}
		v = nv;
		n++;
	}
	free_strv(cfg->nameservers, cfg->nnameservers);
	cfg->nameservers = v;
	cfg->nnameservers = n;
	return 0;
}

/* set_ignore - CIDR list, or a file of them when val starts "/" or "./" */
static int
set_ignore(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_file(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_dnsname(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_reject(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_text(const struct key *k, struct am_config *cfg, const char *dir,
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
 * line (-f) and into From: as it is (ReportEmail)
 */
static int
set_email(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_psl(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_sealers(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_userid(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_umask(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_path(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_metrics(const struct key *k, struct am_config *cfg, const char *dir,
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
 * set_address - a mail address for an envelope and a command line
 * (FailureReportsSentBy): printable ASCII without space, quotes or
 * angle brackets, one '@' with something on each side, no leading '-'
 */
static int
set_address(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	const char	*p, *at = strchr(val, '@');

	for (p = val; *p > ' ' && *p < 127 && strchr("\"<>()\\,;", *p) == NULL;
	    p++)
		;
	if (*p != '\0' || at == NULL || at == val || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || *val == '-' || strlen(val) > 254) {
		snprintf(err, errlen, "\"%s\" is not a mail address", val);
		return -1;
	}
	return replace_str(field(k, cfg), val, err, errlen);
}

/*
 * set_history - HistoryDB: "none", an absolute path or sqlite:/path, or a
 * postgresql:// (postgres://) URI; db.h's am_db_spec_kind is the one that
 * decides at open, this catches the typos at load.
 */
static int
set_history(const struct key *k, struct am_config *cfg, const char *dir,
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
static int
set_local(const struct key *k, struct am_config *cfg, const char *dir,
    const char *val, char *err, size_t errlen)
{
	return am_config_local_set(k->name, cfg, dir, val, err, errlen);
}

/* the keys, in the order of conf/authmilter.conf */
#define F(field)	offsetof(struct am_config, field)

static const struct key keys[] = {
	{ "Socket", set_socket, F(socket), 0, 0, "inet:8895@127.0.0.1" },
	{ "AuthservID", set_authserv, F(authserv_id), 0, 0, NULL },
	{ "Nameservers", set_nameservers, 0, 0, 0, NULL },
	{ "DNSTimeout", set_uint, F(dns_timeout), 1, 60, "5" },
	{ "IgnoreHosts", set_ignore, F(ignore_hosts), 0, 0, "127.0.0.1, ::1" },
	{ "IgnoreAuthenticatedClients", set_bool, F(ignore_auth), 0, 0, "yes" },
	{ "RejectFailures", set_bool, F(reject_failures), 0, 0, "yes" },
	{ "HoldQuarantinedMessages", set_bool, F(hold_quarantined), 0, 0,
	    "no" },
	{ "RejectString", set_reject, 0, 0, 0,
	    "Rejected by DMARC policy for %{domain}" },
	{ "PublicSuffixList", set_psl, 0, 0, 0, NULL },
	{ "MinimumKeyBits", set_uint, F(min_key_bits), 512, 16384, "1024" },
	{ "MaximumSignaturesToVerify", set_uint, F(max_signatures), 1,
	    AM_DKIM_SIGS_MAX, "8" },
	{ "AddReceivedSPF", set_bool, F(add_received_spf), 0, 0, "no" },
	{ "OnTempError", set_action, F(on_temperror), 0, 0, "accept" },
	{ "OnInternalError", set_action, F(on_internal_error), 0, 0,
	    "tempfail" },
	{ "OnMalformedFrom", set_from_action, F(on_malformed_from), 0, 0,
	    "reject" },
	{ "OnMissingFrom", set_from_action, F(on_missing_from), 0, 0,
	    "reject" },
	{ "Syslog", set_bool, F(syslog), 0, 0, "yes" },
	{ "SyslogFacility", set_facility, F(syslog_facility), 0, 0, "mail" },
	{ "LogLevel", set_loglevel, F(log_level), 0, 0, "info" },
	{ "LogDestination", set_logdest, 0, 0, 0, NULL },
	{ "LogFormat", set_logformat, 0, 0, 0, "text" },
	{ "UserID", set_userid, 0, 0, 0, NULL },
	{ "UMask", set_umask, 0, 0, 0, NULL },
	{ "PidFile", set_path, F(pid_file), 0, 0, NULL },
	{ "MetricsSocket", set_metrics, 0, 0, 0, NULL },
	/* signing (issue 18): keys read and checked by config/signing.c */
	{ "InternalHosts", set_ignore, F(internal_hosts), 0, 0, NULL },
	{ "KeyTable", set_file, F(key_table), 0, 0, NULL },
	{ "SigningTable", set_file, F(signing_table), 0, 0, NULL },
	{ "Domain", set_dnsname, F(sign_domain), 0, 0, NULL },
	{ "Selector", set_dnsname, F(sign_selector), 0, 0, NULL },
	{ "KeyFile", set_file, F(key_file), 0, 0, NULL },
	{ "MilterEngine", set_engine, F(milter_engine), 0, 0, "builtin" },
	/* failure reports (issue 13): daemon/freport_q.c */
	{ "FailureReports", set_bool, F(failure_reports), 0, 0, "no" },
	{ "FailureReportsBody", set_bool, F(failure_reports_body), 0, 0, "no" },
	{ "FailureReportsSentBy", set_address, F(failure_reports_sent_by), 0, 0,
	    NULL },
	{ "FailureReportsCommand", set_path, F(failure_reports_command), 0, 0,
	    "/usr/sbin/sendmail" },
	{ "FailureReportsPerHour", set_uint, F(failure_reports_per_hour), 1,
	    1000000, "60" },
	{ "FailureReportsPerDomainPerHour", set_uint,
	    F(failure_reports_per_domain), 1, 1000000, "10" },
	/* at most AM_FREPORT_QUEUE_MAX (daemon/freport_q.h) */
	{ "FailureReportsQueueSize", set_uint, F(failure_reports_queue), 1,
	    1024, "64" },
	/* iprev and local policy (issue 14) */
	{ "IPRev", set_bool, F(iprev), 0, 0, "yes" },
	{ "TrustedDKIMDomains", set_local, 0, 0, 0, NULL },
	{ "TrustedSenders", set_local, 0, 0, 0, NULL },
	{ "DomainPolicy", set_local, 0, 0, 0, NULL },
	{ "MailingListAction", set_local, 0, 0, 0, "quarantine" },
	{ "RejectSPFFail", set_bool, F(reject_spf_fail), 0, 0, "no" },
	/* ARC (issue 14) */
	{ "ARCTrustedSealers", set_sealers, 0, 0, 0, NULL },
	/* the DMARC history (issue 13); 5000 is history.h's AM_HIST_QUEUE_DEFAULT */
	{ "HistoryDB", set_history, 0, 0, 0, "/var/lib/authmilter/history.db" },
	{ "HistoryDays", set_uint, F(history_days), 1, 3660, "14" },
	{ "HistoryQueueSize", set_uint, F(history_queue), 1, 1000000, "5000" },
	/* aggregate reports (issue 13): read by authmilter-report */
	{ "ReportOrgName", set_text, F(report_org_name), 0, 0, NULL },
	{ "ReportEmail", set_email, F(report_email), 0, 0, NULL },
	{ "ReportSendmail", set_path, F(report_sendmail), 0, 0,
	    "/usr/sbin/sendmail" },
	{ "ReportSuppress", set_file, F(report_suppress), 0, 0, NULL },
	{ "ReportMaxFailures", set_uint, F(report_max_failures), 1, 1000,
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
	if (set_authserv(k, cfg, NULL, pick, err, sizeof(err)) == 0 ||
	    set_authserv(k, cfg, NULL, host, err, sizeof(err)) == 0)
		return 0;
	return set_authserv(k, cfg, NULL, "localhost", err, sizeof(err));
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
	free_strv(cfg->nameservers, cfg->nnameservers);
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
