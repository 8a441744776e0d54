/*
 * sign_record.h - the DNS TXT record (RFC 6376 3.6.1, RFC 8463 4.2) that
 * publishes the public half of a signing key: made from the private key,
 * for authmilter-keygen and for the start-up check of published keys.
 *
 * RSA: p= is the base64 of the DER SubjectPublicKeyInfo (what OpenDKIM
 * and dkimpy publish); Ed25519: p= is the base64 of the raw 32-byte
 * public key (RFC 8463 4.2).  Thread-safe; no I/O.
 */
#ifndef AM_SIGN_RECORD_H
#define AM_SIGN_RECORD_H

#include <stddef.h>

#include "common/buf.h"

/*
 * am_sign_record - "v=DKIM1; k=rsa; p=..." for the private key text (PEM,
 * or an Ed25519 base64 seed) into b.  0, or -1 if the key cannot be read.
 */
int	am_sign_record(const char *key, size_t len, struct am_buf *b);

/*
 * am_sign_record_p - the p= value of a published record, without white
 * space, into b; -1 if the record has none.  For comparing a record with
 * the one am_sign_record makes.
 */
int	am_sign_record_p(const char *record, struct am_buf *b);

struct am_signconf;
struct am_dns;

/*
 * am_sign_check_dns - the start-up (and reload) self-check: for each of
 * the first AM_SIGN_CHECK_MAX keys (daemon/reload.c runs it in the reload
 * thread, so it never delays the engine), look up selector._domainkey.domain and
 * log a warning when no record is published or its p= is not the key's
 * (every signature would then fail).  Only logs; one DNS query per key.
 * stop (may be NULL) is asked before each key: once it says 1 the check
 * ends, so a daemon stopping waits for one DNS query at most, not
 * AM_SIGN_CHECK_MAX of them.
 */
#define AM_SIGN_CHECK_MAX	8	/* at most 8 DNS timeouts */
void	am_sign_check_dns(const struct am_signconf *, struct am_dns *,
	    int (*stop)(void));

#endif /* AM_SIGN_RECORD_H */
