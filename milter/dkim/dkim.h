/*
 * dkim.h - DKIM verification (RFC 6376, RFC 8463 ed25519, RFC 8301 crypto
 * rules) of every signature of a message, through libopendkim with key
 * look-ups going through dns.c (dns_dkim.c).
 *
 * struct am_dkim_lib is process-wide (one DKIM_LIB, thread-safe as
 * libopendkim documents); struct am_dkim is one message, used by one thread.
 * Results are copied into the caller's struct am_dkim_sig array.
 */
#ifndef AM_DKIM_H
#define AM_DKIM_H

#include <stddef.h>

#include "common/results.h"

struct am_dns;
struct am_dns_budget;
struct am_dkim_lib;
struct am_dkim;

struct am_dkim_lib *am_dkim_lib_new(struct am_dns *, char *err, size_t errlen);
void		 am_dkim_lib_free(struct am_dkim_lib *);	/* NULL is fine */

/*
 * One message.  min_key_bits: RSA keys shorter than this fail (RFC 8301
 * says 1024); max_sigs: signatures beyond this are not verified (reported
 * as neutral "not verified: signature limit"), capped at AM_DKIM_SIGS_MAX.
 * NULL on failure.
 */
struct am_dkim	*am_dkim_new(struct am_dkim_lib *, const char *qid,
		    unsigned int min_key_bits, unsigned int max_sigs);
void		 am_dkim_free(struct am_dkim *);		/* NULL is fine */

/*
 * Feed one header as the MTA gave it: name and value without the colon;
 * value keeps its leading whitespace (SMFIP_HDR_LEADSPC) and folding.
 * Bare LF line ends inside the value are turned into CRLF.
 * Return 0, or -1 on an internal failure (then the message's DKIM result is
 * temperror and further calls are no-ops).
 */
int	am_dkim_header(struct am_dkim *, const char *name, const char *value);
/*
 * End of headers: key look-ups may start here.  Every DNS lookup counts
 * against b (dns.h; NULL: none); one over budget is a temperror key.
 */
int	am_dkim_eoh(struct am_dkim *, struct am_dns_budget *b);
int	am_dkim_body(struct am_dkim *, const unsigned char *, size_t);

/*
 * Finish: one am_dkim_sig per signature found (none for an unsigned
 * message), at most max entries, written to sigs; *nsigs set.
 * Returns 0, or -1 on internal failure (entries then say temperror).
 */
int	am_dkim_eom(struct am_dkim *, struct am_dns_budget *b,
	    struct am_dkim_sig *sigs, size_t max, size_t *nsigs);

#endif /* AM_DKIM_H */
