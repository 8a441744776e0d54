/*
 * dkim_edverify.h - Ed25519 signature checks with libsodium (RFC 8463).
 *
 * libopendkim verifies an ed25519-sha256 signature with OpenSSL's
 * EVP_DigestVerify().  OpenSSL 3.0's Ed25519 is portable C: 175 us per
 * verification on session 10's benchmark machine (bench/edspeed.c;
 * `openssl speed ed25519`: 157 us), against 89 us for libsodium's
 * crypto_sign_verify_detached() on the same input;
 * it was 20 % of authmilter's CPU in the benchmark (bench/RESULTS.md,
 * session 10).  libopendkim has no hook for the check itself, so, as
 * dkim_keycache.c does for d2i_PUBKEY_bio(), dkim_edverify.c defines
 * EVP_DigestVerify(): the dynamic linker binds libopendkim's call (and
 * arc/arc_key.c's) to it.
 *
 * What it does: when the context's key is an Ed25519 public key, the
 * check is libsodium's; every other key goes to OpenSSL's function
 * (found with dlsym(RTLD_NEXT)), unchanged.  Returns as OpenSSL's does: 1
 * for a good signature, 0 for a bad one (a signature not 64 bytes long is
 * bad, as in OpenSSL).
 *
 * Where the two differ (tests/unit/check_edverify.c): libsodium also
 * rejects a public key or an R of small order and a non-canonical public
 * key encoding.  OpenSSL 3.0 accepts them: with the identity point as the
 * key, R the identity and S = 0 "verify" any input (3.0.19 returns 1).
 * No honest signer makes either; dkimpy (PyNaCl, libsodium) rejects them
 * too.  So such a signature fails here (dkim=fail), never the other way
 * round.  Both reject S >= L (RFC 8032 5.1.7).
 *
 * Thread-safe: no state but the counters (atomic) and the one-time
 * look-up of OpenSSL's function and sodium_init() (pthread_once).  If
 * libsodium cannot start, every call goes to OpenSSL.  OpenSSL's own
 * function is always found while libcrypto is a shared library, which it
 * must be for this definition to link beside it; were it not, a call for
 * another key type is an error (-1), never a pass.  sodium_init() aborts the
 * process when it finds no random source (no getrandom(2), say under a
 * seccomp filter, and no /dev/urandom, say in a chroot), although checking
 * a signature needs none: so it is called only when one of the two works
 * (am_edverify_random_ok), and otherwise OpenSSL checks Ed25519 too.
 */
#ifndef AM_DKIM_EDVERIFY_H
#define AM_DKIM_EDVERIFY_H

#include <sys/types.h>

#define AM_ED25519_PUB_LEN	32	/* RFC 8032 5.1.5: a public key's bytes */

struct am_edverify_stats {
	unsigned long	sodium;		/* Ed25519 checks done by libsodium */
	unsigned long	openssl;	/* calls passed on to OpenSSL */
	int		started;	/* 0 until the first call */
	int		sodium_ok;	/* libsodium started (else all OpenSSL) */
};

/* am_edverify_stats - counters so far (also links the module in) */
void	am_edverify_stats(struct am_edverify_stats *);

/*
 * am_edverify_random_ok - 1 if sodium_init() will find a random source:
 * rnd (getrandom(2) in the daemon) fills 16 bytes, retried on EINTR and
 * EAGAIN as libsodium does, or the device dev opens; else 0
 */
int	am_edverify_random_ok(ssize_t (*rnd)(void *, size_t),
	    const char *dev);

#endif /* AM_DKIM_EDVERIFY_H */
