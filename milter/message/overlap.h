/*
 * overlap.h - the look-ups of a message started while it streams in
 * (issue 17): the DNS round trips overlap the MTA's RCPT, DATA and the
 * content instead of adding up at MAIL and at the end of the message.
 *
 *  - SPF (HELO and MAIL FROM, RFC 7208) runs at MAIL in the background
 *    (dns_work.h) under its own budget, armed at MAIL with the SPF phase's
 *    limits as before; am_overlap_join, at the end of the message (or
 *    wherever an SPF result is needed earlier), waits for it and applies
 *    what the synchronous phase would have applied at MAIL, in the same
 *    order: the results, the first internal error, the budget bits, the
 *    record of failed queries.  So the verdict is what it was.
 *  - a DKIM key query (RFC 6376 3.6.2.1: s._domainkey.d, TXT) is started
 *    as its DKIM-Signature field arrives, the DMARC discovery names
 *    (RFC 9989 4.10: _dmarc. of each name of the tree walk) as the From
 *    field arrives, through the message's prefetch set (dns_prefetch.h);
 *    the checks at EOH and EOM take those answers instead of asking.
 *
 * A message that ends early (abort, a reject, a new MAIL) cancels what is
 * outstanding in am_overlap_free.  All of it runs only for a message the
 * checks run on (not exempt).  Called from session.c and finish.c only.
 */
#ifndef AM_OVERLAP_H
#define AM_OVERLAP_H

#include <stddef.h>

struct am_msg;

/*
 * At MAIL: start SPF in the background.  0: started; -1: not started
 * (the HELO's and MAIL FROM domain's records are cached, so it needs no
 * round trip and a thread hand-over would cost more; or no thread or
 * queue room, no memory): the caller runs the SPF phase itself, at once,
 * as before.
 */
int	am_overlap_spf(struct am_msg *);
/* one header field as the checks see it: start what it names */
void	am_overlap_header(struct am_msg *, const char *name, const char *value);
/* wait for the background SPF and apply its outcome; no-op if none */
void	am_overlap_join(struct am_msg *);
/* cancel what is still running; join; free (m->ov NULL is fine) */
void	am_overlap_free(struct am_msg *);

/*
 * Pure: the key query name of a DKIM-Signature value, s=SEL and d=DOM
 * (RFC 6376 3.5, 3.6.2.1) as "SEL._domainkey.DOM" into out; 0, or -1 if
 * either tag is missing, repeated, empty or not a plain DNS name.
 */
int	am_overlap_dkim_name(const char *value, char *out, size_t outlen);

#endif /* AM_OVERLAP_H */
