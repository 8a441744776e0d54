/*
 * check_policy.c - milter/message/policy.c: one table over the sticky error, the
 * exemptions, the DMARC result and policy, t=y, pct and the config flags,
 * checked for action, SMTP code, enhanced code, text and log reason; and
 * the RejectString expansion.
 *
 * struct am_policy_conf holds the knobs policy.c reads (the session fills
 * it from the config snapshot), so this test does not depend on config.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message/policy.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define ACC	AM_ACT_ACCEPT
#define QUA	AM_ACT_QUARANTINE
#define REJ	AM_ACT_REJECT
#define TMP	AM_ACT_TEMPFAIL

#define D_NONE	AM_DMARC_NONE
#define D_PASS	AM_DMARC_PASS
#define D_FAIL	AM_DMARC_FAIL
#define D_TEMP	AM_DMARC_TEMPERROR
#define D_PERM	AM_DMARC_PERMERROR

#define P_UN	AM_DMARC_P_UNSPEC
#define P_NO	AM_DMARC_P_NONE
#define P_QU	AM_DMARC_P_QUARANTINE
#define P_RE	AM_DMARC_P_REJECT

#define RS	"Message rejected: DMARC policy of %{domain} (100%%)"
#define RS_X	"Message rejected: DMARC policy of example.org (100%)"
#define TEMP_X	"Temporary DNS failure evaluating DMARC for example.org, " \
		"try again later"
#define INT_X	"Temporary internal error, try again later"

struct pcase {
	const char		*label;
	enum am_err		 err;
	int			 trusted, auth;
	enum am_dmarc_result	 res;
	enum am_dmarc_policy	 pol;		/* the policy that applies */
	int			 testing, pct, sample;
	int			 rejf, hold;	/* RejectFailures, HoldQuarantined... */
	enum am_action		 ontemp, onint;
	const char		*rs;		/* RejectString, NULL: default */
	const char		*from;		/* From domain */
	enum am_action		 want;
	const char		*code, *xcode, *text, *why;
};

static const struct pcase cases[] = {
	/* 1. the sticky error comes first */
	{ "internal error, tempfail", AM_ERR_RESOURCE, 0, 0, D_PASS, P_RE,
	    0, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    TMP, "451", "4.3.0", INT_X, "internal error" },
	{ "internal error, accept", AM_ERR_MILTER, 0, 0, D_FAIL, P_RE,
	    0, 100, 0, 1, 0, ACC, ACC, RS, "example.org",
	    ACC, "", "", "", "internal error, accepted" },
	{ "internal error beats exemption", AM_ERR_LIBRARY, 1, 1, D_NONE, P_UN,
	    0, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    TMP, "451", "4.3.0", INT_X, "internal error" },
	{ "internal error beats dmarc fail", AM_ERR_INTERNAL, 0, 0, D_FAIL,
	    P_RE, 0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    TMP, "451", "4.3.0", INT_X, "internal error" },

	/* 2. exempt clients */
	{ "trusted network", AM_ERR_NONE, 1, 0, D_FAIL, P_RE,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "exempt: trusted network" },
	{ "authenticated", AM_ERR_NONE, 0, 1, D_FAIL, P_RE,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "exempt: authenticated client" },
	{ "trusted and authenticated", AM_ERR_NONE, 1, 1, D_TEMP, P_UN,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "exempt: trusted network" },

	/* 3. DNS trouble */
	{ "temperror, tempfail", AM_ERR_NONE, 0, 0, D_TEMP, P_UN,
	    0, 100, 0, 1, 0, TMP, TMP, RS, "example.org",
	    TMP, "451", "4.4.3", TEMP_X, "dmarc temperror" },
	{ "temperror, accept", AM_ERR_NONE, 0, 0, D_TEMP, P_UN,
	    0, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc temperror, accepted" },
	{ "temperror, no domain", AM_ERR_NONE, 0, 0, D_TEMP, P_UN,
	    0, 100, 0, 1, 0, TMP, TMP, RS, "",
	    TMP, "451", "4.4.3",
	    "Temporary DNS failure evaluating DMARC, try again later",
	    "dmarc temperror" },
	{ "temperror, hostile domain", AM_ERR_NONE, 0, 0, D_TEMP, P_UN,
	    0, 100, 0, 1, 0, TMP, TMP, RS, "a.example\r\n250 ok",
	    TMP, "451", "4.4.3", "Temporary DNS failure evaluating DMARC for "
	    "a.example250 ok, try again later", "dmarc temperror" },

	/* 4. no failure */
	{ "pass under reject", AM_ERR_NONE, 0, 0, D_PASS, P_RE,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc pass" },
	{ "none", AM_ERR_NONE, 0, 0, D_NONE, P_UN,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "no dmarc policy" },
	{ "permerror", AM_ERR_NONE, 0, 0, D_PERM, P_UN,
	    0, 100, 0, 1, 1, TMP, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc permerror" },

	/* 5. failures as published */
	{ "fail, reject", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    REJ, "550", "5.7.26", RS_X, "dmarc fail, p=reject" },
	{ "fail, reject, default text", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 100, 0, 1, 0, ACC, TMP, NULL, "example.org",
	    REJ, "550", "5.7.26", "Rejected by DMARC policy for example.org",
	    "dmarc fail, p=reject" },
	{ "fail, reject, RejectFailures no", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 100, 0, 0, 0, ACC, TMP, RS, "example.org",
	    ACC, "", "", "",
	    "dmarc fail, p=reject, RejectFailures off, header only" },
	{ "fail, reject, RejectFailures no, hold", AM_ERR_NONE, 0, 0, D_FAIL,
	    P_RE, 0, 100, 0, 0, 1, ACC, TMP, RS, "example.org",
	    QUA, "", "", "", "dmarc fail, p=reject, RejectFailures off, held" },
	{ "fail, quarantine", AM_ERR_NONE, 0, 0, D_FAIL, P_QU,
	    0, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, p=quarantine, header only" },
	{ "fail, quarantine, hold", AM_ERR_NONE, 0, 0, D_FAIL, P_QU,
	    0, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    QUA, "", "", "", "dmarc fail, p=quarantine" },
	{ "fail, none", AM_ERR_NONE, 0, 0, D_FAIL, P_NO,
	    0, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, p=none" },
	{ "fail, no policy at all", AM_ERR_NONE, 0, 0, D_FAIL, P_UN,
	    0, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, p=none" },

	/* 6. t=y (RFC 9989): one step milder */
	{ "t=y, reject as quarantine, hold", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    1, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    QUA, "", "", "", "dmarc fail, t=y: as p=quarantine" },
	{ "t=y, reject as quarantine", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    1, 100, 0, 1, 0, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, t=y: as p=quarantine, header only" },
	{ "t=y, quarantine as none", AM_ERR_NONE, 0, 0, D_FAIL, P_QU,
	    1, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, t=y: as p=none" },
	{ "t=y, none stays none", AM_ERR_NONE, 0, 0, D_FAIL, P_NO,
	    1, 100, 0, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, t=y: as p=none" },
	{ "t=y and outside pct: one step only", AM_ERR_NONE, 0, 0, D_FAIL,
	    P_RE, 1, 10, 50, 1, 1, ACC, TMP, RS, "example.org",
	    QUA, "", "", "", "dmarc fail, t=y: as p=quarantine" },

	/* 7. pct (RFC 7489 6.6.4): sample >= pct is outside */
	{ "pct 50, sample 49: applies", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 50, 49, 1, 1, ACC, TMP, RS, "example.org",
	    REJ, "550", "5.7.26", RS_X, "dmarc fail, p=reject" },
	{ "pct 50, sample 50: milder", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 50, 50, 1, 1, ACC, TMP, RS, "example.org",
	    QUA, "", "", "", "dmarc fail, outside pct: as p=quarantine" },
	{ "pct 0: always milder", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 0, 0, 1, 0, ACC, TMP, RS, "example.org",
	    ACC, "", "", "",
	    "dmarc fail, outside pct: as p=quarantine, header only" },
	{ "pct 1, sample 0: applies", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 1, 0, 1, 0, ACC, TMP, RS, "example.org",
	    REJ, "550", "5.7.26", RS_X, "dmarc fail, p=reject" },
	{ "pct 100, sample 99: applies", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 100, 99, 1, 0, ACC, TMP, RS, "example.org",
	    REJ, "550", "5.7.26", RS_X, "dmarc fail, p=reject" },
	{ "pct 10, quarantine as none", AM_ERR_NONE, 0, 0, D_FAIL, P_QU,
	    0, 10, 10, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc fail, outside pct: as p=none" },
	{ "pct ignored for a pass", AM_ERR_NONE, 0, 0, D_PASS, P_RE,
	    0, 0, 99, 1, 1, ACC, TMP, RS, "example.org",
	    ACC, "", "", "", "dmarc pass" },

	/* 8. RejectString expansion reaches the reply */
	{ "reject text with odd domain", AM_ERR_NONE, 0, 0, D_FAIL, P_RE,
	    0, 100, 0, 1, 0, ACC, TMP, "%{domain}: no\r\n%%", "ex\tample.org",
	    REJ, "550", "5.7.26", "example.org: no%", "dmarc fail, p=reject" },
};

/* action_name - local, so the test does not need config.c */
static const char *
action_name(enum am_action a)
{
	static const char *names[] = { "accept", "quarantine", "reject",
	    "tempfail" };

	return (size_t)a < nitems(names) ? names[a] : "?";
}

/* setup - policy knobs, facts and results for one case */
static void
setup(const struct pcase *c, struct am_policy_conf *cfg, struct am_facts *f,
    struct am_results *r)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->reject_failures = c->rejf;
	cfg->hold_quarantined = c->hold;
	cfg->reject_string = c->rs;
	cfg->on_temperror = c->ontemp;
	cfg->on_internal_error = c->onint;

	memset(f, 0, sizeof(*f));
	f->trusted_net = c->trusted;
	f->authenticated = c->auth;
	f->pct_sample = c->sample;

	memset(r, 0, sizeof(*r));
	r->dmarc.result = c->res;
	r->dmarc.policy = c->pol;
	/* the record's p= differs: policy must act on the one that applies */
	r->dmarc.p = c->pol == P_RE ? P_NO : P_RE;
	r->dmarc.testing = c->testing;
	r->dmarc.pct = c->pct;
	snprintf(r->dmarc.from_domain, sizeof(r->dmarc.from_domain), "%s",
	    c->from);
}

/* test_decide - the whole table */
START_TEST(test_decide)
{
	const struct pcase	*c = &cases[_i];
	struct am_policy_conf	 cfg;
	struct am_facts		 f;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_verdict	 v;

	ck_assert_ptr_nonnull(r);
	setup(c, &cfg, &f, r);
	memset(&v, 'X', sizeof(v));		/* every field must be set */
	v.why = NULL;
	am_policy_decide(&cfg, &f, r, c->err, &v);
	ck_assert_msg(v.action == c->want, "%s: action %s, want %s", c->label,
	    action_name(v.action), action_name(c->want));
	ck_assert_msg(strcmp(v.code, c->code) == 0, "%s: code \"%.4s\"",
	    c->label, v.code);
	ck_assert_msg(strcmp(v.xcode, c->xcode) == 0, "%s: xcode \"%.8s\"",
	    c->label, v.xcode);
	ck_assert_msg(strcmp(v.text, c->text) == 0, "%s: text \"%.256s\"",
	    c->label, v.text);
	ck_assert_msg(v.why != NULL && strcmp(v.why, c->why) == 0,
	    "%s: why \"%s\"", c->label, v.why ? v.why : "(null)");
	free(r);
}
END_TEST

/* test_pure - same inputs, same verdict, inputs untouched */
START_TEST(test_pure)
{
	const struct pcase	*c = &cases[_i];
	struct am_policy_conf	 cfg, cfg2;
	struct am_facts		 f, f2;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_results	*r2 = calloc(1, sizeof(*r2));
	struct am_verdict	 v1, v2;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r2);
	setup(c, &cfg, &f, r);
	cfg2 = cfg;
	f2 = f;
	memcpy(r2, r, sizeof(*r));
	am_policy_decide(&cfg, &f, r, c->err, &v1);
	am_policy_decide(&cfg, &f, r, c->err, &v2);
	ck_assert_int_eq(memcmp(&v1, &v2, sizeof(v1)), 0);
	ck_assert_int_eq(memcmp(&cfg, &cfg2, sizeof(cfg)), 0);
	ck_assert_int_eq(memcmp(&f, &f2, sizeof(f)), 0);
	ck_assert_int_eq(memcmp(r, r2, sizeof(*r)), 0);
	free(r);
	free(r2);
}
END_TEST

static const struct {
	const char	*tmpl;
	const char	*domain;
	size_t		 outlen;
	const char	*want;
} expand_cases[] = {
	{ "rejected for %{domain}", "example.org", 256,
	    "rejected for example.org" },
	{ "%{domain}%{domain}", "ab", 256, "abab" },
	{ "%%{domain} 100%%", "example.org", 256, "%{domain} 100%" },
	{ "50% off %d %s %{dom} %{DOMAIN} %{domain", "x", 256,
	    "50% off %d %s %{dom} %{DOMAIN} %{domain" },
	{ "trailing %", "x", 256, "trailing %" },
	{ "a\r\nb\tc\x01\x7f" "d", "x", 256, "abcd" },
	{ "<%{domain}>", "evil\r\n250 2.0.0 ok", 256, "<evil250 2.0.0 ok>" },
	{ "caf\xc3\xa9 %{domain}", "d\xc3\xa9.example", 256, "caf d.example" },
	{ "x %{domain}", NULL, 256, "x " },
	{ NULL, "example.org", 256, "" },
	{ "", "example.org", 256, "" },
	{ "abcdefgh", "x", 5, "abcd" },
	{ "x %{domain}", "example.org", 6, "x exa" },
	{ "%%%%", "x", 2, "%" },
	{ "abc", "x", 1, "" },
	{ "%{domain}", "example.org", 12, "example.org" },
	{ "%{domain}", "example.org", 11, "example.or" },
};

/* test_expand - RejectString templates */
START_TEST(test_expand)
{
	char	 out[300];

	memset(out, 'Z', sizeof(out));
	am_policy_expand(expand_cases[_i].tmpl, expand_cases[_i].domain, out,
	    expand_cases[_i].outlen);
	ck_assert_msg(strcmp(out, expand_cases[_i].want) == 0,
	    "[%d] got \"%s\" want \"%s\"", _i, out, expand_cases[_i].want);
	/* nothing written past outlen */
	ck_assert_int_eq(out[expand_cases[_i].outlen], 'Z');
}
END_TEST

/* test_expand_zero - outlen 0 writes nothing at all */
START_TEST(test_expand_zero)
{
	char	 out[4] = "abc";

	am_policy_expand("x", "y", out, 0);
	ck_assert_str_eq(out, "abc");
}
END_TEST

/* test_exempt - the exemption reasons */
START_TEST(test_exempt)
{
	struct am_facts	 f = { 0 };

	ck_assert_ptr_null(am_policy_exempt(NULL));
	ck_assert_ptr_null(am_policy_exempt(&f));
	f.pct_sample = 99;
	ck_assert_ptr_null(am_policy_exempt(&f));
	f.authenticated = 1;
	ck_assert_str_eq(am_policy_exempt(&f), "exempt: authenticated client");
	f.trusted_net = 1;
	ck_assert_str_eq(am_policy_exempt(&f), "exempt: trusted network");
	f.authenticated = 0;
	ck_assert_str_eq(am_policy_exempt(&f), "exempt: trusted network");
}
END_TEST

/* test_err_str - names for the log */
START_TEST(test_err_str)
{
	ck_assert_str_eq(am_err_str(AM_ERR_NONE), "none");
	ck_assert_str_eq(am_err_str(AM_ERR_RESOURCE), "resource");
	ck_assert_str_eq(am_err_str(AM_ERR_MILTER), "milter");
	ck_assert_str_eq(am_err_str(AM_ERR_LIBRARY), "library");
	ck_assert_str_eq(am_err_str(AM_ERR_INTERNAL), "internal");
	ck_assert_str_eq(am_err_str((enum am_err)42), "unknown");
}
END_TEST

/* test_long_reject_text - a long RejectString is cut to the reply size */
START_TEST(test_long_reject_text)
{
	struct am_policy_conf	 cfg;
	struct am_facts		 f;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_verdict	 v;
	char			 rs[600];

	ck_assert_ptr_nonnull(r);
	setup(&cases[14], &cfg, &f, r);		/* fail, reject */
	ck_assert_int_eq(cases[14].want, REJ);
	memset(rs, 'r', sizeof(rs) - 1);
	rs[sizeof(rs) - 1] = '\0';
	cfg.reject_string = rs;
	am_policy_decide(&cfg, &f, r, AM_ERR_NONE, &v);
	ck_assert_int_eq(v.action, REJ);
	ck_assert_uint_eq(strlen(v.text), sizeof(v.text) - 1);
	free(r);
}
END_TEST

/*
 * OnMalformedFrom / OnMissingFrom (RFC 5322 3.6): the From action applies
 * when stricter than DMARC's verdict (accept < quarantine < tempfail <
 * reject); an internal error and an exempt client come first.
 */
#define F_OK	AM_FROM_OK
#define F_MISS	AM_FROM_MISSING
#define F_BAD	AM_FROM_UNUSABLE
#define MISS_X	"Message has no From header (RFC 5322 section 3.6)"
#define BAD_X	"Message From header is not a valid address " \
		"(RFC 5322 section 3.6.2)"

struct fcase {
	const char		*label;
	enum am_err		 err;
	int			 trusted, auth;
	enum am_from_state	 from;
	enum am_dmarc_result	 res;
	enum am_dmarc_policy	 pol;
	int			 rejf, hold;
	enum am_action		 ontemp, onbad, onmiss;
	enum am_action		 want;
	const char		*code, *xcode, *text, *why;
};

static const struct fcase from_cases[] = {
	{ "malformed, reject", AM_ERR_NONE, 0, 0, F_BAD, D_PERM, P_UN, 1, 0,
	    ACC, REJ, ACC, REJ, "550", "5.7.1", BAD_X,
	    "unusable From header, OnMalformedFrom reject" },
	{ "malformed, quarantine", AM_ERR_NONE, 0, 0, F_BAD, D_PERM, P_UN, 1, 0,
	    ACC, QUA, REJ, QUA, "", "", "unusable From header",
	    "unusable From header, OnMalformedFrom quarantine" },
	{ "malformed, accept", AM_ERR_NONE, 0, 0, F_BAD, D_PERM, P_UN, 1, 0,
	    ACC, ACC, REJ, ACC, "", "", "",
	    "unusable From header, OnMalformedFrom accept" },
	{ "missing, reject", AM_ERR_NONE, 0, 0, F_MISS, D_PERM, P_UN, 1, 0,
	    ACC, ACC, REJ, REJ, "550", "5.7.1", MISS_X,
	    "no From header, OnMissingFrom reject" },
	{ "missing, quarantine", AM_ERR_NONE, 0, 0, F_MISS, D_PERM, P_UN, 1, 0,
	    ACC, REJ, QUA, QUA, "", "", "no From header",
	    "no From header, OnMissingFrom quarantine" },
	{ "missing, accept", AM_ERR_NONE, 0, 0, F_MISS, D_PERM, P_UN, 1, 0,
	    ACC, REJ, ACC, ACC, "", "", "",
	    "no From header, OnMissingFrom accept" },
	{ "a good From: no From action", AM_ERR_NONE, 0, 0, F_OK, D_PERM, P_UN,
	    1, 0, ACC, REJ, REJ, ACC, "", "", "", "dmarc permerror" },
	/* a DMARC failure of another From domain is stricter or as strict */
	{ "malformed, quarantine; other From fails p=reject", AM_ERR_NONE, 0, 0,
	    F_BAD, D_FAIL, P_RE, 1, 0, ACC, QUA, REJ, REJ, "550", "5.7.26",
	    "Rejected by DMARC policy for example.org", "dmarc fail, p=reject" },
	{ "malformed, reject; other From fails p=reject", AM_ERR_NONE, 0, 0,
	    F_BAD, D_FAIL, P_RE, 1, 0, ACC, REJ, REJ, REJ, "550", "5.7.26",
	    "Rejected by DMARC policy for example.org", "dmarc fail, p=reject" },
	{ "malformed, reject beats a held p=quarantine", AM_ERR_NONE, 0, 0,
	    F_BAD, D_FAIL, P_QU, 1, 1, ACC, REJ, ACC, REJ, "550", "5.7.1",
	    BAD_X, "unusable From header, OnMalformedFrom reject" },
	{ "malformed, quarantine beats header-only p=quarantine", AM_ERR_NONE,
	    0, 0, F_BAD, D_FAIL, P_QU, 1, 0, ACC, QUA, ACC, QUA, "", "",
	    "unusable From header",
	    "unusable From header, OnMalformedFrom quarantine" },
	{ "malformed, quarantine: a tempfail stands", AM_ERR_NONE, 0, 0, F_BAD,
	    D_TEMP, P_UN, 1, 0, TMP, QUA, ACC, TMP, "451", "4.4.3", TEMP_X,
	    "dmarc temperror" },
	{ "malformed, reject beats a tempfail", AM_ERR_NONE, 0, 0, F_BAD,
	    D_TEMP, P_UN, 1, 0, TMP, REJ, ACC, REJ, "550", "5.7.1", BAD_X,
	    "unusable From header, OnMalformedFrom reject" },
	{ "malformed, accept: a header-only p=reject failure keeps its reason",
	    AM_ERR_NONE, 0, 0, F_BAD, D_FAIL, P_RE, 0, 0, ACC, ACC, ACC, ACC,
	    "", "", "", "dmarc fail, p=reject, RejectFailures off, header only" },
	{ "missing, accept: temperror accepted keeps its reason", AM_ERR_NONE,
	    0, 0, F_MISS, D_TEMP, P_UN, 1, 0, ACC, ACC, ACC, ACC, "", "", "",
	    "dmarc temperror, accepted" },
	{ "malformed, quarantine: held p=quarantine keeps DMARC's", AM_ERR_NONE,
	    0, 0, F_BAD, D_FAIL, P_QU, 1, 1, ACC, QUA, ACC, QUA, "", "", "",
	    "dmarc fail, p=quarantine" },
	/* first questions first */
	{ "internal error before From", AM_ERR_RESOURCE, 0, 0, F_MISS, D_PERM,
	    P_UN, 1, 0, ACC, REJ, REJ, TMP, "451", "4.3.0", INT_X,
	    "internal error" },
	{ "trusted network: no From action", AM_ERR_NONE, 1, 0, F_MISS, D_PERM,
	    P_UN, 1, 0, ACC, REJ, REJ, ACC, "", "", "",
	    "exempt: trusted network" },
	{ "authenticated: no From action", AM_ERR_NONE, 0, 1, F_BAD, D_PERM,
	    P_UN, 1, 0, ACC, REJ, REJ, ACC, "", "", "",
	    "exempt: authenticated client" },
};

/* test_decide_from - the From table */
START_TEST(test_decide_from)
{
	const struct fcase	*c = &from_cases[_i];
	struct am_policy_conf	 cfg;
	struct am_facts		 f;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_verdict	 v, v2;

	ck_assert_ptr_nonnull(r);
	memset(&cfg, 0, sizeof(cfg));
	cfg.reject_failures = c->rejf;
	cfg.hold_quarantined = c->hold;
	cfg.on_temperror = c->ontemp;
	cfg.on_internal_error = TMP;
	cfg.on_malformed_from = c->onbad;
	cfg.on_missing_from = c->onmiss;
	memset(&f, 0, sizeof(f));
	f.trusted_net = c->trusted;
	f.authenticated = c->auth;
	f.from = c->from;
	r->dmarc.result = c->res;
	r->dmarc.policy = c->pol;
	r->dmarc.p = c->pol;
	r->dmarc.pct = 100;
	snprintf(r->dmarc.from_domain, sizeof(r->dmarc.from_domain),
	    "example.org");
	memset(&v, 'X', sizeof(v));		/* every field must be set */
	v.why = NULL;
	am_policy_decide(&cfg, &f, r, c->err, &v);
	ck_assert_msg(v.action == c->want, "%s: action %s, want %s", c->label,
	    action_name(v.action), action_name(c->want));
	ck_assert_msg(strcmp(v.code, c->code) == 0, "%s: code \"%.4s\"",
	    c->label, v.code);
	ck_assert_msg(strcmp(v.xcode, c->xcode) == 0, "%s: xcode \"%.8s\"",
	    c->label, v.xcode);
	ck_assert_msg(strcmp(v.text, c->text) == 0, "%s: text \"%.256s\"",
	    c->label, v.text);
	ck_assert_msg(v.why != NULL && strcmp(v.why, c->why) == 0,
	    "%s: why \"%s\"", c->label, v.why ? v.why : "(null)");
	am_policy_decide(&cfg, &f, r, c->err, &v2);	/* pure */
	ck_assert_int_eq(memcmp(&v, &v2, sizeof(v)), 0);
	free(r);
}
END_TEST

/* a local override (issue 14): its policy replaces the record's */
struct ocase {
	const char		*label;
	enum am_dmarc_policy	 pol;		/* the record's policy that applies */
	int			 testing, sample, pct;
	enum am_override	 ovr;
	enum am_dmarc_policy	 ovr_pol;
	enum am_action		 want;
	const char		*why;
};

static const struct ocase ocases[] = {
	{ "sealer trusted: reject -> none", P_RE, 0, 0, 100,
	    AM_OVR_TRUSTED_FORWARDER, P_NO, ACC,
	    "dmarc fail, local override: as p=none" },
	{ "mailing list: reject -> quarantine", P_RE, 0, 0, 100,
	    AM_OVR_MAILING_LIST, P_QU, QUA,
	    "dmarc fail, local override: as p=quarantine" },
	{ "DomainPolicy stricter: none -> reject", P_NO, 0, 0, 100,
	    AM_OVR_LOCAL_POLICY, P_RE, REJ,
	    "dmarc fail, local override: as p=reject" },
	{ "override is not softened by t=y", P_NO, 1, 0, 100,
	    AM_OVR_LOCAL_POLICY, P_RE, REJ,
	    "dmarc fail, local override: as p=reject" },
	{ "nor by the pct sample", P_NO, 0, 99, 10,
	    AM_OVR_LOCAL_POLICY, P_RE, REJ,
	    "dmarc fail, local override: as p=reject" },
	{ "no override: t=y still one step milder", P_RE, 1, 0, 100,
	    AM_OVR_NONE, P_UN, QUA, "dmarc fail, t=y: as p=quarantine" },
};

/* test_override - dmarc.override replaces the policy, nothing else */
START_TEST(test_override)
{
	const struct ocase	*c = &ocases[_i];
	struct am_policy_conf	 cfg;
	struct am_facts		 f;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_verdict	 v;

	ck_assert_ptr_nonnull(r);
	memset(&cfg, 0, sizeof(cfg));
	cfg.reject_failures = 1;
	cfg.hold_quarantined = 1;
	memset(&f, 0, sizeof(f));
	f.pct_sample = c->sample;
	r->dmarc.result = D_FAIL;
	r->dmarc.policy = r->dmarc.p = c->pol;
	r->dmarc.testing = c->testing;
	r->dmarc.pct = c->pct;
	r->dmarc.override = c->ovr;
	r->dmarc.override_policy = c->ovr_pol;
	strcpy(r->dmarc.from_domain, "example.org");
	am_policy_decide(&cfg, &f, r, AM_ERR_NONE, &v);
	ck_assert_msg(v.action == c->want, "%s: action %s, want %s", c->label,
	    action_name(v.action), action_name(c->want));
	ck_assert_msg(strcmp(v.why, c->why) == 0, "%s: why \"%s\"", c->label,
	    v.why);
	free(r);
}
END_TEST

/* test_override_str - the RFC 9990 PolicyOverrideType names */
START_TEST(test_override_str)
{
	ck_assert_str_eq(am_override_str(AM_OVR_NONE), "");
	ck_assert_str_eq(am_override_str(AM_OVR_LOCAL_POLICY), "local_policy");
	ck_assert_str_eq(am_override_str(AM_OVR_MAILING_LIST), "mailing_list");
	ck_assert_str_eq(am_override_str(AM_OVR_TRUSTED_FORWARDER),
	    "trusted_forwarder");
	ck_assert_str_eq(am_override_str(AM_OVR_POLICY_TEST_MODE),
	    "policy_test_mode");
	ck_assert_str_eq(am_override_str(AM_OVR_OTHER), "other");
	ck_assert_str_eq(am_override_str((enum am_override)99), "other");
}
END_TEST

/* policy_suite - all of the above */
static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decide, 0, nitems(cases));
	tcase_add_loop_test(tc, test_pure, 0, nitems(cases));
	tcase_add_loop_test(tc, test_decide_from, 0, nitems(from_cases));
	tcase_add_loop_test(tc, test_expand, 0, nitems(expand_cases));
	tcase_add_test(tc, test_expand_zero);
	tcase_add_test(tc, test_exempt);
	tcase_add_test(tc, test_err_str);
	tcase_add_test(tc, test_long_reject_text);
	tcase_add_loop_test(tc, test_override, 0, nitems(ocases));
	tcase_add_test(tc, test_override_str);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(policy_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
