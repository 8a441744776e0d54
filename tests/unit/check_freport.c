/*
 * check_freport.c - unit tests for report/freport.c: the fo= parser and
 * decision (RFC 9989 4.7, RFC 9991 3), Identity-Alignment (RFC 9991 4),
 * the kept header fields and their limit, the AFRF text, the rate
 * limiter; and dmarc/record.c keeping fo=, rua=, ruf= (hist13's raw copy,
 * which the reports read: cut at a comma).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "config/config.h"
#include "dmarc/record.h"
#include "report/freport.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define F0	AM_FREPORT_FO_0
#define F1	AM_FREPORT_FO_1
#define FD	AM_FREPORT_FO_D
#define FS	AM_FREPORT_FO_S

static const struct {
	const char	*fo;
	unsigned int	 want;
} fo_cases[] = {
	{ "", F0 }, { "0", F0 }, { "1", F1 }, { "d", FD }, { "s", FS },
	{ "D", FD }, { "1:d:s", F1 | FD | FS }, { "d:s", FD | FS },
	{ "s : 1", F1 | FS }, { "0:d", F0 | FD },
	{ "0:1", F0 },		/* mutually exclusive: default */
	{ "1:1", F0 },		/* repeated */
	{ "x", F0 }, { "1:", F0 }, { ":1", F0 }, { "1 d", F0 }, { "10", F0 },
};

/* every case in one test (no fork per case: slow under ASan) */
START_TEST(test_fo)
{
	size_t	 i;

	for (i = 0; i < nitems(fo_cases); i++)
		ck_assert_msg(am_freport_fo_parse(fo_cases[i].fo) ==
		    fo_cases[i].want, "fo=%s: got %#x", fo_cases[i].fo,
		    am_freport_fo_parse(fo_cases[i].fo));
}
END_TEST

/* res - a DMARC-evaluated message */
static void
res(struct am_results *r, enum am_dmarc_result dr, int dkim_al, int spf_al,
    const char *fo, const char *ruf, char psd)
{
	memset(r, 0, sizeof(*r));
	r->dmarc.result = dr;
	r->dmarc.dkim_aligned = dkim_al;
	r->dmarc.spf_aligned = spf_al;
	r->dmarc.pub.psd = psd;
	snprintf(r->dmarc.pub.fo, sizeof(r->dmarc.pub.fo), "%s", fo);
	snprintf(r->dmarc.pub.ruf, sizeof(r->dmarc.pub.ruf), "%s", ruf);
	strcpy(r->dmarc.from_domain, "example.com");
	strcpy(r->dmarc.policy_domain, "example.com");
	strcpy(r->dmarc.org_domain, "example.com");
}

#define RUF	"mailto:f@example.com"

static const struct {
	enum am_dmarc_result	 dr;
	int			 dkim_al, spf_al;
	const char		*fo, *ruf;
	char			 psd;
	int			 dkim_fail, spf_fail;
	enum am_freport_kind	 want;
} decide_cases[] = {
	{ AM_DMARC_FAIL, 0, 0, "", RUF, 'u', 0, 0, AM_FREPORT_DMARC },
	{ AM_DMARC_FAIL, 0, 0, "0", RUF, 'n', 0, 0, AM_FREPORT_DMARC },
	{ AM_DMARC_FAIL, 0, 0, "", "", 'u', 0, 0, AM_FREPORT_NONE },	/* no ruf */
	{ AM_DMARC_FAIL, 0, 0, "", RUF, 'y', 0, 0, AM_FREPORT_NONE },	/* psd=y */
	{ AM_DMARC_PASS, 1, 0, "0", RUF, 'u', 0, 0, AM_FREPORT_NONE },
	{ AM_DMARC_PASS, 1, 0, "1", RUF, 'u', 0, 0, AM_FREPORT_DMARC },	/* any */
	{ AM_DMARC_PASS, 0, 1, "1", RUF, 'u', 0, 0, AM_FREPORT_DMARC },
	{ AM_DMARC_PASS, 1, 1, "1", RUF, 'u', 0, 0, AM_FREPORT_NONE },
	{ AM_DMARC_PASS, 1, 1, "d", RUF, 'u', 1, 0, AM_FREPORT_DKIM },
	{ AM_DMARC_PASS, 1, 1, "d", RUF, 'u', 0, 1, AM_FREPORT_NONE },
	{ AM_DMARC_PASS, 1, 1, "s", RUF, 'u', 0, 1, AM_FREPORT_SPF },
	{ AM_DMARC_PASS, 1, 1, "d:s", RUF, 'u', 0, 1, AM_FREPORT_SPF },
	{ AM_DMARC_FAIL, 0, 0, "d:s", RUF, 'u', 0, 0, AM_FREPORT_NONE },	/* no 0 */
	{ AM_DMARC_FAIL, 0, 0, "0:d", RUF, 'u', 1, 0, AM_FREPORT_DMARC },	/* one report */
	{ AM_DMARC_TEMPERROR, 0, 0, "1", RUF, 'u', 0, 0, AM_FREPORT_NONE },
	{ AM_DMARC_PERMERROR, 0, 0, "1", RUF, 'u', 0, 0, AM_FREPORT_NONE },
	{ AM_DMARC_NONE, 0, 0, "1", RUF, 'u', 0, 0, AM_FREPORT_NONE },
};

START_TEST(test_decide)
{
	struct am_results	 r;
	size_t			 i;

	for (i = 0; i < nitems(decide_cases); i++) {
		res(&r, decide_cases[i].dr, decide_cases[i].dkim_al,
		    decide_cases[i].spf_al, decide_cases[i].fo,
		    decide_cases[i].ruf, decide_cases[i].psd);
		if (decide_cases[i].dkim_fail) {
			r.ndkim = 2;
			r.dkim[0].result = AM_DKIM_PASS;
			r.dkim[1].result = AM_DKIM_FAIL;
		}
		r.spf_mailfrom.checked = 1;
		r.spf_mailfrom.result = decide_cases[i].spf_fail ?
		    AM_SPF_FAIL : AM_SPF_PASS;
		ck_assert_msg(am_freport_decide(&r) == decide_cases[i].want,
		    "case %zu: got %d", i, am_freport_decide(&r));
	}
}
END_TEST

START_TEST(test_no_policy_domain)
{
	struct am_results	 r;

	res(&r, AM_DMARC_FAIL, 0, 0, "", RUF, 'u');
	r.dmarc.policy_domain[0] = '\0';
	ck_assert_int_eq(am_freport_decide(&r), AM_FREPORT_NONE);
}
END_TEST

START_TEST(test_identity_alignment)
{
	struct am_results	 r;

	res(&r, AM_DMARC_FAIL, 0, 0, "", RUF, 'u');
	ck_assert_str_eq(am_freport_identity_alignment(&r.dmarc), "dkim, spf");
	r.dmarc.spf_aligned = 1;
	ck_assert_str_eq(am_freport_identity_alignment(&r.dmarc), "dkim");
	r.dmarc.dkim_aligned = 1;
	ck_assert_str_eq(am_freport_identity_alignment(&r.dmarc), "none");
	r.dmarc.spf_aligned = 0;
	ck_assert_str_eq(am_freport_identity_alignment(&r.dmarc), "spf");
	ck_assert_str_eq(am_freport_kind_str(AM_FREPORT_DMARC), "dmarc");
	ck_assert_str_eq(am_freport_kind_str(AM_FREPORT_DKIM), "signature");
}
END_TEST

/* limit: whole fields up to the cap; the next one is left out and noted */
START_TEST(test_keep_header)
{
	struct am_buf	 b;
	int		 cut = 0;

	am_buf_init(&b, 40);
	am_freport_keep_header(&b, "Subject", " hi\r\n there", &cut);
	ck_assert_str_eq(am_buf_str(&b), "Subject: hi\n there\n");
	ck_assert_int_eq(cut, 0);
	am_freport_keep_header(&b, "X-Long", " 0123456789012345678901234", &cut);
	ck_assert_int_eq(cut, 1);
	ck_assert_str_eq(am_buf_str(&b), "Subject: hi\n there\n");
	am_freport_keep_header(&b, "To", " a@b", &cut);	/* fits again */
	ck_assert_str_eq(am_buf_str(&b), "Subject: hi\n there\nTo: a@b\n");
	ck_assert_int_eq(am_buf_failed(&b), 0);
	am_buf_clear(&b);
}
END_TEST

START_TEST(test_date)
{
	char	 d[64];

	am_freport_date(0, d, sizeof(d));
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	am_freport_date(1796601600, d, sizeof(d));	/* 2026-12-07 */
	ck_assert_str_eq(d, "Mon, 07 Dec 2026 00:00:00 +0000");
}
END_TEST

/* in - a report of a DMARC failure with a failed aligned signature */
static void
in_of(struct am_freport_in *in, struct am_results *r)
{
	res(r, AM_DMARC_FAIL, 0, 0, "1", RUF, 'u');
	strcpy(r->dmarc.from_domain, "mail.example.com");
	r->ndkim = 2;
	r->dkim[0].result = AM_DKIM_FAIL;
	strcpy(r->dkim[0].domain, "other.example");
	strcpy(r->dkim[0].selector, "x");
	r->dkim[1].result = AM_DKIM_FAIL;
	strcpy(r->dkim[1].domain, "example.com");
	strcpy(r->dkim[1].selector, "sel1");
	r->spf_mailfrom.checked = 1;
	r->spf_mailfrom.result = AM_SPF_FAIL;
	strcpy(r->spf_mailfrom.domain, "bounce.example.com");
	memset(in, 0, sizeof(*in));
	in->reporter = "mx.receiver.example";
	in->user_agent = "authmilter/test";
	in->sender = "reports@receiver.example";
	in->to = "f@example.com";
	in->message_id = "<t1@mx.receiver.example>";
	in->boundary = "=_b1";
	in->arrival = 1796601600;
	in->source_ip = "192.0.2.7";
	in->mailfrom = "bob@bounce.example.com";
	in->kind = AM_FREPORT_DMARC;
	in->action = AM_ACT_REJECT;
	in->res = r;
	in->authres = "mx.receiver.example;\r\n\tdmarc=fail header.from=mail.example.com";
	in->spf_record = "v=spf1 -all";
	in->headers = "From: a@mail.example.com\nSubject: x\n";
}

START_TEST(test_compose)
{
	struct am_freport_in	 in;
	struct am_results	 r;
	struct am_buf		 b;
	const char		*s;

	in_of(&in, &r);
	am_buf_init(&b, 1 << 20);
	ck_assert_int_eq(am_freport_compose(&in, &b), 0);
	s = am_buf_str(&b);
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: multipart/report; "
	    "report-type=feedback-report;\n\tboundary=\"=_b1\"\n"));
	ck_assert_ptr_nonnull(strstr(s, "\n--=_b1\nContent-Type: message/feedback-report\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nFeedback-Type: auth-failure\nVersion: 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nAuth-Failure: dmarc\n"));
	/* our A-R keeps its folds, as LF WSP */
	ck_assert_ptr_nonnull(strstr(s, "\nAuthentication-Results: mx.receiver.example;"
	    "\n\tdmarc=fail header.from=mail.example.com\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nIdentity-Alignment: dkim, spf\n"));
	/* the aligned signature, not the first one */
	ck_assert_ptr_nonnull(strstr(s, "\nDKIM-Domain: example.com\n"
	    "DKIM-Identity: @example.com\nDKIM-Selector: sel1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nSPF-DNS: txt : bounce.example.com : v=spf1 -all\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nOriginal-Mail-From: <bob@bounce.example.com>\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nArrival-Date: Mon, 07 Dec 2026 00:00:00 +0000\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nSource-IP: 192.0.2.7\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nReported-Domain: mail.example.com\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nDelivery-Result: reject\n"));
	ck_assert_ptr_nonnull(strstr(s, "\n--=_b1\nContent-Type: text/rfc822-headers\n"
	    "Content-Transfer-Encoding: 7bit\n\nFrom: a@mail.example.com\nSubject: x\n"));
	ck_assert_ptr_nonnull(strstr(s, "\n--=_b1--\n"));
	ck_assert_ptr_null(strstr(s, "\r"));
	ck_assert(strncmp(s, "From: reports@receiver.example\nTo: f@example.com\n", 49) == 0);
	am_buf_clear(&b);
}
END_TEST

/* the body part, with its CRs gone and a cut noted; fields a sender controls stay one line */
START_TEST(test_compose_body)
{
	struct am_freport_in	 in;
	struct am_results	 r;
	struct am_buf		 b;
	const char		*s;

	in_of(&in, &r);
	in.body = "line1\r\nline2";
	in.body_len = strlen(in.body);
	in.body_cut = 1;
	in.mailfrom = "evil\r\nBcc: x@y";
	r.dmarc.dkim_aligned = 1;	/* no DKIM fields then */
	am_buf_init(&b, 1 << 20);
	ck_assert_int_eq(am_freport_compose(&in, &b), 0);
	s = am_buf_str(&b);
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: message/rfc822\n"));
	ck_assert_ptr_nonnull(strstr(s, "Subject: x\n\nline1\nline2\n\n--=_b1--\n"));
	ck_assert_ptr_nonnull(strstr(s, "The body was cut"));
	ck_assert_ptr_nonnull(strstr(s, "\nOriginal-Mail-From: <evilBcc: x@y>\n"));
	ck_assert_ptr_null(strstr(s, "\nBcc:"));
	ck_assert_ptr_null(strstr(s, "DKIM-Domain"));
	ck_assert_ptr_nonnull(strstr(s, "\nIdentity-Alignment: spf\n"));
	am_buf_clear(&b);
	/* too small a buffer: -1, never a partial report sent */
	am_buf_init(&b, 100);
	ck_assert_int_eq(am_freport_compose(&in, &b), -1);
	am_buf_clear(&b);
}
END_TEST

START_TEST(test_rate)
{
	struct am_freport_rate	*r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	/* per domain: 2 an hour */
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1000, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "A.example", 1001, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1002, 5, 2), AM_FREPORT_RATE_DOMAIN);
	ck_assert_int_eq(am_freport_rate_take(r, "b.example", 1003, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "c.example", 1004, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "c.example", 1005, 5, 2), AM_FREPORT_RATE_OK);
	/* overall: 5 an hour */
	ck_assert_int_eq(am_freport_rate_take(r, "d.example", 1006, 5, 2), AM_FREPORT_RATE_GLOBAL);
	/* the hour is over: both windows start again */
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1000 + 3599, 5, 2), AM_FREPORT_RATE_GLOBAL);
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1000 + 3600, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1001 + 3600, 5, 2), AM_FREPORT_RATE_OK);
	ck_assert_int_eq(am_freport_rate_take(r, "a.example", 1002 + 3600, 5, 2), AM_FREPORT_RATE_DOMAIN);
	free(r);
}
END_TEST

/* limit: AM_FREPORT_RATE_DOMAINS tracked; one more takes the oldest slot */
START_TEST(test_rate_domains)
{
	struct am_freport_rate	*r = calloc(1, sizeof(*r));
	char			 d[64];
	int			 i;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < AM_FREPORT_RATE_DOMAINS; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		ck_assert_int_eq(am_freport_rate_take(r, d, 100 + i, 1000000, 1), AM_FREPORT_RATE_OK);
	}
	ck_assert_uint_eq(r->nd, AM_FREPORT_RATE_DOMAINS);
	ck_assert_int_eq(am_freport_rate_take(r, "d1.example", 1200, 1000000, 1), AM_FREPORT_RATE_DOMAIN);
	ck_assert_int_eq(am_freport_rate_take(r, "new.example", 1201, 1000000, 1), AM_FREPORT_RATE_OK);
	ck_assert_uint_eq(r->nd, AM_FREPORT_RATE_DOMAINS);
	/* d0 (the oldest) was forgotten: its count starts again */
	ck_assert_int_eq(am_freport_rate_take(r, "d0.example", 1202, 1000000, 1), AM_FREPORT_RATE_OK);
	free(r);
}
END_TEST

/* record.c keeps the report tags */
START_TEST(test_record_tags)
{
	struct am_dmarc_record	 rec;
	char			*txt, *p;
	size_t			 n;

	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=none; fo = 1:d ; "
	    "ruf=mailto:a@example.com , mailto:b@example.net; rua=mailto:c@example.com; ruf=mailto:x@y", &rec), 0);
	ck_assert_str_eq(rec.fo, "1:d");
	ck_assert_str_eq(rec.ruf, "mailto:a@example.com , mailto:b@example.net");
	ck_assert_str_eq(rec.rua, "mailto:c@example.com");
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=none; "
	    "fo=0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0", &rec), 0);
	ck_assert_str_eq(rec.fo, "");		/* over AM_DMARC_FO_MAX: default */
	/* limit: a ruf longer than AM_DMARC_URIS_MAX - 1 is cut at a comma */
	txt = malloc(AM_DMARC_URIS_MAX + 200);
	ck_assert_ptr_nonnull(txt);
	strcpy(txt, "v=DMARC1; ruf=");
	for (n = 0; strlen(txt) < AM_DMARC_URIS_MAX + 100; n++)
		strcat(txt, n ? ",mailto:abcdefghij@example.com" : "mailto:abcdefghij@example.com");
	ck_assert_int_eq(am_dmarc_record_parse(txt, &rec), 0);
	ck_assert_uint_lt(strlen(rec.ruf), AM_DMARC_URIS_MAX);
	p = strrchr(rec.ruf, ',');
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, ",mailto:abcdefghij@example.com");
	free(txt);
}
END_TEST

/* count_err - am_config_load's error callback: count, keep the last */
static void
count_err(void *arg, const char *msg)
{
	char	*last = arg;

	snprintf(last, 512, "%s", msg);
}

/* load_conf - a config file with the given text; NULL and *err on error */
static struct am_config *
load_conf(const char *text, char *err)
{
	char			 path[] = "/tmp/check_freport.XXXXXX";
	struct am_config	*cfg;
	FILE			*fp;
	int			 fd;

	err[0] = '\0';
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fprintf(fp, "AuthservID mx.example\n%s\n", text);
	ck_assert_int_eq(fclose(fp), 0);
	cfg = am_config_load(path, count_err, err);
	unlink(path);
	return cfg;
}

/* the FailureReports* keys: defaults, values, refused values */
START_TEST(test_config_keys)
{
	static const char *const bad[] = {
		"FailureReportsSentBy noat",
		"FailureReportsSentBy -oQ@x.example",
		"FailureReportsSentBy a b@x.example",
		"FailureReportsSentBy <a@x.example>",
		"FailureReportsSentBy a@b@x.example",
		"FailureReportsCommand sendmail",
		"FailureReportsPerHour 0",
		"FailureReportsPerDomainPerHour 0",
		"FailureReports maybe",
		"FailureReportsQueueSize 0",
		"FailureReportsQueueSize 1025",
	};
	struct am_config	*cfg;
	char			 err[512];
	size_t			 i;

	cfg = load_conf("", err);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->failure_reports, 0);
	ck_assert_int_eq(cfg->failure_reports_body, 0);
	ck_assert_ptr_null(cfg->failure_reports_sent_by);
	ck_assert_str_eq(cfg->failure_reports_command, "/usr/sbin/sendmail");
	ck_assert_uint_eq(cfg->failure_reports_per_hour, 60);
	ck_assert_uint_eq(cfg->failure_reports_per_domain, 10);
	ck_assert_uint_eq(cfg->failure_reports_queue, 64);
	am_config_unref(cfg);
	cfg = load_conf("FailureReports yes\nFailureReportsBody yes\n"
	    "FailureReportsSentBy dmarc@mx.example\n"
	    "FailureReportsCommand /usr/lib/sendmail\n"
	    "FailureReportsPerHour 5\nFailureReportsPerDomainPerHour 2\n"
	    "FailureReportsQueueSize 1024", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->failure_reports, 1);
	ck_assert_int_eq(cfg->failure_reports_body, 1);
	ck_assert_str_eq(cfg->failure_reports_sent_by, "dmarc@mx.example");
	ck_assert_str_eq(cfg->failure_reports_command, "/usr/lib/sendmail");
	ck_assert_uint_eq(cfg->failure_reports_per_hour, 5);
	ck_assert_uint_eq(cfg->failure_reports_per_domain, 2);
	ck_assert_uint_eq(cfg->failure_reports_queue, 1024);
	am_config_unref(cfg);
	for (i = 0; i < nitems(bad); i++) {
		cfg = load_conf(bad[i], err);
		ck_assert_msg(cfg == NULL, "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, ":2: ") != NULL, "%s: %s", bad[i], err);
	}
}
END_TEST

static Suite *
freport_suite(void)
{
	Suite	*s = suite_create("freport");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_fo);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_no_policy_domain);
	tcase_add_test(tc, test_identity_alignment);
	tcase_add_test(tc, test_keep_header);
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_compose_body);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_rate_domains);
	tcase_add_test(tc, test_record_tags);
	tcase_add_test(tc, test_config_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(freport_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
