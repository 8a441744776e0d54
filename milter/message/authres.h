/*
 * authres.h - the Authentication-Results field (RFC 8601): building ours
 * from the results, and telling whether an existing one claims our
 * authserv-id (so it can be removed as forged, section 5).
 *
 * Pure: no I/O; thread-safe.
 */
#ifndef AM_AUTHRES_H
#define AM_AUTHRES_H

#include "common/results.h"

struct am_buf;

/*
 * Append the field value (no "Authentication-Results:" name) to b:
 *   authserv-id;
 *	spf=pass smtp.helo=...;		(when checked)
 *	spf=pass smtp.mailfrom=...;
 *	dkim=pass header.d=... header.s=... header.a=... header.b=...;  (one per signature, or dkim=none)
 *	dmarc=fail (p=reject dis=reject) header.from=...
 * Folded with "\n\t" between methods.  Values that are not RFC 2045 tokens
 * are quoted.  disposition is what policy decided (shown in the dmarc
 * comment as dis=).  Returns 0, or -1 if b failed (over its cap, ENOMEM).
 */
int	am_authres_build(struct am_buf *b, const char *authserv_id,
	    const struct am_results *r, enum am_action disposition);

/* "authserv-id; none" with an optional comment (exempt clients) */
int	am_authres_build_none(struct am_buf *b, const char *authserv_id,
	    const char *comment);

/*
 * 1 if the A-R field value's authserv-id equals ours (case-insensitive,
 * CFWS and quoting ignored), 0 if not.  A value whose authserv-id cannot
 * be parsed (no id, an unclosed comment, comments nested deeper than
 * AR_COMMENT_MAX) is ours when our id appears anywhere in it as a whole
 * name: some other reader may take it for ours, so it must be removed
 * (RFC 8601 section 5; safe side).
 */
int	am_authres_is_ours(const char *value, const char *authserv_id);

/* append value as a token, or as a quoted-string when it must be */
void	am_authres_add_value(struct am_buf *b, const char *value);

#endif /* AM_AUTHRES_H */
