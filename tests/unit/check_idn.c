/*
 * check_idn.c - SMTPUTF8 (RFC 6532) From domains become A-labels
 * (RFC 8616 4) by IDNA2008 lookup (RFC 5891 5) with the UTS #46
 * non-transitional mapping, so DMARC finds the domain's records whatever
 * the case, normalisation form or full-width forms of the name; invalid
 * UTF-8, a disallowed code point, a label that is not a valid A-label or
 * an over-long result is no usable domain (-1).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "message/rfc5322.h"

static const struct {
	const char	*from;
	int		 n;		/* am_rfc5322_from_domains result */
	const char	*domain;
} cases[] = {
	{ " a@b\xc3\xbc" "cher.example", 1, "xn--bcher-kva.example" },
	{ " a@B\xc3\x9c" "CHER.Example", 1, "xn--bcher-kva.example" },	/* Latin-1 capital */
	{ " a@xn--bcher-kva.example", 1, "xn--bcher-kva.example" },
	{ " <j@\xe4\xbe\x8b\xe3\x81\x88.example>", 1, "xn--r8jz45g.example" },	/* RFC 3492-style */
	{ " x@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example", 1,
	    "xn--e1afmkfd.example" },					/* пример */
	{ " \xc3\xa9l\xc3\xa8ve <e@\xc3\xa9" "cole.example>", 1, "xn--cole-9oa.example" },
	{ " a@b\xc3" "cher.example", -1, NULL },			/* truncated UTF-8 */
	{ " a@b\xc0\xbc" "cher.example", -1, NULL },			/* overlong */
	{ " a@\xed\xa0\x80.example", -1, NULL },			/* surrogate */
	/* UTS #46 4 mapping: upper-case Greek BANK == lower-case */
	{ " a@\xce\x92\xce\x91\xce\x9d\xce\x9a.EXAMPLE", 1, "xn--mxabzl.example" },
	{ " a@\xce\xb2\xce\xb1\xce\xbd\xce\xba.example", 1, "xn--mxabzl.example" },
	/* RFC 5891 5.2 / UTS #46 4: NFC, so u + U+0308 == U+00FC */
	{ " a@bu\xcc\x88" "cher2.example", 1, "xn--bcher2-3ya.example" },
	{ " a@b\xc3\xbc" "cher2.example", 1, "xn--bcher2-3ya.example" },
	/* UTS #46 4: U+3002, U+FF0E, U+FF61 are label separators */
	{ " a@b\xc3\xbc" "cher\xe3\x80\x82" "example", 1, "xn--bcher-kva.example" },
	{ " a@b\xc3\xbc" "cher\xef\xbc\x8e" "example", 1, "xn--bcher-kva.example" },
	{ " a@b\xc3\xbc" "cher\xef\xbd\xa1" "example", 1, "xn--bcher-kva.example" },
	/* full-width letters map to ASCII; soft hyphen U+00AD maps to nothing */
	{ " a@\xef\xbd\x82\xef\xbd\x95" "cher.example", 1, "bucher.example" },
	{ " a@b\xc2\xad\xc3\xbc" "cher.example", 1, "xn--bcher-kva.example" },
	{ " a@\xc2\xad.example", -1, NULL },			/* empty label */
	/* non-transitional (UTS #46 4.1): sharp s stays, not "ss" */
	{ " a@fa\xc3\x9f.de", 1, "xn--fa-hia.de" },
	/* RFC 5892: disallowed code points */
	{ " a@a\xe2\x98\x83.example", -1, NULL },			/* U+2603 */
	{ " a@\xef\xbf\xbd.example", -1, NULL },			/* U+FFFD */
	/* RFC 5891 5.4: an ASCII "xn--" label must be a valid A-label */
	{ " a@XN--bcher-kva.example", 1, "xn--bcher-kva.example" },
	{ " a@xn--pwabzl.example", -1, NULL },			/* Punycode of upper-case */
	{ " a@xn--bucher-xyd.example", -1, NULL },		/* not NFC */
	{ " a@xn--zz.example", -1, NULL },			/* bad Punycode */
	{ " a@b\xc3\xbc" "cher.xn--zz.example", -1, NULL },
	/* plain ASCII is left as it was (no IDNA check: "--" and "_" stay) */
	{ " a@ab--cd.example", 1, "ab--cd.example" },
	{ " a@_dmarc.example", 1, "_dmarc.example" },
};

START_TEST(test_idn)
{
	char	 dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	int	 n;

	n = am_rfc5322_from_domains(cases[_i].from, dom, AM_FROM_ADDRS_MAX);
	ck_assert_int_eq(n, cases[_i].n);
	if (n == 1)
		ck_assert_str_eq(dom[0], cases[_i].domain);
}
END_TEST

START_TEST(test_idn_label_too_long)
{
	char	 dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	char	 v[512] = " a@";
	int	 i;

	for (i = 0; i < 70; i++)
		strcat(v, "\xc3\xbc");		/* 70 x u-umlaut: > 63 as A-label */
	strcat(v, ".example");
	ck_assert_int_eq(am_rfc5322_from_domains(v, dom, AM_FROM_ADDRS_MAX), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("idn");
	TCase	*tc = tcase_create("idn");
	SRunner	*sr;
	int	 nfail;

	tcase_add_loop_test(tc, test_idn, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_idn_label_too_long);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
