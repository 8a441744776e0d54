/*
 * check_dkim.c - milter/dkim/dkim.c and milter/dkim/dns_dkim.c: libopendkim
 * verification with keys served through am_dns local data (the seam the
 * daemon uses), fed header by header as an MTA would.
 *
 * Fixtures are in data/dkim (see its README): the RFC 8463 Appendix A
 * message, and messages signed by python3-dkim's dkimsign, never by us.
 * Covered: ed25519 and rsa pass (a 2048-bit key in a split TXT record),
 * body and header modified, From removed, unsigned, no key (NXDOMAIN and
 * NODATA), revoked key, no resolver, RFC 8301 (512-bit key, the per-message
 * minimum, ed25519 exempt, rsa-sha1), c=simple over odd whitespace with and
 * without the leading space, one failing signature of two, the signature
 * limit, the caller's array size, 24 malformed signatures with exact
 * results, 300 random mutations, an internal failure (temperror), API
 * edges, one DKIM_LIB shared by 8 threads, and against a silent name
 * server: temperror after the timeout, key fetches in dkim_eoh(), and no
 * fetch at all for signatures past the limit or rsa-sha1.  And the key
 * cache (dkim_keycache.c) reached through libopendkim: a hit the second
 * time the same key is verified.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <ctype.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim/dkim.h"
#include "dkim/dkim_edverify.h"
#include "dkim/dkim_keycache.h"
#include "dns/dns.h"
#include "dkim_fixture.h"
/* check_sig - exact result, identity and reason of one signature */
static void
check_sig(const struct am_dkim_sig *s, enum am_dkim_result res,
    const char *d, const char *sel, const char *alg, unsigned int bits,
    const char *reason)
{
	ck_assert_msg(s->result == res, "%s/%s: result %d, want %d (%s)",
	    s->domain, s->selector, s->result, res, s->reason);
	ck_assert_str_eq(s->domain, d);
	ck_assert_str_eq(s->selector, sel);
	ck_assert_str_eq(s->algorithm, alg);
	ck_assert_uint_eq(s->keybits, bits);
	ck_assert_str_eq(s->reason, reason);
}

/* test_rfc8463 - RFC 8463 Appendix A: ed25519 and rsa-sha256 both pass */
START_TEST(test_rfc8463)
{
	struct run	 r = { .file = "rfc8463-appendixA.signed.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PASS, "football.example.com", "brisbane",
	    "ed25519-sha256", 256, "");
	ck_assert_str_eq(r.sig[0].bprefix, "9/dsDChY");
	check_sig(&r.sig[1], AM_DKIM_PASS, "football.example.com", "test",
	    "rsa-sha256", 1024, "");
	ck_assert_str_eq(r.sig[1].bprefix, "icKcLSEZ");
}
END_TEST

/* test_example_org - rsa-sha256 (2048 bits, split TXT) and ed25519 pass */
START_TEST(test_example_org)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PASS, "example.org", "rs", "rsa-sha256",
	    2048, "");
	ck_assert_str_eq(r.sig[0].bprefix, "OupwHqGK");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	ck_assert_str_eq(r.sig[1].bprefix, "Dhqo6L3x");
}
END_TEST

/* test_body_modified - one changed body byte fails both signatures */
START_TEST(test_body_modified)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml",
			    .from = "Hello.", .to = "Hullo." };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "example.org", "rs", "rsa-sha256",
	    2048, "body hash mismatch");
	check_sig(&r.sig[1], AM_DKIM_FAIL, "example.org", "ed",
	    "ed25519-sha256", 256, "body hash mismatch");
}
END_TEST

/* test_header_modified - a changed signed header fails both signatures */
START_TEST(test_header_modified)
{
	struct run	 r = { .file = "rfc8463-appendixA.signed.eml",
			    .from = "Is dinner ready?",
			    .to = "Is lunch ready?" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "football.example.com", "brisbane",
	    "ed25519-sha256", 256, "signature verification failed");
	check_sig(&r.sig[1], AM_DKIM_FAIL, "football.example.com", "test",
	    "rsa-sha256", 1024, "signature verification failed");
}
END_TEST

/* test_from_removed - RFC 6376 5.4: From is signed; without it, fail */
START_TEST(test_from_removed)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml",
			    .from = "From: Alice <alice@example.org>\n",
			    .to = "" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.sig[0].result, AM_DKIM_FAIL);
	ck_assert_int_eq(r.sig[1].result, AM_DKIM_FAIL);
}
END_TEST

/* test_unsigned - no DKIM-Signature: zero entries, not an error */
START_TEST(test_unsigned)
{
	struct run	 r = { .file = "unsigned.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

/* test_no_key - RFC 8601 2.7.1: no key record is a permerror */
START_TEST(test_no_key)
{
	static const struct key	 keys[] = {
		{ "ed", "example.org", "example.org-ed.dns", NULL },
	};
	struct am_dns		*dns = dns_local(keys, nitems(keys));
	struct am_dkim_lib	*lib = lib_new(dns);
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml" };

	verify(lib, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PERMERROR, "example.org", "rs",
	    "rsa-sha256", 0, "key not found in DNS");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/*
 * test_budget - the budget given to am_dkim_eoh/eom reaches dns.c through
 * libopendkim's hooks: with room for one lookup, the second key is not
 * asked (temperror) and the budget says why
 */
START_TEST(test_budget)
{
	struct am_dns_budget	 b = { 0 };
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml", .budget = &b };
	size_t			 i, npass = 0, ntemp = 0;

	am_dns_budget_arm(&b, 0, 1);
	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	for (i = 0; i < r.n; i++) {
		npass += r.sig[i].result == AM_DKIM_PASS;
		ntemp += r.sig[i].result == AM_DKIM_TEMPERROR;
	}
	ck_assert_uint_eq(npass, 1);
	ck_assert_uint_eq(ntemp, 1);
	ck_assert_uint_eq(b.lookups, 1);
	ck_assert_int_eq(b.exhausted, AM_DNS_BUDGET_LOOKUPS);
}
END_TEST

/* test_nodata - a key name with no TXT (NODATA) is "no key": permerror */
START_TEST(test_nodata)
{
	static const struct key	 keys[] = {
		{ "ed", "example.org", "example.org-ed.dns", NULL },
	};
	struct am_dns		*dns = dns_local(keys, nitems(keys));
	struct am_dkim_lib	*lib;
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml" };

	ck_assert_int_eq(am_dns_add_local(dns,
	    "rs._domainkey.example.org. 300 IN A 192.0.2.1"), 0);
	lib = lib_new(dns);
	verify(lib, &r);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PERMERROR, "example.org", "rs",
	    "rsa-sha256", 0, "key not found in DNS");
	ck_assert_int_eq(r.sig[1].result, AM_DKIM_PASS);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* test_no_resolver - without an am_dns every key query is temperror */
START_TEST(test_no_resolver)
{
	struct am_dkim_lib	*lib = lib_new(NULL);
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml" };

	verify(lib, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	/* named (issue 16); no budget: libopendkim's reason */
	check_sig(&r.sig[0], AM_DKIM_TEMPERROR, "example.org", "rs",
	    "rsa-sha256", 0, "rs._domainkey.example.org: key DNS query failed");
	check_sig(&r.sig[1], AM_DKIM_TEMPERROR, "example.org", "ed",
	    "ed25519-sha256", 0, "ed._domainkey.example.org: key DNS query failed");
	am_dkim_lib_free(lib);
}
END_TEST

/* test_revoked - RFC 6376 3.6.1: an empty p= is a revoked key */
START_TEST(test_revoked)
{
	static const struct key	 keys[] = {
		{ "rs", "example.org", NULL, "v=DKIM1; k=rsa; p=" },
		{ "ed", "example.org", "example.org-ed.dns", NULL },
	};
	struct am_dns		*dns = dns_local(keys, nitems(keys));
	struct am_dkim_lib	*lib = lib_new(dns);
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml" };

	verify(lib, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PERMERROR, "example.org", "rs",
	    "rsa-sha256", 0, "key revoked");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* test_one_failing - the wrong key for one signature fails only that one */
START_TEST(test_one_failing)
{
	static const struct key	 keys[] = {
		{ "rs", "example.org", "rfc8463-test-rsa.pub.txt", NULL },
		{ "ed", "example.org", "example.org-ed.dns", NULL },
	};
	struct am_dns		*dns = dns_local(keys, nitems(keys));
	struct am_dkim_lib	*lib = lib_new(dns);
	struct run		 r = {
		.file = "example.org-signed-rsa+ed25519.eml" };

	verify(lib, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "example.org", "rs", "rsa-sha256",
	    1024, "signature verification failed");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* test_small_key - RFC 8301 3.2: a 512-bit RSA key fails at 1024 */
START_TEST(test_small_key)
{
	struct run	 r = { .file = "small512.signed.eml" };
	struct run	 lax = { .file = "small512.signed.eml",
			    .min_bits = 512 };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "example.org", "small",
	    "rsa-sha256", 512, "key too small: 512 bits");
	/* the limit is ours, per message: a lower one lets it pass */
	run_std(&lax);
	check_sig(&lax.sig[0], AM_DKIM_PASS, "example.org", "small",
	    "rsa-sha256", 512, "");
}
END_TEST

/* test_ed25519_exempt - ed25519's 256 bits are not held to min_key_bits */
START_TEST(test_ed25519_exempt)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml",
			    .min_bits = 4096 };

	run_std(&r);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "example.org", "rs", "rsa-sha256",
	    2048, "key too small: 2048 bits");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
}
END_TEST

/* test_sha1 - RFC 8301 3.1: rsa-sha1 fails (its key is not even fetched) */
START_TEST(test_sha1)
{
	struct run	 r = { .file = "sha1.signed.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1);
	check_sig(&r.sig[0], AM_DKIM_FAIL, "example.org", "rs1", "rsa-sha1",
	    0, "rsa-sha1 not accepted (RFC 8301)");
	/* regenerated fixtures change b=; the exact prefix is checked above */
	ck_assert_uint_eq(strlen(r.sig[0].bprefix), AM_BPREFIX_LEN);
}
END_TEST

/*
 * test_simple_ws - c=simple/simple over "Subject:   two  spaces<TAB>" and a
 * folded To: passes when the value keeps its leading space (LF or CRLF
 * folds), and fails when an MTA strips it (no SMFIP_HDR_LEADSPC)
 */
START_TEST(test_simple_ws)
{
	struct run	 lf = { .file = "simple-ws.signed.eml" };
	struct run	 crlf = { .file = "simple-ws.signed.eml", .crlf = 1 };
	struct run	 strip = { .file = "simple-ws.signed.eml",
			    .no_leadspc = 1 };

	run_std(&lf);
	ck_assert_uint_eq(lf.n, 1);
	check_sig(&lf.sig[0], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	run_std(&crlf);
	ck_assert_uint_eq(crlf.n, 1);
	ck_assert_int_eq(crlf.sig[0].result, AM_DKIM_PASS);
	run_std(&strip);
	ck_assert_uint_eq(strip.n, 1);
	check_sig(&strip.sig[0], AM_DKIM_FAIL, "example.org", "ed",
	    "ed25519-sha256", 256, "signature verification failed");
}
END_TEST

/* test_max_sigs - signatures past the limit are neutral, not verified */
START_TEST(test_max_sigs)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml",
			    .max_sigs = 1 };
	struct run	 none = { .file = "rfc8463-appendixA.signed.eml",
			    .max_sigs = 1 };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PASS, "example.org", "rs", "rsa-sha256",
	    2048, "");
	check_sig(&r.sig[1], AM_DKIM_NEUTRAL, "example.org", "ed",
	    "ed25519-sha256", 0, "not verified: signature limit");
	ck_assert_str_eq(r.sig[1].bprefix, "Dhqo6L3x");
	run_std(&none);
	ck_assert_uint_eq(none.n, 2);
	ck_assert_int_eq(none.sig[0].result, AM_DKIM_PASS);
	ck_assert_int_eq(none.sig[1].result, AM_DKIM_NEUTRAL);
}
END_TEST

/*
 * test_caller_max - at most `max` entries are written; max_sigs 0 leaves
 * every signature unverified; a second am_dkim_eom gives the same answer
 */
START_TEST(test_caller_max)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	struct am_dkim		*d;
	struct am_dkim_sig	 sig[2];
	char			*text, *body;
	size_t			 n = 99;

	text = slurp(DATA "rfc8463-appendixA.signed.eml");
	d = am_dkim_new(lib, NULL, 1024, 8);
	ck_assert_ptr_nonnull(d);
	body = feed_headers(d, text, 0, 0);
	ck_assert_int_eq(am_dkim_eoh(d, NULL), 0);
	feed_body(d, body);
	memset(sig, 0x55, sizeof(sig));
	ck_assert_int_eq(am_dkim_eom(d, NULL, sig, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sig[0].result, AM_DKIM_PASS);
	ck_assert_int_eq(sig[1].result, 0x55555555);	/* untouched */
	ck_assert_int_eq(am_dkim_eom(d, NULL, sig, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(sig[1].result, AM_DKIM_PASS);
	am_dkim_free(d);
	free(text);

	text = slurp(DATA "rfc8463-appendixA.signed.eml");
	d = am_dkim_new(lib, NULL, 1024, 0);
	body = feed_headers(d, text, 0, 0);
	ck_assert_int_eq(am_dkim_eoh(d, NULL), 0);
	feed_body(d, body);
	ck_assert_int_eq(am_dkim_eom(d, NULL, sig, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(sig[0].result, AM_DKIM_NEUTRAL);
	ck_assert_int_eq(sig[1].result, AM_DKIM_NEUTRAL);
	am_dkim_free(d);
	free(text);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* malformed DKIM-Signature values: a result for that signature, no error */
#define GOOD_TAGS "a=rsa-sha256; c=relaxed/simple; d=example.org; s=rs; " \
	"h=from:to:subject; bh=yZQq1c8wjBl0fZ4Wc/oraMCAG1mZJv5v/hlvyFy+t6A=; "
#define LONG_LABEL \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static const struct {
	const char		*value;
	enum am_dkim_result	 result;
	const char		*reason;
} bad_sigs[] = {
	{ " garbage", AM_DKIM_PERMERROR, "domain tag missing" },
	{ "", AM_DKIM_PERMERROR, "domain tag missing" },
	{ ";;;;;;====;;;", AM_DKIM_PERMERROR, "domain tag missing" },
	{ " v=1; \001\377\200; d=example.org", AM_DKIM_PERMERROR,
	    "domain tag missing" },
	{ " v=1; a=rsa-sha256; s=rs; h=from; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "domain tag missing" },
	{ " v=1; a=rsa-sha256; d=; s=rs; h=from; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "domain tag empty" },
	{ " v=1; a=rsa-sha256; d=example.org; s=; h=from; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "selector tag empty" },
	{ " v=1; a=rsa-sha512; d=example.org; s=rs; h=from; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "signature algorithm invalid" },
	{ " v=2; " GOOD_TAGS "b=AAAA", AM_DKIM_PERMERROR,
	    "unsupported signature version" },
	{ " v=1; " GOOD_TAGS "c=weird/simple; b=AAAA", AM_DKIM_PERMERROR,
	    "invalid header canonicalization" },
	{ " v=1; " GOOD_TAGS "q=foo; b=AAAA", AM_DKIM_PERMERROR,
	    "query method invalid" },
	{ " v=1; " GOOD_TAGS "i=@other.example; b=AAAA", AM_DKIM_PERMERROR,
	    "invalid domain coverage" },
	{ " v=1; a=rsa-sha256; d=example.org; s=rs; h=subject; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "header list missing required entries" },
	{ " v=1; " GOOD_TAGS "l=100000; b=AAAA", AM_DKIM_PERMERROR,
	    "length tag value exceeds body size" },
	{ " v=1; a=rsa-sha256; d=example.org; s=nosuch; h=from; bh=AAAA; "
	    "b=AAAA",
	    AM_DKIM_PERMERROR, "key not found in DNS" },
	{ " v=1; a=ed25519-sha256; d=example.org; s=rs; h=from; bh=AAAA; "
	    "b=AAAA",
	    AM_DKIM_PERMERROR, "unable to apply public key" },
	{ " v=1; a=rsa-sha256; d=example.org; s=" LONG_LABEL "." LONG_LABEL
	    "." LONG_LABEL "." LONG_LABEL "; h=from; bh=AAAA; b=AAAA",
	    AM_DKIM_PERMERROR, "key query name too long" },
	{ " v=1; a=rsa-sha256; d=example.org; s=" LONG_LABEL "a; h=from; "
	    "bh=AAAA; b=AAAA", AM_DKIM_PERMERROR, "key not found in DNS" },
	{ " v=1; " GOOD_TAGS "b=AAAA", AM_DKIM_FAIL,
	    "signature verification failed" },
	{ " v=1; " GOOD_TAGS "b=!!!!", AM_DKIM_FAIL,
	    "signature verification failed" },
	{ " v=1; v=1; " GOOD_TAGS "b=AAAA", AM_DKIM_FAIL,
	    "signature verification failed" },
	{ " v=1; " GOOD_TAGS "t=1000000000; x=1000000001; b=AAAA", AM_DKIM_FAIL,
	    "signature expired" },
	{ " v=1; " GOOD_TAGS "t=2000000000; x=1000000000; b=AAAA", AM_DKIM_FAIL,
	    "signature expired" },
	{ " v=1; " GOOD_TAGS "t=4000000000; b=AAAA", AM_DKIM_FAIL,
	    "signature timestamp in the future" },
};

/* test_malformed - each bad signature gets its exact result and reason */
START_TEST(test_malformed)
{
	struct run	 r = { .file = "unsigned.eml", .from = "From: Alice" };
	char		 to[1024];

	snprintf(to, sizeof(to), "DKIM-Signature:%s\nFrom: Alice",
	    bad_sigs[_i].value);
	r.to = to;
	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_msg(r.sig[0].result == bad_sigs[_i].result,
	    "case %d: result %d (%s)", _i, r.sig[0].result, r.sig[0].reason);
	ck_assert_str_eq(r.sig[0].reason, bad_sigs[_i].reason);
	ck_assert_uint_lt(strlen(r.sig[0].selector), sizeof(r.sig[0].selector));
}
END_TEST

/* mutate - change 1..3 bytes of the signature fields (not line structure) */
static void
mutate(char *text, size_t span, unsigned int *seed)
{
	static const char	 alphabet[] = "=;:. \t-aAzZ09+/\001\377";
	int			 k, nmut = 1 + (int)(rand_r(seed) % 3);
	size_t			 pos;

	for (k = 0; k < nmut; k++) {
		do
			pos = 15 + (size_t)rand_r(seed) % (span - 15);
		while (text[pos] == '\n' || text[pos - 1] == '\n');
		text[pos] = alphabet[(size_t)rand_r(seed) %
		    (sizeof(alphabet) - 1)];
	}
}

/* test_mutations - random damage to the signatures: results, never a crash */
START_TEST(test_mutations)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	struct am_dkim		*d;
	struct am_dkim_sig	 sig[NSIGS];
	unsigned int		 seed = 8463;
	char			*orig, *text, *body;
	size_t			 n, span, j;
	int			 i;

	orig = slurp(DATA "rfc8463-appendixA.signed.eml");
	span = (size_t)(strstr(orig, "\nFrom:") - orig);
	for (i = 0; i < 300; i++) {
		text = strdup(orig);
		ck_assert_ptr_nonnull(text);
		mutate(text, span, &seed);
		d = am_dkim_new(lib, "Q", 1024, 8);
		body = feed_headers(d, text, 0, 0);
		ck_assert_int_eq(am_dkim_eoh(d, NULL), 0);
		feed_body(d, body);
		ck_assert_int_eq(am_dkim_eom(d, NULL, sig, NSIGS, &n), 0);
		ck_assert_uint_le(n, 2);
		for (j = 0; j < n; j++)
			ck_assert_msg(sig[j].result >= AM_DKIM_PASS &&
			    sig[j].result <= AM_DKIM_PERMERROR &&
			    (sig[j].result == AM_DKIM_PASS) ==
			    (sig[j].reason[0] == '\0'),
			    "round %d sig %zu", i, j);
		am_dkim_free(d);
		free(text);
	}
	free(orig);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* test_huge_header - an over-long field is an internal failure: temperror */
START_TEST(test_huge_header)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	struct am_dkim		*d = am_dkim_new(lib, "Q", 1024, 8);
	struct am_dkim_sig	 sig[NSIGS];
	size_t			 n;
	char			*big;

	big = malloc(2 * 1024 * 1024);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 2 * 1024 * 1024 - 1);
	big[2 * 1024 * 1024 - 1] = '\0';
	ck_assert_int_eq(am_dkim_header(d, "DKIM-Signature",
	    " v=1; " GOOD_TAGS "b=AAAA"), 0);
	ck_assert_int_eq(am_dkim_header(d, "X-Big", big), -1);
	ck_assert_int_eq(am_dkim_header(d, "From", " a@example.org"), 0);
	ck_assert_int_eq(am_dkim_eoh(d, NULL), 0);		/* no-ops now */
	ck_assert_int_eq(am_dkim_body(d, (const unsigned char *)"x\r\n", 3), 0);
	ck_assert_int_eq(am_dkim_eom(d, NULL, sig, NSIGS, &n), -1);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sig[0].result, AM_DKIM_TEMPERROR);
	ck_assert_str_eq(sig[0].reason, "header field too large");
	am_dkim_free(d);
	free(big);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* test_api_edges - NULLs, no body, a zero-sized result array */
START_TEST(test_api_edges)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	struct am_dkim		*d;
	struct am_dkim_sig	 sig[1];
	size_t			 n = 7;

	am_dkim_free(NULL);
	am_dkim_lib_free(NULL);
	ck_assert_ptr_null(am_dkim_new(NULL, "Q", 1024, 8));
	ck_assert_int_eq(am_dkim_header(NULL, "From", " x"), -1);
	ck_assert_int_eq(am_dkim_eoh(NULL, NULL), -1);
	ck_assert_int_eq(am_dkim_eom(NULL, NULL, sig, 1, &n), -1);
	ck_assert_uint_eq(n, 0);
	d = am_dkim_new(lib, NULL, 1024, 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(am_dkim_header(d, "From", NULL), -1);
	ck_assert_int_eq(am_dkim_header(d, "From", " a@example.org"), 0);
	ck_assert_int_eq(am_dkim_body(d, NULL, 0), 0);
	/* eom without eoh or body */
	ck_assert_int_eq(am_dkim_eom(d, NULL, sig, 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	am_dkim_free(d);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* a UDP "name server" on 127.0.0.1 that never answers, noting names asked */
struct silent_ns {
	int		 fd;
	int		 stop;		/* __atomic */
	pthread_t	 th;
	pthread_mutex_t	 mtx;
	size_t		 nnames;
	char		 names[8][256];
	char		 addr[64];		/* "127.0.0.1@port" */
};

/* qname - the question name of a DNS query, dotted, lower case */
static int
qname(const unsigned char *p, ssize_t n, char *out, size_t outlen)
{
	ssize_t	 i = 12;
	size_t	 o = 0;

	while (i < n && p[i] != 0) {
		if (p[i] > 63 || i + 1 + p[i] > n || o + p[i] + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (int k = 1; k <= p[i]; k++)
			out[o++] = (char)tolower(p[i + k]);
		i += p[i] + 1;
	}
	out[o] = '\0';
	return 0;
}

/* silent_run - read queries, remember distinct names, never reply */
static void *
silent_run(void *arg)
{
	struct silent_ns	*ns = arg;
	struct pollfd		 pfd = { .fd = ns->fd, .events = POLLIN };
	unsigned char		 buf[1500];
	char			 name[256];
	ssize_t			 n;
	size_t			 i;

	while (!__atomic_load_n(&ns->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((n = recv(ns->fd, buf, sizeof(buf), 0)) <= 0 ||
		    qname(buf, n, name, sizeof(name)) == -1)
			continue;
		pthread_mutex_lock(&ns->mtx);
		for (i = 0; i < ns->nnames; i++)
			if (strcmp(ns->names[i], name) == 0)
				break;
		if (i == ns->nnames && i < nitems(ns->names))
			strcpy(ns->names[ns->nnames++], name);
		pthread_mutex_unlock(&ns->mtx);
	}
	return NULL;
}

/* silent_start - bind 127.0.0.1:0 and start listening */
static void
silent_start(struct silent_ns *ns)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 sl = sizeof(sin);

	memset(ns, 0, sizeof(*ns));
	pthread_mutex_init(&ns->mtx, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ns->fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(ns->fd, 0);
	ck_assert_int_eq(bind(ns->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(ns->fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(ns->addr, sizeof(ns->addr), "127.0.0.1@%u",
	    (unsigned)ntohs(sin.sin_port));
	ck_assert_int_eq(pthread_create(&ns->th, NULL, silent_run, ns), 0);
}

/* silent_stop - stop listening and close */
static void
silent_stop(struct silent_ns *ns)
{
	__atomic_store_n(&ns->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(ns->th, NULL);
	close(ns->fd);
	pthread_mutex_destroy(&ns->mtx);
}

/* dns_silent - a forwarding resolver pointed at ns, timeout 1 second */
static struct am_dns *
dns_silent(struct silent_ns *ns)
{
	const char		*fwd[1] = { ns->addr };
	struct am_dns_opts	 o = { .nameservers = fwd, .nnameservers = 1,
				    .timeout = 1 };
	struct am_dns		*dns;
	char			 err[256];

	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	return dns;
}

/* now - CLOCK_MONOTONIC seconds */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * test_dns_temp - a key query that times out is temperror (RFC 6376
 * 6.1.2); the wait happens in dkim_eoh(), and each query waits about the
 * resolver timeout (1 s here), not libopendkim's default 10 s
 */
START_TEST(test_dns_temp)
{
	struct silent_ns	 ns;
	struct am_dns		*dns;
	struct am_dkim_lib	*lib;
	struct am_dkim		*d;
	struct run		 r = { .file = "rfc8463-appendixA.signed.eml" };
	struct am_dns_budget	 b = { 0 };	/* no cap: only records */
	char			*text, *body;
	double			 t0, t_eoh, t_eom;

	silent_start(&ns);
	dns = dns_silent(&ns);
	lib = lib_new(dns);
	text = slurp(DATA "rfc8463-appendixA.signed.eml");
	d = am_dkim_new(lib, "Q", 1024, 8);
	body = feed_headers(d, text, 0, 0);
	t0 = now();
	ck_assert_int_eq(am_dkim_eoh(d, &b), 0);
	t_eoh = now() - t0;
	feed_body(d, body);
	t0 = now();
	r.rc = am_dkim_eom(d, &b, r.sig, NSIGS, &r.n);
	t_eom = now() - t0;
	ck_assert_int_eq(r.rc, 0);		/* a result, not an error */
	ck_assert_uint_eq(r.n, 2);
	/* each names its look-up and how it failed (issue 16) */
	check_sig(&r.sig[0], AM_DKIM_TEMPERROR, "football.example.com",
	    "brisbane", "ed25519-sha256", 0,
	    "brisbane._domainkey.football.example.com: timeout");
	check_sig(&r.sig[1], AM_DKIM_TEMPERROR, "football.example.com", "test",
	    "rsa-sha256", 0, "test._domainkey.football.example.com: timeout");
	ck_assert_msg(t_eoh >= 1.9 && t_eoh < 4.5, "eoh took %.2fs", t_eoh);
	ck_assert_msg(t_eom < 0.5, "eom took %.2fs", t_eom);
	am_dkim_free(d);
	free(text);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
	silent_stop(&ns);
}
END_TEST

/* test_no_fetch - keys of signatures past the limit or rsa-sha1: unasked */
START_TEST(test_no_fetch)
{
	struct silent_ns	 ns;
	struct am_dns		*dns;
	struct am_dkim_lib	*lib;
	struct run		 lim = {
		.file = "example.org-signed-rsa+ed25519.eml", .max_sigs = 1 };
	struct run		 sha1 = { .file = "sha1.signed.eml" };

	silent_start(&ns);
	dns = dns_silent(&ns);
	lib = lib_new(dns);
	verify(lib, &sha1);
	check_sig(&sha1.sig[0], AM_DKIM_FAIL, "example.org", "rs1", "rsa-sha1",
	    0, "rsa-sha1 not accepted (RFC 8301)");
	verify(lib, &lim);
	ck_assert_uint_eq(lim.n, 2);
	ck_assert_int_eq(lim.sig[0].result, AM_DKIM_TEMPERROR);
	check_sig(&lim.sig[1], AM_DKIM_NEUTRAL, "example.org", "ed",
	    "ed25519-sha256", 0, "not verified: signature limit");
	am_dkim_lib_free(lib);
	am_dns_free(dns);
	silent_stop(&ns);
	ck_assert_uint_eq(ns.nnames, 1);
	ck_assert_str_eq(ns.names[0], "rs._domainkey.example.org");
}
END_TEST

#define NTHREADS	8
#define NROUNDS		5

/* thread_verify - verify two messages NROUNDS times; count surprises */
static void *
thread_verify(void *arg)
{
	struct am_dkim_lib	*lib = arg;
	size_t			 bad = 0;
	int			 i;

	for (i = 0; i < NROUNDS; i++) {
		struct run	 a = { .file = "rfc8463-appendixA.signed.eml" };
		struct run	 b = {
			.file = "example.org-signed-rsa+ed25519.eml",
			.from = "Hello.", .to = "Hullo." };

		verify(lib, &a);
		verify(lib, &b);
		bad += a.n != 2 || a.sig[0].result != AM_DKIM_PASS ||
		    a.sig[1].result != AM_DKIM_PASS;
		bad += b.n != 2 || b.sig[0].result != AM_DKIM_FAIL ||
		    b.sig[1].result != AM_DKIM_FAIL;
	}
	return (void *)bad;
}

/* test_threads - one DKIM_LIB and one am_dns shared by NTHREADS threads */
START_TEST(test_threads)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	pthread_t		 t[NTHREADS];
	void			*bad;
	size_t			 i, total = 0;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_verify,
		    lib), 0);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &bad);
		total += (size_t)bad;
	}
	ck_assert_uint_eq(total, 0);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/*
 * test_keycache_hit - the same keys verified twice through libopendkim and
 * the daemon's hooks: the second decode of the RSA key and of the Ed25519
 * key is a key cache hit (dkim_keycache.c interposes d2i_PUBKEY_bio and
 * EVP_PKEY_new_raw_public_key), and the Ed25519 signature is checked by
 * libsodium both times (dkim_edverify.c interposes EVP_DigestVerify)
 */
START_TEST(test_keycache_hit)
{
	struct am_dns			*dns = dns_local(NULL, 0);
	struct am_dkim_lib		*lib = lib_new(dns);
	struct am_keycache_stats	 st0, st1, st2;
	struct am_edverify_stats	 ed0, ed1, ed2;
	struct run			 r1 = { .file = "rfc8463-appendixA.signed.eml" };
	struct run			 r2 = r1;

	am_keycache_flush();
	am_keycache_stats(&st0);
	am_edverify_stats(&ed0);
	verify(lib, &r1);
	am_keycache_stats(&st1);
	am_edverify_stats(&ed1);
	verify(lib, &r2);
	am_keycache_stats(&st2);
	am_edverify_stats(&ed2);
	ck_assert_uint_eq(r2.n, 2);
	check_sig(&r2.sig[0], AM_DKIM_PASS, "football.example.com", "brisbane",
	    "ed25519-sha256", 256, "");
	check_sig(&r2.sig[1], AM_DKIM_PASS, "football.example.com", "test",
	    "rsa-sha256", 1024, "");
	ck_assert_uint_eq(st1.misses - st0.misses, 2);
	ck_assert_uint_eq(st1.hits - st0.hits, 0);
	ck_assert_uint_eq(st2.misses - st1.misses, 0);
	ck_assert_uint_eq(st2.hits - st1.hits, 2);
	ck_assert_uint_eq(ed1.sodium - ed0.sodium, 1);
	ck_assert_uint_eq(ed2.sodium - ed1.sodium, 1);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}
END_TEST

/* dkim_suite - the test cases */
static Suite *
dkim_suite(void)
{
	Suite	*s = suite_create("dkim");
	TCase	*tc = tcase_create("local");
	TCase	*tu = tcase_create("upstream");

	tcase_add_test(tc, test_rfc8463);
	tcase_add_test(tc, test_example_org);
	tcase_add_test(tc, test_body_modified);
	tcase_add_test(tc, test_header_modified);
	tcase_add_test(tc, test_from_removed);
	tcase_add_test(tc, test_unsigned);
	tcase_add_test(tc, test_no_key);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_nodata);
	tcase_add_test(tc, test_no_resolver);
	tcase_add_test(tc, test_revoked);
	tcase_add_test(tc, test_one_failing);
	tcase_add_test(tc, test_small_key);
	tcase_add_test(tc, test_ed25519_exempt);
	tcase_add_test(tc, test_sha1);
	tcase_add_test(tc, test_simple_ws);
	tcase_add_test(tc, test_max_sigs);
	tcase_add_test(tc, test_caller_max);
	tcase_add_loop_test(tc, test_malformed, 0, nitems(bad_sigs));
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_huge_header);
	tcase_add_test(tc, test_api_edges);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_keycache_hit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tcase_add_test(tu, test_dns_temp);
	tcase_add_test(tu, test_no_fetch);
	tcase_set_timeout(tu, 30);
	suite_add_tcase(s, tu);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dkim_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
