/*
 * edspeed.c - what one DKIM signature check costs on this machine: Ed25519
 * by OpenSSL (what libopendkim calls) and by libsodium (what
 * milter/dkim/dkim_edverify.c calls instead), and RSA-2048 by OpenSSL.
 * Each as libopendkim does it: a new EVP_MD_CTX per Ed25519 check, the
 * input a 32-byte SHA-256 hash (RFC 8463 3).
 *
 *   gcc -O2 -o /tmp/edspeed bench/edspeed.c -lsodium -lcrypto && /tmp/edspeed
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#define ROUNDS	3000

static double
now(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ed_openssl - one Ed25519 check through OpenSSL's EVP interface */
static int
ed_openssl(EVP_PKEY *k, const unsigned char *sig, const unsigned char *h)
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	int		 ok;

	ok = c != NULL && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(c, sig, 64, h, 32) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

int
main(void)
{
	unsigned char	 pk[32], sk[64], sig[64], h[32] = { 1, 2, 3 };
	unsigned char	 rsig[512];
	unsigned int	 rlen;
	EVP_PKEY	*ek, *rk;
	RSA		*rsa;
	double		 t;
	int		 i, ok;

	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, h, sizeof(h), sk);
	ek = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	rk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ek == NULL || rk == NULL)
		return 1;
	/* RSA_verify is what libopendkim calls for rsa-sha256 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	rsa = EVP_PKEY_get1_RSA(rk);
	if (rsa == NULL || RSA_sign(NID_sha256, h, 32, rsig, &rlen, rsa) != 1)
		return 1;

	for (t = now(), ok = 0, i = 0; i < ROUNDS; i++)
		ok += ed_openssl(ek, sig, h);
	printf("ed25519 verify, OpenSSL:   %6.1f us (%d/%d good)\n",
	    (now() - t) / ROUNDS * 1e6, ok, ROUNDS);
	for (t = now(), ok = 0, i = 0; i < ROUNDS; i++)
		ok += crypto_sign_verify_detached(sig, h, 32, pk) == 0;
	printf("ed25519 verify, libsodium: %6.1f us (%d/%d good)\n",
	    (now() - t) / ROUNDS * 1e6, ok, ROUNDS);
	for (t = now(), ok = 0, i = 0; i < ROUNDS; i++)
		ok += RSA_verify(NID_sha256, h, 32, rsig, rlen, rsa);
	printf("rsa-2048 verify, OpenSSL:  %6.1f us (%d/%d good)\n",
	    (now() - t) / ROUNDS * 1e6, ok, ROUNDS);
	RSA_free(rsa);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(rk);
	return 0;
}
