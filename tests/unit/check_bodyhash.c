/*
 * check_bodyhash.c - the DKIM body hash (dkim/bodyhash.c) against
 * libopendkim's own (issue 17: the verifier no longer gives the library
 * the body, so the two must agree byte for byte).  libopendkim is the
 * oracle through its signing side: it signs each body with c= simple and
 * relaxed, with and without l=, and the bh= of the signature it makes must
 * be the base64 of our digest for the same body and parameters.  The
 * bodies are random lines as an MTA hands them over (each ending in CRLF):
 * WSP runs inside and at the ends of lines, WSP-only and empty lines,
 * trailing empty lines, NUL and 8-bit bytes, the empty body; fed to both
 * in the same random chunks (a CRLF or a WSP run split across two).
 *
 * Where the two differ on purpose: a bare CR or LF, which RFC 5322 2.3
 * forbids in a body.  libopendkim drops a bare CR under relaxed and, under
 * simple, its result depends on where the packets happen to split the
 * body; ours keeps it as the ordinary byte RFC 6376 3.4.4 sees (as dkimpy
 * does) and takes a bare LF as a line end (bare_cr below says so with
 * fixed values; arc_canon's check covers such bodies at random).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim/bodyhash.h"

#define ROUNDS		1500	/* random bodies per canonicalization */
#define BODY_MAX	5000

static DKIM_LIB		*lib;
static unsigned char	*pem;		/* an RSA key for the oracle's signing */

/* rnd - a small deterministic generator (the bodies are reproducible) */
static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * make_body - random lines as an MTA hands them to a milter: each ends in
 * CRLF (an SMTP body always does: RFC 5321 4.1.1.4), its content random
 * from an alphabet rich in WSP, with empty lines, WSP-only lines, NUL and
 * 8-bit bytes
 */
static size_t
make_body(uint32_t *s, unsigned char *b)
{
	static const char pick[] = "ab \t  \t.x";
	size_t		 n = 0, want = rnd(s) % BODY_MAX, len, i;

	if (rnd(s) % 16 == 0)
		want = rnd(s) % 8;
	while (n + 2 < want) {
		len = rnd(s) % 8 == 0 ? 0 : rnd(s) % 90;
		if (len > want - n - 2)
			len = want - n - 2;
		for (i = 0; i < len; i++) {
			uint32_t	 r = rnd(s) % 200;

			if (r < 2) {		/* any byte but a line end */
				b[n] = (unsigned char)(rnd(s) % 256);
				if (b[n] == '\r' || b[n] == '\n')
					b[n] = 0;
				n++;
			}
			else
				b[n++] = (unsigned char)pick[rnd(s) %
				    (sizeof(pick) - 1)];
		}
		b[n++] = '\r';
		b[n++] = '\n';
	}
	return n;
}

/* oracle - libopendkim's bh= for body b (signed, c= .../bc, l= or not) */
static int
oracle(const unsigned char *b, size_t n, dkim_canon_t bc, int with_l,
    const size_t *cuts, size_t ncuts, char *bh, size_t bhlen)
{
	DKIM		*d;
	DKIM_STAT	 st;
	unsigned char	 hdr[4096];
	const char	*p, *e;
	size_t		 off = 0, i;

	d = dkim_sign(lib, (u_char *)"t", NULL, pem, (u_char *)"sel",
	    (u_char *)"example.org", DKIM_CANON_RELAXED, bc,
	    DKIM_SIGN_RSASHA256, with_l ? (ssize_t)(n / 2) : -1, &st);
	if (d == NULL)
		return -1;
	st = dkim_header(d, (u_char *)"From: a@example.org", 19);
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(d);
	for (i = 0; st == DKIM_STAT_OK && i <= ncuts; i++) {
		size_t	 end = i < ncuts ? cuts[i] : n;

		if (end > off)
			st = dkim_body(d, (u_char *)(uintptr_t)(b + off),
			    end - off);
		off = end;
	}
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr(d, hdr, sizeof(hdr), 0);
	dkim_free(d);
	if (st != DKIM_STAT_OK || (p = strstr((char *)hdr, "bh=")) == NULL)
		return -1;
	p += 3;
	if ((e = strchr(p, ';')) == NULL)
		e = p + strlen(p);
	for (i = 0; p < e && i + 1 < bhlen; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			bh[i++] = *p;
	bh[i] = '\0';
	return 0;
}

/* ours - our bh for the same body, chunks and parameters */
static void
ours(const unsigned char *b, size_t n, int relaxed, int with_l,
    const size_t *cuts, size_t ncuts, char *bh)
{
	struct am_bodyhash	 h;
	unsigned char		 d[EVP_MAX_MD_SIZE];
	unsigned int		 len = 0;
	size_t			 off = 0, i;

	ck_assert_int_eq(am_bodyhash_init(&h, relaxed, EVP_sha256(),
	    with_l ? (long long)(n / 2) : -1), 0);
	for (i = 0; i <= ncuts; i++) {
		size_t	 end = i < ncuts ? cuts[i] : n;

		if (end > off)
			am_bodyhash_update(&h, b + off, end - off);
		off = end;
	}
	ck_assert_int_eq(am_bodyhash_final(&h, d, &len), 0);
	am_bodyhash_free(&h);
	(void)EVP_EncodeBlock((unsigned char *)bh, d, (int)len);
}

/* hex - the first bytes of a body, for a failure message */
static const char *
hex(const unsigned char *b, size_t n)
{
	static char	 out[3 * 48 + 8];
	size_t		 i, o = 0;

	for (i = 0; i < n && i < 48; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%02x ", b[i]);
	if (n > 48)
		snprintf(out + o, sizeof(out) - o, "...");
	return out;
}

/* compare - many random bodies, one canonicalization, l= or not */
static void
compare(int relaxed, int with_l, uint32_t seed)
{
	static unsigned char	 body[BODY_MAX];
	char			 want[128], got[128];
	size_t			 cuts[8], ncuts, n, i;
	int			 r;

	for (r = 0; r < ROUNDS; r++) {
		n = make_body(&seed, body);
		ncuts = n > 0 ? rnd(&seed) % 8 : 0;
		for (i = 0; i < ncuts; i++)
			cuts[i] = rnd(&seed) % (n + 1);
		for (i = 1; i < ncuts; i++)	/* ascending */
			if (cuts[i] < cuts[i - 1])
				cuts[i] = cuts[i - 1];
		ck_assert_int_eq(oracle(body, n, relaxed ? DKIM_CANON_RELAXED :
		    DKIM_CANON_SIMPLE, with_l, cuts, ncuts, want,
		    sizeof(want)), 0);
		ours(body, n, relaxed, with_l, cuts, ncuts, got);
		ck_assert_msg(strcmp(want, got) == 0, "round %d (%s%s, %zu "
		    "bytes: %s): libopendkim bh=%s, ours %s", r, relaxed ?
		    "relaxed" : "simple", with_l ? ", l=" : "", n,
		    hex(body, n), want, got);
	}
}

START_TEST(simple_whole)	{ compare(0, 0, 1); }
END_TEST
START_TEST(relaxed_whole)	{ compare(1, 0, 2); }
END_TEST
START_TEST(simple_l)		{ compare(0, 1, 3); }
END_TEST
START_TEST(relaxed_l)		{ compare(1, 1, 4); }
END_TEST
/*
 * a bare CR, relaxed: RFC 6376 3.4.4 changes only WSP and line ends, so
 * "a\rb" stays as it is (libopendkim would hash "ab\r\n")
 */
START_TEST(bare_cr)
{
	static const unsigned char body[] = "a\rb\r\n";
	char	 got[128], odk[128];
	size_t	 cut = 0;

	ours(body, sizeof(body) - 1, 1, 0, &cut, 1, got);
	ck_assert_str_eq(got, "LyKRrVaOri6zT8fJNyWWbX0dJvvNQVCly5aCYrYNasE=");
	ck_assert_int_eq(oracle(body, sizeof(body) - 1, DKIM_CANON_RELAXED, 0,
	    &cut, 1, odk, sizeof(odk)), 0);
	ck_assert_str_eq(odk, "x8CHVQe9ltQH8Rbq9wbeBXyfHwJV8H/49X0PilJ9elA=");
}
END_TEST

/* fixed bodies at the edges, each whole and cut at every offset */
START_TEST(edges)
{
	static const char *const bodies[] = {
		"", "\r\n", "\r\n\r\n", "x\r\n", " \r\n", "a \r\n\r\n",
		"a \t \r\n b\t\r\n\t\r\n", "\r\n\r\nx\r\n", "\t\r\n \r\n",
		"a\r\n \r\n\r\n", "  a  b  \r\n", "\x01\r\n\xff \r\n",
	};
	char	 want[128], got[128];
	size_t	 b, cut, n;
	int	 relaxed;

	for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++)
		for (relaxed = 0; relaxed < 2; relaxed++) {
			n = strlen(bodies[b]);
			for (cut = 0; cut <= n; cut++) {
				ck_assert_int_eq(oracle((const unsigned char *)
				    bodies[b], n, relaxed ? DKIM_CANON_RELAXED :
				    DKIM_CANON_SIMPLE, 0, &cut, 1, want,
				    sizeof(want)), 0);
				ours((const unsigned char *)bodies[b], n,
				    relaxed, 0, &cut, 1, got);
				ck_assert_msg(strcmp(want, got) == 0,
				    "body %zu (%s) cut at %zu: libopendkim %s, "
				    "ours %s", b, relaxed ? "relaxed" : "simple",
				    cut, want, got);
			}
		}
}
END_TEST

/* setup - the library and a throw-away RSA key in PEM */
static void
setup(void)
{
	EVP_PKEY	*k = EVP_RSA_gen(1024);
	BIO		*bio = BIO_new(BIO_s_mem());
	char		*data;
	long		 len;

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(pem);
	memcpy(pem, data, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(k);
	lib = dkim_init(NULL, NULL);
	ck_assert_ptr_nonnull(lib);
}

static void
teardown(void)
{
	dkim_close(lib);
	free(pem);
}

int
main(void)
{
	Suite	*s = suite_create("bodyhash");
	TCase	*tc = tcase_create("against libopendkim");
	SRunner	*sr;
	int	 failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, edges);
	tcase_add_test(tc, simple_whole);
	tcase_add_test(tc, relaxed_whole);
	tcase_add_test(tc, simple_l);
	tcase_add_test(tc, relaxed_l);
	tcase_add_test(tc, bare_cr);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
