/*
 * check_config.c - unit tests for config.c and load.c: every key,
 * defaults, the shipped conf/authmilter.conf, and every error with its
 * "file:line".
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config/config.h"
#include "common/log.h"
#include "common/netlist.h"
#include "dmarc/psl.h"
#include "common/results.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define CONFDIR		TESTDATA "/config/"
#define SHIPPED		TESTDATA "/../../../conf/authmilter.conf"

/* the problems one load reported */
struct errs {
	size_t	 n;
	char	 msg[16][1024];
};

/* collect - am_config_err_fn that keeps the messages */
static void
collect(void *arg, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < nitems(e->msg))
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

/* load - am_config_load with collected errors */
static struct am_config *
load(const char *path, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return am_config_load(path, collect, e);
}

/* write_tmp - a config file "# pad\n\n<line>\n" (so the line is 3) */
static void
write_tmp(char *path, size_t pathlen, const char *line)
{
	FILE	*fp;
	int	 fd;

	snprintf(path, pathlen, "/tmp/check_config.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fprintf(fp, "# pad\n\n%s\n", line);
	ck_assert_int_eq(fclose(fp), 0);
}

/* load_line - load a temporary config holding one line at line 3 */
static struct am_config *
load_line(const char *line, struct errs *e, char *path, size_t pathlen)
{
	struct am_config	*cfg;

	write_tmp(path, pathlen, line);
	cfg = load(path, e);
	unlink(path);
	return cfg;
}

START_TEST(test_defaults)
{
	struct am_config	*cfg = am_config_defaults();
	char			 host[256];

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->refs, 1);
	ck_assert_ptr_null(cfg->path);
	ck_assert_str_eq(cfg->socket, "inet:8895@127.0.0.1");
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	/* a dotted host name as is; else its canonical name or itself */
	if (am_config_fqdn_pick(host, NULL) != NULL)
		ck_assert_str_eq(cfg->authserv_id, host);
	else
		ck_assert(strcmp(cfg->authserv_id, host) == 0 ||
		    am_config_fqdn_pick(cfg->authserv_id, NULL) != NULL);
	ck_assert_ptr_null(cfg->nameservers);
	ck_assert_uint_eq(cfg->nnameservers, 0);
	ck_assert_uint_eq(cfg->dns_timeout, 5);
	ck_assert_uint_eq(am_netlist_count(cfg->ignore_hosts), 2);
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "127.0.0.1"));
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "::1"));
	ck_assert(!am_netlist_match_str(cfg->ignore_hosts, "127.0.0.2"));
	ck_assert(!am_netlist_match_str(cfg->ignore_hosts, "192.0.2.1"));
	ck_assert_int_eq(cfg->ignore_auth, 1);
	ck_assert_int_eq(cfg->reject_failures, 1);
	ck_assert_int_eq(cfg->hold_quarantined, 0);
	ck_assert_str_eq(cfg->reject_string,
	    "Rejected by DMARC policy for %{domain}");
	ck_assert_ptr_null(cfg->psl_path);
	ck_assert_ptr_null(cfg->psl);
	ck_assert_uint_eq(cfg->min_key_bits, 1024);
	ck_assert_uint_eq(cfg->max_signatures, 8);
	ck_assert_int_eq(cfg->add_received_spf, 0);
	ck_assert_int_eq(cfg->on_temperror, AM_ACT_ACCEPT);
	ck_assert_int_eq(cfg->on_internal_error, AM_ACT_TEMPFAIL);
	ck_assert_int_eq(cfg->on_malformed_from, AM_ACT_REJECT);
	ck_assert_int_eq(cfg->on_missing_from, AM_ACT_REJECT);
	ck_assert_int_eq(cfg->syslog, 1);
	ck_assert_int_eq(cfg->syslog_facility, LOG_MAIL);
	ck_assert_int_eq(cfg->log_level, AM_LOG_INFO);
	am_config_unref(cfg);
}
END_TEST

START_TEST(test_good_file)
{
	struct errs		 e;
	struct am_config	*cfg = load(CONFDIR "good.conf", &e);
	char			 org[64];

	ck_assert_msg(cfg != NULL, "%zu errors, first: %s", e.n, e.msg[0]);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(cfg->path, CONFDIR "good.conf");
	ck_assert_str_eq(cfg->socket, "unix:/run/authmilter/authmilter.sock");
	ck_assert_str_eq(cfg->authserv_id, "mx.example.org");
	ck_assert_uint_eq(cfg->nnameservers, 3);
	ck_assert_str_eq(cfg->nameservers[0], "192.0.2.53");
	ck_assert_str_eq(cfg->nameservers[1], "2001:db8::53@5353");
	ck_assert_str_eq(cfg->nameservers[2], "127.0.0.1@53");
	ck_assert_uint_eq(cfg->dns_timeout, 12);
	/* the file replaced the default list: loopback is no longer in it */
	ck_assert_uint_eq(am_netlist_count(cfg->ignore_hosts), 4);
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "10.9.8.7"));
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "192.0.2.11"));
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "2001:db8:1:2::1"));
	ck_assert(!am_netlist_match_str(cfg->ignore_hosts, "127.0.0.1"));
	ck_assert_int_eq(cfg->ignore_auth, 0);
	ck_assert_int_eq(cfg->reject_failures, 0);
	ck_assert_int_eq(cfg->hold_quarantined, 1);
	/* quotes removed, '#' and inner trailing blanks kept */
	ck_assert_str_eq(cfg->reject_string, "Rejected: #DMARC %{domain}  ");
	ck_assert_str_eq(cfg->psl_path, CONFDIR "../psl/test.dat");
	ck_assert_ptr_nonnull(cfg->psl);
	ck_assert_int_eq(am_psl_org_domain(cfg->psl, "a.b.example.co.uk", org,
	    sizeof(org)), 0);
	ck_assert_str_eq(org, "example.co.uk");
	ck_assert_uint_eq(cfg->min_key_bits, 2048);
	ck_assert_uint_eq(cfg->max_signatures, AM_DKIM_SIGS_MAX);
	ck_assert_int_eq(cfg->add_received_spf, 1);
	ck_assert_int_eq(cfg->on_temperror, AM_ACT_TEMPFAIL);
	ck_assert_int_eq(cfg->on_internal_error, AM_ACT_ACCEPT);
	ck_assert_int_eq(cfg->on_malformed_from, AM_ACT_QUARANTINE);
	ck_assert_int_eq(cfg->on_missing_from, AM_ACT_ACCEPT);
	ck_assert_int_eq(cfg->syslog, 0);
	ck_assert_int_eq(cfg->syslog_facility, LOG_LOCAL5);
	ck_assert_int_eq(cfg->log_level, AM_LOG_DEBUG);
	am_config_unref(cfg);
}
END_TEST

START_TEST(test_shipped_file)
{
	struct errs		 e;
	struct am_config	*cfg = load(SHIPPED, &e);
	struct am_config	*def = am_config_defaults();

	ck_assert_msg(cfg != NULL, "%zu errors, first: %s", e.n, e.msg[0]);
	ck_assert_ptr_nonnull(def);
	ck_assert_str_eq(cfg->socket, "inet:8895@127.0.0.1");
	/* everything else is the default */
	ck_assert_str_eq(cfg->authserv_id, def->authserv_id);
	ck_assert_ptr_null(cfg->nameservers);
	ck_assert_uint_eq(cfg->dns_timeout, def->dns_timeout);
	ck_assert_uint_eq(am_netlist_count(cfg->ignore_hosts), 2);
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "::1"));
	ck_assert(am_netlist_match_str(cfg->ignore_hosts, "127.0.0.1"));
	ck_assert_int_eq(cfg->ignore_auth, def->ignore_auth);
	ck_assert_int_eq(cfg->reject_failures, def->reject_failures);
	ck_assert_int_eq(cfg->hold_quarantined, def->hold_quarantined);
	ck_assert_str_eq(cfg->reject_string, def->reject_string);
	ck_assert_ptr_null(cfg->psl);
	ck_assert_uint_eq(cfg->min_key_bits, def->min_key_bits);
	ck_assert_uint_eq(cfg->max_signatures, def->max_signatures);
	ck_assert_int_eq(cfg->add_received_spf, def->add_received_spf);
	ck_assert_int_eq(cfg->on_temperror, def->on_temperror);
	ck_assert_int_eq(cfg->on_internal_error, def->on_internal_error);
	ck_assert_int_eq(cfg->on_malformed_from, def->on_malformed_from);
	ck_assert_int_eq(cfg->on_missing_from, def->on_missing_from);
	ck_assert_int_eq(cfg->syslog, def->syslog);
	ck_assert_int_eq(cfg->syslog_facility, def->syslog_facility);
	ck_assert_int_eq(cfg->log_level, def->log_level);
	am_config_unref(def);
	am_config_unref(cfg);
}
END_TEST

/* bad-*.conf: each has exactly one problem, at a known line */
static const struct {
	const char	*file;
	unsigned int	 line;
	const char	*msg;
} bad_files[] = {
	{ "bad-socket-port.conf", 3,
	    "Socket: \"inet:99999@127.0.0.1\": bad port (1 to 65535)" },
	{ "bad-socket-path.conf", 2, "Socket: \"unix:var/run/authmilter.sock\": "
	    "socket path must be absolute" },
	{ "bad-socket-scheme.conf", 1, "Socket: \"tcp:8895\": expected "
	    "unix:/path, local:/path, inet:port@host or inet6:port@host" },
	{ "bad-socket-host.conf", 2,
	    "Socket: \"inet6:8895@[127.0.0.1]\": bad address" },
	{ "bad-authservid-space.conf", 3, "AuthservID: \"mx example.org\" is "
	    "not a valid authserv-id (a host name or a token without spaces, "
	    "';' or quotes)" },
	{ "bad-authservid-semicolon.conf", 1, "AuthservID: "
	    "\"mx.example.org;\" is not a valid authserv-id (a host name or a "
	    "token without spaces, ';' or quotes)" },
	{ "bad-nameservers.conf", 2, "Nameservers: \"192.0.2.300\": bad address" },
	{ "bad-nameservers-port.conf", 1,
	    "Nameservers: \"192.0.2.53@0\": bad port (1 to 65535)" },
	{ "bad-dnstimeout.conf", 1,
	    "DNSTimeout: \"61\" is not a number from 1 to 60" },
	{ "bad-ignorehosts.conf", 3,
	    "IgnoreHosts: \"192.0.2.0/33\": bad prefix length" },
	{ "bad-ignorehosts-missing.conf", 1, "IgnoreHosts: " CONFDIR
	    "no-such-hosts.txt: No such file or directory" },
	{ "bad-ignorehosts-file.conf", 2, "IgnoreHosts: " CONFDIR
	    "bad-hosts.txt:3: \"10.0.0.300\": bad address" },
	{ "bad-bool.conf", 1, "RejectFailures: \"maybe\" is not yes or no" },
	{ "bad-rejectstring.conf", 2, "RejectString: control or non-ASCII "
	    "character 0x09 at offset 8" },
	{ "bad-psl-missing.conf", 2, "PublicSuffixList: /nonexistent/"
	    "public_suffix_list.dat: No such file or directory" },
	{ "bad-minkeybits.conf", 1,
	    "MinimumKeyBits: \"256\" is not a number from 512 to 16384" },
	{ "bad-maxsigs.conf", 1, "MaximumSignaturesToVerify: \"33\" is not a "
	    "number from 1 to 32" },
	{ "bad-ontemperror.conf", 1,
	    "OnTempError: \"reject\" is not accept or tempfail" },
	{ "bad-onmalformedfrom.conf", 1, "OnMalformedFrom: \"tempfail\" is "
	    "not accept, quarantine or reject" },
	{ "bad-facility.conf", 1, "SyslogFacility: \"kern\" is not one of "
	    "mail, daemon, user, local0 .. local7" },
	{ "bad-loglevel.conf", 1,
	    "LogLevel: \"notice\" is not one of err, warning, info, debug" },
	{ "bad-duplicate.conf", 4, "Socket: given twice, first at line 2" },
	{ "bad-unknown-typo.conf", 1,
	    "Sockett: unknown key (did you mean Socket?)" },
	{ "bad-unknown.conf", 1, "Frobnicate: unknown key" },
	{ "bad-missing-value.conf", 1, "LogLevel: missing value" },
	{ "bad-quote.conf", 1, "RejectString: unbalanced double quote" },
};

START_TEST(test_bad_files)
{
	struct errs	 e;
	char		 path[512], want[1024];

	snprintf(path, sizeof(path), CONFDIR "%s", bad_files[_i].file);
	snprintf(want, sizeof(want), "%s:%u: %s", path, bad_files[_i].line,
	    bad_files[_i].msg);
	ck_assert_ptr_null(load(path, &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msg[0], want);
}
END_TEST

START_TEST(test_all_errors_reported)
{
	static const char *const want[] = {
	    CONFDIR "bad-multi.conf:2: DNSTimeout: \"0\" is not a number "
	    "from 1 to 60",
	    CONFDIR "bad-multi.conf:4: MinimumKeyBits: \"lots\" is not a "
	    "number from 512 to 16384",
	    CONFDIR "bad-multi.conf:5: Socket: given twice, first at line 3",
	    CONFDIR "bad-multi.conf:7: Frobnicate: unknown key",
	};
	struct errs	 e;
	size_t		 i;

	ck_assert_ptr_null(load(CONFDIR "bad-multi.conf", &e));
	ck_assert_uint_eq(e.n, nitems(want));
	for (i = 0; i < nitems(want); i++)
		ck_assert_str_eq(e.msg[i], want[i]);
}
END_TEST

START_TEST(test_missing_file)
{
	struct errs	 e;

	ck_assert_ptr_null(load(CONFDIR "no-such.conf", &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msg[0],
	    CONFDIR "no-such.conf: No such file or directory");
	/* a NULL callback is allowed */
	ck_assert_ptr_null(am_config_load(CONFDIR "no-such.conf", NULL, NULL));
}
END_TEST

/* the config file itself: a device is refused, not read forever */
START_TEST(test_device_file)
{
	struct errs	 e;

	ck_assert_ptr_null(load("/dev/zero", &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msg[0],
	    "/dev/zero: is a character device, not a regular file");
}
END_TEST

/* a FIFO as the config file, or named by IgnoreHosts: refused at once */
START_TEST(test_fifo)
{
	struct errs	 e;
	char		 dir[] = "/tmp/check_config.XXXXXX", fifo[64],
			 line[128], path[64], want[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_ptr_null(load(fifo, &e));
	snprintf(want, sizeof(want), "%s: is a FIFO, not a regular file", fifo);
	ck_assert_str_eq(e.msg[0], want);
	snprintf(line, sizeof(line), "IgnoreHosts %s", fifo);
	ck_assert_ptr_null(load_line(line, &e, path, sizeof(path)));
	ck_assert_uint_eq(e.n, 1);
	snprintf(want, sizeof(want), "%s:3: IgnoreHosts: %s: is a FIFO, not a "
	    "regular file", path, fifo);
	ck_assert_str_eq(e.msg[0], want);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

/* PublicSuffixList and IgnoreHosts naming a device: file:line of the key */
START_TEST(test_named_device)
{
	struct errs	 e;
	char		 path[64], want[256];

	ck_assert_ptr_null(load_line("PublicSuffixList /dev/zero", &e, path,
	    sizeof(path)));
	snprintf(want, sizeof(want), "%s:3: PublicSuffixList: /dev/zero: is a "
	    "character device, not a regular file", path);
	ck_assert_str_eq(e.msg[0], want);
	ck_assert_ptr_null(load_line("IgnoreHosts /dev/zero", &e, path,
	    sizeof(path)));
	snprintf(want, sizeof(want), "%s:3: IgnoreHosts: /dev/zero: is a "
	    "character device, not a regular file", path);
	ck_assert_str_eq(e.msg[0], want);
}
END_TEST

/* write_bytes - a temporary file holding len bytes of data */
static void
write_bytes(char *path, size_t pathlen, const char *data, size_t len)
{
	int	 fd;

	snprintf(path, pathlen, "/tmp/check_config.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* a NUL byte is an error at its line, not a shorter value or a lost line */
START_TEST(test_nul_byte)
{
	static const char	 text[] = "# pad\n"
	    "AuthservID mx.example\0 evil\n"
	    "# hidden\0\nRejectFailures maybe\n";
	struct errs		 e;
	char			 path[64], want[2][256];

	write_bytes(path, sizeof(path), text, sizeof(text) - 1);
	ck_assert_ptr_null(load(path, &e));
	unlink(path);
	snprintf(want[0], sizeof(want[0]), "%s:2: NUL byte", path);
	snprintf(want[1], sizeof(want[1]), "%s:3: NUL byte", path);
	ck_assert_uint_eq(e.n, 3);		/* and line 4's bad value */
	ck_assert_str_eq(e.msg[0], want[0]);
	ck_assert_str_eq(e.msg[1], want[1]);
}
END_TEST

/* a config file over AM_CONFIG_FILE_MAX is refused, one byte less is read */
START_TEST(test_too_large)
{
	struct am_config	*cfg;
	struct errs		 e;
	char			*text, path[64], want[256];

	ck_assert_ptr_nonnull(text = malloc(AM_CONFIG_FILE_MAX + 1));
	memset(text, '\n', AM_CONFIG_FILE_MAX + 1);
	write_bytes(path, sizeof(path), text, AM_CONFIG_FILE_MAX);
	ck_assert_ptr_nonnull(cfg = load(path, &e));
	am_config_unref(cfg);
	unlink(path);
	write_bytes(path, sizeof(path), text, AM_CONFIG_FILE_MAX + 1);
	ck_assert_ptr_null(load(path, &e));
	unlink(path);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", path,
	    AM_CONFIG_FILE_MAX);
	ck_assert_str_eq(e.msg[0], want);
	free(text);
}
END_TEST

/* one line per case, at line 3 of a temporary file; msg NULL = accepted */
static const struct {
	const char	*line;
	const char	*msg;
} line_cases[] = {
	{ "Socket unix:/run/a.sock", NULL },
	{ "Socket local:/run/a.sock", NULL },
	{ "Socket inet:8895", NULL },
	{ "Socket inet:25@localhost", NULL },
	{ "Socket INET:1@[192.0.2.1]", NULL },
	{ "Socket inet6:8895", NULL },
	{ "Socket inet6:8895@::1", NULL },
	{ "Socket inet6:65535@[2001:db8::1]", NULL },
	{ "Socket inet:0@127.0.0.1",
	    "Socket: \"inet:0@127.0.0.1\": bad port (1 to 65535)" },
	{ "Socket inet:@127.0.0.1",
	    "Socket: \"inet:@127.0.0.1\": bad port (1 to 65535)" },
	{ "Socket inet:88a5", "Socket: \"inet:88a5\": bad port (1 to 65535)" },
	{ "Socket inet:8895@", "Socket: \"inet:8895@\": bad host" },
	{ "Socket inet:8895@::1", "Socket: \"inet:8895@::1\": bad host" },
	{ "Socket inet:8895@bad_host", "Socket: \"inet:8895@bad_host\": bad host" },
	{ "Socket unix:", "Socket: \"unix:\": socket path must be absolute" },
	{ "Socket /run/a.sock", "Socket: \"/run/a.sock\": expected unix:/path, "
	    "local:/path, inet:port@host or inet6:port@host" },
	{ "AuthservID example.org", NULL },
	{ "AuthservID mx-1_a.example.org", NULL },
	{ "AuthservID \"mx.example.org\"", NULL },
	{ "AuthservID a\"b", "AuthservID: \"a\"b\" is not a valid authserv-id "
	    "(a host name or a token without spaces, ';' or quotes)" },
	{ "AuthservID a@b", "AuthservID: \"a@b\" is not a valid authserv-id "
	    "(a host name or a token without spaces, ';' or quotes)" },
	{ "Nameservers ::1", NULL },
	{ "Nameservers 192.0.2.1@65535,2001:db8::1", NULL },
	{ "Nameservers 192.0.2.1@65536",
	    "Nameservers: \"192.0.2.1@65536\": bad port (1 to 65535)" },
	{ "Nameservers 192.0.2.1@",
	    "Nameservers: \"192.0.2.1@\": bad port (1 to 65535)" },
	{ "Nameservers 192.0.2.1,,192.0.2.2", "Nameservers: \"\": empty entry" },
	{ "Nameservers ns.example.org",
	    "Nameservers: \"ns.example.org\": bad address" },
	{ "DNSTimeout 1", NULL },
	{ "DNSTimeout 60", NULL },
	{ "DNSTimeout 0", "DNSTimeout: \"0\" is not a number from 1 to 60" },
	{ "DNSTimeout -1", "DNSTimeout: \"-1\" is not a number from 1 to 60" },
	{ "DNSTimeout 5s", "DNSTimeout: \"5s\" is not a number from 1 to 60" },
	{ "DNSTimeout 99999999999999999999999", "DNSTimeout: "
	    "\"99999999999999999999999\" is not a number from 1 to 60" },
	{ "IgnoreHosts 10.0.0.0/8 192.168.0.0/16,::1/128", NULL },
	{ "IgnoreHosts example.org", "IgnoreHosts: \"example.org\": bad address" },
	{ "IgnoreAuthenticatedClients nope",
	    "IgnoreAuthenticatedClients: \"nope\" is not yes or no" },
	{ "HoldQuarantinedMessages 2",
	    "HoldQuarantinedMessages: \"2\" is not yes or no" },
	{ "AddReceivedSPF y", "AddReceivedSPF: \"y\" is not yes or no" },
	{ "Syslog", "Syslog: missing value" },
	{ "Syslog \"\"", "Syslog: missing value" },
	{ "RejectString 550 no # not a comment", NULL },
	{ "RejectString caf\xc3\xa9", "RejectString: control or non-ASCII "
	    "character 0xc3 at offset 3" },
	{ "MinimumKeyBits 512", NULL },
	{ "MinimumKeyBits 16384", NULL },
	{ "MinimumKeyBits 16385",
	    "MinimumKeyBits: \"16385\" is not a number from 512 to 16384" },
	{ "MaximumSignaturesToVerify 0", "MaximumSignaturesToVerify: \"0\" is "
	    "not a number from 1 to 32" },
	{ "OnInternalError quarantine",
	    "OnInternalError: \"quarantine\" is not accept or tempfail" },
	{ "SyslogFacility local0", NULL },
	{ "SyslogFacility local8", "SyslogFacility: \"local8\" is not one of "
	    "mail, daemon, user, local0 .. local7" },
	{ "LogLevel warning", NULL },
	{ "LogLevel err", NULL },
	{ "loglevel 3",
	    "LogLevel: \"3\" is not one of err, warning, info, debug" },
	{ "LogFormat json", NULL },
	{ "LogFormat xml", "LogFormat: \"xml\" is not text or json" },
	{ "LogDestination file:relative.log", "LogDestination: "
	    "\"file:relative.log\" is not syslog, stderr or file:/absolute/path" },
	{ "DNSTimout 5", "DNSTimout: unknown key (did you mean DNSTimeout?)" },
	{ "Log info", "Log: unknown key" },
	{ "PublicSuffixList " TESTDATA "/psl/empty.dat", "PublicSuffixList: "
	    TESTDATA "/psl/empty.dat: no rules in the list" },
};

START_TEST(test_lines)
{
	struct errs		 e;
	struct am_config	*cfg;
	char			 path[64], want[1024];

	cfg = load_line(line_cases[_i].line, &e, path, sizeof(path));
	if (line_cases[_i].msg == NULL) {
		ck_assert_msg(cfg != NULL, "%s: %s", line_cases[_i].line,
		    e.msg[0]);
		ck_assert_uint_eq(e.n, 0);
		am_config_unref(cfg);
		return;
	}
	snprintf(want, sizeof(want), "%s:3: %s", path, line_cases[_i].msg);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.msg[0], want);
}
END_TEST

/* every spelling of a boolean */
static const struct {
	const char	*word;
	int		 value;
} bools[] = {
	{ "yes", 1 }, { "No", 0 }, { "TRUE", 1 }, { "false", 0 },
	{ "on", 1 }, { "OFF", 0 }, { "1", 1 }, { "0", 0 },
};

START_TEST(test_bools)
{
	struct errs		 e;
	struct am_config	*cfg;
	char			 path[64], line[64];

	/* AddReceivedSPF defaults to 0 and Syslog to 1: both directions */
	snprintf(line, sizeof(line), "AddReceivedSPF %s", bools[_i].word);
	ck_assert_ptr_nonnull(cfg = load_line(line, &e, path, sizeof(path)));
	ck_assert_int_eq(cfg->add_received_spf, bools[_i].value);
	am_config_unref(cfg);
	snprintf(line, sizeof(line), "syslog %s", bools[_i].word);
	ck_assert_ptr_nonnull(cfg = load_line(line, &e, path, sizeof(path)));
	ck_assert_int_eq(cfg->syslog, bools[_i].value);
	am_config_unref(cfg);
}
END_TEST

START_TEST(test_unquoted_hash)
{
	struct errs		 e;
	struct am_config	*cfg;
	char			 path[64];

	cfg = load_line("RejectString  No #1 for %{domain}  \t", &e, path,
	    sizeof(path));
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->reject_string, "No #1 for %{domain}");
	am_config_unref(cfg);
}
END_TEST

START_TEST(test_refcount)
{
	struct am_config	*cfg = am_config_defaults();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_eq(am_config_ref(cfg), cfg);
	ck_assert_int_eq(cfg->refs, 2);
	am_config_unref(cfg);
	ck_assert_int_eq(cfg->refs, 1);
	am_config_unref(cfg);			/* freed: ASan checks */
	am_config_unref(NULL);
	ck_assert_ptr_null(am_config_ref(NULL));
}
END_TEST

static const struct {
	enum am_action	 a;
	const char	*s;
} actions[] = {
	{ AM_ACT_ACCEPT, "accept" },
	{ AM_ACT_QUARANTINE, "quarantine" },
	{ AM_ACT_REJECT, "reject" },
	{ AM_ACT_TEMPFAIL, "tempfail" },
};

START_TEST(test_action_str)
{
	ck_assert_str_eq(am_action_str(actions[_i].a), actions[_i].s);
}
END_TEST

START_TEST(test_log_parse)
{
	ck_assert_int_eq(am_log_level_parse("ERR"), AM_LOG_ERR);
	ck_assert_int_eq(am_log_level_parse("warning"), AM_LOG_WARN);
	ck_assert_int_eq(am_log_level_parse("info"), AM_LOG_INFO);
	ck_assert_int_eq(am_log_level_parse("debug"), AM_LOG_DEBUG);
	ck_assert_int_eq(am_log_level_parse("warn"), -1);
	ck_assert_str_eq(am_log_level_str(AM_LOG_WARN), "warning");
	ck_assert_int_eq(am_log_facility_parse("mail"), LOG_MAIL);
	ck_assert_int_eq(am_log_facility_parse("Daemon"), LOG_DAEMON);
	ck_assert_int_eq(am_log_facility_parse("user"), LOG_USER);
	ck_assert_int_eq(am_log_facility_parse("local7"), LOG_LOCAL7);
	ck_assert_int_eq(am_log_facility_parse("auth"), -1);
	am_log_set_level(AM_LOG_WARN);
	ck_assert(am_log_enabled(AM_LOG_ERR));
	ck_assert(am_log_enabled(AM_LOG_WARN));
	ck_assert(!am_log_enabled(AM_LOG_INFO));
}
END_TEST

/*
 * AuthservID's default (issue 16): the FQDN, as Debian sets Postfix's
 * myhostname (hostname --fqdn), not the short name ("mx;")
 */
static const struct {
	const char	*host, *canon, *want;	/* want NULL: neither */
} fqdn_cases[] = {
	{ "mx.example.org", "other.example.net", "mx.example.org" },
	{ "mx", "mx.example.org", "mx.example.org" },
	{ "mx", "mx", NULL },
	{ "mx", "", NULL },
	{ "mx", NULL, NULL },
	{ "mx.", "mx.example.org", "mx.example.org" },	/* no inner dot */
	{ ".lan", "mx.lan", "mx.lan" },
	{ "mx", "localhost.", NULL },
	{ "", "mx.example.org", "mx.example.org" },
	{ "", "", NULL },
};

START_TEST(test_fqdn_pick)
{
	const char	*got = am_config_fqdn_pick(fqdn_cases[_i].host,
			    fqdn_cases[_i].canon);

	if (fqdn_cases[_i].want == NULL)
		ck_assert_msg(got == NULL, "%s/%s: got %s",
		    fqdn_cases[_i].host, fqdn_cases[_i].canon, got);
	else
		ck_assert_msg(got != NULL && strcmp(got,
		    fqdn_cases[_i].want) == 0, "%s/%s: got %s",
		    fqdn_cases[_i].host, fqdn_cases[_i].canon,
		    got ? got : "NULL");
}
END_TEST

/* config_suite - every test case */
static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_shipped_file);
	tcase_add_loop_test(tc, test_bad_files, 0, nitems(bad_files));
	tcase_add_test(tc, test_all_errors_reported);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_device_file);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_named_device);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_too_large);
	tcase_add_loop_test(tc, test_lines, 0, nitems(line_cases));
	tcase_add_loop_test(tc, test_bools, 0, nitems(bools));
	tcase_add_test(tc, test_unquoted_hash);
	tcase_add_test(tc, test_refcount);
	tcase_add_loop_test(tc, test_action_str, 0, nitems(actions));
	tcase_add_test(tc, test_log_parse);
	tcase_add_loop_test(tc, test_fqdn_pick, 0, nitems(fqdn_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
