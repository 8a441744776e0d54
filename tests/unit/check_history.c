/*
 * check_history.c - milter/history/: which messages get a row, the row
 * built from results and verdict (disposition, override, SPF scope, DKIM
 * lines, printable text), the record's raw tags from the DMARC parser
 * (rua cut at a whole URI), the packed form the queue keeps (issue 17),
 * and the queue with its writer thread against a real SQLite file (full
 * queue, stop flush, reload to another store, the records' memory: the
 * slab's bound, what a burst leaves behind).
 */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "dmarc/record.h"
#include "history/history.h"
#include "history/record.h"

static struct am_results	 res;
static struct am_hist_in	 in;

/* a p=reject record at example.org, DMARC fail, rejected */
static void
setup(void)
{
	struct am_dmarc_res	*d = &res.dmarc;

	memset(&res, 0, sizeof(res));
	memset(&in, 0, sizeof(in));
	d->result = AM_DMARC_FAIL;
	d->policy = AM_DMARC_P_REJECT;
	d->p = AM_DMARC_P_REJECT;
	d->pct = 100;
	strcpy(d->policy_tag, "p");
	strcpy(d->from_domain, "example.org");
	strcpy(d->policy_domain, "example.org");
	strcpy(d->org_domain, "example.org");
	strcpy(d->pub.p, "reject");
	d->pub.adkim = d->pub.aspf = 'r';
	d->pub.psd = 'u';
	strcpy(d->pub.discovery, "treewalk");
	res.spf_mailfrom.checked = 1;
	res.spf_mailfrom.result = AM_SPF_FAIL;
	strcpy(res.spf_mailfrom.domain, "Bounce.Example.NET");
	in.t = 1700000000;
	in.reporter = "mx.example.com";
	in.source_ip = "192.0.2.1";
	in.mailfrom = "user@Bounce.Example.NET";
	in.action = AM_ACT_REJECT;
	in.why = "dmarc fail, p=reject";
	in.res = &res;
}

static void
teardown(void)
{
}

START_TEST(test_wanted)
{
	ck_assert_int_eq(am_hist_wanted(&in), 1);
	res.dmarc.result = AM_DMARC_PASS;
	ck_assert_int_eq(am_hist_wanted(&in), 1);
	res.dmarc.result = AM_DMARC_TEMPERROR;
	ck_assert_int_eq(am_hist_wanted(&in), 1);
	res.dmarc.result = AM_DMARC_PERMERROR;
	ck_assert_int_eq(am_hist_wanted(&in), 1);
	/* a 4xx: the MTA retries, it would count twice */
	in.action = AM_ACT_TEMPFAIL;
	ck_assert_int_eq(am_hist_wanted(&in), 0);
	in.action = AM_ACT_QUARANTINE;
	ck_assert_int_eq(am_hist_wanted(&in), 1);
	in.exempt = 1;
	ck_assert_int_eq(am_hist_wanted(&in), 0);
	in.exempt = 0;
	res.dmarc.result = AM_DMARC_NONE;
	ck_assert_int_eq(am_hist_wanted(&in), 0);
	/* temperror before any record was found: no policy domain */
	res.dmarc.result = AM_DMARC_TEMPERROR;
	res.dmarc.policy_domain[0] = '\0';
	ck_assert_int_eq(am_hist_wanted(&in), 0);
}
END_TEST

START_TEST(test_build_reject)
{
	struct am_hist_rec	 r;

	am_hist_build(&in, &r);
	ck_assert_ptr_null(r.next);
	ck_assert_str_eq(r.disposition, "reject");
	ck_assert_str_eq(r.override, "");
	ck_assert_str_eq(r.dmarc_result, "fail");
	ck_assert_str_eq(r.env_from, "bounce.example.net");
	ck_assert_str_eq(r.spf_domain, "bounce.example.net");
	ck_assert_str_eq(r.spf_scope, "mfrom");
	ck_assert_str_eq(r.spf_result, "fail");
	ck_assert_str_eq(r.pub.p, "reject");
	ck_assert_int_eq(r.testing, 'n');
	ck_assert_str_eq(r.dkim, "");
}
END_TEST

/* long_dkim - res gets signatures whose DKIM text fills ~2 KB */
static void
long_dkim(void)
{
	size_t	 i;

	res.ndkim = AM_DKIM_SIGS_MAX;
	for (i = 0; i < AM_DKIM_SIGS_MAX; i++) {
		memset(res.dkim[i].domain, 'a' + (int)(i % 26), 200);
		res.dkim[i].domain[200] = '\0';
		strcpy(res.dkim[i].selector, "sel");
	}
}

/*
 * the queue's packed form (issue 17): every value as built, in what the
 * texts need; a record of usual mail fits a slab slot, a long one does not
 */
START_TEST(test_pack)
{
	struct am_hist_rec	 r;
	struct am_hist_packed	*p;
	const char		*t[AM_HT_N];
	size_t			 need, sum = 0;
	int			 i;

	strcpy(res.dmarc.pub.rua, "mailto:agg@example.org");
	strcpy(res.dmarc.pub.ruf, "mailto:fail@example.org");
	strcpy(res.dmarc.pub.fo, "1:d");
	strcpy(res.dmarc.pub.sp, "quarantine");
	strcpy(res.dmarc.pub.np, "none");
	res.dmarc.pub.adkim = 's';
	res.dmarc.pub.psd = 'n';
	res.dmarc.dkim_aligned = 1;
	res.ndkim = 1;
	strcpy(res.dkim[0].domain, "example.org");
	strcpy(res.dkim[0].selector, "s1");
	in.rcpt = "rcpt.example";
	in.action = AM_ACT_ACCEPT;	/* override local_policy, with a comment */
	am_hist_build(&in, &r);
	t[AM_HT_REPORTER] = r.reporter;		t[AM_HT_SOURCE_IP] = r.source_ip;
	t[AM_HT_ENV_FROM] = r.env_from;		t[AM_HT_ENV_TO] = r.env_to;
	t[AM_HT_HEADER_FROM] = r.header_from;
	t[AM_HT_POLICY_DOMAIN] = r.policy_domain;
	t[AM_HT_ORG_DOMAIN] = r.org_domain;	t[AM_HT_DISCOVERY] = r.pub.discovery;
	t[AM_HT_P] = r.pub.p;	t[AM_HT_SP] = r.pub.sp;	t[AM_HT_NP] = r.pub.np;
	t[AM_HT_FO] = r.pub.fo;	t[AM_HT_RUA] = r.pub.rua;
	t[AM_HT_RUF] = r.pub.ruf;		t[AM_HT_POLICY_TAG] = r.policy_tag;
	t[AM_HT_OVERRIDE_COMMENT] = r.override_comment;
	t[AM_HT_SPF_DOMAIN] = r.spf_domain;	t[AM_HT_DKIM] = r.dkim;
	for (i = 0; i < AM_HT_N; i++)
		sum += strlen(t[i]) + 1;
	need = am_hist_pack(&r, NULL, 0);
	ck_assert_uint_eq(need, AM_HIST_PACKED_HEAD + sum);
	ck_assert_uint_le(need, AM_HIST_SLOT);
	ck_assert_ptr_nonnull(p = malloc(need + 1));
	memset(p, 'x', need + 1);
	ck_assert_uint_eq(am_hist_pack(&r, p, need - 1), need);	/* too small */
	ck_assert_int_eq(((char *)p)[0], 'x');
	ck_assert_uint_eq(am_hist_pack(&r, p, need), need);
	ck_assert_int_eq(((char *)p)[need], 'x');	/* nothing past it */
	ck_assert_ptr_null(p->next);
	for (i = 0; i < AM_HT_N; i++)
		ck_assert_str_eq(am_hist_text(p, i), t[i]);
	ck_assert_str_eq(am_hist_text(p, AM_HT_OVERRIDE_COMMENT),
	    "dmarc fail, p=reject");
	ck_assert_str_eq(am_hist_text(p, AM_HT_ENV_TO), "rcpt.example");
	ck_assert_int_eq(p->t, 1700000000);
	ck_assert_int_eq(p->pct, 100);
	ck_assert_int_eq(p->dkim_aligned, 1);
	ck_assert_int_eq(p->spf_aligned, 0);
	ck_assert_int_eq(p->adkim, 's');
	ck_assert_int_eq(p->aspf, 'r');
	ck_assert_int_eq(p->psd, 'n');
	ck_assert_int_eq(p->testing, 'n');
	ck_assert_str_eq(p->dmarc_result, "fail");
	ck_assert_str_eq(p->disposition, "none");
	ck_assert_str_eq(p->override, "local_policy");
	ck_assert_str_eq(p->spf_scope, "mfrom");
	ck_assert_str_eq(p->spf_result, "fail");
	free(p);
	long_dkim();
	am_hist_build(&in, &r);
	ck_assert_uint_gt(am_hist_pack(&r, NULL, 0), AM_HIST_SLOT);
	ck_assert_uint_lt(am_hist_pack(&r, NULL, 0), sizeof(r));
}
END_TEST

/* the disposition and why it is not what the record asked for */
/* RCPT TO as the MTA hands it: the domain after the last '@' (issue 13) */
START_TEST(test_rcpt_domain)
{
	struct am_hist_rec	 r;
	char			 d[AM_DOMAIN_MAX + 1], big[AM_DOMAIN_MAX + 16];
	size_t			 n;

	am_hist_rcpt_domain("<User@Mail.Example.COM>", d, sizeof(d));
	ck_assert_str_eq(d, "mail.example.com");
	am_hist_rcpt_domain("user@example.net", d, sizeof(d));
	ck_assert_str_eq(d, "example.net");
	am_hist_rcpt_domain("<\"a@b\"@example.org>", d, sizeof(d));
	ck_assert_str_eq(d, "example.org");
	am_hist_rcpt_domain("<@relay.example,@r2.example:u@dest.example>", d,
	    sizeof(d));
	ck_assert_str_eq(d, "dest.example");
	am_hist_rcpt_domain("<u@[192.0.2.7]>", d, sizeof(d));
	ck_assert_str_eq(d, "[192.0.2.7]");
	/* RFC 5321 4.1.1.3: "<postmaster>" has no domain */
	am_hist_rcpt_domain("<postmaster>", d, sizeof(d));
	ck_assert_str_eq(d, "");
	am_hist_rcpt_domain("<u@>", d, sizeof(d));
	ck_assert_str_eq(d, "");
	am_hist_rcpt_domain("", d, sizeof(d));
	ck_assert_str_eq(d, "");
	am_hist_rcpt_domain(NULL, d, sizeof(d));
	ck_assert_str_eq(d, "");
	am_hist_rcpt_domain("<u@ex\001mple.org>", d, sizeof(d));
	ck_assert_str_eq(d, "ex?mple.org");
	/* AM_DOMAIN_MAX fits; one more is no domain, never a cut one */
	strcpy(big, "<u@");
	n = strlen(big);
	memset(big + n, 'a', AM_DOMAIN_MAX);
	strcpy(big + n + AM_DOMAIN_MAX, ">");
	am_hist_rcpt_domain(big, d, sizeof(d));
	ck_assert_uint_eq(strlen(d), AM_DOMAIN_MAX);
	big[n + AM_DOMAIN_MAX] = 'a';
	strcpy(big + n + AM_DOMAIN_MAX + 1, ">");
	am_hist_rcpt_domain(big, d, sizeof(d));
	ck_assert_str_eq(d, "");
	/* the record takes it as given; no RCPT: "" */
	in.rcpt = "rcpt.example";
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.env_to, "rcpt.example");
	in.rcpt = NULL;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.env_to, "");
}
END_TEST

START_TEST(test_override_mapping)
{
	struct am_hist_rec	 r;

	/* t=y: delivered (as quarantine, header only) */
	res.dmarc.testing = 1;
	in.action = AM_ACT_ACCEPT;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.disposition, "none");
	ck_assert_str_eq(r.override, "policy_test_mode");
	ck_assert_int_eq(r.testing, 'y');
	/* held: quarantine, still t=y */
	in.action = AM_ACT_QUARANTINE;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.disposition, "quarantine");
	ck_assert_str_eq(r.override, "policy_test_mode");
	/* a local override wins, with who */
	res.dmarc.override = AM_OVR_TRUSTED_FORWARDER;
	strcpy(res.dmarc.override_by, "sealer lists.example.org");
	in.action = AM_ACT_ACCEPT;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.override, "trusted_forwarder");
	ck_assert_str_eq(r.override_comment, "sealer lists.example.org");
	/* pct sampling (RFC 7489 mode) */
	res.dmarc.override = AM_OVR_NONE;
	res.dmarc.testing = 0;
	res.dmarc.pct = 50;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.override, "other");
	ck_assert_str_eq(r.override_comment, "pct=50 sampling");
	ck_assert_int_eq(r.pct, 50);
	/* our configuration: header only */
	res.dmarc.pct = 100;
	res.dmarc.policy = AM_DMARC_P_QUARANTINE;
	in.why = "dmarc fail, p=quarantine, header only";
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.disposition, "none");
	ck_assert_str_eq(r.override, "local_policy");
	ck_assert_str_eq(r.override_comment, in.why);
	/* enforced as asked: no override */
	in.action = AM_ACT_QUARANTINE;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.override, "");
	/* a pass is never overridden */
	res.dmarc.result = AM_DMARC_PASS;
	in.action = AM_ACT_ACCEPT;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.disposition, "none");
	ck_assert_str_eq(r.override, "");
}
END_TEST

/* null sender: HELO scope; DKIM lines in order; text made printable */
START_TEST(test_build_helo_dkim_text)
{
	struct am_hist_rec	 r;
	size_t			 i;

	in.mailfrom = "";
	res.spf_mailfrom.checked = 0;
	res.spf_mailfrom.domain[0] = '\0';
	res.spf_helo.checked = 1;
	res.spf_helo.result = AM_SPF_PASS;
	strcpy(res.spf_helo.domain, "mail.example.org");
	res.ndkim = 2;
	strcpy(res.dkim[0].domain, "Example.ORG");
	strcpy(res.dkim[0].selector, "s1");
	res.dkim[0].result = AM_DKIM_PASS;
	strcpy(res.dkim[1].domain, "ex\xc3\xa4mple.net");
	strcpy(res.dkim[1].selector, "s\n2");
	res.dkim[1].result = AM_DKIM_FAIL;
	am_hist_build(&in, &r);
	ck_assert_str_eq(r.env_from, "");
	ck_assert_str_eq(r.spf_scope, "helo");
	ck_assert_str_eq(r.spf_domain, "mail.example.org");
	ck_assert_str_eq(r.spf_result, "pass");
	ck_assert_str_eq(r.dkim, "example.org s1 pass\nex??mple.net s?2 fail\n");
	/* more signatures than fit: whole lines only */
	res.ndkim = AM_DKIM_SIGS_MAX;
	for (i = 0; i < AM_DKIM_SIGS_MAX; i++) {
		memset(res.dkim[i].domain, 'a', 200);
		res.dkim[i].domain[200] = '\0';
		strcpy(res.dkim[i].selector, "sel");
	}
	am_hist_build(&in, &r);
	ck_assert_uint_lt(strlen(r.dkim), AM_HIST_DKIM_MAX);
	ck_assert_int_eq(r.dkim[strlen(r.dkim) - 1], '\n');
	ck_assert_uint_eq(strlen(r.dkim) % strlen(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa sel none\n"),
	    0);
}
END_TEST

/* the raw tags the history needs come from the record parser */
START_TEST(test_record_raw_tags)
{
	struct am_dmarc_record	 rec;
	char			 txt[2048], longuri[600];

	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=none; fo=1:d; "
	    "rua=mailto:a@x.example,mailto:b@y.example; ruf=mailto:f@x.example; "
	    "rua=mailto:second@x.example", &rec), 0);
	ck_assert_str_eq(rec.fo, "1:d");
	ck_assert_str_eq(rec.rua, "mailto:a@x.example,mailto:b@y.example");
	ck_assert_str_eq(rec.ruf, "mailto:f@x.example");
	ck_assert_int_eq(rec.rua_ok, 1);
	/* too long: whole URIs that fit, never a cut address */
	memset(longuri, 'l', sizeof(longuri) - 1);
	longuri[sizeof(longuri) - 1] = '\0';
	snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=mailto:a@x.example,"
	    "mailto:%s@x.example,mailto:c@x.example; fo=%s", longuri, longuri);
	ck_assert_int_eq(am_dmarc_record_parse(txt, &rec), 0);
	ck_assert_str_eq(rec.rua, "mailto:a@x.example");
	ck_assert_str_eq(rec.fo, "");
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=none", &rec), 0);
	ck_assert_str_eq(rec.rua, "");
	ck_assert_str_eq(rec.ruf, "");
}
END_TEST

/* ---- the queue and the writer, on a real SQLite file ---- */

static char	 dir[64];

static void
qsetup(void)
{
	setup();
	snprintf(dir, sizeof(dir), "/tmp/check_history.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
qteardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long
count_rows(const char *path, const char *ip)
{
	char			 err[AM_DB_ERR_MAX];
	struct am_db		*db = am_db_open(path, err, sizeof(err));
	struct am_db_rows	*rows;
	const char		*p[1] = { ip };
	long			 n;

	ck_assert_msg(db != NULL, "%s", err);
	rows = am_db_query(db, "SELECT count(*) FROM am_message WHERE "
	    "source_ip = $1", 1, p);
	ck_assert_ptr_nonnull(rows);
	ck_assert_int_eq(am_db_next(rows), 1);
	n = atol(am_db_col(rows, 0));
	am_db_rows_free(rows);
	am_db_close(db);
	return n;
}

/* one column of the row from source_ip, as text ("" if none) */
static char *
col_of(const char *path, const char *col, const char *ip)
{
	static char		 val[4096];
	char			 err[AM_DB_ERR_MAX], sql[128];
	struct am_db		*db = am_db_open(path, err, sizeof(err));
	struct am_db_rows	*rows;
	const char		*p[1] = { ip };

	ck_assert_msg(db != NULL, "%s", err);
	snprintf(sql, sizeof(sql), "SELECT %s FROM am_message WHERE "
	    "source_ip = $1", col);
	ck_assert_ptr_nonnull(rows = am_db_query(db, sql, 1, p));
	val[0] = '\0';
	if (am_db_next(rows) == 1)
		snprintf(val, sizeof(val), "%s", am_db_col(rows, 0));
	am_db_rows_free(rows);
	am_db_close(db);
	return val;
}

/* wait_written - until n records are written (at most 10 s) */
static void
wait_written(struct am_history *h, unsigned long n)
{
	struct am_history_stats	 st;
	int			 i;

	for (i = 0; i < 1000; i++) {
		am_history_stats(h, &st);
		if (st.written >= n)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.written, n);
	ck_assert_uint_eq(st.depth, 0);
}

/*
 * the slab's bound (issue 17): a store that cannot be opened keeps the
 * records queued (its first retry is a second away); the slab never hands
 * out more than AM_HIST_SLOTS slots, the rest of the queue are blocks of
 * their own, a record too long for a slot is one though slots are free,
 * and the queue's cap still holds
 */
START_TEST(test_slab_bound)
{
	char			 path[128], err[256];
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r, big;
	unsigned long		 cap = AM_HIST_SLOTS + 100, i;

	snprintf(path, sizeof(path), "%s/no/such/dir/h.db", dir);
	h = am_history_new(path, cap, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	am_hist_build(&in, &r);
	long_dkim();
	am_hist_build(&in, &big);
	am_history_put(h, &big);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.depth, 1);
	ck_assert_uint_eq(st.slab_used, 0);
	ck_assert_uint_eq(st.outside, 1);
	for (i = 0; i < AM_HIST_SLOTS + 200; i++)
		am_history_put(h, &r);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.depth, cap);
	ck_assert_uint_eq(st.dropped, AM_HIST_SLOTS + 201 - cap);
	ck_assert_uint_eq(st.slab_used, AM_HIST_SLOTS);
	ck_assert_uint_eq(st.outside, cap - AM_HIST_SLOTS);
	ck_assert_uint_eq(st.written + st.failed, 0);
	am_history_free(h);		/* dropped at stop; LSan: nothing leaks */
}
END_TEST

/*
 * what a burst leaves behind (issue 17): the written records' slots are
 * reused (a second burst takes no new ones), the blocks outside the slab
 * are freed once written, and the malloc'd memory after the bursts is
 * the writer's store (its page cache, AM_HIST_DB_CACHE_KB) and little
 * else.  Before, written records (5.2 KB each) were kept as up to 1000
 * spares: 5.2 MB after such a burst.  Every row arrives intact.
 */
START_TEST(test_burst_leaves_little)
{
	char			 path[128], err[256];
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r;
	unsigned long		 n = AM_HIST_SLOTS + 1500, used, i;
	size_t			 base, after;

	snprintf(path, sizeof(path), "%s/h.db", dir);
	h = am_history_new(path, 5000, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	am_hist_build(&in, &r);
	am_history_put(h, &r);
	wait_written(h, 1);		/* the store is open, its schema made */
	base = mallinfo2().uordblks;
	for (i = 0; i < n; i++)		/* ~ms: faster than the 200 ms tick */
		am_history_put(h, &r);
	am_history_stats(h, &st);
	ck_assert_uint_le(st.slab_used, AM_HIST_SLOTS);
	ck_assert_uint_gt(st.outside, 0);
	wait_written(h, n + 1);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.outside, 0);
	used = st.slab_used;
	for (i = 0; i < n; i++)
		am_history_put(h, &r);
	wait_written(h, 2 * n + 1);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.slab_used, used);
	ck_assert_uint_eq(st.outside, 0);
	after = mallinfo2().uordblks;
	ck_assert_msg(after < base + AM_HIST_DB_CACHE_KB * 1024 + 256 * 1024,
	    "%zu bytes more in use after two bursts", after - base);
	/* a long record, outside the slab, arrives whole */
	long_dkim();
	in.source_ip = "192.0.2.9";
	am_hist_build(&in, &r);
	am_history_put(h, &r);
	am_history_free(h);
	ck_assert_int_eq(count_rows(path, "192.0.2.1"), (long)(2 * n + 1));
	ck_assert_str_eq(col_of(path, "dkim", "192.0.2.9"), r.dkim);
	ck_assert_str_eq(col_of(path, "policy_domain", "192.0.2.9"),
	    "example.org");
}
END_TEST

START_TEST(test_queue_full_and_stop_flush)
{
	char			 path[128], err[256];
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r;
	int			 i;

	snprintf(path, sizeof(path), "%s/h.db", dir);
	h = am_history_new(path, 3, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	ck_assert_int_eq(am_history_enabled(h), 1);
	am_hist_build(&in, &r);
	for (i = 0; i < 10; i++)	/* faster than a 200 ms tick */
		am_history_put(h, &r);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.written + st.depth + st.dropped, 10);
	ck_assert_uint_le(st.depth, 3);
	ck_assert_uint_ge(st.dropped, 1);
	am_history_stop(h);		/* writes the queue */
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.written + st.dropped, 10);
	am_history_put(h, &r);		/* after stop: dropped */
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.written + st.dropped, 11);
	am_history_free(h);
	ck_assert_int_eq(count_rows(path, "192.0.2.1"), (long)st.written);
}
END_TEST

/*
 * the rows the writer has taken count against the cap until written: a
 * store that hangs (here: locked by another writer for AM_DB_BUSY_MS)
 * must not let the queue hold HistoryQueueSize more
 */
START_TEST(test_inflight_counts)
{
	char			 path[128], err[256];
	struct am_db		*other;
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r;
	int			 i;

	snprintf(path, sizeof(path), "%s/h.db", dir);
	other = am_db_open(path, err, sizeof(err));
	ck_assert_msg(other != NULL, "%s", err);
	h = am_history_new(path, 3, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	usleep(100000);			/* the writer has opened it */
	ck_assert_int_eq(am_db_begin_write(other), 0);
	am_hist_build(&in, &r);
	for (i = 0; i < 3; i++)
		am_history_put(h, &r);
	usleep(600000);			/* taken, waiting for the lock */
	for (i = 0; i < 3; i++)
		am_history_put(h, &r);
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.depth, 3);
	ck_assert_uint_eq(st.dropped, 3);
	ck_assert_int_eq(am_db_commit(other), 0);
	am_db_close(other);
	am_history_free(h);
}
END_TEST

/*
 * a store that never opens: each batch is tried AM_HIST_TRIES times (the
 * back-off after the failed open at start: 1, 2, 4 s) and then counted
 * failed; mail (the puts) never waits
 */
START_TEST(test_failed_after_tries)
{
	char			 path[128], err[256];
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r;
	int			 i;

	snprintf(path, sizeof(path), "%s/no/such/dir/h.db", dir);
	h = am_history_new(path, 10, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	am_hist_build(&in, &r);
	am_history_put(h, &r);
	am_history_put(h, &r);
	for (i = 0; i < 120; i++) {
		am_history_stats(h, &st);
		if (st.failed == 2)
			break;
		usleep(100000);
	}
	ck_assert_uint_eq(st.failed, 2);
	ck_assert_uint_eq(st.written, 0);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_eq(st.dropped, 0);
	am_history_free(h);
}
END_TEST

START_TEST(test_off_and_reload)
{
	char			 a[128], b[128], err[256];
	struct am_history	*h;
	struct am_history_stats	 st;
	struct am_hist_rec	 r;
	int			 i;

	snprintf(a, sizeof(a), "%s/a.db", dir);
	snprintf(b, sizeof(b), "sqlite:%s/b.db", dir);
	h = am_history_new("none", 100, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(am_history_enabled(h), 0);
	am_hist_build(&in, &r);
	am_history_put(h, &r);		/* off: not even counted */
	am_history_stats(h, &st);
	ck_assert_uint_eq(st.dropped + st.depth + st.written, 0);
	/* turned on by a reload */
	am_history_reload(h, a, 100);
	while (!am_history_enabled(h))
		usleep(10000);
	am_history_put(h, &r);
	/* to another store: what is queued goes to the old one first */
	am_history_reload(h, b, 100);
	for (i = 0; i < 500 && access(b + 7, F_OK) != 0; i++)
		usleep(10000);		/* switched: the new store is made */
	ck_assert_int_eq(access(b + 7, F_OK), 0);
	in.source_ip = "192.0.2.2";
	am_hist_build(&in, &r);
	am_history_put(h, &r);
	am_history_free(h);
	ck_assert_int_eq(count_rows(a, "192.0.2.1"), 1);
	ck_assert_int_eq(count_rows(a, "192.0.2.2"), 0);
	ck_assert_int_eq(count_rows(b, "192.0.2.2"), 1);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite	*s = suite_create("history");
	TCase	*tc = tcase_create("record");
	TCase	*tq = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wanted);
	tcase_add_test(tc, test_build_reject);
	tcase_add_test(tc, test_pack);
	tcase_add_test(tc, test_rcpt_domain);
	tcase_add_test(tc, test_override_mapping);
	tcase_add_test(tc, test_build_helo_dkim_text);
	tcase_add_test(tc, test_record_raw_tags);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tq, qsetup, qteardown);
	tcase_set_timeout(tq, 30);
	tcase_add_test(tq, test_queue_full_and_stop_flush);
	tcase_add_test(tq, test_inflight_counts);
	tcase_add_test(tq, test_failed_after_tries);
	tcase_add_test(tq, test_off_and_reload);
	tcase_add_test(tq, test_slab_bound);
	tcase_add_test(tq, test_burst_leaves_little);
	suite_add_tcase(s, tq);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(history_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
