/*
 * dns_spf.c - libspf2 DNS layer answering through dns.c.
 *
 * See dns_spf.h for the mapping and the void-lookup count.  A lookup is
 * one am_dns_query(); the answer is copied into a fresh SPF_dns_rr_t
 * (SPF_dns_rr_new_init + SPF_dns_rr_buf_realloc per record), which
 * libspf2 frees with SPF_dns_rr_free.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <netdb.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <unbound.h>

#include "dns.h"
#include "dns_spf.h"

#define NAME_TEXT_MAX	254	/* 253 characters and the NUL */

struct layer_state {
	struct am_dns	*dns;
	unsigned int	 nvoid;		/* since am_dns_spf_reset */
	unsigned int	 ntxt;		/* TXT lookups since the reset */
	unsigned int	 nterms;	/* see AM_DNS_SPF_TERMS_MAX */
	int		 too_big;	/* see AM_DNS_SPF_LIB_MECH_MAX */
	SPF_dns_rr_t	*spare;		/* TRY_AGAIN answer for ENOMEM */
};

/* state - our data behind the libspf2 layer */
static struct layer_state *
state(const SPF_dns_server_t *srv)
{
	return srv->hook;
}

/* wire_name - uncompressed wire-format name to text without final dot */
static int
wire_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t	 o = 0, n, i;

	while (len > 0 && *p != 0) {
		n = *p++;
		len--;
		if (n > 63 || n > len)		/* pointer or overrun */
			return -1;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		for (i = 0; i < n; i++) {
			/* a dot or odd byte inside a label: not a host name */
			if (p[i] <= ' ' || p[i] > '~' || p[i] == '.')
				return -1;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)p[i];
		}
		p += n;
		len -= n;
	}
	if (len == 0 || o == 0)			/* no root label, or root */
		return -1;
	out[o] = '\0';
	return 0;
}

/* put_bytes - store one fixed-size record (A, AAAA) at index idx */
static int
put_bytes(SPF_dns_rr_t *rr, int idx, const void *p, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[idx], p, len);
	return 0;
}

/* put_name - store one host name (MX, PTR) at index idx */
static int
put_name(SPF_dns_rr_t *rr, int idx, const unsigned char *p, size_t len)
{
	char	 name[NAME_TEXT_MAX];
	size_t	 n;

	if (wire_name(p, len, name, sizeof(name)) == -1)
		return 1;			/* skip this record */
	n = strlen(name) + 1;
	if (SPF_dns_rr_buf_realloc(rr, idx, n) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[idx], name, n);
	return 0;
}

/* mechanisms - how many mechanisms a "v=spf1" record has; 0 if not SPF */
static size_t
mechanisms(const char *s)
{
	size_t	 n = 0, k;

	if (strncasecmp(s, "v=spf1", 6) != 0 || (s[6] != ' ' && s[6] != '\0'))
		return 0;
	for (s += 6; *s != '\0'; s += k) {
		s += strspn(s, " ");
		if ((k = strcspn(s, " ")) == 0)
			break;
		/* RFC 7208 12: modifier = name "=" macro-string */
		if (strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") >= k ||
		    s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")] != '=')
			n++;
	}
	return n;
}

/* put_txt - store one TXT record, strings joined, at index idx */
static int
put_txt(SPF_dns_rr_t *rr, int idx, const char *p, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS)
		return -1;
	if (am_dns_txt_rdata(p, len, rr->rr[idx]->txt) == -1)
		return 1;			/* malformed: skip */
	return 0;
}

/* put_one - store record i of res by type; 0 stored, 1 skipped, -1 ENOMEM */
static int
put_one(SPF_dns_rr_t *rr, int idx, ns_type type, const char *d, size_t len)
{
	const unsigned char	*u = (const unsigned char *)d;

	switch (type) {
	case ns_t_a:
		if (len != sizeof(struct in_addr))
			return 1;
		return put_bytes(rr, idx, d, len);
	case ns_t_aaaa:
		if (len != sizeof(struct in6_addr))
			return 1;
		return put_bytes(rr, idx, d, len);
	case ns_t_mx:
		if (len < 3)
			return 1;
		return put_name(rr, idx, u + 2, len - 2); /* after preference */
	case ns_t_ptr:
		return put_name(rr, idx, u, len);
	case ns_t_txt:
		return put_txt(rr, idx, d, len);
	default:
		return 1;
	}
}

/* fill - copy libunbound's records into rr; -1 on ENOMEM */
static int
fill(SPF_dns_rr_t *rr, const struct ub_result *res, ns_type type)
{
	int	 i, r;

	for (i = 0; res->data[i] != NULL; i++) {
		r = put_one(rr, rr->num_rr, type, res->data[i],
		    (size_t)res->len[i]);
		if (r == -1)
			return -1;
		if (r == 0)
			rr->num_rr++;
	}
	return 0;
}

/* herrno_of - am_dns status as libspf2 expects it */
static SPF_dns_stat_t
herrno_of(enum am_dns_status st)
{
	switch (st) {
	case AM_DNS_OK:
		return NETDB_SUCCESS;
	case AM_DNS_NODATA:
		return NO_DATA;
	case AM_DNS_NXDOMAIN:
	case AM_DNS_PERM:
		return HOST_NOT_FOUND;
	case AM_DNS_TEMP:
		break;
	}
	return TRY_AGAIN;
}

/* counts_void - RFC 7208 4.6.4: which lookups count (see dns_spf.h) */
static int
counts_void(ns_type type)
{
	return type == ns_t_a || type == ns_t_aaaa || type == ns_t_mx ||
	    type == ns_t_ptr;
}

/* out_of_memory - hand over the spare TRY_AGAIN record, try for a new one */
static SPF_dns_rr_t *
out_of_memory(SPF_dns_server_t *srv)
{
	struct layer_state	*ls = state(srv);
	SPF_dns_rr_t		*rr = ls->spare;

	ls->spare = SPF_dns_rr_new_init(srv, "", ns_t_any, 0, TRY_AGAIN);
	if (rr == NULL)		/* two failures in a row: nothing left */
		rr = SPF_dns_rr_new_init(srv, "", ns_t_any, 0, TRY_AGAIN);
	return rr;
}

/* lookup - SPF_dns_lookup_t: one question through am_dns */
static SPF_dns_rr_t *
lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int cache)
{
	struct layer_state	*ls = state(srv);
	struct ub_result	*res = NULL;
	enum am_dns_status	 st;
	SPF_dns_rr_t		*rr;
	int			 i;

	if ((type == ns_t_txt && ls->ntxt++ > 0) || type == ns_t_mx ||
	    type == ns_t_ptr)
		ls->nterms++;
	if (type == ns_t_spf)			/* RFC 7208 3.1: never asked */
		st = AM_DNS_NODATA;
	else if (ls->nterms > AM_DNS_SPF_TERMS_MAX)
		st = AM_DNS_NXDOMAIN;		/* already permerror */
	else if (counts_void(type) && ls->nvoid > AM_DNS_SPF_VOID_MAX)
		st = AM_DNS_NXDOMAIN;		/* already permerror */
	else
		st = am_dns_query(ls->dns, domain, (int)type, &res);
	if (counts_void(type) && st != AM_DNS_OK && st != AM_DNS_TEMP &&
	    ls->nvoid <= AM_DNS_SPF_VOID_MAX)
		ls->nvoid++;
	rr = SPF_dns_rr_new_init(srv, domain, type,
	    res != NULL ? res->ttl : 0, herrno_of(st));
	if (rr != NULL && res != NULL && fill(rr, res, type) == -1) {
		SPF_dns_rr_free(rr);
		rr = NULL;
	}
	am_dns_result_free(res);
	for (i = 0; rr != NULL && type == ns_t_txt && i < rr->num_rr; i++)
		if (mechanisms(rr->rr[i]->txt) > AM_DNS_SPF_LIB_MECH_MAX)
			ls->too_big = 1;
	return rr != NULL ? rr : out_of_memory(srv);
}

/* am_dns_spf_new - a layer for one SPF_server_t */
SPF_dns_server_t *
am_dns_spf_new(struct am_dns *dns)
{
	SPF_dns_server_t	*srv;
	struct layer_state	*ls;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		free(srv);
		return NULL;
	}
	srv->destroy = NULL;		/* owned by us, not by libspf2 */
	srv->lookup = lookup;
	srv->name = "authmilter";
	srv->hook = ls;
	ls->dns = dns;
	ls->spare = SPF_dns_rr_new_init(srv, "", ns_t_any, 0, TRY_AGAIN);
	if (ls->spare == NULL) {
		am_dns_spf_free(srv);
		return NULL;
	}
	return srv;
}

/* am_dns_spf_free - free a layer after the SPF_server_t using it */
void
am_dns_spf_free(SPF_dns_server_t *srv)
{
	struct layer_state	*ls;

	if (srv == NULL)
		return;
	ls = state(srv);
	if (ls->spare != NULL)
		SPF_dns_rr_free(ls->spare);
	free(ls);
	free(srv);
}

/* am_dns_spf_reset - new check, no void lookups yet */
void
am_dns_spf_reset(SPF_dns_server_t *srv)
{
	state(srv)->nvoid = 0;
	state(srv)->ntxt = 0;
	state(srv)->nterms = 0;
	state(srv)->too_big = 0;
}

/* am_dns_spf_too_big - a record of this check is beyond libspf2 */
int
am_dns_spf_too_big(const SPF_dns_server_t *srv)
{
	return state(srv)->too_big;
}

/* am_dns_spf_terms - DNS-querying terms since the last reset */
unsigned int
am_dns_spf_terms(const SPF_dns_server_t *srv)
{
	return state(srv)->nterms;
}

/* am_dns_spf_voids - void lookups since the last reset */
unsigned int
am_dns_spf_voids(const SPF_dns_server_t *srv)
{
	return state(srv)->nvoid;
}
