/*
 * dkim_edverify.c - EVP_DigestVerify() with libsodium for Ed25519 keys
 * (see dkim_edverify.h for why this interposes OpenSSL's function).
 */
#include <sys/random.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "dkim/dkim_edverify.h"

#define ED25519_SIG_LEN	64	/* RFC 8032 5.1.6: R and S, 32 bytes each */

typedef int (*verify_fn)(EVP_MD_CTX *, const unsigned char *, size_t,
    const unsigned char *, size_t);

/* process-wide state: see daemon/daemon.h */
static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static verify_fn	 openssl_verify;	/* once */
static int		 sodium_ok;		/* once */
static int		 started;		/* once; __atomic for readers */
static unsigned long	 n_sodium, n_openssl;	/* __atomic (relaxed) */

/* sys_getrandom - getrandom(2), blocking until the pool is ready */
static ssize_t
sys_getrandom(void *buf, size_t len)
{
	return getrandom(buf, len, 0);
}

/* am_edverify_random_ok - see dkim_edverify.h */
int
am_edverify_random_ok(ssize_t (*rnd)(void *, size_t), const char *dev)
{
	unsigned char	 fodder[16];
	ssize_t		 n;
	int		 fd;

	do
		n = rnd(fodder, sizeof(fodder));
	while (n < 0 && (errno == EINTR || errno == EAGAIN));
	if (n == (ssize_t)sizeof(fodder))
		return 1;
	if ((fd = open(dev, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	(void)close(fd);
	return 1;
}

/* init - find OpenSSL's function and start libsodium, once */
static void
init(void)
{
	void	*sym;

	sym = dlsym(RTLD_NEXT, "EVP_DigestVerify");
	/* a function pointer through void *: POSIX dlsym's contract */
	*(void **)&openssl_verify = sym;
	/* sodium_init() aborts the process when it finds no random source
	   (libsodium 1.0.18, randombytes_sysrandom.c): ask first */
	sodium_ok = am_edverify_random_ok(sys_getrandom, "/dev/urandom") &&
	    sodium_init() >= 0;
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
}

/* ed25519_pub - the raw Ed25519 public key behind ctx; 0 if it has none */
static int
ed25519_pub(EVP_MD_CTX *ctx, unsigned char pub[AM_ED25519_PUB_LEN])
{
	EVP_PKEY_CTX	*pctx;
	EVP_PKEY	*pkey;
	size_t		 len = AM_ED25519_PUB_LEN;

	if ((pctx = EVP_MD_CTX_get_pkey_ctx(ctx)) == NULL ||
	    (pkey = EVP_PKEY_CTX_get0_pkey(pctx)) == NULL ||
	    EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		return 0;
	return EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 &&
	    len == AM_ED25519_PUB_LEN;
}

/* pass_on - OpenSSL's own EVP_DigestVerify() */
static int
pass_on(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	__atomic_add_fetch(&n_openssl, 1, __ATOMIC_RELAXED);
	/* never NULL while libcrypto is a shared library, which it must be
	   for this definition to link at all; an error then, not a pass */
	if (openssl_verify == NULL)
		return -1;
	return openssl_verify(ctx, sig, siglen, tbs, tbslen);
}

/*
 * EVP_DigestVerify - OpenSSL's function; Ed25519 keys checked by libsodium
 * (interposed: see the header).  RFC 8463 3: the input is the SHA-256
 * hash, signed with "pure" Ed25519, which is what both libraries check.
 */
int
EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	unsigned char	pub[AM_ED25519_PUB_LEN];

	(void)pthread_once(&once, init);
	if (!sodium_ok || ctx == NULL || !ed25519_pub(ctx, pub))
		return pass_on(ctx, sig, siglen, tbs, tbslen);
	__atomic_add_fetch(&n_sodium, 1, __ATOMIC_RELAXED);
	if (siglen != ED25519_SIG_LEN || (tbs == NULL && tbslen > 0))
		return 0;
	return crypto_sign_verify_detached(sig, tbs, tbslen, pub) == 0;
}

/* am_edverify_stats - counters so far */
void
am_edverify_stats(struct am_edverify_stats *st)
{
	st->sodium = __atomic_load_n(&n_sodium, __ATOMIC_RELAXED);
	st->openssl = __atomic_load_n(&n_openssl, __ATOMIC_RELAXED);
	st->started = __atomic_load_n(&started, __ATOMIC_ACQUIRE);
	st->sodium_ok = st->started ? sodium_ok : 0;
}
