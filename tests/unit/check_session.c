/*
 * check_session.c - the message pipeline without libmilter: SPF at MAIL,
 * headers, From handling, forged A-R bookkeeping, exemptions, DMARC at
 * end of message, verdict, A-R text and summary line.  DNS answers come
 * from am_dns local data (the daemon's own resolver seam).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "config/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "message/session.h"

static struct am_env	 env;
static struct am_config	*cfg;

static const char *zone[] = {
	"example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject\"",
	"example.net. 300 IN TXT \"v=spf1 -all\"",
	"_dmarc.example.net. 300 IN TXT \"v=DMARC1; p=reject\"",
	"example.org. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"_dmarc.example.org. 300 IN TXT \"v=DMARC1; p=quarantine\"",
	"mail.example.com. 300 IN A 192.0.2.10",
};

/* setup - one resolver with local data, one DKIM library, defaults */
static void
setup(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	char			 err[256];
	size_t			 i;

	env.dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(env.dns != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_dns_add_zone(env.dns, "example.com"), 0);
	ck_assert_int_eq(am_dns_add_zone(env.dns, "example.net"), 0);
	ck_assert_int_eq(am_dns_add_zone(env.dns, "example.org"), 0);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		ck_assert_int_eq(am_dns_add_local(env.dns, zone[i]), 0);
	env.dkim = am_dkim_lib_new(env.dns, err, sizeof(err));
	ck_assert_msg(env.dkim != NULL, "am_dkim_lib_new: %s", err);
	cfg = am_config_defaults();
	ck_assert_ptr_nonnull(cfg);
	free(cfg->authserv_id);
	cfg->authserv_id = strdup("mx.test-receiver.example");
}

static void
teardown(void)
{
	am_config_unref(cfg);
	am_dkim_lib_free(env.dkim);
	am_dns_free(env.dns);
}

/* conn_from - a connection from an IPv4 address */
static struct am_conn *
conn_from(const char *ip)
{
	struct sockaddr_in	 sin;
	struct am_conn		*c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	c = am_conn_new(&env, cfg, "client.example", (struct sockaddr *)&sin);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(am_conn_helo(c, "mail.example.com"), 0);
	return c;
}

/* feed - one message up to its end: headers as name/value pairs, a body */
static struct am_msg *
feed(struct am_conn *c, const char *mailfrom, const char *auth,
    const char *const *hdrs)
{
	struct am_msg	*m = am_msg_new(c, mailfrom, auth);
	size_t		 i;

	ck_assert_ptr_nonnull(m);
	for (i = 0; hdrs[i] != NULL; i += 2)
		am_msg_header(m, hdrs[i], hdrs[i + 1]);
	am_msg_eoh(m);
	am_msg_body(m, (const unsigned char *)"hello\r\n", 7);
	return m;
}

/* run - one message, its checks finished */
static struct am_msg *
run(struct am_conn *c, const char *mailfrom, const char *auth,
    const char *const *hdrs)
{
	struct am_msg	*m = feed(c, mailfrom, auth, hdrs);

	am_msg_finish(m);
	return m;
}

static const struct {
	const char		*label;
	const char		*client;
	const char		*mailfrom;
	const char		*hdrs[9];
	enum am_dmarc_result	 dmarc;
	enum am_action		 action;
} cases[] = {
	{ "aligned SPF pass", "192.0.2.10", "<a@example.com>",
	    { "From", " a@example.com", "Subject", " hi", NULL },
	    AM_DMARC_PASS, AM_ACT_ACCEPT },
	{ "SPF fail under p=reject", "198.51.100.7", "<a@example.com>",
	    { "From", " a@example.com", NULL }, AM_DMARC_FAIL, AM_ACT_REJECT },
	{ "no From header", "192.0.2.10", "<a@example.com>",
	    { "Subject", " no from", NULL }, AM_DMARC_PERMERROR,
	    AM_ACT_REJECT },		/* OnMissingFrom reject (default) */
	{ "unparsable From", "192.0.2.10", "<a@example.com>",
	    { "From", " <<<>>>", NULL }, AM_DMARC_PERMERROR,
	    AM_ACT_REJECT },		/* OnMalformedFrom reject (default) */
	{ "two From headers: passing + failing p=reject", "192.0.2.10",
	    "<a@example.com>", { "From", " a@example.com", "From",
	    " b@example.net", NULL }, AM_DMARC_FAIL, AM_ACT_REJECT },
	{ "From with two addresses", "192.0.2.10", "<a@example.com>",
	    { "From", " a@example.com, b@example.net", NULL },
	    AM_DMARC_FAIL, AM_ACT_REJECT },
	{ "second From unparsable, first passes", "192.0.2.10",
	    "<a@example.com>", { "From", " a@example.com", "From", " @@",
	    NULL }, AM_DMARC_PERMERROR, AM_ACT_REJECT },
	{ "quarantine not held by default", "198.51.100.7", "<a@example.org>",
	    { "From", " a@example.org", NULL }, AM_DMARC_FAIL, AM_ACT_ACCEPT },
	{ "null sender, HELO domain without SPF", "192.0.2.10", "<>",
	    { "From", " a@mail.example.com", NULL }, AM_DMARC_FAIL,
	    AM_ACT_REJECT },
};

START_TEST(test_pipeline)
{
	struct am_conn		*c = conn_from(cases[_i].client);
	struct am_msg		*m;
	struct am_verdict	 v;

	m = run(c, cases[_i].mailfrom, NULL, cases[_i].hdrs);
	am_msg_decide(m, &v);
	ck_assert_msg(m->res.dmarc.result == cases[_i].dmarc,
	    "%s: dmarc %s (%s)", cases[_i].label,
	    am_dmarc_result_str(m->res.dmarc.result), m->res.dmarc.reason);
	ck_assert_msg(v.action == cases[_i].action, "%s: action %s (%s)",
	    cases[_i].label, am_action_str(v.action), v.why);
	ck_assert_msg(m->err == AM_ERR_NONE, "%s: error %s", cases[_i].label,
	    m->errwhy);
	am_conn_free(c);
}
END_TEST

START_TEST(test_null_sender_uses_helo)
{
	struct am_conn	*c = conn_from("192.0.2.10");
	const char	*h[] = { "From", " a@example.com", NULL };
	struct am_msg	*m = run(c, "<>", NULL, h);

	ck_assert(m->res.spf_mailfrom.checked);
	ck_assert_str_eq(m->res.spf_mailfrom.identity, "postmaster@mail.example.com");
	ck_assert_str_eq(m->res.spf_mailfrom.domain, "mail.example.com");
	am_conn_free(c);
}
END_TEST

START_TEST(test_forged_authres_indexes)
{
	struct am_conn	*c = conn_from("192.0.2.10");
	const char	*h[] = {
		"Authentication-Results", " mx.test-receiver.example; dkim=pass",
		"Authentication-Results", " other.example; spf=pass",
		"Authentication-Results", "  (x) MX.Test-Receiver.EXAMPLE ;dmarc=pass",
		"From", " a@example.com", NULL };
	struct am_msg	*m = run(c, "<a@example.com>", NULL, h);

	ck_assert_uint_eq(m->nauthres, 3);
	ck_assert_uint_eq(m->nforged, 2);
	ck_assert_uint_eq(m->forged[0], 1);
	ck_assert_uint_eq(m->forged[1], 3);
	am_conn_free(c);
}
END_TEST

START_TEST(test_exempt_trusted_and_authenticated)
{
	struct am_conn		*c = conn_from("127.0.0.1");
	const char		*h[] = { "From", " a@example.net", NULL };
	struct am_msg		*m = run(c, "<a@example.net>", NULL, h);
	struct am_verdict	 v;
	struct am_buf		 b;

	ck_assert_ptr_nonnull(m->exempt);
	ck_assert(!m->res.spf_mailfrom.checked);
	am_msg_decide(m, &v);
	ck_assert_int_eq(v.action, AM_ACT_ACCEPT);
	am_buf_init(&b, 4096);
	ck_assert_int_eq(am_msg_authres(m, &v, &b), 0);
	ck_assert_msg(strstr(am_buf_str(&b), "none") != NULL, "%s", am_buf_str(&b));
	am_buf_clear(&b);
	am_conn_free(c);

	c = conn_from("198.51.100.7");		/* would fail p=reject */
	m = run(c, "<a@example.net>", "alice", h);
	ck_assert_ptr_nonnull(m->exempt);
	am_msg_decide(m, &v);
	ck_assert_int_eq(v.action, AM_ACT_ACCEPT);
	am_conn_free(c);
}
END_TEST

START_TEST(test_summary_line)
{
	struct am_conn		*c = conn_from("198.51.100.7");
	const char		*h[] = { "From", " a@example.com", NULL };
	struct am_msg		*m = run(c, "<a@example.com>", NULL, h);
	struct am_verdict	 v;
	struct am_buf		 b;
	const char		*s;

	am_msg_set_qid(m, "4Q2k9T3x");
	am_msg_decide(m, &v);
	am_buf_init(&b, 4096);
	am_msg_summary(m, &v, &b);
	s = am_buf_str(&b);
	ck_assert_msg(strstr(s, "client=198.51.100.7 ") != NULL, "%s", s);
	ck_assert_msg(strstr(s, " spf=fail ") != NULL, "%s", s);
	ck_assert_msg(strstr(s, " dkim=none ") != NULL, "%s", s);
	ck_assert_msg(strstr(s, " dmarc=fail ") != NULL, "%s", s);
	/* key=value that splits: no "policy=p=reject" (issue 16) */
	ck_assert_msg(strstr(s, " dmarc.policy=reject dmarc.policy_tag=p") !=
	    NULL, "%s", s);
	ck_assert_msg(strstr(s, "policy=p=") == NULL, "%s", s);
	ck_assert_msg(strstr(s, " spf.reason=\"") != NULL, "%s", s);
	ck_assert_msg(strstr(s, " dmarc.reason=\"no aligned pass\"") != NULL,
	    "%s", s);
	ck_assert_msg(strstr(s, " action=reject ") != NULL, "%s", s);
	am_buf_clear(&b);
	am_conn_free(c);
}
END_TEST

/*
 * the client is kept as a sockaddr (a v4-mapped one as IPv4, RFC 4291
 * 2.5.5.2) and reaches SPF as one; MAIL FROM loses its <> once, here
 */
START_TEST(test_client_and_path)
{
	struct sockaddr_in6	 sin6;
	struct am_conn		*c;
	struct am_msg		*m;
	const char		*h[] = { "From", " a@example.com", NULL };

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.10",
	    &sin6.sin6_addr), 1);
	c = am_conn_new(&env, cfg, "client.example", (struct sockaddr *)&sin6);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(am_conn_client(c)->sa_family, AF_INET);
	ck_assert_str_eq(c->client_ip, "192.0.2.10");
	ck_assert_int_eq(am_conn_helo(c, "mail.example.com"), 0);
	m = run(c, " <a@example.com> ", NULL, h);
	ck_assert_str_eq(m->mailfrom, "a@example.com");
	ck_assert_str_eq(m->res.spf_mailfrom.identity, "a@example.com");
	ck_assert_int_eq(m->res.spf_mailfrom.result, AM_SPF_PASS);
	am_conn_free(c);

	c = am_conn_new(&env, cfg, NULL, NULL);	/* the MTA gave no address */
	ck_assert_ptr_null(am_conn_client(c));
	ck_assert_str_eq(c->client_ip, "unknown");
	m = run(c, "<a@example.com>", NULL, h);
	ck_assert_int_eq(m->res.spf_mailfrom.result, AM_SPF_NONE);
	am_conn_free(c);
}
END_TEST

/* the client's text (session.c's addr_to_text: IPv4 without inet_ntop) */
START_TEST(test_client_text)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		 other;
	struct am_conn		*c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.255", &sin.sin_addr), 1);
	c = am_conn_new(&env, cfg, NULL, (struct sockaddr *)&sin);
	ck_assert_str_eq(c->client_ip, "203.0.113.255");
	am_conn_free(c);
	sin.sin_addr.s_addr = 0;
	c = am_conn_new(&env, cfg, NULL, (struct sockaddr *)&sin);
	ck_assert_str_eq(c->client_ip, "0.0.0.0");
	am_conn_free(c);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::25", &sin6.sin6_addr),
	    1);
	c = am_conn_new(&env, cfg, NULL, (struct sockaddr *)&sin6);
	ck_assert_str_eq(c->client_ip, "2001:db8::25");
	am_conn_free(c);
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;		/* neither: no address text */
	c = am_conn_new(&env, cfg, NULL, &other);
	ck_assert_str_eq(c->client_ip, "unknown");
	am_conn_free(c);
}
END_TEST

/* edit_is - one edit of an outcome, as expected */
static void
edit_is(const struct am_outcome *o, size_t i, enum am_edit_kind kind,
    const char *name, size_t index)
{
	ck_assert_uint_lt(i, o->nedits);
	ck_assert_int_eq(o->edits[i].kind, kind);
	ck_assert_str_eq(o->edits[i].name, name);
	ck_assert_uint_eq(o->edits[i].index, index);
	if (kind == AM_EDIT_DELETE)
		ck_assert_ptr_null(o->edits[i].value);
	else
		ck_assert_ptr_nonnull(o->edits[i].value);
}

/*
 * am_msg_end: a delivered message gets Received-SPF (when configured),
 * the forged A-R deletions in reverse index order, and ours last (on top)
 */
START_TEST(test_end_edits)
{
	struct am_conn		*c;
	struct am_msg		*m;
	struct am_outcome	 o;
	const char		*h[] = {
		"Authentication-Results", " mx.test-receiver.example; dkim=pass",
		"Authentication-Results", " other.example; spf=pass",
		"Authentication-Results", " mx.test-receiver.example; spf=pass",
		"From", " a@example.com", NULL };

	cfg->add_received_spf = 1;
	c = conn_from("192.0.2.10");
	m = feed(c, "<a@example.com>", NULL, h);
	am_msg_end(m, &o);
	ck_assert_int_eq(o.verdict.action, AM_ACT_ACCEPT);
	ck_assert_uint_eq(o.nedits, 4);
	edit_is(&o, 0, AM_EDIT_INSERT, "Received-SPF", 0);
	ck_assert_msg(strncmp(o.edits[0].value, "pass ", 5) == 0, "%s",
	    o.edits[0].value);
	edit_is(&o, 1, AM_EDIT_DELETE, "Authentication-Results", 3);
	edit_is(&o, 2, AM_EDIT_DELETE, "Authentication-Results", 1);
	edit_is(&o, 3, AM_EDIT_INSERT, "Authentication-Results", 0);
	ck_assert_str_eq(o.edits[3].value, am_buf_str(&o.authres));
	ck_assert_uint_eq(o.nforged, 2);
	ck_assert_int_eq(o.res->dmarc.result, AM_DMARC_PASS);
	/* the message's own results, not a copy (issue 17) */
	ck_assert_ptr_eq(o.res, &m->res);
	am_outcome_clear(&o);
	/* an outcome with no message has results all the same: none */
	am_outcome_init(&o);
	ck_assert_ptr_nonnull(o.res);
	ck_assert_int_eq(o.res->dmarc.result, 0);
	ck_assert_str_eq(o.res->dmarc.from_domain, "");
	am_outcome_clear(&o);
	am_conn_free(c);
}
END_TEST

/* a refused message takes no edits; its A-R is still there to log */
START_TEST(test_end_refused)
{
	struct am_conn		*c = conn_from("198.51.100.7");
	const char		*h[] = { "From", " a@example.com", NULL };
	struct am_msg		*m = feed(c, "<a@example.com>", NULL, h);
	struct am_outcome	 o;

	cfg->add_received_spf = 1;
	am_msg_end(m, &o);
	ck_assert_int_eq(o.verdict.action, AM_ACT_REJECT);
	ck_assert_str_eq(o.verdict.code, "550");
	ck_assert_uint_eq(o.nedits, 0);
	ck_assert_msg(strstr(am_buf_str(&o.authres), "dmarc=fail") != NULL,
	    "%s", am_buf_str(&o.authres));
	/* the MTA refused an edit: the snapshot's OnInternalError, no edits */
	am_msg_edits_failed(m, &o);
	ck_assert_int_eq(o.err, AM_ERR_MILTER);
	ck_assert_int_eq(o.verdict.action, AM_ACT_TEMPFAIL);
	am_outcome_clear(&o);
	am_conn_free(c);
}
END_TEST

/* no message to stick an error to: policy with the snapshot given */
START_TEST(test_outcome_internal)
{
	struct am_outcome	 o;

	cfg->on_internal_error = AM_ACT_ACCEPT;
	am_outcome_internal(cfg, "test", &o);
	ck_assert_int_eq(o.verdict.action, AM_ACT_ACCEPT);
	ck_assert_str_eq(o.errwhy, "test");
	am_outcome_clear(&o);
	cfg->on_internal_error = AM_ACT_TEMPFAIL;
	am_outcome_internal(cfg, "test", &o);
	ck_assert_int_eq(o.verdict.action, AM_ACT_TEMPFAIL);
	ck_assert_str_eq(o.verdict.code, "451");
	ck_assert_uint_eq(o.nedits, 0);
	am_outcome_clear(&o);
}
END_TEST

/* the edit list is bounded: one past AM_EDITS_MAX is refused */
START_TEST(test_outcome_add_bounded)
{
	struct am_outcome	 o;
	size_t			 i;

	am_outcome_init(&o);
	for (i = 0; i < AM_EDITS_MAX; i++)
		ck_assert_int_eq(am_outcome_add(&o, AM_EDIT_DELETE, "X", "v",
		    i + 1), 0);
	ck_assert_int_eq(am_outcome_add(&o, AM_EDIT_DELETE, "X", NULL, 1), -1);
	ck_assert_ptr_null(o.edits[0].value);	/* a delete has no value */
	am_outcome_clear(&o);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc = tcase_create("pipeline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_pipeline, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_null_sender_uses_helo);
	tcase_add_test(tc, test_forged_authres_indexes);
	tcase_add_test(tc, test_exempt_trusted_and_authenticated);
	tcase_add_test(tc, test_summary_line);
	tcase_add_test(tc, test_client_and_path);
	tcase_add_test(tc, test_client_text);
	tcase_add_test(tc, test_end_edits);
	tcase_add_test(tc, test_end_refused);
	tcase_add_test(tc, test_outcome_internal);
	tcase_add_test(tc, test_outcome_add_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(session_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
