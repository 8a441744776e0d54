/*
 * dns_spf.h - a libspf2 DNS layer (SPF_dns_server_t) on top of dns.c.
 *
 * libspf2 asks its DNS layer for A, AAAA, MX, PTR and TXT records; this
 * layer answers every lookup with am_dns_query(), so SPF shares the
 * daemon's one libunbound context (and cache and timeout) with DKIM and
 * DMARC, and unit tests feed it local data through the same seam.
 *
 * Answers, as libspf2's h_errno-style codes:
 *	AM_DNS_OK	 NETDB_SUCCESS, records filled in
 *	AM_DNS_NXDOMAIN	 HOST_NOT_FOUND
 *	AM_DNS_PERM	 HOST_NOT_FOUND (a name that cannot be asked)
 *	AM_DNS_NODATA	 NO_DATA
 *	AM_DNS_TEMP	 TRY_AGAIN (libspf2 then gives temperror)
 * TXT: the character-strings of each record concatenated (RFC 7208 3.3).
 * MX, PTR: the host name, without the final dot.
 * Type SPF (99) is never asked: RFC 7208 3.1 and 14.1 retired it, and
 * asking would double the queries; the layer answers NO_DATA at once, so
 * libspf2 falls through to TXT.
 *
 * RFC 7208 4.6.4 void lookups: every A, AAAA, MX or PTR lookup answered
 * NXDOMAIN or NODATA (or with an unaskable name) counts.  TXT lookups do
 * not: a void TXT answer for include/redirect is already a permerror, and
 * exp= lookups must not count.  Once the count is over
 * AM_DNS_SPF_VOID_MAX, further lookups answer HOST_NOT_FOUND without
 * asking; the caller (spf.c) turns a count over the limit into permerror.
 *
 * Ownership: the caller owns the layer: am_dns_spf_new, then
 * SPF_server_new_dns(layer, 0), and am_dns_spf_free only after
 * SPF_server_free (the layer has no destroy hook, so libspf2 leaves it
 * alone).  The struct am_dns is borrowed and must outlive the layer.
 * Threads: the layer keeps per-check state (the void count), so use it
 * from one thread at a time, like the SPF_server_t it serves (one per
 * connection).
 * Never returns NULL to libspf2 (which would abort): one spare record is
 * kept for answering TRY_AGAIN when memory runs out.
 */
#ifndef AM_DNS_SPF_H
#define AM_DNS_SPF_H

#define AM_DNS_SPF_VOID_MAX	2	/* RFC 7208 4.6.4 */

/*
 * RFC 7208 4.6.4: at most 10 DNS-querying terms per check, across
 * include/redirect.  libspf2 counts per record only, so a chain of 11
 * includes passed.  This layer counts the lookups that only terms cause
 * (TXT after the first: include/redirect; MX; PTR) over the whole check;
 * past the limit it answers HOST_NOT_FOUND without asking, and spf.c
 * turns a count over the limit into permerror.  (A/AAAA lookups are not
 * counted: they also come from MX and PTR targets; libspf2's per-record
 * limit and the message's DNS budget bound those.)
 */
#define AM_DNS_SPF_TERMS_MAX	10

/*
 * libspf2 1.2 evaluates only the first 64 mechanisms of a record and then
 * answers neutral, silently (a record with 65 ip4 terms and -all is
 * "neutral" for every client).  This layer counts the mechanisms of every
 * "v=spf1" TXT it hands over; spf.c turns a record over the limit into
 * permerror ("cannot be evaluated") instead of that wrong neutral.
 */
#define AM_DNS_SPF_LIB_MECH_MAX	64

/* 1 if a record of this check had more than AM_DNS_SPF_LIB_MECH_MAX */
int	am_dns_spf_too_big(const struct SPF_dns_server_struct *);

/* DNS-querying terms counted since the last reset (see above). */
unsigned int am_dns_spf_terms(const struct SPF_dns_server_struct *);

struct am_dns;
struct SPF_dns_server_struct;		/* SPF_dns_server_t */

/* NULL on ENOMEM */
struct SPF_dns_server_struct *am_dns_spf_new(struct am_dns *);
void	am_dns_spf_free(struct SPF_dns_server_struct *);  /* NULL is fine */

/* Start a new check: void count back to 0. */
void	am_dns_spf_reset(struct SPF_dns_server_struct *);

/* Void lookups since the last reset (may exceed AM_DNS_SPF_VOID_MAX by 1). */
unsigned int am_dns_spf_voids(const struct SPF_dns_server_struct *);

#endif /* AM_DNS_SPF_H */
