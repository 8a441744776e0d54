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
 * Records: each TXT answer's SPF records are checked (spf_check.c) and
 * rewritten for libspf2 (CIDR /0, exp= marker); address lookups under an
 * AM_SPF_ANY* marker label are answered for the real name (see
 * spf_check.h).  DNS terms and MX names are counted (RFC 7208 4.6.4).
 * RFC 7208 5.5: a DNS error (TEMP) on the address lookup of a name a PTR
 * answer gave is answered HOST_NOT_FOUND, so libspf2 skips that name
 * instead of giving temperror (unless the message's DNS budget ran out
 * or met a local failure).
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

#include <stddef.h>

#define AM_DNS_SPF_VOID_MAX	2	/* RFC 7208 4.6.4 */
#define AM_DNS_SPF_TERMS_MAX	10	/* RFC 7208 4.6.4: DNS terms */
#define AM_DNS_SPF_MX_MAX	10	/* RFC 7208 4.6.4: names per mx */
#define AM_DNS_SPF_PTR_MAX	10	/* RFC 7208 4.6.4: PTR names used */
/* libspf2 evaluates this many mechanisms of a record, then says neutral */
#define AM_DNS_SPF_LIB_MECH_MAX	64
#define AM_DNS_SPF_EXP_MAX	8	/* exp= modifiers noted per check */

/* An exp= seen in an SPF record: its domain-spec and the record's domain */
struct am_dns_spf_exp {
	char	 spec[512];
	char	 domain[256];
};

struct am_dns;
struct am_dns_budget;
struct SPF_dns_server_struct;		/* SPF_dns_server_t */

/* NULL on ENOMEM */
struct SPF_dns_server_struct *am_dns_spf_new(struct am_dns *);
void	am_dns_spf_free(struct SPF_dns_server_struct *);  /* NULL is fine */

/*
 * Start a new check: counts and notes cleared; the client address (4 or
 * 16 bytes by v6) answers address lookups for a CIDR length of 0; the
 * check's lookups count against b (NULL: none), which libspf2 cannot
 * pass itself: the layer keeps it, through the server's hook pointer,
 * until the next reset.
 */
void	am_dns_spf_reset(struct SPF_dns_server_struct *,
	    struct am_dns_budget *b, int v6, const unsigned char *addr);

/* Void lookups since the last reset (may exceed AM_DNS_SPF_VOID_MAX by 1). */
unsigned int am_dns_spf_voids(const struct SPF_dns_server_struct *);

/*
 * Since the last reset: the first SPF record syntax error (spf_check.c)
 * and the first RFC 7208 4.6.4 limit exceeded (more than 10 DNS terms,
 * more than 10 MX names), as static text, or NULL.  Either is permerror.
 */
const char *am_dns_spf_syntax(const struct SPF_dns_server_struct *);
const char *am_dns_spf_limit(const struct SPF_dns_server_struct *);

/*
 * The exp= whose explanation libspf2 asked for (records are rewritten so
 * that the layer can tell, see spf_check.h), or NULL.  Valid until the
 * next reset.
 */
const struct am_dns_spf_exp *am_dns_spf_exp(const struct SPF_dns_server_struct *);

/* An uncompressed wire-format name (PTR rdata) as text; 0 or -1. */
int	am_dns_spf_name(const void *rdata, size_t len, char *out, size_t outlen);

#endif /* AM_DNS_SPF_H */
