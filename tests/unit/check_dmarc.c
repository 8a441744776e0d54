/*
 * check_dmarc.c - DMARC: record parser (libopendmarc's agreement on the
 * classic tags is check_opendmarc.c's), RFC 9989 tree-walk names, org
 * domain selection, policy choice, and end-to-end am_dmarc_eval with records served from am_dns
 * local data (the daemon's own seam), RFC 7489 mode with the real PSL,
 * and temperror against a name server that never answers.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <poll.h>
#include <pthread.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dmarc/dmarc.h"
#include "dmarc/record.h"
#include "dns/dns.h"
#include "dmarc/psl.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"

#define P_UN	AM_DMARC_P_UNSPEC
#define P_NO	AM_DMARC_P_NONE
#define P_QU	AM_DMARC_P_QUARANTINE
#define P_RE	AM_DMARC_P_REJECT
#define T_AB	AM_DMARC_TAG_ABSENT
#define T_OK	AM_DMARC_TAG_VALID
#define T_BAD	AM_DMARC_TAG_INVALID

/* ---- record parser ---- */

static const struct {
	const char		*txt;
	int			 rc;
	enum am_dmarc_policy	 p, sp, np;
	enum am_dmarc_tag	 p_tag, sp_tag, np_tag;
	char			 psd;
	int			 t, adkim_s, aspf_s, pct, rua_ok;
} rec_cases[] = {
	{ "v=DMARC1; p=reject", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1;p=none;sp=quarantine;np=reject", 0, P_NO, P_QU, P_RE,
	    T_OK, T_OK, T_OK, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1 ; p = Reject ; adkim = S ; aspf=s", 0, P_RE, P_UN, P_UN,
	    T_OK, T_AB, T_AB, 'u', 0, 1, 1, 100, 0 },
	{ "v=DMARC1; p=none; psd=y; t=y", 0, P_NO, P_UN, P_UN, T_OK, T_AB, T_AB, 'y', 1, 0, 0, 100, 0 },
	{ "v=DMARC1; p=none; psd=n; t=n", 0, P_NO, P_UN, P_UN, T_OK, T_AB, T_AB, 'n', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=none; psd=x; t=x; adkim=x", 0, P_NO, P_UN, P_UN,
	    T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=reject; pct=25", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 25, 0 },
	{ "v=DMARC1; p=reject; pct=0", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 0, 0 },
	{ "v=DMARC1; p=reject; pct=101", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=reject; pct=abc", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=bogus", 0, P_UN, P_UN, P_UN, T_BAD, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=bogus; rua=mailto:d@example.com", 0, P_UN, P_UN, P_UN,
	    T_BAD, T_AB, T_AB, 'u', 0, 0, 0, 100, 1 },
	{ "v=DMARC1; p=; rua=nonsense", 0, P_UN, P_UN, P_UN, T_BAD, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; rua=bad, mailto:a@x.example!10m", 0, P_UN, P_UN, P_UN,
	    T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 1 },
	{ "v=DMARC1", 0, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1;", 0, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; p=none; p=reject", 0, P_NO, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; foo=bar; p=quarantine; ruf=mailto:x@y; fo=1; rf=afrf; ri=86400", 0,
	    P_QU, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; junk; p=reject;; =x", 0, P_RE, P_UN, P_UN, T_OK, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1; sp=bogus; p=reject", 0, P_RE, P_UN, P_UN, T_OK, T_BAD, T_AB, 'u', 0, 0, 0, 100, 0 },
	/* not DMARC records: ignored */
	{ "p=reject; v=DMARC1", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=dmarc1; p=reject", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC10; p=reject", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=DMARC1 p=reject", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "v=spf1 -all", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
	{ "", -1, P_UN, P_UN, P_UN, T_AB, T_AB, T_AB, 'u', 0, 0, 0, 100, 0 },
};

START_TEST(test_record_table)
{
	struct am_dmarc_record	 r;
	int			 rc;

	rc = am_dmarc_record_parse(rec_cases[_i].txt, &r);
	ck_assert_msg(rc == rec_cases[_i].rc, "\"%s\": rc %d", rec_cases[_i].txt, rc);
	if (rc != 0)
		return;
	ck_assert_msg(r.p == rec_cases[_i].p && r.sp == rec_cases[_i].sp &&
	    r.np == rec_cases[_i].np, "\"%s\": p/sp/np %d/%d/%d", rec_cases[_i].txt,
	    r.p, r.sp, r.np);
	ck_assert_msg(r.p_tag == rec_cases[_i].p_tag && r.sp_tag == rec_cases[_i].sp_tag &&
	    r.np_tag == rec_cases[_i].np_tag, "\"%s\": tag states", rec_cases[_i].txt);
	ck_assert_msg(r.psd == rec_cases[_i].psd && r.testing == rec_cases[_i].t,
	    "\"%s\": psd %c t %d", rec_cases[_i].txt, r.psd, r.testing);
	ck_assert_msg(r.adkim_strict == rec_cases[_i].adkim_s &&
	    r.aspf_strict == rec_cases[_i].aspf_s, "\"%s\": alignment", rec_cases[_i].txt);
	ck_assert_msg(r.pct == rec_cases[_i].pct, "\"%s\": pct %d", rec_cases[_i].txt, r.pct);
	ck_assert_msg(r.rua_ok == rec_cases[_i].rua_ok, "\"%s\": rua_ok", rec_cases[_i].txt);
}
END_TEST

/*
 * the rows where libopendmarc differs on purpose (check_opendmarc.c): our
 * side, asserted here so that it is checked without the library too
 */
START_TEST(test_libopendmarc_differences)
{
	struct am_dmarc_record	 r;

	ck_assert_int_eq(am_dmarc_record_parse("v=dmarc1; p=reject", &r), -1);
	ck_assert_int_eq(am_dmarc_record_parse("p=reject; v=DMARC1", &r), -1);
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=none; p=reject", &r), 0);
	ck_assert_int_eq(r.p, P_NO);
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=reject; pct=abc", &r), 0);
	ck_assert_int_eq(r.pct, 100);
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=reject; pct=101", &r), 0);
	ck_assert_int_eq(r.pct, 100);
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1; p=reject; adkim=x", &r), 0);
	ck_assert_int_eq(r.adkim_strict, 0);
	ck_assert_int_eq(am_dmarc_record_parse("v=DMARC1", &r), 0);
	ck_assert_int_eq(r.p_tag, T_AB);
}
END_TEST

/* ---- tree walk names (RFC 9989 4.10) ---- */

static const struct {
	const char	*domain;
	const char	*names[AM_DMARC_WALK_MAX + 1];
} walk_cases[] = {
	{ "com", { "com" } },
	{ "example.com", { "example.com", "com" } },
	{ "a.mail.example.com", { "a.mail.example.com", "mail.example.com",
	    "example.com", "com" } },
	/* the RFC's own example: eight queries */
	{ "a.b.c.d.e.f.g.h.i.j.mail.example.com", {
	    "a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com",
	    "h.i.j.mail.example.com", "i.j.mail.example.com", "j.mail.example.com",
	    "mail.example.com", "example.com", "com" } },
	/* seven labels: one at a time */
	{ "b.c.d.e.f.example.com", { "b.c.d.e.f.example.com", "c.d.e.f.example.com",
	    "d.e.f.example.com", "e.f.example.com", "f.example.com", "example.com", "com" } },
	/* eight labels: x >= 8 keeps the last seven, the parent */
	{ "a.b.c.d.e.f.example.com", { "a.b.c.d.e.f.example.com",
	    "b.c.d.e.f.example.com", "c.d.e.f.example.com", "d.e.f.example.com",
	    "e.f.example.com", "f.example.com", "example.com", "com" } },
	/* nine labels: jump over two */
	{ "z.a.b.c.d.e.f.example.com", { "z.a.b.c.d.e.f.example.com",
	    "b.c.d.e.f.example.com", "c.d.e.f.example.com", "d.e.f.example.com",
	    "e.f.example.com", "f.example.com", "example.com", "com" } },
	{ "", { NULL } },
};

START_TEST(test_walk_table)
{
	char	 names[AM_DMARC_WALK_MAX][AM_DOMAIN_MAX + 1];
	size_t	 n, want, i;

	for (want = 0; walk_cases[_i].names[want] != NULL; want++)
		continue;
	n = am_dmarc_walk_names(walk_cases[_i].domain, names, AM_DMARC_WALK_MAX);
	ck_assert_msg(n == want, "%s: %zu names, want %zu", walk_cases[_i].domain, n, want);
	ck_assert_uint_le(n, AM_DMARC_WALK_MAX);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(names[i], walk_cases[_i].names[i]) == 0,
		    "%s: name %zu is %s", walk_cases[_i].domain, i, names[i]);
}
END_TEST

/* ---- org domain selection (RFC 9989 4.10.2) ---- */

static const struct {
	const char		*label;
	const char		*start;
	struct am_dmarc_found	 found[3];
	size_t			 n;
	const char		*org;
} org_cases[] = {
	{ "RFC: records at mail.example.com and example.com", "a.mail.example.com",
	    { { "mail.example.com", 'u' }, { "example.com", 'u' } }, 2, "example.com" },
	{ "RFC: psd=n at mail.example.com", "a.mail.example.com",
	    { { "mail.example.com", 'n' } }, 1, "mail.example.com" },
	{ "RFC: only _dmarc.com with psd=y", "a.mail.example.com",
	    { { "com", 'y' } }, 1, "example.com" },
	{ "RFC: psd=y at example.com, start mail.example.com", "mail.example.com",
	    { { "example.com", 'y' } }, 1, "mail.example.com" },
	{ "no record: the start itself", "a.mail.example.com", { { NULL, 0 } }, 0,
	    "a.mail.example.com" },
	{ "only the start", "a.mail.example.com", { { "a.mail.example.com", 'u' } }, 1,
	    "a.mail.example.com" },
	{ "start and a PSD", "a.mail.example.com",
	    { { "a.mail.example.com", 'u' }, { "example.com", 'y' } }, 2, "mail.example.com" },
	{ "psd=y at the start is not rule 2", "com", { { "com", 'y' } }, 1, "com" },
	{ "psd=n after plain records", "a.b.example.com",
	    { { "a.b.example.com", 'u' }, { "b.example.com", 'u' }, { "example.com", 'n' } },
	    3, "example.com" },
	{ "psd=n at the start", "mail.example.com",
	    { { "mail.example.com", 'n' } }, 1, "mail.example.com" },
	/* a walk stops at psd=n, so this list is synthetic: it pins rule 1 */
	{ "psd=n before fewest labels", "a.mail.example.com",
	    { { "mail.example.com", 'n' }, { "example.com", 'u' } }, 2, "mail.example.com" },
	{ "fewest labels, not the last", "a.b.example.com",
	    { { "a.b.example.com", 'u' }, { "example.com", 'u' } }, 2, "example.com" },
};

START_TEST(test_org_table)
{
	char	 out[AM_DOMAIN_MAX + 1];

	ck_assert_int_eq(am_dmarc_org_select(org_cases[_i].start, org_cases[_i].found,
	    org_cases[_i].n, out, sizeof(out)), 0);
	ck_assert_msg(strcmp(out, org_cases[_i].org) == 0, "%s: got %s",
	    org_cases[_i].label, out);
}
END_TEST

/* ---- which tag applies ---- */

static const struct {
	const char		*txt;
	int			 at_author, nonexistent, rfc7489;
	int			 rc;
	enum am_dmarc_policy	 policy;
	const char		*tag;
} pick_cases[] = {
	{ "v=DMARC1; p=reject; sp=none; np=quarantine", 1, 0, 0, 0, P_RE, "p" },
	{ "v=DMARC1; p=reject; sp=none; np=quarantine", 1, 1, 0, 0, P_RE, "p" },
	{ "v=DMARC1; p=reject; sp=none; np=quarantine", 0, 0, 0, 0, P_NO, "sp" },
	{ "v=DMARC1; p=reject; sp=none; np=quarantine", 0, 1, 0, 0, P_QU, "np" },
	{ "v=DMARC1; p=reject; sp=none; np=quarantine", 0, 1, 1, 0, P_NO, "sp" },
	{ "v=DMARC1; p=reject; sp=quarantine", 0, 1, 0, 0, P_QU, "sp" },
	{ "v=DMARC1; p=reject", 0, 1, 0, 0, P_RE, "p" },
	{ "v=DMARC1; p=reject", 0, 0, 0, 0, P_RE, "p" },
	{ "v=DMARC1; sp=reject", 1, 0, 0, 0, P_NO, "p" },
	{ "v=DMARC1; sp=reject", 0, 0, 0, 0, P_RE, "sp" },
	{ "v=DMARC1; sp=reject", 1, 0, 1, -1, P_NO, "p" },
	{ "v=DMARC1; sp=reject; rua=mailto:d@x.example", 1, 0, 1, 0, P_NO, "p" },
	{ "v=DMARC1; p=bogus", 1, 0, 0, -1, P_NO, "p" },
	{ "v=DMARC1; p=bogus; rua=mailto:d@x.example", 1, 0, 0, 0, P_NO, "p" },
	{ "v=DMARC1; p=reject; np=bogus", 1, 0, 0, -1, P_NO, "p" },
	{ "v=DMARC1; p=reject; np=bogus", 1, 0, 1, 0, P_RE, "p" },
	{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@x.example", 0, 0, 0, 0, P_NO, "p" },
};

START_TEST(test_pick_table)
{
	struct am_dmarc_record	 r;
	enum am_dmarc_policy	 p;
	const char		*tag;
	int			 rc;

	ck_assert_int_eq(am_dmarc_record_parse(pick_cases[_i].txt, &r), 0);
	rc = am_dmarc_policy_pick(&r, pick_cases[_i].at_author,
	    pick_cases[_i].nonexistent, pick_cases[_i].rfc7489, &p, &tag);
	ck_assert_msg(rc == pick_cases[_i].rc, "case %d: rc %d", _i, rc);
	if (rc == 0)
		ck_assert_msg(p == pick_cases[_i].policy && strcmp(tag, pick_cases[_i].tag) == 0,
		    "case %d: %d %s", _i, p, tag);
}
END_TEST

/* ---- end to end through am_dns local data ---- */

#define DM(x)	"_dmarc." x ". 300 IN TXT "
#define HOST(x)	x ". 300 IN A 192.0.2.1"

struct want {
	enum am_dmarc_result	 result;
	enum am_dmarc_policy	 policy;
	const char		*tag;
	int			 spf_aligned, dkim_aligned;
	const char		*policy_domain, *org_domain;
	int			 testing, pct;
};

static const struct {
	const char	*label;
	const char	*zones[3];
	const char	*rrs[6];
	const char	*from[3];
	const char	*spf;		/* "result:domain", NULL: not checked */
	const char	*dkim[3];	/* "result:d=" */
	int		 psl;		/* RFC 7489 mode */
	struct want	 w;
} e2e[] = {
	{ "pass by aligned SPF only", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:bounce.example.com", { NULL }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.com", "example.com", 0, 100 } },
	{ "pass by aligned DKIM only", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "fail:example.net", { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "relaxed: d=sub aligns", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "pass:sub.example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "strict adkim=s: d=sub does not", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; adkim=s\"" }, { "example.com" },
	    NULL, { "pass:sub.example.com" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "strict adkim=s: exact d= does", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; adkim=s\"" }, { "example.com" },
	    NULL, { "pass:EXAMPLE.com." }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "strict aspf=s", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=quarantine; aspf=s\"" }, { "example.com" },
	    "pass:bounce.example.com", { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "unaligned SPF pass", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:example.net", { "pass:example.org" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "existing subdomain: sp", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; sp=quarantine\"", HOST("sub.example.com") },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "existing subdomain, no sp: p", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"", HOST("sub.example.com") },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "existing subdomain ignores np", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; np=reject\"", HOST("sub.example.com") },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_NO, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "non-existent subdomain: np", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; sp=quarantine; np=reject\"" },
	    { "nx.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "np", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "non-existent subdomain, no np: sp", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; sp=quarantine\"" },
	    { "nx.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "subdomain with its own record: p", { "example.com" },
	    { DM("sub.example.com") "\"v=DMARC1; p=quarantine\"",
	    DM("example.com") "\"v=DMARC1; p=reject; sp=none\"" },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "p", 0, 0, "sub.example.com", "example.com", 0, 100 } },
	{ "org domain several labels up", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; sp=quarantine\"", HOST("a.b.c.example.com") },
	    { "a.b.c.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "several labels up, relaxed DKIM aligns", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"", HOST("a.b.c.example.com") },
	    { "a.b.c.example.com" }, NULL, { "pass:x.example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "ten labels: the walk jumps", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; sp=quarantine\"",
	    HOST("a.b.c.d.e.f.g.h.example.com") }, { "a.b.c.d.e.f.g.h.example.com" },
	    NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "an intermediate record is not the policy", { "example.com" },
	    { DM("mail.example.com") "\"v=DMARC1; p=none\"",
	    DM("example.com") "\"v=DMARC1; p=reject; sp=quarantine\"", HOST("a.mail.example.com") },
	    { "a.mail.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "psd=n makes an org domain", { "example.com" },
	    { DM("mail.example.com") "\"v=DMARC1; p=none; psd=n\"",
	    DM("example.com") "\"v=DMARC1; p=reject\"", HOST("a.mail.example.com") },
	    { "a.mail.example.com" }, NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_FAIL, P_NO, "p", 0, 0, "mail.example.com", "mail.example.com", 0, 100 } },
	{ "no record: none", { "example.com" }, { HOST("example.com") },
	    { "example.com" }, "pass:example.com", { NULL }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.com", 0, 100 } },
	{ "two records: none", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"", DM("example.com") "\"v=DMARC1; p=none\"" },
	    { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.com", 0, 100 } },
	{ "a non-DMARC TXT beside one record", { "example.com" },
	    { DM("example.com") "\"v=spf1 -all\"", DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "record split in strings", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; \" \"p=reject\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "v= not first: none", { "example.com" },
	    { DM("example.com") "\"p=reject; v=DMARC1\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.com", 0, 100 } },
	{ "psd=y: PSD policy, org one below", { "example" },
	    { DM("example") "\"v=DMARC1; p=reject; psd=y\"", HOST("a.b.example") },
	    { "a.b.example" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example", "b.example", 0, 100 } },
	{ "psd=y: same org aligns", { "example" },
	    { DM("example") "\"v=DMARC1; p=reject; psd=y\"", HOST("a.b.example") },
	    { "a.b.example" }, NULL, { "pass:c.b.example" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example", "b.example", 0, 100 } },
	{ "psd=y: another org does not", { "example" },
	    { DM("example") "\"v=DMARC1; p=reject; psd=y\"", HOST("a.b.example") },
	    { "a.b.example" }, NULL, { "pass:other.example" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example", "b.example", 0, 100 } },
	{ "psd=y: np for a non-existent domain", { "example" },
	    { DM("example") "\"v=DMARC1; p=none; np=reject; psd=y\"" },
	    { "nx.example" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "np", 0, 0, "example", "nx.example", 0, 100 } },
	{ "t=y recorded", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; t=y\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 1, 100 } },
	{ "pct ignored in RFC 9989 mode", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; pct=10\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "bad p with rua: p=none", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=bogus; rua=mailto:d@example.com\"" },
	    { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_NO, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "bad p without rua: none", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=bogus\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "no p: p=none", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; sp=reject\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_NO, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "passing sub signature, then failing parent", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "pass:sub.example.com", "fail:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "failing parent, then passing sub signature", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "fail:example.com", "pass:sub.example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "DKIM temperror that would align", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "fail:example.com", { "temperror:example.com", "pass:example.net" }, 0,
	    { AM_DMARC_TEMPERROR, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "DKIM temperror that would not align", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "temperror:example.net" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "SPF temperror that would align", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "temperror:bounce.example.com", { NULL }, 0,
	    { AM_DMARC_TEMPERROR, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "several From domains: the strictest", { "example.com", "example.net" },
	    { DM("example.net") "\"v=DMARC1; p=none\"", DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "example.net", "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "several From domains: none beats pass", { "example.com", "example.org" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "example.com", "example.org" }, NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.org", 0, 100 } },
	{ "several From, one domain twice", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "example.com", "EXAMPLE.com" }, NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	/* RFC 7489 Appendix B.1.1 (SPF) and B.1.2 (DKIM), as RFC 9989 4.4 keeps them */
	{ "B.1.1: MAIL FROM = From, strict", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; aspf=s\"" }, { "example.com" },
	    "pass:example.com", { NULL }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.1: MAIL FROM = From, relaxed", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:example.com", { NULL }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.1: MAIL FROM child, relaxed aligns", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:child.example.com", { NULL }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.1: MAIL FROM child, strict does not", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; aspf=s\"" }, { "example.com" },
	    "pass:child.example.com", { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.1: MAIL FROM example.net, From example.com", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:example.net", { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.1: From child, MAIL FROM parent, relaxed", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"", HOST("child.example.com") },
	    { "child.example.com" }, "pass:example.com", { NULL }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.2: d= = From, strict", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; adkim=s\"" }, { "example.com" },
	    NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "B.1.2: d=child, relaxed aligns", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "pass:child.example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "B.1.2: d=child, strict does not", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; adkim=s\"" }, { "example.com" },
	    NULL, { "pass:child.example.com" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.2: d=example.net, From example.com", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "pass:example.net" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "B.1.2: failing aligned signature does not count", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    NULL, { "fail:example.com" }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "4.4: SPF fail on an aligned identity does not count", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "fail:example.com", { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "4.4: both aligned and passing", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject\"" }, { "example.com" },
	    "pass:example.com", { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 1, 1, "example.com", "example.com", 0, 100 } },
	/* RFC 9989 4.10: the query cap skips names; the skipped record is unseen */
	{ "query cap: a record at a skipped name is not found", { "example.com" },
	    { DM("f.g.h.i.j.mail.example.com") "\"v=DMARC1; p=reject\"",
	    DM("example.com") "\"v=DMARC1; p=none; sp=quarantine\"",
	    HOST("a.b.c.d.e.f.g.h.i.j.mail.example.com") },
	    { "a.b.c.d.e.f.g.h.i.j.mail.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "query cap: the first name after the jump is asked", { "example.com" },
	    { DM("g.h.i.j.mail.example.com") "\"v=DMARC1; p=reject; psd=n\"",
	    DM("example.com") "\"v=DMARC1; p=none\"",
	    HOST("a.b.c.d.e.f.g.h.i.j.mail.example.com") },
	    { "a.b.c.d.e.f.g.h.i.j.mail.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "g.h.i.j.mail.example.com",
	    "g.h.i.j.mail.example.com", 0, 100 } },
	/* RFC 9989 3.2.13: "non-existent" means NXDOMAIN, not NODATA */
	{ "np: a subdomain with only MX exists (sp)", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; sp=quarantine; np=reject\"",
	    "mx.example.com. 300 IN MX 10 mail.example.net." },
	    { "mx.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "np: a subdomain with only AAAA exists (sp)", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; sp=quarantine; np=reject\"",
	    "v6.example.com. 300 IN AAAA 2001:db8::1" },
	    { "v6.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "np: non-existent, no sp, np given", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=none; np=quarantine\"" },
	    { "gone.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "np", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "np: the author domain's own record uses p", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=quarantine; np=reject\"" },
	    { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "author record p=none beats parent p=reject", { "example.com" },
	    { DM("sub.example.com") "\"v=DMARC1; p=none\"",
	    DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_NO, "p", 0, 0, "sub.example.com", "example.com", 0, 100 } },
	{ "t=n is not testing", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; t=n\"" }, { "example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "t=y on a pass is still a pass", { "example.com" },
	    { DM("example.com") "\"v=DMARC1; p=reject; t=y\"" }, { "example.com" },
	    NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 1, 100 } },
	{ "psd=y at a PSD, sp for an existing subdomain below the org", { "example" },
	    { DM("example") "\"v=DMARC1; p=reject; sp=quarantine; psd=y\"",
	    HOST("a.b.example") }, { "a.b.example" }, NULL, { "pass:b.example" }, 0,
	    { AM_DMARC_PASS, P_QU, "sp", 0, 1, "example", "b.example", 0, 100 } },
	{ "psd=n at the author domain: its own org domain", { "example.com" },
	    { DM("mail.example.com") "\"v=DMARC1; p=quarantine; psd=n\"",
	    DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "mail.example.com" }, NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_FAIL, P_QU, "p", 0, 0, "mail.example.com", "mail.example.com", 0, 100 } },
	/*
	 * Several DMARC records at one name.  RFC 9989 4.10 steps 2 and 6:
	 * they are all discarded and the walk goes on, so the author domain's
	 * Organizational Domain (or PSD) supplies the policy.  RFC 7489 6.6.3:
	 * only an empty set at the author domain leads to the org domain
	 * (step 3); several records end discovery with no DMARC (step 5).
	 */
	{ "9989: several records at the author domain: the org's sp", { "example.com" },
	    { DM("sub.example.com") "\"v=DMARC1; p=none\"",
	    DM("sub.example.com") "\"v=DMARC1; p=none; rua=mailto:x@example.com\"",
	    DM("example.com") "\"v=DMARC1; p=reject; sp=quarantine\"" },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "9989: several records, one with a bad tag, still several", { "example.com" },
	    { DM("sub.example.com") "\"v=DMARC1; p=bogus\"",
	    DM("sub.example.com") "\"v=DMARC1; p=none\"",
	    DM("example.com") "\"v=DMARC1; p=reject\"" },
	    { "sub.example.com" }, NULL, { NULL }, 0,
	    { AM_DMARC_FAIL, P_RE, "p", 0, 0, "example.com", "example.com", 0, 100 } },
	{ "9989: several records at a psd=y name: no PSD, none", { "example" },
	    { DM("example") "\"v=DMARC1; p=reject; psd=y\"",
	    DM("example") "\"v=DMARC1; p=quarantine; psd=y\"", HOST("a.b.example") },
	    { "a.b.example" }, NULL, { NULL }, 0,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "a.b.example", 0, 100 } },
	{ "9989: several psd=n records do not stop the walk", { "example.com" },
	    { DM("mail.example.com") "\"v=DMARC1; p=none; psd=n\"",
	    DM("mail.example.com") "\"v=DMARC1; p=quarantine; psd=n\"",
	    DM("example.com") "\"v=DMARC1; p=reject\"", HOST("a.mail.example.com") },
	    { "a.mail.example.com" }, NULL, { "pass:example.com" }, 0,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "example.com", "example.com", 0, 100 } },
	{ "7489: several records at the author domain: none, no org", { "example.co.uk" },
	    { DM("sub.example.co.uk") "\"v=DMARC1; p=none\"",
	    DM("sub.example.co.uk") "\"v=DMARC1; p=none; rua=mailto:x@example.co.uk\"",
	    DM("example.co.uk") "\"v=DMARC1; p=reject; sp=quarantine\"" },
	    { "sub.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.co.uk", 0, 100 } },
	{ "7489: several at the author, a non-DMARC TXT beside", { "example.co.uk" },
	    { DM("sub.example.co.uk") "\"v=DMARC1; p=none\"",
	    DM("sub.example.co.uk") "\"v=DMARC1; p=quarantine\"",
	    DM("sub.example.co.uk") "\"v=spf1 -all\"",
	    DM("example.co.uk") "\"v=DMARC1; p=reject\"" },
	    { "sub.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.co.uk", 0, 100 } },
	{ "7489: several records at the org domain: none", { "example.co.uk" },
	    { DM("example.co.uk") "\"v=DMARC1; p=reject\"",
	    DM("example.co.uk") "\"v=DMARC1; p=quarantine\"" },
	    { "sub.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.co.uk", 0, 100 } },
	{ "7489: one DMARC record and a non-DMARC TXT: the record", { "example.co.uk" },
	    { DM("sub.example.co.uk") "\"v=DMARC1; p=quarantine\"",
	    DM("sub.example.co.uk") "\"v=DMARC1x; p=none\"",
	    DM("example.co.uk") "\"v=DMARC1; p=reject\"" },
	    { "sub.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_FAIL, P_QU, "p", 0, 0, "sub.example.co.uk", "example.co.uk", 0, 100 } },
	/* RFC 7489 mode: PSL org domain, pct, np/psd/t ignored */
	{ "7489: sp, pct, t/np/psd ignored", { "example.co.uk" },
	    { DM("example.co.uk") "\"v=DMARC1; p=reject; sp=quarantine; pct=25; np=none; t=y; psd=y\"" },
	    { "a.b.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_FAIL, P_QU, "sp", 0, 0, "example.co.uk", "example.co.uk", 0, 25 } },
	{ "7489: relaxed by the PSL", { "example.co.uk" },
	    { DM("example.co.uk") "\"v=DMARC1; p=reject\"" },
	    { "a.b.example.co.uk" }, "pass:other.example.co.uk", { NULL }, 1,
	    { AM_DMARC_PASS, P_RE, "p", 1, 0, "example.co.uk", "example.co.uk", 0, 100 } },
	{ "7489: an intermediate record is never asked", { "example.co.uk" },
	    { DM("b.example.co.uk") "\"v=DMARC1; p=reject\"" },
	    { "a.b.example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.co.uk", 0, 100 } },
	{ "7489: a PSD record is never asked", { "co.uk" },
	    { DM("co.uk") "\"v=DMARC1; p=reject; psd=y\"" },
	    { "example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "", "example.co.uk", 0, 100 } },
	{ "7489: no p and no rua: none", { "example.co.uk" },
	    { DM("example.co.uk") "\"v=DMARC1; sp=reject\"" },
	    { "example.co.uk" }, NULL, { NULL }, 1,
	    { AM_DMARC_NONE, P_UN, "", 0, 0, "example.co.uk", "example.co.uk", 0, 100 } },
	{ "7489: the PSL org domain differs from the walk's", { "example.com" },
	    { DM("mail.example.com") "\"v=DMARC1; p=reject; psd=n\"" },
	    { "mail.example.com" }, NULL, { "pass:example.com" }, 1,
	    { AM_DMARC_PASS, P_RE, "p", 0, 1, "mail.example.com", "example.com", 0, 100 } },
};

static struct am_psl	*psl;

/* dns_local - a resolver that answers only from the case's data */
static struct am_dns *
dns_local(const char *const *zones, size_t nz, const char *const *rrs, size_t nr)
{
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	char			 err[256];
	size_t			 i;

	memset(&o, 0, sizeof(o));
	o.local_only = 1;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	for (i = 0; i < nz && zones[i] != NULL; i++)
		ck_assert_int_eq(am_dns_add_zone(dns, zones[i]), 0);
	for (i = 0; i < nr && rrs[i] != NULL; i++)
		ck_assert_msg(am_dns_add_local(dns, rrs[i]) == 0, "bad rr %s", rrs[i]);
	return dns;
}

/* split - "result:domain" */
static const char *
split(const char *s, char *res, size_t reslen)
{
	const char	*colon = strchr(s, ':');

	ck_assert_ptr_nonnull(colon);
	snprintf(res, reslen, "%.*s", (int)(colon - s), s);
	return colon + 1;
}

/* fill_results - SPF and DKIM results of a case */
static void
fill_results(const char *spf, const char *const *dkim, size_t nd, struct am_results *r)
{
	char	 res[16];
	size_t	 i;

	memset(r, 0, sizeof(*r));
	if (spf != NULL) {
		r->spf_mailfrom.checked = 1;
		snprintf(r->spf_mailfrom.domain, sizeof(r->spf_mailfrom.domain), "%s",
		    split(spf, res, sizeof(res)));
		r->spf_mailfrom.result = strcmp(res, "pass") == 0 ? AM_SPF_PASS :
		    strcmp(res, "temperror") == 0 ? AM_SPF_TEMPERROR : AM_SPF_FAIL;
	}
	for (i = 0; i < nd && dkim[i] != NULL; i++) {
		snprintf(r->dkim[i].domain, sizeof(r->dkim[i].domain), "%s",
		    split(dkim[i], res, sizeof(res)));
		r->dkim[i].result = strcmp(res, "pass") == 0 ? AM_DKIM_PASS :
		    strcmp(res, "temperror") == 0 ? AM_DKIM_TEMPERROR : AM_DKIM_FAIL;
		r->ndkim++;
	}
}

/* check_want - every field of the result */
static void
check_want(const char *label, const struct am_dmarc_res *d, const struct want *w)
{
	ck_assert_msg(d->result == w->result, "%s: result %d want %d (%s)", label,
	    d->result, w->result, d->reason);
	ck_assert_msg(d->policy == w->policy, "%s: policy %d want %d", label,
	    d->policy, w->policy);
	ck_assert_msg(strcmp(d->policy_tag, w->tag) == 0, "%s: tag \"%s\"", label,
	    d->policy_tag);
	ck_assert_msg(d->spf_aligned == w->spf_aligned && d->dkim_aligned == w->dkim_aligned,
	    "%s: aligned spf %d dkim %d", label, d->spf_aligned, d->dkim_aligned);
	ck_assert_msg(strcmp(d->policy_domain, w->policy_domain) == 0,
	    "%s: policy domain \"%s\"", label, d->policy_domain);
	ck_assert_msg(strcmp(d->org_domain, w->org_domain) == 0, "%s: org domain \"%s\"",
	    label, d->org_domain);
	ck_assert_msg(d->testing == w->testing && d->pct == w->pct, "%s: t %d pct %d",
	    label, d->testing, d->pct);
	ck_assert_msg(d->reason[0] != '\0', "%s: no reason", label);
}

START_TEST(test_e2e_table)
{
	struct am_dns		*dns;
	struct am_results	 r;
	struct am_dmarc_res	 d;
	char			 from[3][AM_DOMAIN_MAX + 1];
	size_t			 nfrom, i;

	dns = dns_local(e2e[_i].zones, nitems(e2e[_i].zones), e2e[_i].rrs,
	    nitems(e2e[_i].rrs));
	for (nfrom = 0; nfrom < 3 && e2e[_i].from[nfrom] != NULL; nfrom++)
		snprintf(from[nfrom], sizeof(from[nfrom]), "%s", e2e[_i].from[nfrom]);
	fill_results(e2e[_i].spf, e2e[_i].dkim, nitems(e2e[_i].dkim), &r);
	ck_assert_int_eq(am_dmarc_eval(dns, NULL, e2e[_i].psl ? psl : NULL, from, nfrom, &r, &d), 0);
	check_want(e2e[_i].label, &d, &e2e[_i].w);
	for (i = 0; i < nfrom; i++)
		if (strcasecmp(d.from_domain, from[i]) == 0)
			break;
	ck_assert_msg(i < nfrom, "%s: from domain \"%s\"", e2e[_i].label, d.from_domain);
	am_dns_free(dns);
}
END_TEST

START_TEST(test_no_from)
{
	struct am_dns		*dns;
	struct am_results	 r;
	struct am_dmarc_res	 d;

	dns = dns_local(NULL, 0, NULL, 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(am_dmarc_eval(dns, NULL, NULL, NULL, 0, &r, &d), 0);
	ck_assert_int_eq(d.result, AM_DMARC_PERMERROR);
	ck_assert_int_eq(d.policy, P_UN);
	ck_assert(d.reason[0] != '\0');
	am_dns_free(dns);
}
END_TEST

/* ---- temperror: a name server that never answers ---- */

static int	 deaf_fd = -1;
static char	 deaf_ns[64];

/* deaf_open - a UDP socket on loopback that reads nothing */
static void
deaf_open(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	deaf_fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(deaf_fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(deaf_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(deaf_fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(deaf_ns, sizeof(deaf_ns), "127.0.0.1@%u", ntohs(sin.sin_port));
}

/* dns_deaf - a resolver forwarding to the deaf socket, timeout 1 s */
static struct am_dns *
dns_deaf(void)
{
	const char		*ns[1] = { deaf_ns };
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.nameservers = ns;
	o.nnameservers = 1;
	o.timeout = 1;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	return dns;
}

START_TEST(test_temperror)
{
	struct am_dns		*dns;
	struct am_results	 r;
	struct am_dmarc_res	 d;
	char			 from[1][AM_DOMAIN_MAX + 1] = { "example.com" };
	const char		*dkim[1] = { "pass:sub.example.com" };

	deaf_open();
	dns = dns_deaf();
	/* no exact pass: temperror, and no parent policy instead */
	fill_results("pass:bounce.example.com", dkim, 1, &r);
	ck_assert_int_eq(am_dmarc_eval(dns, NULL, NULL, from, 1, &r, &d), 0);
	ck_assert_msg(d.result == AM_DMARC_TEMPERROR, "result %d (%s)", d.result, d.reason);
	ck_assert_int_eq(d.policy, P_UN);
	ck_assert_str_eq(d.policy_domain, "");
	ck_assert_str_eq(d.from_domain, "example.com");
	/* an exact DKIM pass aligns whatever the record says */
	dkim[0] = "pass:example.com";
	fill_results(NULL, dkim, 1, &r);
	ck_assert_int_eq(am_dmarc_eval(dns, NULL, NULL, from, 1, &r, &d), 0);
	ck_assert_msg(d.result == AM_DMARC_PASS, "result %d (%s)", d.result, d.reason);
	ck_assert_int_eq(d.dkim_aligned, 1);
	am_dns_free(dns);
	close(deaf_fd);
}
END_TEST

/* dmarc_suite - the suite */
/*
 * A tiny authoritative server on loopback for the CNAME case, which
 * libunbound's local data cannot express: there a CNAME is answered
 * without its target's rcode.  On the wire (nsd does the same) an A query
 * for a CNAME whose target is gone gets the CNAME and NXDOMAIN (RFC 6604
 * section 3).  Names: _dmarc.example.com TXT; cn.example.com CNAME
 * gone.example.net (dangling); example.com exists without data; every
 * other name NXDOMAIN.
 */
static int		 wire_fd = -1;
static volatile int	 wire_stop;

/* wire_name - the query name in lower case, dotted; offset past it or 0 */
static size_t
wire_name(const unsigned char *p, size_t len, size_t off, char *out, size_t outlen)
{
	size_t	 o = 0, n, i;

	while (off < len && (n = p[off]) != 0) {
		if (n > 63 || off + 1 + n > len || o + n + 2 > outlen)
			return 0;
		for (i = 0; i < n; i++)
			out[o++] = (char)tolower(p[off + 1 + i]);
		out[o++] = '.';
		off += 1 + n;
	}
	if (off >= len)
		return 0;
	out[o > 0 ? o - 1 : 0] = '\0';
	return off + 1;
}

/* wire_rr - append one answer RR (owner: the question) */
static size_t
wire_rr(unsigned char *b, size_t o, int type, const unsigned char *rd, size_t rdlen)
{
	const unsigned char	 hdr[] = { 0xc0, 0x0c, 0, (unsigned char)type, 0, 1,
				    0, 0, 1, 0x2c, 0, (unsigned char)rdlen };

	memcpy(b + o, hdr, sizeof(hdr));
	memcpy(b + o + sizeof(hdr), rd, rdlen);
	return o + sizeof(hdr) + rdlen;
}

/* wire_answer - the reply to one query in q; its length, or 0 to drop it */
static size_t
wire_answer(const unsigned char *q, size_t len, unsigned char *b)
{
	static const unsigned char cname[] = "\4gone\7example\3net";
	static const char	 txt[] = "v=DMARC1; p=none; sp=quarantine; np=reject";
	unsigned char		 rd[64];
	char			 name[256];
	size_t			 end, o;
	int			 type, rcode = 3, an = 0;

	if (len < 12 || (end = wire_name(q, len, 12, name, sizeof(name))) == 0 ||
	    end + 4 > len)
		return 0;
	type = q[end] << 8 | q[end + 1];
	memcpy(b, q, end + 4);			/* id and question */
	o = end + 4;
	if (strcmp(name, "cn.example.com") == 0) {
		o = wire_rr(b, o, 5, cname, sizeof(cname));
		rcode = type == 5 ? 0 : 3;	/* the target's NXDOMAIN */
		an = 1;
	} else if (strcmp(name, "_dmarc.example.com") == 0 && type == 16) {
		rd[0] = sizeof(txt) - 1;
		memcpy(rd + 1, txt, sizeof(txt) - 1);
		o = wire_rr(b, o, 16, rd, sizeof(txt));
		rcode = 0;
		an = 1;
	} else if (strcmp(name, "example.com") == 0 ||
	    strcmp(name, "_dmarc.example.com") == 0)
		rcode = 0;			/* NODATA */
	b[2] = 0x84 | (q[2] & 0x01);		/* QR AA, RD copied */
	b[3] = (unsigned char)rcode;
	b[4] = 0, b[5] = 1, b[6] = 0, b[7] = (unsigned char)an;
	b[8] = b[9] = b[10] = b[11] = 0;
	return o;
}

/* wire_serve - thread: answer until wire_stop */
static void *
wire_serve(void *arg)
{
	unsigned char		 q[512], b[1024];
	struct sockaddr_in	 from;
	socklen_t		 flen;
	struct pollfd		 pfd;
	ssize_t			 n;
	size_t			 rlen;

	(void)arg;
	pfd.fd = wire_fd;
	pfd.events = POLLIN;
	while (!wire_stop) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		flen = sizeof(from);
		n = recvfrom(wire_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n > 0 && (rlen = wire_answer(q, (size_t)n, b)) > 0)
			(void)sendto(wire_fd, b, rlen, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

START_TEST(test_np_dangling_cname)
{
	static const struct {
		const char		*from;
		enum am_dmarc_policy	 policy;
		const char		*tag;
	} c[] = {
		{ "cn.example.com", P_QU, "sp" },	/* a CNAME: exists */
		{ "nx.example.com", P_RE, "np" },	/* NXDOMAIN: does not */
	};
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	const char		*ns[1];
	char			 addr[64], err[256];
	char			 from[1][AM_DOMAIN_MAX + 1];
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	struct am_results	 r;
	struct am_dmarc_res	 d;
	pthread_t		 t;
	size_t			 i;

	wire_fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(wire_fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(wire_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(wire_fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1@%u", ntohs(sin.sin_port));
	wire_stop = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, wire_serve, NULL), 0);
	memset(&o, 0, sizeof(o));
	ns[0] = addr;
	o.nameservers = ns;
	o.nnameservers = 1;
	o.timeout = 2;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	for (i = 0; i < nitems(c); i++) {
		snprintf(from[0], sizeof(from[0]), "%s", c[i].from);
		fill_results(NULL, NULL, 0, &r);
		ck_assert_int_eq(am_dmarc_eval(dns, NULL, NULL, from, 1, &r, &d), 0);
		ck_assert_msg(d.result == AM_DMARC_FAIL && d.policy == c[i].policy &&
		    strcmp(d.policy_tag, c[i].tag) == 0,
		    "%s: result %d policy %d tag %s (%s)", c[i].from, d.result,
		    d.policy, d.policy_tag, d.reason);
	}
	am_dns_free(dns);
	wire_stop = 1;
	pthread_join(t, NULL);
	close(wire_fd);
}
END_TEST

static Suite *
dmarc_suite(void)
{
	Suite	*s = suite_create("dmarc");
	TCase	*tc;

	tc = tcase_create("record");
	tcase_add_loop_test(tc, test_record_table, 0, nitems(rec_cases));
	tcase_add_test(tc, test_libopendmarc_differences);
	suite_add_tcase(s, tc);
	tc = tcase_create("walk");
	tcase_add_loop_test(tc, test_walk_table, 0, nitems(walk_cases));
	tcase_add_loop_test(tc, test_org_table, 0, nitems(org_cases));
	tcase_add_loop_test(tc, test_pick_table, 0, nitems(pick_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("eval");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_e2e_table, 0, nitems(e2e));
	tcase_add_test(tc, test_no_from);
	tcase_add_test(tc, test_temperror);
	tcase_add_test(tc, test_np_dangling_cname);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	char	 err[256];
	int	 failed;

	if ((psl = am_psl_load(PSL_FILE, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILURE;
	}
	sr = srunner_create(dmarc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	am_psl_free(psl);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
