/*
 * dkim_keycache.h - a process-wide cache of decoded DKIM public keys.
 *
 * libopendkim turns every key record's p= into an EVP_PKEY with
 * d2i_PUBKEY_bio(), for every signature of every message: with OpenSSL 3's
 * decoder framework that is ~600,000 instructions, 22 % of authmilter's
 * CPU in the benchmark (bench/, callgrind), and libopendkim has no hook to
 * cache parsed keys (dkim_set_key_lookup() only replaces the DNS query).
 * So dkim_keycache.c defines d2i_PUBKEY_bio() itself: the dynamic linker
 * binds libopendkim's call to the executable's definition.  It returns a
 * new reference to a cached EVP_PKEY when the same DER bytes were decoded
 * before, and otherwise decodes them with d2i_PUBKEY() and keeps a
 * reference.
 *
 * The cache is content-addressed (the key is the DER itself), so a key
 * changed or revoked in DNS is a different entry or no entry: TTLs are the
 * resolver's business (libunbound honours them) and a stale decoded key
 * cannot be used.  Bounded: at most AM_KEYCACHE_MAX entries of at most
 * AM_KEYCACHE_DER_MAX bytes; when full it is emptied.  Thread-safe (one
 * mutex); sharing an EVP_PKEY between threads for verification is safe in
 * OpenSSL 3 (reference counts and the legacy RSA cache are locked).
 * Callers other than libopendkim get the same semantics as OpenSSL's
 * function (a new reference, the BIO read to its end); a call with a
 * non-NULL second argument is not cached.
 *
 * Ed25519 keys (RFC 8463) are not DER: libopendkim makes one from the 32
 * raw bytes with EVP_PKEY_new_raw_public_key() for every signature (5 us).
 * dkim_keycache.c defines that function too: an Ed25519 key without an
 * engine is cached the same way, under its raw bytes behind a tag byte no
 * DER starts with; any other key type goes to OpenSSL's function
 * (dlsym(RTLD_NEXT)), uncached.
 */
#ifndef AM_DKIM_KEYCACHE_H
#define AM_DKIM_KEYCACHE_H

#include <stddef.h>

#define AM_KEYCACHE_MAX		1024	/* entries */
#define AM_KEYCACHE_DER_MAX	4096	/* bytes of one DER key cached */

struct am_keycache_stats {
	unsigned long	hits, misses, entries;
};

/* am_keycache_stats - counters so far (also links the module in) */
void	am_keycache_stats(struct am_keycache_stats *);
/* am_keycache_flush - drop every entry (tests; SIGHUP if ever wanted) */
void	am_keycache_flush(void);

/*
 * am_keycache_selftest - verify two built-in signed messages (rsa-sha256,
 * ed25519-sha256) through a private libopendkim instance (keys from a
 * look-up hook, no DNS) and check that their key decoding reached the
 * cache and the Ed25519 check reached libsodium (dkim_edverify.h;
 * keycache_selftest.c).  If one did not, logs a warning starting "DKIM key
 * cache bypassed:" or "Ed25519 checks bypass libsodium:" and returns -1;
 * the milter works on, only slower.  Call once at start-up, before
 * threads (daemon.c does).  Leaves two entries in the cache.
 */
int	am_keycache_selftest(void);

#endif /* AM_DKIM_KEYCACHE_H */
