/*
 * check_dkim_bhfail.c - milter/dkim/dkim.c when a body hash cannot be
 * made: no memory for its digest at EOH, or the digest failing at EOM
 * (issue 17 moved body hashing out of libopendkim into dkim/bodyhash.c;
 * both are internal errors, not the message's fault).  Every signature
 * must then be a temperror with the reason, never a pass and never a
 * fail.  This program links its own am_bodyhash_* below instead of
 * bodyhash.o (the archive member is not pulled in when all four are
 * defined here), so the failure is injected where it happens; a control
 * test shows the stand-ins are the ones called.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/bodyhash.h"
#include "dkim/dkim.h"
#include "dkim_fixture.h"

#define MSG	"example.org-signed-rsa+ed25519.eml"

/* what the stand-in body hash does */
static enum { BH_EMPTY, BH_NOMEM_AT_INIT, BH_FAIL_AT_FINAL } mode;
static int	 ninit, nfinal;

int
am_bodyhash_init(struct am_bodyhash *h, int relaxed, const EVP_MD *md,
    long long limit)
{
	memset(h, 0, sizeof(*h));
	h->relaxed = relaxed;
	h->md = md;
	h->limit = limit;
	ninit++;
	return mode == BH_NOMEM_AT_INIT ? -1 : 0;
}

void
am_bodyhash_update(struct am_bodyhash *h, const unsigned char *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

/* BH_EMPTY: a digest of no bytes, which no signature's bh= matches */
int
am_bodyhash_final(struct am_bodyhash *h, unsigned char *out, unsigned int *len)
{
	(void)h;
	nfinal++;
	memset(out, 0, 32);
	*len = 32;
	return mode == BH_FAIL_AT_FINAL ? -1 : 0;
}

void
am_bodyhash_free(struct am_bodyhash *h)
{
	(void)h;
}

/* run - MSG through a fresh am_dkim; am_dkim_eoh's return in *eoh_rc */
static void
run(struct run *r, int *eoh_rc)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);
	struct am_dkim		*d;
	char			 path[512], *text, *body;

	ninit = nfinal = 0;
	snprintf(path, sizeof(path), DATA "%s", MSG);
	text = slurp(path);
	d = am_dkim_new(lib, "TESTQID", 1024, 8);
	ck_assert_ptr_nonnull(d);
	body = feed_headers(d, text, 0, 0);
	*eoh_rc = am_dkim_eoh(d, NULL);
	if (*eoh_rc == 0)
		feed_body(d, body);
	r->rc = am_dkim_eom(d, NULL, r->sig, NSIGS, &r->n);
	am_dkim_free(d);
	free(text);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}

/* all_temperror - every signature a temperror whose reason says why */
static void
all_temperror(const struct run *r, const char *why)
{
	size_t	 i;

	ck_assert_int_eq(r->rc, -1);
	ck_assert_uint_eq(r->n, 2);
	for (i = 0; i < r->n; i++) {
		ck_assert_msg(r->sig[i].result == AM_DKIM_TEMPERROR,
		    "signature %zu: result %d, want temperror", i,
		    r->sig[i].result);
		ck_assert_str_eq(r->sig[i].reason, why);
	}
}

/* control - the stand-ins are in use: a good message's body hash fails */
START_TEST(control)
{
	struct run	 r;
	int		 eoh_rc;
	size_t		 i;

	memset(&r, 0, sizeof(r));
	mode = BH_EMPTY;
	run(&r, &eoh_rc);
	ck_assert_int_eq(eoh_rc, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	/* both signatures: c=relaxed/simple, sha256, no l=: one shared */
	ck_assert_int_eq(ninit, 1);
	ck_assert_int_eq(nfinal, 1);
	for (i = 0; i < r.n; i++)
		ck_assert_msg(r.sig[i].result == AM_DKIM_FAIL,
		    "signature %zu: result %d, want fail", i, r.sig[i].result);
}
END_TEST

/* nomem_at_eoh - no memory for a body hash: temperror, at EOH already */
START_TEST(nomem_at_eoh)
{
	struct run	 r;
	int		 eoh_rc;

	memset(&r, 0, sizeof(r));
	mode = BH_NOMEM_AT_INIT;
	run(&r, &eoh_rc);
	ck_assert_int_eq(eoh_rc, -1);
	ck_assert_int_eq(ninit, 1);
	ck_assert_int_eq(nfinal, 0);
	all_temperror(&r, "body hash: out of memory");
}
END_TEST

/* digest_fails_at_eom - the digest fails at the end: temperror */
START_TEST(digest_fails_at_eom)
{
	struct run	 r;
	int		 eoh_rc;

	memset(&r, 0, sizeof(r));
	mode = BH_FAIL_AT_FINAL;
	run(&r, &eoh_rc);
	ck_assert_int_eq(eoh_rc, 0);
	ck_assert_int_eq(nfinal, 1);
	all_temperror(&r, "body hash: digest failed");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("dkim_bhfail");
	TCase	*tc = tcase_create("bhfail");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, control);
	tcase_add_test(tc, nomem_at_eoh);
	tcase_add_test(tc, digest_fails_at_eom);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
