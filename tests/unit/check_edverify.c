/*
 * check_edverify.c - dkim_edverify.c's EVP_DigestVerify() (Ed25519 through
 * libsodium) against OpenSSL's own, and dkim_keycache.c's cached
 * EVP_PKEY_new_raw_public_key().
 *
 * This program links dkim_edverify.o, so its EVP_DigestVerify is ours;
 * OpenSSL's is reached with dlsym(RTLD_NEXT), as ours does.  Keys and
 * messages are made here with OpenSSL (fixed seed for the sizes, the keys
 * are OpenSSL's random ones).
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "dkim/dkim_edverify.h"
#include "dkim/dkim_keycache.h"

#define ROUNDS	200	/* random keys, each with 4 cases */

typedef int (*verify_fn)(EVP_MD_CTX *, const unsigned char *, size_t,
    const unsigned char *, size_t);

/* openssl_verify - OpenSSL's own EVP_DigestVerify */
static verify_fn
openssl_verify(void)
{
	verify_fn	f;

	*(void **)&f = dlsym(RTLD_NEXT, "EVP_DigestVerify");
	ck_assert_ptr_nonnull(f);
	return f;
}

/* check_with - verify (sig, tbs) under key with f: 1, 0 or < 0 */
static int
check_with(verify_fn f, EVP_PKEY *key, const unsigned char *sig, size_t slen,
    const unsigned char *tbs, size_t tlen)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	int		 rc;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key), 1);
	rc = f(ctx, sig, slen, tbs, tlen);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ours - verify through this program's EVP_DigestVerify (dkim_edverify.c) */
static int
ours(EVP_PKEY *key, const unsigned char *sig, size_t slen,
    const unsigned char *tbs, size_t tlen)
{
	return check_with(EVP_DigestVerify, key, sig, slen, tbs, tlen);
}

/* ed_key - a new Ed25519 key pair */
static EVP_PKEY *
ed_key(void)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	ck_assert_ptr_nonnull(k);
	return k;
}

/* pub_only - the public half of k, as libopendkim makes it from p= */
static EVP_PKEY *
pub_only(EVP_PKEY *k)
{
	unsigned char	 raw[32];
	size_t		 len = sizeof(raw);
	EVP_PKEY	*p;

	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
	p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* ed_sign - sig (64 bytes) of tbs under k */
static void
ed_sign(EVP_PKEY *k, const unsigned char *tbs, size_t tlen,
    unsigned char sig[64])
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	size_t		 slen = 64;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &slen, tbs, tlen), 1);
	ck_assert_uint_eq(slen, 64);
	EVP_MD_CTX_free(ctx);
}

/*
 * test_agree_random - random keys and inputs (0-99 bytes, and 32: DKIM's
 * SHA-256 hash): a good signature, one bit of it flipped, one bit of the
 * input flipped, another key.  Ours and OpenSSL's give the same answer
 * every time, the right one, and ours went through libsodium.
 */
START_TEST(test_agree_random)
{
	verify_fn			 real = openssl_verify();
	struct am_edverify_stats	 s0, s1;
	unsigned char			 tbs[100], sig[64], bad[64];
	int				 i;

	srandom(17);
	am_edverify_stats(&s0);
	for (i = 0; i < ROUNDS; i++) {
		EVP_PKEY	*k = ed_key(), *other = ed_key();
		EVP_PKEY	*pk = pub_only(k), *po = pub_only(other);
		size_t		 tlen = i % 4 == 0 ? 32 : (size_t)(random() % 100);
		size_t		 bit;

		ck_assert_int_eq(RAND_bytes(tbs, sizeof(tbs)), 1);
		ed_sign(k, tbs, tlen, sig);
		ck_assert_int_eq(ours(pk, sig, 64, tbs, tlen), 1);
		ck_assert_int_eq(check_with(real, pk, sig, 64, tbs, tlen), 1);

		memcpy(bad, sig, 64);
		bit = (size_t)random() % 512;
		bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		ck_assert_int_eq(ours(pk, bad, 64, tbs, tlen), 0);
		ck_assert_int_eq(check_with(real, pk, bad, 64, tbs, tlen), 0);

		if (tlen > 0) {
			bit = (size_t)random() % (tlen * 8);
			tbs[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			ck_assert_int_eq(ours(pk, sig, 64, tbs, tlen), 0);
			ck_assert_int_eq(check_with(real, pk, sig, 64, tbs,
			    tlen), 0);
			tbs[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		} else {
			ck_assert_int_eq(ours(pk, sig, 64, tbs, tlen), 1);
		}

		ck_assert_int_eq(ours(po, sig, 64, tbs, tlen), 0);
		ck_assert_int_eq(check_with(real, po, sig, 64, tbs, tlen), 0);
		EVP_PKEY_free(k);
		EVP_PKEY_free(other);
		EVP_PKEY_free(pk);
		EVP_PKEY_free(po);
	}
	am_edverify_stats(&s1);
	ck_assert_uint_eq(s1.sodium - s0.sodium, 4 * ROUNDS);
	ck_assert_uint_eq(s1.openssl - s0.openssl, 0);
}
END_TEST

/* test_length - a signature not 64 bytes long is bad, as in OpenSSL */
START_TEST(test_length)
{
	verify_fn	 real = openssl_verify();
	EVP_PKEY	*k = ed_key(), *pk = pub_only(k);
	unsigned char	 tbs[32] = { 1, 2, 3 }, sig[65] = { 0 };

	ed_sign(k, tbs, sizeof(tbs), sig);
	ck_assert_int_eq(ours(pk, sig, 64, tbs, sizeof(tbs)), 1);
	ck_assert_int_eq(ours(pk, sig, 63, tbs, sizeof(tbs)), 0);
	ck_assert_int_eq(ours(pk, sig, 65, tbs, sizeof(tbs)), 0);
	ck_assert_int_eq(ours(pk, sig, 0, tbs, sizeof(tbs)), 0);
	ck_assert_int_eq(check_with(real, pk, sig, 63, tbs, sizeof(tbs)), 0);
	ck_assert_int_eq(check_with(real, pk, sig, 65, tbs, sizeof(tbs)), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);
}
END_TEST

/* add_l - s += L (the group order, RFC 8032 5.1), little-endian, in place */
static void
add_l(unsigned char s[32])
{
	static const unsigned char l[32] = {
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
	};
	unsigned int	c = 0;
	int		i;

	for (i = 0; i < 32; i++) {
		c += (unsigned int)s[i] + l[i];
		s[i] = (unsigned char)c;
		c >>= 8;
	}
}

/*
 * test_malleable_s - S + L in place of S (the same point, a second
 * encoding of the signature: RFC 8032 5.1.7 says reject S >= L).  Ours
 * rejects it, as OpenSSL 3.0 does; the unmodified signature passes.
 */
START_TEST(test_malleable_s)
{
	EVP_PKEY	*k = ed_key(), *pk = pub_only(k);
	unsigned char	 tbs[32], sig[64];

	ck_assert_int_eq(RAND_bytes(tbs, sizeof(tbs)), 1);
	ed_sign(k, tbs, sizeof(tbs), sig);
	ck_assert_int_eq(ours(pk, sig, 64, tbs, sizeof(tbs)), 1);
	add_l(sig + 32);
	ck_assert_int_eq(ours(pk, sig, 64, tbs, sizeof(tbs)), 0);
	ck_assert_int_eq(check_with(openssl_verify(), pk, sig, 64, tbs,
	    sizeof(tbs)), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);
}
END_TEST

/*
 * test_small_order - a "key" of small order (the identity point, y = 1)
 * with R the identity and S = 0: R = [S]B - [k]A holds for every input,
 * so the signature "verifies" anything under a cofactorless check that
 * does not look at the key's order.  libsodium rejects it (dkim=fail).
 * OpenSSL 3.0.19 accepts it (returned 1 on 2026-12-07): the difference
 * dkim_edverify.h describes.  Not asserted here, as a later OpenSSL may
 * reject it too.
 */
START_TEST(test_small_order)
{
	unsigned char	 pub[32] = { 1 }, sig[64] = { 1 }, tbs[32] = { 7 };
	EVP_PKEY	*pk;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(ours(pk, sig, 64, tbs, sizeof(tbs)), 0);
	sig[32] = 1;			/* S = 1: no better */
	ck_assert_int_eq(ours(pk, sig, 64, tbs, sizeof(tbs)), 0);
	EVP_PKEY_free(pk);
}
END_TEST

/*
 * test_rsa_passes_on - an RSA key is not ours to check: OpenSSL's
 * function verifies it (good and bad), and the counters say so
 */
START_TEST(test_rsa_passes_on)
{
	struct am_edverify_stats	 s0, s1;
	EVP_PKEY			*k;
	EVP_MD_CTX			*ctx;
	unsigned char			 tbs[64] = "rsa passes on", sig[256];
	size_t				 slen = sizeof(sig);

	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ck_assert_ptr_nonnull(k);
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k),
	    1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &slen, tbs, sizeof(tbs)), 1);
	EVP_MD_CTX_free(ctx);

	am_edverify_stats(&s0);
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    k), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, sig, slen, tbs, sizeof(tbs)), 1);
	EVP_MD_CTX_free(ctx);
	sig[10] ^= 1;
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    k), 1);
	ck_assert_int_le(EVP_DigestVerify(ctx, sig, slen, tbs, sizeof(tbs)), 0);
	EVP_MD_CTX_free(ctx);
	am_edverify_stats(&s1);
	ck_assert_uint_eq(s1.openssl - s0.openssl, 2);
	ck_assert_uint_eq(s1.sodium - s0.sodium, 0);
	EVP_PKEY_free(k);
}
END_TEST

/*
 * test_raw_key_cache - an Ed25519 key made from the same raw bytes twice
 * is the cached one (a hit); an X25519 key goes to OpenSSL's function,
 * uncached, and is an X25519 key
 */
START_TEST(test_raw_key_cache)
{
	struct am_keycache_stats	 s0, s1, s2;
	unsigned char			 raw[32], out[32];
	size_t				 len = sizeof(out);
	EVP_PKEY			*k = ed_key(), *a, *b, *x;

	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
	am_keycache_flush();
	am_keycache_stats(&s0);
	a = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
	b = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
	am_keycache_stats(&s1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(s1.misses - s0.misses, 1);
	ck_assert_uint_eq(s1.hits - s0.hits, 1);
	len = sizeof(out);
	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(b, out, &len), 1);
	ck_assert_mem_eq(out, raw, 32);
	/* a wrong length is OpenSSL's to refuse, not cached */
	ck_assert_ptr_null(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    raw, 31));
	x = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, 32);
	am_keycache_stats(&s2);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(EVP_PKEY_get_base_id(x), EVP_PKEY_X25519);
	ck_assert_uint_eq(s2.misses + s2.hits, s1.misses + s1.hits);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(x);
	EVP_PKEY_free(k);
	am_keycache_flush();
}
END_TEST

/* stand-ins for getrandom(2): denied (a seccomp filter), short, busy */
static ssize_t
rnd_denied(void *buf, size_t len)
{
	(void)buf;
	(void)len;
	errno = EPERM;
	return -1;
}

static ssize_t
rnd_short(void *buf, size_t len)
{
	memset(buf, 0, len / 2);
	return (ssize_t)(len / 2);
}

static int	busy_calls;

static ssize_t
rnd_busy_then_ok(void *buf, size_t len)
{
	if (busy_calls++ < 2) {
		errno = busy_calls == 1 ? EINTR : EAGAIN;
		return -1;
	}
	memset(buf, 0, len);
	return (ssize_t)len;
}

/*
 * test_random_source - sodium_init() is only called when it will find a
 * random source: getrandom working (after EINTR and EAGAIN), or else the
 * device opening; getrandom denied with no device is "no"
 */
START_TEST(test_random_source)
{
	busy_calls = 0;
	ck_assert_int_eq(am_edverify_random_ok(rnd_busy_then_ok,
	    "/nonexistent/urandom"), 1);
	ck_assert_int_eq(busy_calls, 3);
	ck_assert_int_eq(am_edverify_random_ok(rnd_denied, "/dev/urandom"), 1);
	ck_assert_int_eq(am_edverify_random_ok(rnd_denied,
	    "/nonexistent/urandom"), 0);
	ck_assert_int_eq(am_edverify_random_ok(rnd_short,
	    "/nonexistent/urandom"), 0);
}
END_TEST

static Suite *
edverify_suite(void)
{
	Suite	*s = suite_create("edverify");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_agree_random);
	tcase_add_test(tc, test_length);
	tcase_add_test(tc, test_malleable_s);
	tcase_add_test(tc, test_small_order);
	tcase_add_test(tc, test_rsa_passes_on);
	tcase_add_test(tc, test_raw_key_cache);
	tcase_add_test(tc, test_random_source);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(edverify_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
