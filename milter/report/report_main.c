/*
 * report_main.c - authmilter-report: DMARC aggregate reports (RFC 9990)
 * from the history store the milter writes (issue 13).
 *
 *   authmilter-report [-c file] [--day YYYY-MM-DD | --begin T --end T]
 *                     [--dry-run DIR]
 *   authmilter-report [-c file] --summary [--since 7d] [--format json]
 *
 * The default period is the previous UTC day.  Exit: 0 done, 1 some
 * submission failed (the next run retries it), 64 usage, 75 the store or
 * the resolver is unavailable, 78 configuration.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "amconfig.h"
#include "config/config.h"
#include "db/db.h"
#include "dns/dns.h"
#include "report/rules.h"
#include "report/run.h"
#include "report/summary.h"

#define EX_USAGE	64
#define EX_TEMPFAIL	75
#define EX_CONFIG	78
#define DEFAULT_CONF	AM_SYSCONFDIR "/authmilter.conf"

struct args {
	const char	*conf;
	const char	*day, *begin, *end, *since, *dry, *now;
	int		 summary, json;
};

/* usage - the synopsis, and EX_USAGE */
static int
usage(void)
{
	fprintf(stderr, "usage: authmilter-report [-c file] [--day YYYY-MM-DD"
	    " | --begin T --end T] [--dry-run DIR]\n"
	    "       authmilter-report [-c file] --summary [--since 7d] "
	    "[--format text|json]\n");
	return EX_USAGE;
}

/* parse - the command line into a; 0, or an exit status */
static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option	 lo[] = {
		{ "day", required_argument, NULL, 'd' },
		{ "begin", required_argument, NULL, 'b' },
		{ "end", required_argument, NULL, 'e' },
		{ "dry-run", required_argument, NULL, 'n' },
		{ "summary", no_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' },
		{ "now", required_argument, NULL, 'N' },	/* tests */
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(a, 0, sizeof(*a));
	a->conf = DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:Vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': a->conf = optarg; break;
		case 'd': a->day = optarg; break;
		case 'b': a->begin = optarg; break;
		case 'e': a->end = optarg; break;
		case 'n': a->dry = optarg; break;
		case 's': a->summary = 1; break;
		case 'S': a->since = optarg; break;
		case 'N': a->now = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "text") != 0)
				return usage();
			a->json = strcmp(optarg, "json") == 0;
			break;
		case 'V':
			printf("authmilter-report %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			return usage();
		}
	}
	if (optind != argc || (a->day != NULL && (a->begin || a->end)) ||
	    (!a->begin != !a->end) || (a->summary && (a->day || a->begin ||
	    a->dry)) || (!a->summary && (a->since || a->json)))
		return usage();
	return 0;
}

/* number - a decimal option; 0 or -1 */
static int
number(const char *s, long long *v)
{
	char	*e;

	*v = strtoll(s, &e, 10);
	return *s != '\0' && *e == '\0' && *v >= 0 ? 0 : -1;
}

/* period - the report period from the options (default: yesterday, UTC) */
static int
period(const struct args *a, long long now, long long *begin, long long *end)
{
	if (a->day != NULL) {
		if (am_rules_parse_day(a->day, begin) == -1) {
			fprintf(stderr, "authmilter-report: --day %s: not a "
			    "date (YYYY-MM-DD)\n", a->day);
			return -1;
		}
		*end = *begin + AM_RULES_DAY - 1;
		return 0;
	}
	if (a->begin != NULL) {
		if (number(a->begin, begin) == -1 || number(a->end, end) == -1 ||
		    *end < *begin) {
			fprintf(stderr, "authmilter-report: --begin/--end: "
			    "Unix seconds, begin <= end\n");
			return -1;
		}
		return 0;
	}
	am_rules_day(now - AM_RULES_DAY, begin, end);
	return 0;
}

/* conf_err - a configuration problem, as the daemon prints them */
static void
conf_err(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "authmilter-report: %s\n", msg);
}

/* open_store - HistoryDB; NULL after saying why */
static struct am_db *
open_store(const struct am_config *cfg)
{
	char		 err[AM_DB_ERR_MAX];
	struct am_db	*db;

	if (am_db_spec_kind(cfg->history_db, NULL) == AM_DB_NONE) {
		fprintf(stderr, "authmilter-report: HistoryDB is none: no "
		    "history, nothing to report\n");
		return NULL;
	}
	if ((db = am_db_open(cfg->history_db, err, sizeof(err))) == NULL)
		fprintf(stderr, "authmilter-report: %s\n", err);
	return db;
}

/* summary - --summary */
static int
summary(const struct args *a, struct am_db *db, long long now)
{
	long long	 secs = 7 * AM_RULES_DAY;

	if (a->since != NULL && am_rules_parse_since(a->since, &secs) == -1) {
		fprintf(stderr, "authmilter-report: --since %s: expected "
		    "7d, 12h, 30m or seconds\n", a->since);
		return EX_USAGE;
	}
	if (am_summary(db, now - secs, a->since != NULL ? a->since : "7d",
	    a->json, stdout) != 0) {
		fprintf(stderr, "authmilter-report: %s: %s\n", am_db_name(db),
		    am_db_error(db));
		return EX_TEMPFAIL;
	}
	return 0;
}

/* report - the report run */
static int
report(const struct args *a, struct am_config *cfg, struct am_db *db,
    long long now)
{
	struct am_run_opts	 o;
	struct am_run_stats	 st;
	struct am_dns_opts	 d;
	struct stat		 sb;
	char			 me[300], host[256], why[256];
	int			 rc;

	memset(&o, 0, sizeof(o));
	if (period(a, now, &o.begin, &o.end) == -1)
		return EX_USAGE;
	if (a->dry != NULL && (stat(a->dry, &sb) == -1 || !S_ISDIR(sb.st_mode))) {
		fprintf(stderr, "authmilter-report: --dry-run %s: not a "
		    "directory\n", a->dry);
		return EX_USAGE;
	}
	memset(&d, 0, sizeof(d));
	d.nameservers = (const char *const *)cfg->nameservers;
	d.nnameservers = cfg->nnameservers;
	d.timeout = cfg->dns_timeout;
	if ((o.dns = am_dns_new(&d, why, sizeof(why))) == NULL) {
		fprintf(stderr, "authmilter-report: resolver: %s\n", why);
		return EX_TEMPFAIL;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(me, sizeof(me), "%s:%ld", host, (long)getpid());
	o.cfg = cfg;
	o.db = db;
	o.now = now;
	o.dry_dir = a->dry;
	o.me = me;
	o.history_days = cfg->history_days;
	o.log = stderr;
	rc = am_run(&o, &st);
	fprintf(stderr, "authmilter-report: period %lld-%lld: reports=%u "
	    "sent=%u failed=%u skipped=%u dest_failed=%u dest_suppressed=%u "
	    "expired=%ld\n", o.begin, o.end, st.reports, st.sent, st.failed,
	    st.skipped, st.dest_failed, st.dest_suppressed, st.expired);
	am_dns_free(o.dns);
	return rc == -1 ? EX_TEMPFAIL : rc;
}

int
main(int argc, char **argv)
{
	struct args		 a;
	struct am_config	*cfg;
	struct am_db		*db;
	long long		 now = (long long)time(NULL);
	int			 rc;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc;
	if (a.now != NULL && number(a.now, &now) == -1)
		return usage();
	/* a sendmail that exits early must not kill the run */
	signal(SIGPIPE, SIG_IGN);
	if ((cfg = am_config_load(a.conf, conf_err, NULL)) == NULL)
		return EX_CONFIG;
	if ((db = open_store(cfg)) == NULL) {
		am_config_unref(cfg);
		return EX_TEMPFAIL;
	}
	rc = a.summary ? summary(&a, db, now) : report(&a, cfg, db, now);
	am_db_close(db);
	am_config_unref(cfg);
	return rc;
}
