/*
 * dkim_keycache.c - decoded DKIM public keys, cached by their DER bytes
 * (see dkim_keycache.h for why this interposes d2i_PUBKEY_bio()).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim/dkim_edverify.h"	/* AM_ED25519_PUB_LEN */
#include "dkim/dkim_keycache.h"

#define NBUCKETS	256
#define READ_MAX	(64 * 1024)	/* give up reading a BIO past this */
/* an Ed25519 key's entry is this byte, then the raw key: no DER starts
   with it (a SubjectPublicKeyInfo is a SEQUENCE, 0x30) */
#define RAW_TAG		0x00

typedef EVP_PKEY *(*new_raw_fn)(int, ENGINE *, const unsigned char *,
    size_t);

struct entry {
	struct entry	*next;
	EVP_PKEY	*pkey;		/* one reference held by the cache */
	size_t		 len;
	unsigned char	 der[];
};

/* process-wide state: see daemon/daemon.h */
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry	*buckets[NBUCKETS];
static unsigned long	 nentries, nhits, nmisses;
static pthread_once_t	 raw_once = PTHREAD_ONCE_INIT;
static new_raw_fn	 openssl_new_raw;	/* once (raw_once) */

/* hash - FNV-1a of the DER bytes */
static unsigned int
hash(const unsigned char *p, size_t len)
{
	uint32_t	h = 2166136261u;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h % NBUCKETS;
}

/* flush_locked - free every entry; lock held */
static void
flush_locked(void)
{
	struct entry	*e, *next;
	size_t		 i;

	for (i = 0; i < NBUCKETS; i++) {
		for (e = buckets[i]; e != NULL; e = next) {
			next = e->next;
			EVP_PKEY_free(e->pkey);
			free(e);
		}
		buckets[i] = NULL;
	}
	nentries = 0;
}

/* lookup - a new reference to the cached key for der, or NULL */
static EVP_PKEY *
lookup(const unsigned char *der, size_t len)
{
	struct entry	*e;
	EVP_PKEY	*pkey = NULL;

	pthread_mutex_lock(&lock);
	for (e = buckets[hash(der, len)]; e != NULL; e = e->next) {
		if (e->len == len && memcmp(e->der, der, len) == 0) {
			if (EVP_PKEY_up_ref(e->pkey) == 1)
				pkey = e->pkey;
			break;
		}
	}
	if (pkey != NULL)
		nhits++;
	else
		nmisses++;
	pthread_mutex_unlock(&lock);
	return pkey;
}

/* insert - keep a reference to pkey under der (best effort) */
static void
insert(const unsigned char *der, size_t len, EVP_PKEY *pkey)
{
	struct entry	*e;
	unsigned int	 h;

	if (len > AM_KEYCACHE_DER_MAX ||
	    (e = malloc(sizeof(*e) + len)) == NULL)
		return;
	if (EVP_PKEY_up_ref(pkey) != 1) {
		free(e);
		return;
	}
	memcpy(e->der, der, len);
	e->len = len;
	e->pkey = pkey;
	h = hash(der, len);
	pthread_mutex_lock(&lock);
	if (nentries >= AM_KEYCACHE_MAX)
		flush_locked();
	e->next = buckets[h];		/* a racing duplicate is harmless */
	buckets[h] = e;
	nentries++;
	pthread_mutex_unlock(&lock);
}

/* read_all - the rest of a BIO into a malloc'd buffer; NULL on failure */
static unsigned char *
read_all(BIO *bio, size_t *len)
{
	unsigned char	*buf = NULL, *nbuf;
	size_t		 cap = 0, n = 0;
	int		 r;

	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if (cap > READ_MAX || (nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = nbuf;
		}
		if ((r = BIO_read(bio, buf + n, (int)(cap - n))) <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

/*
 * d2i_PUBKEY_bio - OpenSSL's function, cached (interposed: see the header)
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bio, EVP_PKEY **a)
{
	unsigned char		*der;
	const unsigned char	*p;
	EVP_PKEY		*pkey;
	size_t			 len;

	if (bio == NULL || (der = read_all(bio, &len)) == NULL || len == 0) {
		return NULL;
	}
	if (a == NULL && (pkey = lookup(der, len)) != NULL) {
		free(der);
		return pkey;
	}
	p = der;
	pkey = d2i_PUBKEY(a, &p, (long)len);
	if (pkey != NULL && a == NULL)
		insert(der, len, pkey);
	free(der);
	return pkey;
}

/* raw_init - find OpenSSL's EVP_PKEY_new_raw_public_key(), once */
static void
raw_init(void)
{
	/* a function pointer through void *: POSIX dlsym's contract */
	*(void **)&openssl_new_raw = dlsym(RTLD_NEXT,
	    "EVP_PKEY_new_raw_public_key");
}

/*
 * EVP_PKEY_new_raw_public_key - OpenSSL's function, cached for Ed25519
 * keys (interposed: see the header; libopendkim makes one for every
 * ed25519-sha256 signature, 5 us each).  Other key types go to OpenSSL's.
 */
EVP_PKEY *
EVP_PKEY_new_raw_public_key(int type, ENGINE *e, const unsigned char *pub,
    size_t len)
{
	unsigned char	 k[1 + AM_ED25519_PUB_LEN];
	EVP_PKEY	*pkey;

	if (type != EVP_PKEY_ED25519 || e != NULL || pub == NULL ||
	    len != AM_ED25519_PUB_LEN) {
		(void)pthread_once(&raw_once, raw_init);
		/* never NULL with a shared libcrypto (see EVP_DigestVerify
		   in dkim_edverify.c); no key then */
		return openssl_new_raw != NULL ?
		    openssl_new_raw(type, e, pub, len) : NULL;
	}
	k[0] = RAW_TAG;
	memcpy(k + 1, pub, len);
	if ((pkey = lookup(k, sizeof(k))) != NULL)
		return pkey;
	pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, len);
	if (pkey != NULL)
		insert(k, sizeof(k), pkey);
	return pkey;
}

/* am_keycache_stats - counters so far */
void
am_keycache_stats(struct am_keycache_stats *st)
{
	pthread_mutex_lock(&lock);
	st->hits = nhits;
	st->misses = nmisses;
	st->entries = nentries;
	pthread_mutex_unlock(&lock);
}

/* am_keycache_flush - drop every entry */
void
am_keycache_flush(void)
{
	pthread_mutex_lock(&lock);
	flush_locked();
	pthread_mutex_unlock(&lock);
}
