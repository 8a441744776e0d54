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

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <unbound.h>

#include "common/fmt.h"
#include "dns/dns.h"
#include "spf/dns_spf.h"
#include "spf/dns_spf_seam.h"
#include "spf/spf_check.h"

#define NAME_TEXT_MAX	254	/* 253 characters and the NUL */
#define PENDING_MAX	16	/* host names of the last MX/PTR answer */
#define REC_MAX		2048	/* a rewritten record */

struct layer_state {
	struct am_dns	*dns;
	struct am_dns_budget *budget;	/* this check's, or NULL; borrowed */
	unsigned int	 nvoid;		/* since am_dns_spf_reset */
	unsigned int	 nterms;	/* RFC 7208 4.6.4 DNS terms so far */
	unsigned int	 ntxt;		/* SPF record lookups so far */
	int		 client_v6;
	unsigned char	 client[16];
	const char	*syntax;	/* first record syntax error, static */
	const char	*limit;		/* first limit exceeded, static */
	char		 pending[PENDING_MAX][NAME_TEXT_MAX];
	unsigned int	 npending, pos;
	int		 pending_ptr;	/* the pending names came from a PTR */
	struct am_dns_spf_exp	 exps[AM_DNS_SPF_EXP_MAX];
	unsigned int	 nexp;
	int		 exp_asked;	/* index + 1 of the exp= libspf2 wants */
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

/* am_dns_spf_name - a PTR/MX rdata name as text, see dns_spf.h */
int
am_dns_spf_name(const void *rdata, size_t len, char *out, size_t outlen)
{
	return wire_name(rdata, len, out, outlen);
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

/* put_txt - store one TXT record, strings joined, at index idx */
static int
put_txt(SPF_dns_rr_t *rr, int idx, const char *p, size_t len)
{
	char	*t;
	int	 n, i;

	if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS)
		return -1;
	t = rr->rr[idx]->txt;
	if ((n = am_dns_txt_rdata(p, len, t)) == -1)
		return 1;			/* malformed: skip */
	/* a NUL inside: visible to the record check (3.1), not a cut */
	for (i = 0; i < n; i++)
		if (t[i] == '\0')
			t[i] = '\x01';
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

	/* a local failure, not a DNS one: the message's error (dns.h) */
	am_dns_budget_local(ls->budget, AM_DNS_LOCAL_MEMORY, ENOMEM);
	ls->spare = SPF_dns_rr_new_init(srv, "", ns_t_any, 0, TRY_AGAIN);
	if (rr == NULL)		/* two failures in a row: nothing left */
		rr = SPF_dns_rr_new_init(srv, "", ns_t_any, 0, TRY_AGAIN);
	return rr;
}

/* set_limit - note the first processing limit exceeded (4.6.4) */
static void
set_limit(struct layer_state *ls, const char *why)
{
	if (ls->limit == NULL)
		ls->limit = why;
}

/*
 * count_term - RFC 7208 4.6.4: a query that starts a DNS term (include,
 * redirect, a, mx, ptr, exists) counts; the first SPF record lookup and
 * the address lookups of the names an MX or PTR answer gave do not.
 * Returns 1 for the address lookup of a name a PTR answer gave, else 0.
 */
static int
count_term(struct layer_state *ls, const char *name, ns_type type)
{
	if (type == ns_t_a || type == ns_t_aaaa) {
		if (ls->pos < ls->npending &&
		    strcasecmp(ls->pending[ls->pos], name) == 0) {
			ls->pos++;		/* an MX or PTR host */
			return ls->pending_ptr;
		}
		ls->npending = ls->pos = 0;
	} else if (type == ns_t_txt && ls->ntxt++ == 0)
		return 0;			/* the record itself */
	if (++ls->nterms > AM_DNS_SPF_TERMS_MAX)
		set_limit(ls, "more than 10 DNS lookups");
	return 0;
}

/* note_hosts - remember the host names of an MX or PTR answer */
static void
note_hosts(struct layer_state *ls, SPF_dns_rr_t *rr, ns_type type)
{
	int	 i;

	ls->npending = ls->pos = 0;
	ls->pending_ptr = type == ns_t_ptr;
	if (type == ns_t_mx && rr->num_rr > AM_DNS_SPF_MX_MAX)
		set_limit(ls, "more than 10 MX names");
	/*
	 * 4.6.4: of more than 10 PTR names only 10 are looked at, without
	 * an error (libspf2 gives a permerror instead)
	 */
	if (type == ns_t_ptr && rr->num_rr > AM_DNS_SPF_PTR_MAX)
		rr->num_rr = AM_DNS_SPF_PTR_MAX;
	for (i = 0; i < rr->num_rr && i < PENDING_MAX; i++)
		am_fmt(ls->pending[ls->npending++], NAME_TEXT_MAX, "%s",
		    type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr);
}

/* exp_of - the exp= domain-spec of a valid record into buf, or 0 */
static int
exp_of(const char *rec, char *buf, size_t len)
{
	const char	*p;
	size_t		 n;

	for (p = rec; (p = strchr(p, ' ')) != NULL; ) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "exp=", 4) != 0)
			continue;
		n = strcspn(p + 4, " ");
		if (n >= len)
			return 0;
		memcpy(buf, p + 4, n);
		buf[n] = '\0';
		return 1;
	}
	return 0;
}

/* fix_record - check one TXT string; rewrite an SPF record for libspf2 */
static int
fix_record(struct layer_state *ls, SPF_dns_rr_t *rr, int i,
    const char *domain)
{
	char		 out[REC_MAX];
	const char	*rec = rr->rr[i]->txt, *why;
	struct am_dns_spf_exp *x = &ls->exps[ls->nexp];

	if (!am_spf_is_record(rec))
		return 0;			/* not an SPF record (4.5) */
	if ((why = am_spf_record_check(rec)) != NULL) {
		if (ls->syntax == NULL)
			ls->syntax = why;
		return 0;
	}
	if (ls->nexp < AM_DNS_SPF_EXP_MAX && exp_of(rec, x->spec,
	    sizeof(x->spec))) {
		am_fmt(x->domain, sizeof(x->domain), "%s", domain);
		ls->nexp++;
	}
	if (am_spf_record_rewrite(rec, ls->nexp - (ls->nexp > 0), out,
	    sizeof(out)) == -1)
		return 0;
	if (SPF_dns_rr_buf_realloc(rr, i, strlen(out) + 1) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[i]->txt, out, strlen(out) + 1);
	return 0;
}

/* fix_records - fix_record for every TXT string of an answer */
static int
fix_records(struct layer_state *ls, SPF_dns_rr_t *rr, const char *domain)
{
	int	 i;

	for (i = 0; i < rr->num_rr; i++)
		if (fix_record(ls, rr, i, domain) == -1)
			return -1;
	return 0;
}

/*
 * exp_marked - is this the TXT lookup of an exp= we rewrote?  Then note
 * which one (spf.c looks it up and expands it itself) and answer libspf2
 * with a placeholder.
 */
static SPF_dns_rr_t *
exp_marked(SPF_dns_server_t *srv, const char *domain, ns_type type)
{
	struct layer_state	*ls = state(srv);
	const char		*m;
	SPF_dns_rr_t		*rr;
	unsigned int		 idx;

	if (type != ns_t_txt || (m = strstr(domain, "." AM_SPF_EXP_MARK)) ==
	    NULL || sscanf(m + sizeof(AM_SPF_EXP_MARK), "%u", &idx) != 1)
		return NULL;
	ls->exp_asked = (int)idx + 1;
	rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS);
	if (rr == NULL)
		return out_of_memory(srv);
	if (SPF_dns_rr_buf_realloc(rr, 0, 2) != SPF_E_SUCCESS) {
		SPF_dns_rr_free(rr);
		return out_of_memory(srv);
	}
	memcpy(rr->rr[0]->txt, "-", 2);
	rr->num_rr = 1;
	return rr;
}

/* any_marker - strip an AM_SPF_ANY* label; *fam: 4, 6 or 46, else 0 */
static const char *
any_marker(const char *domain, int *fam)
{
	static const struct { const char *m; int f; } mk[] = {
		{ AM_SPF_ANY46 ".", 46 }, { AM_SPF_ANY4 ".", 4 },
		{ AM_SPF_ANY6 ".", 6 },
	};
	size_t	 i, n;

	*fam = 0;
	for (i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		n = strlen(mk[i].m);
		if (strncasecmp(domain, mk[i].m, n) == 0) {
			*fam = mk[i].f;
			return domain + n;
		}
	}
	return domain;
}

/*
 * any_answer - a CIDR length of 0 (see spf_check.h): an address answer
 * for a marked name becomes the client address; MX host names keep the
 * marker so their address lookups come back here.
 */
static int
any_answer(struct layer_state *ls, SPF_dns_rr_t *rr, ns_type type, int fam,
    const char *marker, size_t mlen)
{
	char	 name[NAME_TEXT_MAX + 16];
	int	 i;

	if (rr->herrno != NETDB_SUCCESS || rr->num_rr == 0)
		return 0;
	if (type == ns_t_mx) {
		for (i = 0; i < rr->num_rr; i++) {
			am_fmt(name, sizeof(name), "%.*s%s", (int)mlen,
			    marker, rr->rr[i]->mx);
			if (SPF_dns_rr_buf_realloc(rr, i, strlen(name) + 1) !=
			    SPF_E_SUCCESS)
				return -1;
			memcpy(rr->rr[i]->mx, name, strlen(name) + 1);
		}
		return 0;
	}
	if ((type == ns_t_a && fam == 6) || (type == ns_t_aaaa && fam == 4))
		return 0;			/* that family keeps its CIDR */
	if ((type == ns_t_a) == (ls->client_v6 != 0))
		return 0;			/* client of the other family */
	rr->num_rr = 1;
	memcpy(rr->rr[0], ls->client, type == ns_t_a ? 4 : 16);
	return 0;
}

/*
 * am_dns_spf_answer - an am_dns outcome as the record libspf2 gets
 * (dns_spf_seam.h): records copied and checked, MX and PTR names noted,
 * limits noted; never NULL
 */
SPF_dns_rr_t *
am_dns_spf_answer(SPF_dns_server_t *srv, const char *domain, ns_type type,
    enum am_dns_status st, const struct ub_result *res)
{
	struct layer_state	*ls = state(srv);
	SPF_dns_rr_t		*rr;
	const char		*real;
	int			 fam, i;

	real = any_marker(domain, &fam);
	if (st != AM_DNS_OK)
		res = NULL;
	rr = SPF_dns_rr_new_init(srv, domain, type,
	    res != NULL ? res->ttl : 0, herrno_of(st));
	if (rr != NULL && res != NULL && (fill(rr, res, type) == -1 ||
	    (fam != 0 && any_answer(ls, rr, type, fam, domain,
	    (size_t)(real - domain)) == -1) ||
	    (type == ns_t_txt && fix_records(ls, rr, real) == -1))) {
		SPF_dns_rr_free(rr);
		rr = NULL;
	}
	if (rr != NULL && (type == ns_t_mx || type == ns_t_ptr))
		note_hosts(ls, rr, type);
	for (i = 0; rr != NULL && type == ns_t_txt && i < rr->num_rr; i++)
		/* libspf2 evaluates only the first 64, then says neutral */
		if (am_spf_record_mechanisms(rr->rr[i]->txt) >
		    AM_DNS_SPF_LIB_MECH_MAX)
			set_limit(ls, "more mechanisms than libspf2 evaluates (64)");
	return rr != NULL ? rr : out_of_memory(srv);
}

/* lookup - SPF_dns_lookup_t: one question through am_dns */
static SPF_dns_rr_t *
lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int cache)
{
	struct layer_state	*ls = state(srv);
	struct ub_result	*res = NULL;
	enum am_dns_status	 st;
	SPF_dns_rr_t		*rr;
	const char		*real;
	int			 fam, ptr_host = 0;

	(void)cache;
	if ((rr = exp_marked(srv, domain, type)) != NULL)
		return rr;
	real = any_marker(domain, &fam);
	if (type != ns_t_spf)
		ptr_host = count_term(ls, domain, type);
	if (type == ns_t_spf)			/* RFC 7208 3.1: never asked */
		st = AM_DNS_NODATA;
	else if (counts_void(type) && ls->nvoid > AM_DNS_SPF_VOID_MAX)
		st = AM_DNS_NXDOMAIN;		/* already permerror */
	else
		st = am_dns_query(ls->dns, ls->budget, real, (int)type, &res);
	if (counts_void(type) && st != AM_DNS_OK && st != AM_DNS_TEMP &&
	    ls->nvoid <= AM_DNS_SPF_VOID_MAX)
		ls->nvoid++;
	/*
	 * RFC 7208 5.5: "If a DNS error occurs while doing an A RR lookup,
	 * then that domain name is skipped and the search continues" (also
	 * for %{p}, 7.3).  libspf2 makes it a temperror; a name that cannot
	 * be validated is a name without addresses.  Not a void lookup.  A
	 * message whose DNS budget ran out (or that met a local failure)
	 * stays a temperror.
	 */
	if (ptr_host && st == AM_DNS_TEMP && (ls->budget == NULL ||
	    (ls->budget->exhausted == 0 && ls->budget->local_what == NULL)))
		st = AM_DNS_NXDOMAIN;
	rr = am_dns_spf_answer(srv, domain, type, st, res);
	am_dns_result_free(res);
	return rr;
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

/* am_dns_spf_reset - new check: counts, flags and notes cleared */
void
am_dns_spf_reset(SPF_dns_server_t *srv, struct am_dns_budget *b, int v6,
    const unsigned char *addr)
{
	struct layer_state	*ls = state(srv);

	ls->budget = b;
	ls->nvoid = ls->nterms = ls->ntxt = 0;
	ls->syntax = ls->limit = NULL;
	ls->npending = ls->pos = 0;
	ls->nexp = 0;
	ls->exp_asked = 0;
	ls->client_v6 = v6;
	memset(ls->client, 0, sizeof(ls->client));
	if (addr != NULL)
		memcpy(ls->client, addr, v6 ? 16 : 4);
}

/* am_dns_spf_voids - void lookups since the last reset */
unsigned int
am_dns_spf_voids(const SPF_dns_server_t *srv)
{
	return state(srv)->nvoid;
}

/* am_dns_spf_syntax - the first record syntax error, or NULL */
const char *
am_dns_spf_syntax(const SPF_dns_server_t *srv)
{
	return state(srv)->syntax;
}

/* am_dns_spf_limit - the first processing limit exceeded, or NULL */
const char *
am_dns_spf_limit(const SPF_dns_server_t *srv)
{
	return state(srv)->limit;
}

/* am_dns_spf_exp - the exp= libspf2 asked for, or NULL */
const struct am_dns_spf_exp *
am_dns_spf_exp(const SPF_dns_server_t *srv)
{
	const struct layer_state *ls = state(srv);

	if (ls->exp_asked <= 0 || (unsigned int)ls->exp_asked > ls->nexp)
		return NULL;
	return &ls->exps[ls->exp_asked - 1];
}
