/*
 * check_opendmarc.c - libopendmarc as an oracle for authmilter's DMARC
 * record parser (milter/dmarc/record.c): on the classic tags (p, sp,
 * adkim, aspf, pct) opendmarc_policy_store_dmarc() and
 * am_dmarc_record_parse() must agree, except on the rows listed with the
 * reason they differ (our side of those is asserted in check_dmarc.c).
 *
 * The only program that links libopendmarc: the daemon does not use it.
 * Without libopendmarc-dev at configure time this program is built from
 * no_opendmarc.c instead, which fails (an oracle that cannot run is a
 * failure, not a skip).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <opendmarc/dmarc.h>

#include "dmarc/record.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define P_NO	AM_DMARC_P_NONE
#define P_QU	AM_DMARC_P_QUARANTINE

/*
 * Where libopendmarc and RFC 9989 part ways, on purpose (why is given):
 * for those rows only our own values are asserted, plus libopendmarc's
 * status so that a change in the library is noticed.
 */
static const struct {
	const char	*txt;
	const char	*why;		/* NULL: the two must agree */
	int		 lib_status;
} lib_cases[] = {
	{ "v=DMARC1; p=reject", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=quarantine", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=none; sp=quarantine; adkim=s; aspf=r; pct=50", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=reject; sp=none; adkim=r; aspf=s", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1;p=reject;", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1 ; p = reject ; adkim = s", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=REJECT", NULL, DMARC_PARSE_OKAY },
	{ "V=DMARC1; P=reject", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=reject; pct=0", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=reject; foo=bar", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=none; np=reject; psd=y; t=y", NULL, DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=quarantine; rua=mailto:a@x.example; ruf=mailto:b@x.example; fo=1",
	    NULL, DMARC_PARSE_OKAY },
	{ "v=dmarc1; p=reject", "9989 4.8: the version value is case-sensitive",
	    DMARC_PARSE_OKAY },
	{ "p=reject; v=DMARC1", "9989 4.7: v must be the first tag", DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=none; p=reject", "duplicate tag: ours keeps the first, it the last",
	    DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=reject; pct=abc", "bad pct: default 100 (4.8), it reads 0",
	    DMARC_PARSE_OKAY },
	{ "v=DMARC1; p=reject; pct=101", "bad pct: default 100, it rejects the record",
	    DMARC_PARSE_ERROR_BAD_VALUE },
	{ "v=DMARC1; p=reject; adkim=x", "bad adkim: default r, it rejects the record",
	    DMARC_PARSE_ERROR_BAD_VALUE },
	{ "v=DMARC1", "9989 4.7: no p is p=none, it wants p",
	    DMARC_PARSE_ERROR_NO_REQUIRED_P },
	{ "v=DMARC1; p=bogus; rua=mailto:a@x.example",
	    "9989 4.10.1: bad p with a valid rua acts as p=none", DMARC_PARSE_ERROR_BAD_VALUE },
};

/* lib_p - our policy as libopendmarc's letter */
static int
lib_p(enum am_dmarc_policy p, enum am_dmarc_tag t)
{
	if (t != AM_DMARC_TAG_VALID)
		return DMARC_RECORD_P_UNSPECIFIED;
	return p == P_NO ? DMARC_RECORD_P_NONE : p == P_QU ?
	    DMARC_RECORD_P_QUARANTINE : DMARC_RECORD_P_REJECT;
}

START_TEST(test_libopendmarc_agrees)
{
	OPENDMARC_LIB_T		 lib;
	DMARC_POLICY_T		*pc;
	struct am_dmarc_record	 r;
	int			 st, p = -1, sp = -1, adkim = -1, aspf = -1, pct = -1, rc;
	const char		*txt = lib_cases[_i].txt;

	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_NONE;
	ck_assert_int_eq(opendmarc_policy_library_init(&lib), DMARC_PARSE_OKAY);
	pc = opendmarc_policy_connect_init((u_char *)"192.0.2.1", DMARC_POLICY_IP_TYPE_IPV4);
	ck_assert_ptr_nonnull(pc);
	st = opendmarc_policy_store_dmarc(pc, (u_char *)txt, (u_char *)"example.com",
	    (u_char *)"example.com");
	(void)opendmarc_policy_fetch_p(pc, &p);
	(void)opendmarc_policy_fetch_sp(pc, &sp);
	(void)opendmarc_policy_fetch_adkim(pc, &adkim);
	(void)opendmarc_policy_fetch_aspf(pc, &aspf);
	(void)opendmarc_policy_fetch_pct(pc, &pct);
	opendmarc_policy_connect_shutdown(pc);
	opendmarc_policy_library_shutdown(&lib);
	rc = am_dmarc_record_parse(txt, &r);
	ck_assert_msg(st == lib_cases[_i].lib_status, "\"%s\": libopendmarc status %d",
	    txt, st);
	if (lib_cases[_i].why != NULL)
		return;			/* differs on purpose; our values: rec_cases */
	ck_assert_msg(rc == 0, "\"%s\": we do not parse it", txt);
	ck_assert_msg(p == lib_p(r.p, r.p_tag), "\"%s\": p %c vs %c", txt, p,
	    lib_p(r.p, r.p_tag));
	ck_assert_msg(sp == lib_p(r.sp, r.sp_tag), "\"%s\": sp", txt);
	ck_assert_msg(adkim == (r.adkim_strict ? 's' : 'r'), "\"%s\": adkim", txt);
	ck_assert_msg(aspf == (r.aspf_strict ? 's' : 'r'), "\"%s\": aspf", txt);
	ck_assert_msg(pct == r.pct, "\"%s\": pct %d vs %d", txt, pct, r.pct);
}
END_TEST

/* opendmarc_suite - the suite */
static Suite *
opendmarc_suite(void)
{
	Suite	*s = suite_create("opendmarc");
	TCase	*tc = tcase_create("record");

	tcase_add_loop_test(tc, test_libopendmarc_agrees, 0, nitems(lib_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(opendmarc_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
