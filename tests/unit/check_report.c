/*
 * check_report.c - milter/report/: grouping of history rows into report
 * records (agg.c), the report XML (xml.c) and the report mail (mail.c).
 *
 * Every document built here is validated by an independent checker,
 * xmllint --schema against RFC 9990's XSD (data/report/), and the values
 * that went through the escaping are read back with xmllint --xpath.
 * The mail is taken apart by Python's email package (the attachment
 * gunzipped by Python's gzip) and compared with the XML that went in.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/buf.h"
#include "report/agg.h"
#include "report/mail.h"
#include "report/rules.h"
#include "report/summary.h"
#include "report/xml.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define XSD		TESTDATA "/report/dmarc-xml-0.2.xsd"
#define PYTHON		"/usr/bin/python3"

/* msg - a plain row of example.com from ip, DKIM text parsed into sigs */
static void
msg(struct am_agg_msg *m, const char *ip, char *dkim, struct am_agg_sig *sigs)
{
	memset(m, 0, sizeof(*m));
	m->t = 1000;
	m->count = 1;
	m->source_ip = ip;
	m->env_from = m->header_from = m->policy_domain = m->org_domain =
	    "example.com";
	m->env_to = "rcpt.example";
	m->discovery = "treewalk";
	m->p = "reject";
	m->sp = m->np = m->fo = m->rua = "";
	m->adkim = m->aspf = "r";
	m->testing = "n";
	m->policy_tag = "p";
	m->dmarc_result = "pass";
	m->dkim_aligned = 1;
	m->disposition = "none";
	m->override = m->override_comment = "";
	m->spf_domain = "example.com";
	m->spf_scope = "mfrom";
	m->spf_result = "pass";
	m->sigs = sigs;
	m->nsigs = dkim != NULL ? am_agg_split_sigs(dkim, sigs, 8) : 0;
}

/* tmpfile_with - write text to a new temporary file; its name in path */
static void
tmpfile_with(char *path, size_t len, const char *text)
{
	int	 fd;

	snprintf(path, len, "/tmp/check_report.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* run - a shell command's exit status and (first) output line */
static int
run(const char *cmd, char *out, size_t len)
{
	FILE	*f = popen(cmd, "r");
	size_t	 n;

	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	return pclose(f);
}

/* xsd_valid - xmllint --schema's verdict on the document */
static void
xsd_valid(const char *xml)
{
	char	 path[64], cmd[256], out[4096];
	int	 st;

	tmpfile_with(path, sizeof(path), xml);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s %s 2>&1", XSD,
	    path);
	st = run(cmd, out, sizeof(out));
	unlink(path);
	ck_assert_msg(st == 0, "xmllint: %s\n%s", out, xml);
}

/* xpath - the text xmllint finds at a local-name path */
static void
xpath(const char *xml, const char *expr, char *out, size_t len)
{
	char	 path[64], cmd[512];

	tmpfile_with(path, sizeof(path), xml);
	snprintf(cmd, sizeof(cmd), "xmllint --xpath \"%s\" %s 2>&1", expr,
	    path);
	run(cmd, out, len);
	unlink(path);
	if (*out != '\0' && out[strlen(out) - 1] == '\n')	/* xmllint's */
		out[strlen(out) - 1] = '\0';
}

START_TEST(split_sigs)
{
	char			 text[] = "example.com s1 pass\nbad line\n"
	    "other.example s2 fail\n\nx y z extra\nlast.example s3 none";
	struct am_agg_sig	 s[8];

	ck_assert_uint_eq(am_agg_split_sigs(text, s, 8), 3);
	ck_assert_str_eq(s[0].domain, "example.com");
	ck_assert_str_eq(s[0].selector, "s1");
	ck_assert_str_eq(s[1].result, "fail");
	ck_assert_str_eq(s[2].domain, "last.example");
}
END_TEST

/* RFC 9990 2.1.3: strict pass, relaxed pass, other pass, the rest */
START_TEST(order_sigs)
{
	char			 text[] = "zz.example a fail\nthird.example b pass\n"
	    "sub.example.com c pass\nexample.com d pass\n";
	struct am_agg_sig	 s[8];
	struct am_agg_msg	 m;

	msg(&m, "192.0.2.1", text, s);
	am_agg_order_sigs(&m);
	ck_assert_uint_eq(m.nsigs, 4);
	ck_assert_str_eq(m.sigs[0].domain, "example.com");
	ck_assert_str_eq(m.sigs[1].domain, "sub.example.com");
	ck_assert_str_eq(m.sigs[2].domain, "third.example");
	ck_assert_str_eq(m.sigs[3].domain, "zz.example");
}
END_TEST

/* identical rows count once; any field of the key keeps them apart */
START_TEST(group)
{
	char			 t[6][64];
	struct am_agg_sig	 s[6][8];
	struct am_agg_msg	 m[6];
	struct am_agg_record	 r[6];
	size_t			 i, n;

	for (i = 0; i < 6; i++)
		snprintf(t[i], sizeof(t[i]), "%s",
		    i == 1 ? "o.example k fail\nexample.com s pass\n" :
		    "example.com s pass\no.example k fail\n");
	for (i = 0; i < 6; i++)
		msg(&m[i], "192.0.2.1", t[i], s[i]);
	m[2].count = 5;			/* a GROUP BY row of 5 */
	m[3].source_ip = "192.0.2.2";
	m[4].header_from = "sub.example.com";	/* inherits: same report */
	m[5].t = 2000;
	m[5].p = "quarantine";
	n = am_agg_group(m, 6, r);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[0].count, 8);	/* 0, 1 (signature order), 2, 5 */
	ck_assert_str_eq(r[0].m->source_ip, "192.0.2.1");
	ck_assert_str_eq(r[0].m->header_from, "example.com");
	ck_assert_uint_eq(r[1].count, 1);
	ck_assert_uint_eq(r[2].count, 1);
	ck_assert_str_eq(am_agg_latest(m, 6)->p, "quarantine");
}
END_TEST

/*
 * envelope_to is an identifier (RFC 9990 2.1.1.11): rows that differ only
 * in it are separate records; its case does not matter; "" (no RCPT
 * domain) is a value of its own (issue 13)
 */
START_TEST(group_env_to)
{
	struct am_agg_sig	 s[4][8];
	struct am_agg_msg	 m[4];
	struct am_agg_record	 r[4];
	size_t			 i, n;

	for (i = 0; i < 4; i++)
		msg(&m[i], "192.0.2.1", NULL, s[i]);
	m[1].env_to = "RCPT.example";
	m[2].env_to = "other.example";
	m[3].env_to = "";
	n = am_agg_group(m, 4, r);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(r[i].count,
		    strcasecmp(r[i].m->env_to, "rcpt.example") == 0 ? 2 : 1);
}
END_TEST

START_TEST(disposition)
{
	struct am_agg_msg	 m;

	msg(&m, "192.0.2.1", NULL, NULL);
	ck_assert_str_eq(am_agg_disposition(&m), "pass");	/* p=reject */
	m.p = "none";
	ck_assert_str_eq(am_agg_disposition(&m), "none");
	m.policy_tag = "sp";
	m.sp = "quarantine";
	ck_assert_str_eq(am_agg_disposition(&m), "pass");
	m.dmarc_result = "fail";
	ck_assert_str_eq(am_agg_disposition(&m), "none");
	m.disposition = "reject";
	ck_assert_str_eq(am_agg_disposition(&m), "reject");
	m.disposition = "bogus";
	ck_assert_str_eq(am_agg_disposition(&m), "none");
}
END_TEST

static const struct am_xml_meta meta = {
	"Example <Org> & Co", "dmarc-reports@mx.example.net",
	"0123456789abcdef@mx.example.net", 1765065600, 1765151999,
	"authmilter-report test"
};

/* build - the document of n grouped messages */
static void
build(struct am_buf *b, struct am_agg_msg *m, size_t n)
{
	struct am_agg_record	*r = calloc(n, sizeof(*r));
	size_t			 nr;

	ck_assert_ptr_nonnull(r);
	nr = am_agg_group(m, n, r);
	am_buf_init(b, 512u << 20);
	am_xml_report(b, &meta, am_agg_latest(m, n), r, nr);
	ck_assert(!am_buf_failed(b));
	free(r);
}

/* a plain report validates and says what went in */
START_TEST(xml_valid)
{
	char			 t[2][64] = { "example.com s pass\n", "" };
	struct am_agg_sig	 s[2][8];
	struct am_agg_msg	 m[2];
	struct am_buf		 b;
	char			 out[256];

	msg(&m[0], "192.0.2.1", t[0], s[0]);
	msg(&m[1], "2001:db8::1", t[1], s[1]);
	m[1].env_from = "";		/* null sender: empty, not absent */
	m[1].spf_scope = "helo";	/* not reported (2.1.1.14) */
	m[1].dkim_aligned = 0;
	m[1].dmarc_result = "fail";
	m[1].disposition = "reject";
	build(&b, m, 2);
	xsd_valid(am_buf_str(&b));
	ck_assert_ptr_nonnull(strstr(am_buf_str(&b),
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"));
	xpath(am_buf_str(&b), "string(//*[local-name()='org_name'])", out,
	    sizeof(out));
	ck_assert_str_eq(out, "Example <Org> & Co");
	xpath(am_buf_str(&b), "count(//*[local-name()='spf'][*])", out,
	    sizeof(out));
	ck_assert_str_eq(out, "1");
	xpath(am_buf_str(&b), "string(//*[local-name()='policy_published']"
	    "/*[local-name()='np'])", out, sizeof(out));
	ck_assert_str_eq(out, "reject");	/* default: sp, default p */
	am_buf_clear(&b);
}
END_TEST

/* what a sender controls: markup, quotes, controls, broken UTF-8 */
START_TEST(xml_escape)
{
	struct am_agg_msg	 m;
	struct am_buf		 b;
	char			 out[512];

	msg(&m, "192.0.2.1", NULL, NULL);
	m.header_from = "a<b>&c\"d'e.example";
	m.env_from = "x\x01y\x1f\x7fz\xff\xc3(\xed\xa0\x80.example";
	m.env_to = "caf\xc3\xa9\r\n\t.example";
	m.override = "mailing_list";
	m.override_comment = "</comment><injected/>";
	build(&b, &m, 1);
	xsd_valid(am_buf_str(&b));
	xpath(am_buf_str(&b), "string(//*[local-name()='header_from'])", out,
	    sizeof(out));
	ck_assert_str_eq(out, "a<b>&c\"d'e.example");
	xpath(am_buf_str(&b), "string(//*[local-name()='envelope_from'])",
	    out, sizeof(out));
	/* each byte XML cannot carry is one U+FFFD; DEL (0x7f) is allowed */
	ck_assert_str_eq(out, "x\xef\xbf\xbdy\xef\xbf\xbd\x7fz\xef\xbf\xbd"
	    "\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.example");
	xpath(am_buf_str(&b), "string(//*[local-name()='envelope_to'])", out,
	    sizeof(out));
	ck_assert_str_eq(out, "caf\xc3\xa9\r\n\t.example");
	xpath(am_buf_str(&b), "string(//*[local-name()='comment'])", out,
	    sizeof(out));
	ck_assert_str_eq(out, "</comment><injected/>");
	am_buf_clear(&b);
}
END_TEST

/* past AM_XML_RECORDS_MAX: the smallest records left out, and said so */
START_TEST(xml_records_max)
{
	size_t			 n = AM_XML_RECORDS_MAX + 3, i;
	struct am_agg_msg	*m = calloc(n, sizeof(*m));
	char			(*ip)[48] = calloc(n, 48);
	struct am_buf		 b;
	const char		*p;
	size_t			 recs = 0;

	ck_assert(m != NULL && ip != NULL);
	for (i = 0; i < n; i++) {
		snprintf(ip[i], 48, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255,
		    i & 255);
		msg(&m[i], ip[i], NULL, NULL);
		m[i].count = i < 3 ? 1 : 2;	/* the three to leave out */
	}
	build(&b, m, n);
	/* one pass (ASan's strstr measures the whole rest at every call) */
	for (p = am_buf_str(&b); *p != '\0'; p++)
		if (*p == '<' && strncmp(p, "<record>", 8) == 0)
			recs++;
	ck_assert_uint_eq(recs, AM_XML_RECORDS_MAX);
	ck_assert_ptr_nonnull(strstr(am_buf_str(&b), "<error>3 records "
	    "(3 messages) left out"));
	ck_assert_ptr_null(strstr(am_buf_str(&b), ">10.0.0.1<"));
	am_buf_clear(&b);
	free(m);
	free(ip);
}
END_TEST

START_TEST(names)
{
	char	 uid[AM_MAIL_UID_LEN], uid2[AM_MAIL_UID_LEN], rid[AM_MAIL_RID_MAX];
	char	 name[AM_MAIL_NAME_MAX], safe[32];

	am_mail_uid("mx.example.net", "example.com", 100, 199, uid);
	am_mail_uid("mx.example.net", "example.com", 100, 199, uid2);
	ck_assert_str_eq(uid, uid2);		/* a retry: the same id */
	ck_assert_uint_eq(strlen(uid), 16);
	ck_assert_uint_eq(strspn(uid, "0123456789abcdef"), 16);
	am_mail_uid("mx.example.net", "example.com", 200, 299, uid2);
	ck_assert_str_ne(uid, uid2);
	am_mail_uid("mx.example.net", "example.org", 100, 199, uid2);
	ck_assert_str_ne(uid, uid2);
	am_mail_report_id(uid, "MX.Example.NET", rid, sizeof(rid));
	ck_assert_str_eq(rid + 16, "@mx.example.net");
	am_mail_filename("mx.example.net", "Example.COM", 100, 199, uid, name,
	    sizeof(name));
	ck_assert_int_eq(strncmp(name, "mx.example.net!example.com!100!199!",
	    35), 0);
	ck_assert_str_eq(name + 35 + 16, ".xml.gz");
	am_mail_safe_domain("../x/\r\nA\xc3\xa9", safe, sizeof(safe));
	ck_assert_str_eq(safe, ".._x___a__");
}
END_TEST

/* the mail, taken apart by Python's email package */
START_TEST(message)
{
	static const char *const to[] = { "dmarc@example.com",
	    "evil@x.example>\nBcc: a@b" };
	const char	*xml = "<?xml version=\"1.0\"?><feedback/>\n";
	struct am_buf	 gz, b;
	struct am_mail_info in = {
		"reports@mx.example.net", to, 2, "example.com",
		"mx.example.net", "Example", "0123456789abcdef@mx.example.net",
		"mx.example.net!example.com!100!199!0123456789abcdef.xml.gz",
		100, 199, 1765152000
	};
	char		 path[64], cmd[1024], out[4096], want[1024];

	am_buf_init(&gz, 1u << 20);
	ck_assert_int_eq(am_mail_gzip(xml, strlen(xml), &gz), 0);
	am_buf_init(&b, 1u << 20);
	am_mail_message(&b, &in, gz.s, gz.len);
	ck_assert(!am_buf_failed(&b));
	tmpfile_with(path, sizeof(path), am_buf_str(&b));
	snprintf(cmd, sizeof(cmd), PYTHON " -c '"
	    "import email, gzip, sys\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"))\n"
	    "print(\" \".join(m[\"Subject\"].split()))\n"
	    "print(m[\"To\"].replace(\"\\n\", \"|\"))\n"
	    "print(m[\"Bcc\"])\n"
	    "p = [x for x in m.walk() if x.get_content_type() == "
	    "\"application/gzip\"]\n"
	    "print(len(p), p[0].get_filename())\n"
	    "sys.stdout.write(gzip.decompress(p[0].get_payload(decode=True))"
	    ".decode())\n' %s 2>&1", path);
	ck_assert_int_eq(run(cmd, out, sizeof(out)), 0);
	unlink(path);
	snprintf(want, sizeof(want), "Report Domain: example.com Submitter: "
	    "mx.example.net Report-ID: <%s>\n<dmarc@example.com>\nNone\n"
	    "1 %s\n%s", in.report_id, in.filename, xml);
	ck_assert_str_eq(out, want);
	am_buf_clear(&gz);
	am_buf_clear(&b);
}
END_TEST

START_TEST(rules_period)
{
	long long	 b, e, s;

	am_rules_day(1765152000LL + 3600, &b, &e);	/* 2025-12-08 01:00 */
	ck_assert_int_eq(b, 1765152000LL);
	ck_assert_int_eq(e, 1765152000LL + 86399);
	ck_assert_int_eq(am_rules_parse_day("2026-12-06", &b), 0);
	ck_assert_int_eq(b, 1796515200LL);
	ck_assert_int_eq(am_rules_parse_day("2026-02-30", &b), -1);
	ck_assert_int_eq(am_rules_parse_day("2026-1-06", &b), -1);
	ck_assert_int_eq(am_rules_parse_day("2026-12-06x", &b), -1);
	ck_assert_int_eq(am_rules_parse_since("7d", &s), 0);
	ck_assert_int_eq(s, 7 * 86400);
	ck_assert_int_eq(am_rules_parse_since("90", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(am_rules_parse_since("12h", &s), 0);
	ck_assert_int_eq(s, 12 * 3600);
	ck_assert_int_eq(am_rules_parse_since("d", &s), -1);
	ck_assert_int_eq(am_rules_parse_since("7w", &s), -1);
}
END_TEST

/* 1, 2, 4 ... days (less the slack), capped; suppressed at max */
START_TEST(rules_backoff)
{
	long long	 nt;
	int		 sup;

	am_rules_backoff(1, 5, 1000000, &nt, &sup);
	ck_assert_int_eq(nt, 1000000 + 86400 - AM_RULES_SLACK);
	ck_assert_int_eq(sup, 0);
	am_rules_backoff(3, 5, 1000000, &nt, &sup);
	ck_assert_int_eq(nt, 1000000 + 4 * 86400 - AM_RULES_SLACK);
	am_rules_backoff(5, 5, 1000000, &nt, &sup);
	ck_assert_int_eq(sup, 1);
	am_rules_backoff(40, 1000, 1000000, &nt, &sup);
	ck_assert_int_eq(nt, 1000000 + AM_RULES_BACKOFF_MAX - AM_RULES_SLACK);
	ck_assert_int_eq(sup, 0);
}
END_TEST

START_TEST(rules_suppress)
{
	struct am_rules_suppress	 s;

	ck_assert_int_eq(am_rules_suppress_parse("# comment\n"
	    "  Dead@Example.ORG  # a dead rua\n\nreports.example\n", &s), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert(am_rules_suppressed(&s, "dead@example.org"));
	ck_assert(!am_rules_suppressed(&s, "alive@example.org"));
	ck_assert(am_rules_suppressed(&s, "x@reports.example"));
	ck_assert(am_rules_suppressed(&s, "x@a.reports.example"));
	ck_assert(!am_rules_suppressed(&s, "x@otherreports.example"));
	am_rules_suppress_free(&s);
}
END_TEST

/* the summary's text for a terminal and for JSON */
START_TEST(summary_escape)
{
	char	 out[32], *buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	am_summary_text("a\x1b[2Jb\xc3\xa9", out, sizeof(out));
	ck_assert_str_eq(out, "a?[2Jb??");
	ck_assert_ptr_nonnull(f);
	am_summary_json(f, "q\"b\\\n\x01");
	fclose(f);
	ck_assert_str_eq(buf, "\"q\\\"b\\\\\\u000a\\u0001\"");
	free(buf);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("report");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_sigs);
	tcase_add_test(tc, order_sigs);
	tcase_add_test(tc, group);
	tcase_add_test(tc, group_env_to);
	tcase_add_test(tc, disposition);
	tcase_add_test(tc, xml_valid);
	tcase_add_test(tc, xml_escape);
	tcase_add_test(tc, xml_records_max);
	tcase_add_test(tc, names);
	tcase_add_test(tc, message);
	tcase_add_test(tc, rules_period);
	tcase_add_test(tc, rules_backoff);
	tcase_add_test(tc, rules_suppress);
	tcase_add_test(tc, summary_escape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
