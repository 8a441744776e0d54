/*
 * run.c - one run of authmilter-report (run.h).
 *
 * Order for one report: load and group its rows, pick the destinations
 * (which needs DNS, before anything is claimed), claim it, build, submit,
 * mark.  A failure between claim and mark leaves the row 'claimed'; after
 * AM_STORE_STALE another run takes it over, with the same Report-ID.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amconfig.h"
#include "common/buf.h"
#include "common/readfile.h"
#include "config/config.h"
#include "report/agg.h"
#include "report/dest.h"
#include "report/mail.h"
#include "report/rules.h"
#include "report/run.h"
#include "report/send.h"
#include "report/store.h"
#include "report/uri.h"
#include "report/xml.h"

#define RUN_SUPPRESS_FILE_MAX	(4u << 20)	/* a ReportSuppress file */
#define RUN_MEMO_MAX		256	/* destinations judged in one run */
#define RUN_DEST_MAX		AM_REPORT_URI_MAX

/* what this run found about one address: judged once per run */
struct memo {
	char	 addr[AM_REPORT_ADDR_MAX + 1];
	int	 ok;		/* 1 can receive, 0 failed this run */
};

struct run {
	const struct am_run_opts *o;
	struct am_run_stats	*st;
	struct am_rules_suppress supp;
	char			 email[AM_REPORT_ADDR_MAX + 1];
	const char		*receiver;
	struct memo		 memo[RUN_MEMO_MAX];
	size_t			 nmemo;
};

/* note - one log line */
static void
note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct run *r, const char *fmt, ...)
{
	va_list	 ap;

	if (r->o->log == NULL)
		return;
	va_start(ap, fmt);
	fputs("authmilter-report: ", r->o->log);
	vfprintf(r->o->log, fmt, ap);
	fputc('\n', r->o->log);
	va_end(ap);
	fflush(r->o->log);
}

/* am_run_report_email - see run.h */
void
am_run_report_email(const struct am_config *cfg, char *out, size_t len)
{
	if (cfg->report_email != NULL)
		snprintf(out, len, "%s", cfg->report_email);
	else
		snprintf(out, len, "postmaster@%s", cfg->authserv_id);
}

/* am_run_receiver - see run.h */
const char *
am_run_receiver(const char *email)
{
	return am_rules_domain_of(email);
}

/* memo_find - this run's verdict on addr, or NULL */
static struct memo *
memo_find(struct run *r, const char *addr)
{
	size_t	 i;

	for (i = 0; i < r->nmemo; i++)
		if (strcasecmp(r->memo[i].addr, addr) == 0)
			return &r->memo[i];
	return NULL;
}

/* memo_add - remember a verdict (past RUN_MEMO_MAX: judged again) */
static void
memo_add(struct run *r, const char *addr, int ok)
{
	if (r->nmemo == RUN_MEMO_MAX)
		return;
	snprintf(r->memo[r->nmemo].addr, sizeof(r->memo[0].addr), "%s", addr);
	r->memo[r->nmemo++].ok = ok;
}

/*
 * dest_failed - a failed run for addr: count it, back off, suppress after
 * ReportMaxFailures (the store is not written in a dry run)
 */
static void
dest_failed(struct run *r, const char *addr, const char *why)
{
	struct am_store_dest	 d;

	r->st->dest_failed++;
	memo_add(r, addr, 0);
	if (r->o->dry_dir != NULL || am_store_dest_get(r->o->db, addr, &d) != 0) {
		note(r, "dest=%s failed: %s", addr, why);
		return;
	}
	d.failures++;
	am_rules_backoff(d.failures, r->o->cfg->report_max_failures, r->o->now,
	    &d.next_try, &d.suppressed);
	if (am_store_dest_put(r->o->db, addr, &d, why) != 0)
		note(r, "store: %s", am_db_error(r->o->db));
	note(r, "dest=%s failed: %s (failures=%u%s)", addr, why, d.failures,
	    d.suppressed ? ", now suppressed" : "");
}

/*
 * can_receive - does the address's domain take mail: an MX, else an
 * address record (RFC 5321 5.1); a null MX (RFC 7505) has one "." target
 * but is rare enough for the bounce to tell.  1 yes, 0 no (why says).
 */
static int
can_receive(struct run *r, const char *domain, const char **why)
{
	enum am_dns_status	 s;

	s = am_dns_query(r->o->dns, NULL, domain, 15, NULL);
	if (s == AM_DNS_OK)
		return 1;
	if (s == AM_DNS_NODATA) {
		s = am_dns_query(r->o->dns, NULL, domain, 1, NULL);
		if (s == AM_DNS_NODATA)
			s = am_dns_query(r->o->dns, NULL, domain, 28, NULL);
		if (s == AM_DNS_OK)
			return 1;
	}
	*why = s == AM_DNS_TEMP ? "DNS temporary failure for its domain" :
	    s == AM_DNS_NXDOMAIN ? "its domain does not exist" :
	    "its domain has no MX or address record";
	return 0;
}

/* held_back - ReportSuppress, automatic suppression, back-off: 1 skip */
static int
held_back(struct run *r, const char *addr)
{
	struct am_store_dest	 d;

	if (am_rules_suppressed(&r->supp, addr)) {
		r->st->dest_suppressed++;
		note(r, "dest=%s skipped: ReportSuppress", addr);
		return 1;
	}
	if (am_store_dest_get(r->o->db, addr, &d) != 0)
		return 0;
	if (d.suppressed) {
		r->st->dest_suppressed++;
		note(r, "dest=%s skipped: suppressed after %u failed runs",
		    addr, d.failures);
		return 1;
	}
	if (d.next_try > r->o->now) {
		note(r, "dest=%s skipped: back-off until %lld", addr,
		    d.next_try);
		return 1;
	}
	return 0;
}

/* add_dest - one destination to the list, once */
static void
add_dest(char (*to)[AM_REPORT_ADDR_MAX + 1], size_t *n, const char *addr)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (strcasecmp(to[i], addr) == 0)
			return;
	if (*n < RUN_DEST_MAX)
		snprintf(to[(*n)++], AM_REPORT_ADDR_MAX + 1, "%s", addr);
}

/*
 * judge - one rua address of policy domain pd: the external destination
 * rule (RFC 9990 4; step 9's override may replace it), then can it
 * receive; usable ones go to to[]
 */
static void
judge(struct run *r, const char *pd, const char *org,
    const struct am_report_addr *a, char (*to)[AM_REPORT_ADDR_MAX + 1],
    size_t *n)
{
	struct am_report_uris	 ovr;
	struct memo		*m;
	enum am_report_dest	 v;
	const char		*why = NULL;
	size_t			 i;
	int			 orc = 0;

	if (held_back(r, a->addr))
		return;
	if ((m = memo_find(r, a->addr)) != NULL && !m->ok)
		return;
	v = am_report_dest_check(r->o->dns, pd, org, a, "rua", &ovr, &orc);
	if (v == AM_REPORT_DEST_TEMPERROR) {
		dest_failed(r, a->addr, "authorization (_report._dmarc) "
		    "could not be checked");
		return;
	}
	if (v == AM_REPORT_DEST_NOT_AUTHORIZED || orc == -1) {
		note(r, "domain=%s dest=%s skipped: external destination not "
		    "authorized (RFC 9990 4)", pd, a->addr);
		return;
	}
	if (m == NULL && !can_receive(r, am_report_addr_domain(a), &why)) {
		dest_failed(r, a->addr, why);
		return;
	}
	if (m == NULL)
		memo_add(r, a->addr, 1);
	if (orc != 1) {
		add_dest(to, n, a->addr);
		return;
	}
	for (i = 0; i < ovr.n; i++)	/* same host (step 9): trust it */
		if (!am_rules_suppressed(&r->supp, ovr.a[i].addr))
			add_dest(to, n, ovr.a[i].addr);
}

/* report - everything one report needs, built */
struct built {
	char		 uid[AM_MAIL_UID_LEN];
	char		 rid[AM_MAIL_RID_MAX];
	char		 name[AM_MAIL_NAME_MAX];
	struct am_buf	 xml, gz, mail;
};

/* build - XML, gzip and mail of a loaded report */
static int
build(struct run *r, struct am_store_set *set, const char *pd,
    long long begin, long long end, const char *const *to, size_t nto,
    struct built *b)
{
	struct am_agg_record	*recs;
	const struct am_agg_msg	*pol = am_agg_latest(set->m, set->n);
	struct am_xml_meta	 meta;
	struct am_mail_info	 in;
	size_t			 nrec;

	if ((recs = calloc(set->n, sizeof(*recs))) == NULL)
		return -1;
	nrec = am_agg_group(set->m, set->n, recs);
	meta.org_name = r->o->cfg->report_org_name != NULL ?
	    r->o->cfg->report_org_name : r->receiver;
	meta.email = r->email;
	meta.report_id = b->rid;
	meta.begin = begin;
	meta.end = end;
	meta.generator = "authmilter-report " PACKAGE_VERSION;
	am_xml_report(&b->xml, &meta, pol, recs, nrec);
	free(recs);
	if (am_buf_failed(&b->xml) || am_mail_gzip(b->xml.s, b->xml.len,
	    &b->gz) == -1)
		return -1;
	memset(&in, 0, sizeof(in));
	in.from = r->email;
	in.to = to;
	in.nto = nto;
	in.policy_domain = pd;
	in.receiver = r->receiver;
	in.org_name = meta.org_name;
	in.report_id = b->rid;
	in.filename = b->name;
	in.begin = begin;
	in.end = end;
	in.now = r->o->now;
	am_mail_message(&b->mail, &in, b->gz.s, b->gz.len);
	return am_buf_failed(&b->mail) ? -1 : 0;
}

/* deliver - the built report to the MTA or the dry-run directory */
static int
deliver(struct run *r, struct built *b, const char *const *to, size_t nto,
    char *err, size_t errlen)
{
	char	 eml[AM_MAIL_NAME_MAX + 8];

	if (r->o->dry_dir == NULL)
		return am_send_sendmail(r->o->cfg->report_sendmail, r->email,
		    to, nto, b->mail.s, b->mail.len, err, errlen);
	snprintf(eml, sizeof(eml), "%s.eml", b->name);
	if (am_send_file(r->o->dry_dir, b->name, b->gz.s, b->gz.len, err,
	    errlen) == -1)
		return -1;
	return am_send_file(r->o->dry_dir, eml, b->mail.s, b->mail.len, err,
	    errlen);
}

/* dests_ok - a submission went through: the destinations' counts reset */
static void
dests_ok(struct run *r, const char *const *to, size_t nto)
{
	struct am_store_dest	 d;
	size_t			 i;

	for (i = 0; r->o->dry_dir == NULL && i < nto; i++)
		if (am_store_dest_get(r->o->db, to[i], &d) == 0 &&
		    d.failures > 0) {
			memset(&d, 0, sizeof(d));
			(void)am_store_dest_put(r->o->db, to[i], &d, "");
		}
}

/* claim_send - claim, build, deliver, mark; 0 sent/skipped, 1 failed, -1 store */
static int
claim_send(struct run *r, struct am_store_set *set, const char *pd,
    long long begin, long long end, const char *const *to, size_t nto)
{
	struct built	 b;
	char		 err[256];
	int		 c, rc;

	memset(&b, 0, sizeof(b));
	am_mail_uid(r->receiver, pd, begin, end, b.uid);
	am_mail_report_id(b.uid, r->receiver, b.rid, sizeof(b.rid));
	am_mail_filename(r->receiver, pd, begin, end, b.uid, b.name,
	    sizeof(b.name));
	if (r->o->dry_dir == NULL) {
		c = am_store_claim(r->o->db, pd, begin, end, b.rid, r->o->me,
		    r->o->now, b.rid, sizeof(b.rid));
		if (c != 1) {
			if (c == 0) {
				r->st->skipped++;
				note(r, "domain=%s begin=%lld skipped: sent "
				    "already or claimed by another run", pd,
				    begin);
			}
			return c == 0 ? 0 : -1;
		}
	}
	am_buf_init(&b.xml, AM_RUN_MAIL_MAX);
	am_buf_init(&b.gz, AM_RUN_MAIL_MAX);
	am_buf_init(&b.mail, AM_RUN_MAIL_MAX);
	r->st->reports++;
	if (build(r, set, pd, begin, end, to, nto, &b) == -1) {
		snprintf(err, sizeof(err), "report larger than %u bytes or "
		    "out of memory", AM_RUN_MAIL_MAX);
		rc = -1;
	} else
		rc = deliver(r, &b, to, nto, err, sizeof(err));
	if (rc == 0) {
		r->st->sent++;
		dests_ok(r, to, nto);
		note(r, "domain=%s begin=%lld report_id=%s file=%s records=%zu "
		    "to=%zu %s", pd, begin, b.rid, b.name, set->n, nto,
		    r->o->dry_dir != NULL ? "written" : "sent");
	} else {
		r->st->failed++;
		note(r, "domain=%s begin=%lld report_id=%s failed: %s", pd,
		    begin, b.rid, err);
	}
	if (r->o->dry_dir == NULL && am_store_finish(r->o->db, pd, begin, end,
	    r->o->me, r->o->now, rc == 0 ? NULL : err) != 0)
		rc = -2;
	am_buf_clear(&b.xml);
	am_buf_clear(&b.gz);
	am_buf_clear(&b.mail);
	return rc == 0 ? 0 : rc == -2 ? -1 : 1;
}

/* one_report - one policy domain and period; 0, 1 (failed) or -1 (store) */
static int
one_report(struct run *r, const char *pd, long long begin, long long end)
{
	struct am_store_set	 set;
	struct am_report_uris	 uris;
	const struct am_agg_msg	*pol;
	char			 to[RUN_DEST_MAX][AM_REPORT_ADDR_MAX + 1];
	const char		*top[RUN_DEST_MAX];
	size_t			 i, nto = 0;
	int			 rc;

	if (am_store_load(r->o->db, pd, begin, end, am_run_receiver(r->email),
	    &set) != 0)
		return -1;
	if ((pol = am_agg_latest(set.m, set.n)) == NULL ||
	    am_report_uri_parse(pol->rua, &uris) == 0) {
		r->st->skipped++;
		note(r, "domain=%s begin=%lld skipped: %s", pd, begin,
		    pol == NULL ? "no messages" : "no usable rua= address");
		am_store_set_free(&set);
		return 0;
	}
	for (i = 0; i < uris.n; i++)
		judge(r, pd, pol->org_domain, &uris.a[i], to, &nto);
	if (nto == 0) {
		r->st->skipped++;
		note(r, "domain=%s begin=%lld skipped: no destination to send "
		    "to this run", pd, begin);
		am_store_set_free(&set);
		return 0;
	}
	for (i = 0; i < nto; i++)
		top[i] = to[i];
	rc = claim_send(r, &set, pd, begin, end, top, nto);
	am_store_set_free(&set);
	return rc;
}

/* load_suppress - the ReportSuppress file, read at every run */
static int
load_suppress(struct run *r)
{
	char	*buf = NULL, err[256];
	size_t	 len;
	int	 rc;

	if (r->o->cfg->report_suppress == NULL)
		return am_rules_suppress_parse("", &r->supp);
	if (am_readfile(r->o->cfg->report_suppress, RUN_SUPPRESS_FILE_MAX,
	    &buf, &len, err, sizeof(err)) == -1) {
		note(r, "ReportSuppress %s: %s", r->o->cfg->report_suppress,
		    err);
		return -1;
	}
	rc = am_rules_suppress_parse(buf, &r->supp);
	free(buf);
	if (r->supp.over > 0)
		note(r, "ReportSuppress %s: %zu entries past the first %d "
		    "ignored", r->o->cfg->report_suppress, r->supp.over,
		    AM_RULES_SUPPRESS_MAX);
	return rc;
}

/* retries - reports earlier runs failed to send, again */
static int
retries(struct run *r, int *failed)
{
	struct am_store_retry	*v;
	size_t			 i, n;
	int			 rc = 0, c;

	if (r->o->dry_dir != NULL)
		return 0;
	if (am_store_retries(r->o->db, r->o->begin, r->o->now, &v, &n) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		note(r, "domain=%s begin=%lld: retrying", v[i].policy_domain,
		    v[i].begin);
		if ((c = one_report(r, v[i].policy_domain, v[i].begin,
		    v[i].end)) == -1)
			rc = -1;
		*failed |= c == 1;
	}
	am_store_retries_free(v, n);
	return rc;
}

/* am_run - see run.h */
int
am_run(const struct am_run_opts *o, struct am_run_stats *st)
{
	struct run	*r;
	char		**pd = NULL;
	size_t		 i, n = 0;
	int		 rc = 0, failed = 0, c;

	memset(st, 0, sizeof(*st));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->o = o;
	r->st = st;
	am_run_report_email(o->cfg, r->email, sizeof(r->email));
	r->receiver = am_run_receiver(r->email);
	if (load_suppress(r) != 0) {
		free(r);
		return -1;
	}
	if (retries(r, &failed) != 0 || am_store_domains(o->db, o->begin,
	    o->end, r->receiver, &pd, &n) != 0)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		if ((c = one_report(r, pd[i], o->begin, o->end)) == -1)
			rc = -1;
		failed |= c == 1;
	}
	am_store_strv_free(pd, n);
	if (rc == 0 && o->dry_dir == NULL && o->history_days > 0 &&
	    (st->expired = am_store_expire(o->db, o->now -
	    (long long)o->history_days * AM_RULES_DAY)) < 0)
		rc = -1;
	if (rc == -1)
		note(r, "store %s: %s", am_db_name(o->db), am_db_error(o->db));
	am_rules_suppress_free(&r->supp);
	free(r);
	return rc == -1 ? -1 : failed;
}
