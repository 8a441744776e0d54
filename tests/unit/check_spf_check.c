/*
 * check_spf_check.c - milter/spf/spf_check.c: RFC 7208 record syntax (section
 * 12 ABNF and the rules of 4.6, 5, 6, 7.1), the rewrite handed to libspf2,
 * and macro expansion with the examples of RFC 7208 section 7.4.
 * Pure functions: no DNS.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf/spf_check.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- record syntax: 1 valid, 0 permerror ---- */

static const struct {
	const char	*rec;
	int		 valid;
} syntax_cases[] = {
	{ "v=spf1", 1 },
	{ "v=spf1 -all", 1 },
	{ "V=SPF1 +A -ALL", 1 },
	{ "v=spf1   ip4:192.0.2.0/24   ~all  ", 1 },
	{ "v=spf1 a mx ptr include:_spf.example.com exists:%{i}.x.example.com", 1 },
	{ "v=spf1 a:mail.example.com/24//64 mx/30 -all", 1 },
	{ "v=spf1 a/0 mx//0 ip4:0.0.0.0/0 ip6:::/0", 1 },	/* 5.6: 0 is valid */
	{ "v=spf1 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4", 1 },
	{ "v=spf1 redirect=_spf.example.com", 1 },
	{ "v=spf1 -all exp=explain.%{d}", 1 },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 1 },	/* 6.3 */
	{ "v=spf1 a:foo.example.xn--zckzah -all", 1 },
	{ "v=spf1 a:%{d}.example.com. -all", 1 },		/* final dot */
	{ "v=spf1 a:%{l1r-}.%{d2} -all", 1 },
	{ "v=spf1 exists:%{ir}.%{v}._spf.%{d2}", 1 },
	{ "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all", 1 },
	{ "v=spf10 -all", 0 },					/* 4.5 */
	{ "v=spf1 a:foo-bar -all", 0 },				/* no "." toplabel */
	{ "v=spf1 a:museum", 0 },
	{ "v=spf1 a:1.2.3.4", 0 },				/* numeric toplabel */
	{ "v=spf1 a:foo.1", 0 },
	{ "v=spf1 a:example.-com", 0 },
	{ "v=spf1 a:example.com:8080", 0 },
	{ "v=spf1 a:mail.example...com -all", 0 },		/* empty label */
	{ "v=spf1 a: -all", 0 },
	{ "v=spf1 ptr: -all", 0 },
	{ "v=spf1 exists: -all", 0 },
	{ "v=spf1 exists:foo.example.com/24", 0 },		/* no CIDR */
	{ "v=spf1 include -all", 0 },
	{ "v=spf1 ip4:1.2.3.4/032", 0 },			/* leading zero */
	{ "v=spf1 ip4:1.2.3.4/33", 0 },
	{ "v=spf1 ip4:192.0.2.300", 0 },
	{ "v=spf1 ip4:01.2.3.4", 0 },
	{ "v=spf1 ip6:2001:db8::/129", 0 },
	{ "v=spf1 ip6:1.2.3.4", 0 },
	{ "v=spf1 a/33", 0 },
	{ "v=spf1 a//129", 0 },
	{ "v=spf1 -all/8", 0 },
	{ "v=spf1 foo:bar.example.com", 0 },			/* unknown mechanism */
	{ "v=spf1 redirect:t2.example.com", 0 },
	{ "v=spf1 redirect=a.example.com redirect=b.example.com", 0 },	/* 6 */
	{ "v=spf1 exp=a.example.com exp=b.example.com -all", 0 },
	{ "v=spf1 redirect=", 0 },
	{ "v=spf1 exp=%{r}.example.com -all", 0 },		/* 7.1: r only in exp text */
	{ "v=spf1 -exists:%(ir).sbl.example.com ?all", 0 },	/* 7.1 */
	{ "v=spf1 exists:foo%.sbl.example.com ?all", 0 },
	{ "v=spf1 exists:%{d0}.example.com", 0 },		/* 7.3: nonzero */
	{ "v=spf1 exists:%{x}.example.com", 0 },
	{ "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", 0 },
	{ "v=spf1 1x=foo -all", 0 },				/* name starts ALPHA */
	{ "v=spf1 +x=foo -all", 0 },				/* no qualifier */
	{ "v=spf1 a:foo.example.com\001", 0 },			/* 3.1 */
	{ "v=spf1 \xc2\x80" "a:example.net -all", 0 },
	{ "v=spf1 a:example.net \xc2\x96" "all", 0 },
	{ "v=spf1\t-all", 0 },
};

START_TEST(test_syntax_table)
{
	const char	*why = am_spf_record_check(syntax_cases[_i].rec);

	ck_assert_msg((why == NULL) == syntax_cases[_i].valid, "\"%s\": %s",
	    syntax_cases[_i].rec, why != NULL ? why : "valid");
}
END_TEST

/* ---- the rewrite for libspf2 ---- */

static const struct {
	const char	*in, *out;
} rewrite_cases[] = {
	{ "v=spf1 a -all", "v=spf1 a -all" },
	{ "v=spf1 a/0 -all", "v=spf1 a:" AM_SPF_ANY4 ".%{d} -all" },
	{ "v=spf1 a:e.example.com/0//64 -all",
	    "v=spf1 a:" AM_SPF_ANY4 ".e.example.com//64 -all" },
	{ "v=spf1 ~mx/24//0", "v=spf1 ~mx:" AM_SPF_ANY6 ".%{d}/24" },
	{ "v=spf1 mx:m.example.com/0//0", "v=spf1 mx:" AM_SPF_ANY46 ".m.example.com" },
	{ "v=spf1 ip4:1.2.3.4/0", "v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1" },
	{ "v=spf1 -ip6:::1/0", "v=spf1 -ip6:::/1 -ip6:8000::/1" },
	{ "v=spf1 -all exp=msg.example.com.",
	    "v=spf1 -all exp=msg.example.com." AM_SPF_EXP_MARK "3" },
	{ "v=spf1 x-y.z=1 ip4:1.2.3.4", "v=spf1 ip4:1.2.3.4" },	/* 6.3 */
	{ "v=spf1 redirect=r.example.com ~all", "v=spf1 ~all" },	/* 6.1 */
	{ "v=spf1 redirect=r.example.com ip4:1.2.3.4", "v=spf1 ip4:1.2.3.4 redirect=r.example.com" },
	{ "v=spf1 ip4:1.2.3.4 redirect=r.example.com",
	    "v=spf1 ip4:1.2.3.4 redirect=r.example.com" },
};

START_TEST(test_rewrite_table)
{
	char	 out[512];

	ck_assert_int_eq(am_spf_record_rewrite(rewrite_cases[_i].in, 3, out,
	    sizeof(out)), 0);
	ck_assert_msg(strcmp(out, rewrite_cases[_i].out) == 0, "\"%s\" -> \"%s\"",
	    rewrite_cases[_i].in, out);
}
END_TEST

START_TEST(test_rewrite_small)
{
	char	 out[8];

	ck_assert_int_eq(am_spf_record_rewrite("v=spf1 ip4:1.2.3.4 -all", 0, out,
	    sizeof(out)), -1);
}
END_TEST

/* ---- macros: RFC 7208 7.4 ---- */

static const struct {
	const char	*in;
	int		 v6, exp_text;
	const char	*out;		/* NULL: syntax error */
} macro_cases[] = {
	{ "%{s}", 0, 0, "strong-bad@email.example.com" },
	{ "%{o}", 0, 0, "email.example.com" },
	{ "%{d}", 0, 0, "email.example.com" },
	{ "%{d4}", 0, 0, "email.example.com" },
	{ "%{d3}", 0, 0, "email.example.com" },
	{ "%{d2}", 0, 0, "example.com" },
	{ "%{d1}", 0, 0, "com" },
	{ "%{dr}", 0, 0, "com.example.email" },
	{ "%{d2r}", 0, 0, "example.email" },
	{ "%{l}", 0, 0, "strong-bad" },
	{ "%{l-}", 0, 0, "strong.bad" },
	{ "%{lr}", 0, 0, "strong-bad" },
	{ "%{lr-}", 0, 0, "bad.strong" },
	{ "%{l1r-}", 0, 0, "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", 0, 0, "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", 0, 0, "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0, 0,
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0, 0,
	    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net", 0, 0,
	    "example.com.trusted-domains.example.net" },
	/* the RFC prints the nibbles in lower case; ours are upper (the
	 * openspf suite's v-macro-ip6 explanation), compared ignoring case */
	{ "%{ir}.%{v}._spf.%{d2}", 1, 0,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com" },
	{ "%%%_%-", 0, 0, "% %20" },
	{ "%{L}", 0, 0, "strong-bad" },
	{ "%{S}", 0, 0, "strong-bad%40email.example.com" },
	{ "See %{c} from %{h}, %{r}", 0, 1, "See 192.0.2.3 from mx.example.org, receiver.example" },
	{ "%{c}", 1, 1, "2001:db8::cb01" },
	{ "%{p}", 0, 1, "unknown" },
	{ "%{c}", 0, 0, NULL },			/* c, r, t: exp text only */
	{ "a b", 0, 0, NULL },			/* SP: exp text only */
	{ "%(ir)", 0, 1, NULL },
	{ "%{d0}", 0, 1, NULL },
	{ "%{d", 0, 1, NULL },
	{ "%", 0, 1, NULL },
};

START_TEST(test_macro_table)
{
	struct am_spf_macros	 m;
	char			 out[512];
	int			 rc;
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0xcb, 0x01 };

	memset(&m, 0, sizeof(m));
	m.sender = "strong-bad@email.example.com";
	m.local = "strong-bad";
	m.sender_dom = "email.example.com";
	m.domain = "email.example.com";
	m.helo = "mx.example.org";
	m.receiver = "receiver.example";
	m.ipv6 = macro_cases[_i].v6;
	if (m.ipv6) {
		memcpy(m.addr, v6, 16);
		m.ip = "2001:db8::cb01";
	} else {
		memcpy(m.addr, "\xc0\x00\x02\x03", 4);
		m.ip = "192.0.2.3";
	}
	rc = am_spf_macro_expand(macro_cases[_i].in, macro_cases[_i].exp_text, &m,
	    out, sizeof(out));
	if (macro_cases[_i].out == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" expanded to \"%s\"", macro_cases[_i].in, out);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\": error", macro_cases[_i].in);
	ck_assert_msg(strcasecmp(out, macro_cases[_i].out) == 0, "\"%s\" -> \"%s\"",
	    macro_cases[_i].in, out);
}
END_TEST

/* mechanisms, not modifiers: what libspf2's 64-term limit counts */
START_TEST(test_mechanisms)
{
	ck_assert_uint_eq(am_spf_record_mechanisms("v=spf1"), 0);
	ck_assert_uint_eq(am_spf_record_mechanisms("v=spf1 -all"), 1);
	ck_assert_uint_eq(am_spf_record_mechanisms(
	    "v=spf1  a mx:x.example  redirect=y.example exp=e.example ~all"), 3);
	ck_assert_uint_eq(am_spf_record_mechanisms(
	    "v=spf1 ip4:192.0.2.1 x-foo=%{d} -all "), 2);
	ck_assert_uint_eq(am_spf_record_mechanisms("v=spf10 a"), 0);
	ck_assert_uint_eq(am_spf_record_mechanisms("not spf"), 0);
}
END_TEST

START_TEST(test_is_record)
{
	ck_assert(am_spf_is_record("v=spf1"));
	ck_assert(am_spf_is_record("V=Spf1 -all"));
	ck_assert(!am_spf_is_record("v=spf1-all"));
	ck_assert(!am_spf_is_record("v=spf2.0/pra -all"));
	ck_assert(!am_spf_is_record(""));
	ck_assert(am_spf_macro_uses_p("connect from %{p}"));
	ck_assert(am_spf_macro_uses_p("%{P2}"));
	ck_assert(!am_spf_macro_uses_p("%{d}.example.com"));
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("spf_check");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_syntax_table, 0, nitems(syntax_cases));
	tcase_add_loop_test(tc, test_rewrite_table, 0, nitems(rewrite_cases));
	tcase_add_test(tc, test_rewrite_small);
	tcase_add_loop_test(tc, test_macro_table, 0, nitems(macro_cases));
	tcase_add_test(tc, test_is_record);
	tcase_add_test(tc, test_mechanisms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
