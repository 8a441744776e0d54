/*
 * check_cache.c - the two caches: milter/dns/dns_cache.c (answers in front of
 * libunbound: what is cached, for how long, copies freeable by
 * ub_resolve_free) and milter/dkim/dkim_keycache.c (decoded DKIM keys by DER:
 * a second decode of the same bytes is a hit, other bytes are not; its
 * start-up self-test through libopendkim).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unbound.h>

#include "dkim/dkim_edverify.h"
#include "dkim/dkim_keycache.h"
#include "dns/dns_cache.h"

/* answer - a ub_result like libunbound's: one TXT rdata, ttl */
static struct ub_result *
answer(const char *name, int rcode, int ttl)
{
	struct ub_result	*r = calloc(1, sizeof(*r));

	r->qname = strdup(name);
	r->canonname = r->qname;
	r->qtype = 16;
	r->qclass = 1;
	r->rcode = rcode;
	r->ttl = ttl;
	r->data = calloc(2, sizeof(char *));
	r->len = calloc(2, sizeof(int));
	if (rcode == 0) {
		r->data[0] = strdup("\x05hello");
		r->len[0] = 6;
		r->havedata = 1;
	}
	r->answer_packet = malloc(4);
	memcpy(r->answer_packet, "\x01\x02\x03\x04", 4);
	r->answer_len = 4;
	return r;
}

/* test_hit_copy - a cached answer comes back as an independent copy */
START_TEST(test_hit_copy)
{
	struct am_dns_cache	*c = am_dns_cache_new();
	struct ub_result	*r = answer("x.example", 0, 60), *got = NULL;
	enum am_dns_status	 st = AM_DNS_TEMP;

	ck_assert_int_eq(am_dns_cache_get(c, "x.example", 16, &st, &got), 0);
	am_dns_cache_put(c, "x.example", 16, AM_DNS_OK, r);
	ub_resolve_free(r);
	/* case and the final dot do not matter; the type does */
	ck_assert_int_eq(am_dns_cache_get(c, "X.Example.", 16, &st, &got), 1);
	ck_assert_int_eq(st, AM_DNS_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(got->len[0], 6);
	ck_assert_mem_eq(got->data[0], "\x05hello", 6);
	ck_assert_ptr_null(got->data[1]);
	ck_assert_int_eq(got->answer_len, 4);
	ck_assert_int_ge(got->ttl, 59);		/* what is left of 60 s */
	ck_assert_int_le(got->ttl, 60);
	ub_resolve_free(got);
	ck_assert_int_eq(am_dns_cache_get(c, "x.example", 1, &st, &got), 0);
	am_dns_cache_free(c);
}
END_TEST

/* test_not_cached - TEMP, bogus and TTL 0 are never cached */
START_TEST(test_not_cached)
{
	struct am_dns_cache	*c = am_dns_cache_new();
	struct ub_result	*r = answer("t.example", 2, 60);
	enum am_dns_status	 st;

	am_dns_cache_put(c, "t.example", 16, AM_DNS_TEMP, r);
	ck_assert_int_eq(am_dns_cache_get(c, "t.example", 16, &st, NULL), 0);
	ub_resolve_free(r);
	r = answer("z.example", 0, 0);
	am_dns_cache_put(c, "z.example", 16, AM_DNS_OK, r);
	ck_assert_int_eq(am_dns_cache_get(c, "z.example", 16, &st, NULL), 0);
	ub_resolve_free(r);
	r = answer("b.example", 0, 60);
	r->bogus = 1;
	am_dns_cache_put(c, "b.example", 16, AM_DNS_OK, r);
	ck_assert_int_eq(am_dns_cache_get(c, "b.example", 16, &st, NULL), 0);
	ub_resolve_free(r);
	am_dns_cache_free(c);
}
END_TEST

/* test_negative_and_ttl - NXDOMAIN is cached, until its TTL runs out */
START_TEST(test_negative_and_ttl)
{
	struct am_dns_cache	*c = am_dns_cache_new();
	struct ub_result	*r = answer("nx.example", 3, 1), *got = NULL;
	enum am_dns_status	 st = AM_DNS_OK;

	am_dns_cache_put(c, "nx.example", 16, AM_DNS_NXDOMAIN, r);
	ub_resolve_free(r);
	ck_assert_int_eq(am_dns_cache_get(c, "nx.example", 16, &st, &got), 1);
	ck_assert_int_eq(st, AM_DNS_NXDOMAIN);
	ck_assert_ptr_null(got);
	sleep(2);
	ck_assert_int_eq(am_dns_cache_get(c, "nx.example", 16, &st, &got), 0);
	am_dns_cache_free(c);
}
END_TEST

/* test_bounded - more than AM_DNS_CACHE_MAX names: still answers */
START_TEST(test_bounded)
{
	struct am_dns_cache	*c = am_dns_cache_new();
	struct ub_result	*r = answer("n.example", 0, 60);
	enum am_dns_status	 st;
	char			 name[64];
	int			 i;

	for (i = 0; i < AM_DNS_CACHE_MAX + 10; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		am_dns_cache_put(c, name, 16, AM_DNS_OK, r);
	}
	ck_assert_int_eq(am_dns_cache_get(c, name, 16, &st, NULL), 1);
	ub_resolve_free(r);
	am_dns_cache_free(c);		/* LSan: everything freed */
}
END_TEST

/* der_of - DER SubjectPublicKeyInfo of a fresh ed25519 key */
static unsigned char *
der_of(int *len)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char	*der = NULL;

	*len = i2d_PUBKEY(k, &der);
	EVP_PKEY_free(k);
	return der;
}

/* decode - d2i_PUBKEY_bio over a memory BIO, as libopendkim calls it */
static EVP_PKEY *
decode(const unsigned char *der, int len)
{
	BIO		*bio = BIO_new_mem_buf(der, len);
	EVP_PKEY	*k = d2i_PUBKEY_bio(bio, NULL);

	BIO_free(bio);
	return k;
}

/* test_keycache - same DER: same key object; other DER: another */
START_TEST(test_keycache)
{
	struct am_keycache_stats st0, st1;
	unsigned char		*a, *b;
	int			 alen, blen;
	EVP_PKEY		*k1, *k2, *k3;

	am_keycache_flush();
	a = der_of(&alen);
	b = der_of(&blen);
	am_keycache_stats(&st0);
	k1 = decode(a, alen);
	k2 = decode(a, alen);
	k3 = decode(b, blen);
	ck_assert_ptr_nonnull(k1);
	ck_assert_ptr_eq(k1, k2);
	ck_assert_ptr_ne(k1, k3);
	ck_assert_int_eq(EVP_PKEY_eq(k1, k3), 0);
	am_keycache_stats(&st1);
	ck_assert_uint_eq(st1.hits - st0.hits, 1);
	ck_assert_uint_eq(st1.misses - st0.misses, 2);
	/* garbage is not a key, and is not cached */
	ck_assert_ptr_null(decode((const unsigned char *)"\x30\x03\x01\x01\x00", 5));
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	OPENSSL_free(a);
	OPENSSL_free(b);
	am_keycache_flush();
}
END_TEST

/*
 * test_selftest - am_keycache_selftest passes, and as it goes through
 * libopendkim its two keys (RSA, Ed25519) are misses the first time and
 * hits the second; its Ed25519 signature is checked by libsodium each time
 */
START_TEST(test_selftest)
{
	struct am_keycache_stats	 st0, st1, st2;
	struct am_edverify_stats	 ed0, ed1, ed2;

	am_keycache_flush();
	am_keycache_stats(&st0);
	am_edverify_stats(&ed0);
	ck_assert_int_eq(am_keycache_selftest(), 0);
	am_keycache_stats(&st1);
	am_edverify_stats(&ed1);
	ck_assert_uint_eq(st1.misses - st0.misses, 2);
	ck_assert_uint_eq(st1.hits - st0.hits, 0);
	ck_assert_uint_eq(st1.entries, 2);
	ck_assert_uint_eq(ed1.sodium - ed0.sodium, 1);
	ck_assert_int_eq(ed1.started, 1);
	ck_assert_int_eq(ed1.sodium_ok, 1);
	ck_assert_int_eq(am_keycache_selftest(), 0);
	am_keycache_stats(&st2);
	am_edverify_stats(&ed2);
	ck_assert_uint_eq(st2.misses - st1.misses, 0);
	ck_assert_uint_eq(st2.hits - st1.hits, 2);
	ck_assert_uint_eq(ed2.sodium - ed1.sodium, 1);
	am_keycache_flush();
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite	*s = suite_create("cache");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_hit_copy);
	tcase_add_test(tc, test_not_cached);
	tcase_add_test(tc, test_negative_and_ttl);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_keycache);
	tcase_add_test(tc, test_selftest);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(cache_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
