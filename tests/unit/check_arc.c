/*
 * check_arc.c - unit tests for arc/: tag lists (RFC 6376 3.2), the AAR
 * payload (RFC 8601), body canonicalization (RFC 6376 3.4.3, 3.4.4), the
 * sealer list and the pure trusted-sealer decision (issue 14).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc/arc.h"
#include "arc/arc_canon.h"
#include "dkim/bodyhash.h"
#include "arc/arc_parse.h"
#include "arc/arc_trust.h"
#include "common/buf.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*in;
	int		 ok;
	size_t		 n;
} tag_cases[] = {
	{ "a=1; b=2", 1, 2 },
	{ " a = 1 ;\r\n\tb=2;", 1, 2 },		/* FWS around, trailing ';' */
	{ "a=1;;b=2", 0, 0 },			/* empty tag-spec */
	{ "a=1; a=2", 0, 0 },			/* duplicate */
	{ "1a=1", 0, 0 },			/* name starts with a digit */
	{ "a=1; A=2", 1, 2 },			/* names are case-sensitive */
	{ "a=x y\r\n z", 1, 1 },		/* FWS inside a value */
	{ "a=x;y", 0, 0 },			/* y without = */
	{ "a=", 1, 1 },				/* empty value */
};

START_TEST(test_tags)
{
	struct am_arc_tags	 t;
	int			 rc = am_arc_tags_parse(tag_cases[_i].in, &t);

	ck_assert_msg((rc == 0) == tag_cases[_i].ok, "%s", tag_cases[_i].in);
	if (rc == 0)
		ck_assert_uint_eq(t.n, tag_cases[_i].n);
}
END_TEST

START_TEST(test_instance)
{
	struct am_arc_tags	 t;
	const char		*p;

	ck_assert_int_eq(am_arc_tags_parse("i=7; d=x", &t), 0);
	ck_assert_uint_eq(am_arc_instance(am_arc_tag(&t, "i")), 7);
	ck_assert_int_eq(am_arc_tags_parse("i=51", &t), 0);
	ck_assert_uint_eq(am_arc_instance(am_arc_tag(&t, "i")), 0);
	ck_assert_int_eq(am_arc_tags_parse("i=01", &t), 0);
	ck_assert_uint_eq(am_arc_instance(am_arc_tag(&t, "i")), 0);
	ck_assert_uint_eq(am_arc_aar_instance(" i=2; mx.example; none", &p), 2);
	ck_assert_str_eq(p, " mx.example; none");
	ck_assert_uint_eq(am_arc_aar_instance(" i=x; mx", &p), 0);
	ck_assert_uint_eq(am_arc_aar_instance(" mx.example; none", &p), 0);
}
END_TEST

START_TEST(test_aar_payload)
{
	struct am_arc_aar_info	 in;

	ck_assert_int_eq(am_arc_aar_payload(" lists.example (comment);\r\n"
	    " spf=pass smtp.mailfrom=a@Example.org;\r\n dkim=pass (2048-bit)"
	    " header.i=@mail.example.org header.s=s;\r\n dkim=fail header.d=x;"
	    " dmarc=pass (p=reject) header.from=example.org;"
	    " iprev=pass policy.iprev=192.0.2.1 (mx.example.org)", &in), 0);
	ck_assert_str_eq(in.pass, "spf:Example.org dkim:mail.example.org "
	    "dmarc:example.org");
	ck_assert_str_eq(in.remote_ip, "192.0.2.1");
	/* a remote-ip that is not an address is not kept */
	ck_assert_int_eq(am_arc_aar_payload(" mx; arc=none smtp.remote-ip="
	    "\"evil text\"", &in), 0);
	ck_assert_str_eq(in.remote_ip, "");
	ck_assert_int_eq(am_arc_aar_payload(" ;", &in), -1);
}
END_TEST

/* body_hash - one canonical body hash of s, hex of the first 4 bytes */
static void
body_hash(int relaxed, const char *s, long long l, unsigned char *out)
{
	struct am_bodyhash	 h;
	unsigned int		 n;
	size_t			 i;

	ck_assert_int_eq(am_bodyhash_init(&h, relaxed, EVP_sha256(), l), 0);
	for (i = 0; s[i] != '\0'; i++)		/* byte by byte: CRs split */
		am_bodyhash_update(&h, (const unsigned char *)s + i, 1);
	ck_assert_int_eq(am_bodyhash_final(&h, out, &n), 0);
	am_bodyhash_free(&h);
}

/* same - two bodies canonicalize alike (relaxed or simple) */
static int
same(int relaxed, const char *a, const char *b, long long l)
{
	unsigned char	 x[EVP_MAX_MD_SIZE], y[EVP_MAX_MD_SIZE];

	body_hash(relaxed, a, l, x);
	body_hash(relaxed, b, -1, y);
	return memcmp(x, y, 32) == 0;
}

START_TEST(test_body_canon)
{
	/* 3.4.4: WSP runs, trailing WSP, trailing empty lines */
	ck_assert(same(1, " a \t b  \r\n\r\n \r\n", " a b\r\n", -1));
	ck_assert(same(1, "a", "a\r\n", -1));
	ck_assert(same(1, "\r\n\r\n", "", -1));
	ck_assert(!same(1, "a\r\n\r\nb\r\n", "a\r\nb\r\n", -1));
	/* 3.4.3: trailing empty lines go, WSP stays; empty body is CRLF */
	ck_assert(same(0, "a \r\n\r\n\r\n", "a \r\n", -1));
	ck_assert(!same(0, "a  \r\n", "a \r\n", -1));
	ck_assert(same(0, "", "\r\n", -1));
	/* l=: the first l canonical bytes */
	ck_assert(same(0, "abc\r\nmore\r\n", "abc\r\n", 5));
}
END_TEST

START_TEST(test_header_canon)
{
	struct am_buf	 b;

	am_buf_init(&b, 1024);
	am_arc_canon_header(&b, "Subject ", " A  b\r\n\t c \t", 1, 1);
	ck_assert_str_eq(am_buf_str(&b), "subject:A b c\r\n");
	am_buf_reset(&b);
	am_arc_canon_header(&b, "Subject", " A\n b", 0, 0);
	ck_assert_str_eq(am_buf_str(&b), "Subject: A\r\n b");
	am_buf_clear(&b);
}
END_TEST

START_TEST(test_sealers)
{
	struct am_arc_sealers	*l;
	char			 err[256];
	char			 path[] = "/tmp/check_arc.XXXXXX";
	FILE			*f;
	int			 fd;

	l = am_arc_sealers_load("Lists.Example, fwd.example. other.example",
	    NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert(am_arc_sealers_has(l, "lists.example"));
	ck_assert(am_arc_sealers_has(l, "FWD.example"));
	ck_assert(!am_arc_sealers_has(l, "example"));
	ck_assert(!am_arc_sealers_has(l, "x.lists.example"));
	am_arc_sealers_free(l);
	ck_assert_ptr_null(am_arc_sealers_load("ok.example, bad/name", NULL,
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad/name"));
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# sealers\na.example\n\nb.example c.example # two\n", f);
	fclose(f);
	snprintf(err, sizeof(err), "file:%s", path);
	l = am_arc_sealers_load(err, NULL, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_nonnull(l);
	ck_assert(am_arc_sealers_has(l, "c.example"));
	ck_assert(!am_arc_sealers_has(l, "sealers"));
	am_arc_sealers_free(l);
}
END_TEST

/* sets_result - a message of n ARC sets (dummy values) through am_arc */
static void
sets_result(unsigned int n, unsigned int first, const char *extra,
    struct am_arc_res *out)
{
	struct am_arc	*a = am_arc_new(1024);
	char		 v[128];
	unsigned int	 i;

	ck_assert_ptr_nonnull(a);
	for (i = first; i < first + n; i++) {
		snprintf(v, sizeof(v), " i=%u; a=rsa-sha256; cv=%s; d=x.example;"
		    " s=s; b=AAAA", i, i == 1 ? "none" : "pass");
		ck_assert_int_eq(am_arc_header(a, "ARC-Seal", v), 0);
		snprintf(v, sizeof(v), " i=%u; a=rsa-sha256; d=x.example; s=s;"
		    " h=from; bh=AAAA; b=AAAA", i);
		ck_assert_int_eq(am_arc_header(a, "ARC-Message-Signature", v), 0);
		snprintf(v, sizeof(v), " i=%u; x.example; none", i);
		ck_assert_int_eq(am_arc_header(a, "ARC-Authentication-Results",
		    v), 0);
	}
	if (extra != NULL)
		ck_assert_int_eq(am_arc_header(a, "ARC-Seal", extra), 0);
	ck_assert_int_eq(am_arc_header(a, "From", " a@x.example"), 0);
	am_arc_eoh(a);
	am_arc_eom(a, NULL, NULL, out);	/* structure fails: no DNS asked */
	am_arc_free(a);
}

START_TEST(test_limits)
{
	struct am_arc_res	 r;
	char			*big;

	sets_result(51, 1, NULL, &r);		/* RFC 8617 4.2.1 */
	ck_assert_int_eq(r.result, AM_ARC_FAIL);
	ck_assert_str_eq(r.reason, "more than 50 ARC sets");
	sets_result(2, 2, NULL, &r);		/* a gap: no i=1 */
	ck_assert_int_eq(r.result, AM_ARC_FAIL);
	ck_assert_str_eq(r.reason, "ARC set incomplete or instances not 1..N");
	sets_result(1, 51, NULL, &r);
	ck_assert_str_eq(r.reason, "invalid or missing instance (i=)");
	sets_result(2, 1, " i=2; a=rsa-sha256; cv=pass; d=y; s=s; b=A", &r);
	ck_assert_str_eq(r.reason, "two ARC fields of one kind in one instance");
	big = malloc(AM_ARC_FIELD_MAX + 16);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', AM_ARC_FIELD_MAX + 15);
	memcpy(big, " i=1; z=", 8);
	big[AM_ARC_FIELD_MAX + 15] = '\0';
	sets_result(1, 1, big, &r);
	free(big);
	ck_assert_int_eq(r.result, AM_ARC_FAIL);
	ck_assert_str_eq(r.reason, "not verified: ARC header field too long");
}
END_TEST

/* the trust decision: chain, DMARC, hops (newest first) */
static const struct {
	const char	*why;
	int		 arc, dmarc, adkim_s;
	const char	*sealer[3], *pass[3];
	int		 want;
	const char	*by;
} trust_cases[] = {
	{ "trusted hop saw dmarc=pass", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "lists.example" }, { "dmarc:example.org" }, 1,
	  "sealer lists.example i=1" },
	{ "DMARC passed: nothing to override", AM_ARC_PASS, AM_DMARC_PASS, 0,
	  { "lists.example" }, { "dmarc:example.org" }, 0, NULL },
	{ "chain failed", AM_ARC_FAIL, AM_DMARC_FAIL, 0,
	  { "lists.example" }, { "dmarc:example.org" }, 0, NULL },
	{ "sealer not trusted", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "evil.example" }, { "dmarc:example.org" }, 0, NULL },
	{ "untrusted newest hop", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "evil.example", "lists.example" }, { "", "dmarc:example.org" },
	  0, NULL },
	{ "trusted newest, pass at hop 1", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "fwd.example", "lists.example" }, { "spf:fwd.example",
	  "dkim:example.org" }, 1, "sealer lists.example i=1" },
	{ "dmarc pass for another domain", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "lists.example" }, { "dmarc:example.com" }, 0, NULL },
	{ "relaxed dkim alignment", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "lists.example" }, { "dkim:mail.example.org" }, 1,
	  "sealer lists.example i=1" },
	{ "strict dkim alignment", AM_ARC_PASS, AM_DMARC_FAIL, 1,
	  { "lists.example" }, { "dkim:mail.example.org" }, 0, NULL },
	{ "lookalike org", AM_ARC_PASS, AM_DMARC_FAIL, 0,
	  { "lists.example" }, { "dkim:badexample.org" }, 0, NULL },
};

START_TEST(test_trust)
{
	struct am_arc_sealers	*l;
	struct am_arc_res	 arc;
	struct am_dmarc_res	 dm;
	char			 err[128], by[AM_REASON_MAX] = "";
	size_t			 n;
	int			 got;

	l = am_arc_sealers_load("lists.example fwd.example", NULL, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(l);
	memset(&arc, 0, sizeof(arc));
	memset(&dm, 0, sizeof(dm));
	arc.result = trust_cases[_i].arc;
	for (n = 0; n < 3 && trust_cases[_i].sealer[n] != NULL; n++) {
		snprintf(arc.hop[n].sealer, sizeof(arc.hop[n].sealer), "%s",
		    trust_cases[_i].sealer[n]);
		snprintf(arc.hop[n].aar_pass, sizeof(arc.hop[n].aar_pass),
		    "%s", trust_cases[_i].pass[n]);
	}
	arc.nhops = n;
	for (n = 0; n < arc.nhops; n++)
		arc.hop[n].instance = (unsigned int)(arc.nhops - n);
	dm.result = trust_cases[_i].dmarc;
	dm.adkim_strict = trust_cases[_i].adkim_s;
	snprintf(dm.from_domain, sizeof(dm.from_domain), "example.org");
	snprintf(dm.org_domain, sizeof(dm.org_domain), "example.org");
	got = am_arc_trust(l, &arc, &dm, by, sizeof(by));
	ck_assert_msg(got == trust_cases[_i].want, "%s", trust_cases[_i].why);
	if (got)
		ck_assert_str_eq(by, trust_cases[_i].by);
	ck_assert_int_eq(am_arc_trust(NULL, &arc, &dm, by, sizeof(by)), 0);
	am_arc_sealers_free(l);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("arc");
	TCase	*tc = tcase_create("arc");
	SRunner	*sr;
	int	 nf;

	tcase_add_loop_test(tc, test_tags, 0, nitems(tag_cases));
	tcase_add_test(tc, test_instance);
	tcase_add_test(tc, test_aar_payload);
	tcase_add_test(tc, test_body_canon);
	tcase_add_test(tc, test_header_canon);
	tcase_add_test(tc, test_sealers);
	tcase_add_test(tc, test_limits);
	tcase_add_loop_test(tc, test_trust, 0, nitems(trust_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
