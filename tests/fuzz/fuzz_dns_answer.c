/*
 * fuzz_dns_answer.c - every function that takes what libunbound returns
 * (issue 15): a struct ub_result built from the input goes through
 *	am_dns_classify			dns_answer.c: (err, result) -> status
 *	am_dns_txt_split		dns_answer.c: TXT records joined
 *					 (SPF exp=, DMARC), then
 *					 am_dmarc_record_parse on each, as
 *					 dmarc.c's record fetch does
 *	am_dns_cache_put/get		dns_cache.c: the deep copy of an answer
 *	am_dns_spf_answer		dns_spf.c: the records libspf2 gets
 *					 (A, AAAA, MX, PTR, TXT + SPF record
 *					 check and rewrite)
 *	am_dns_spf_name			spf.c's validated PTR names
 *	am_dns_dkim_reply		dns_dkim.c: the reply libopendkim parses
 *
 * Input: 8 header bytes, then the answer packet, then rdata entries:
 *	0 qtype	(% 6: TXT, PTR, A, AAAA, MX, TXT under an AM_SPF_ANY46 label)
 *	1 rcode (low 4 bits); 0x10 havedata, 0x20 nxdomain, 0x40 bogus,
 *	  0x80 secure
 *	2 libunbound err (% 12, negated: UB_NOERROR .. UB_NOID)
 *	3 client address family for the SPF layer (even: v4, odd: v6)
 *	4 DKIM reply buffer size / 8 (0: 1 byte)
 *	5..6 answer packet length (big-endian, capped at what is left)
 *	7 TTL
 *	then the packet, then [len16][bytes] rdata entries until the input
 *	ends (a length past the end takes what is left), at most RDATA_MAX.
 * Each rdata and the packet live in their own exact-size allocation, so
 * ASan sees any read past them.  Properties: no crash, no leak, the DKIM
 * reply never longer than its buffer, a TXT string never longer than its
 * rdata.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <assert.h>

#include <opendkim/dkim.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <unbound.h>

#include "dkim/dns_dkim_seam.h"
#include "dmarc/record.h"
#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "dns/dns_seam.h"
#include "spf/dns_spf.h"
#include "spf/dns_spf_seam.h"
#include "spf/spf_check.h"
#include "fuzz.h"

#define HDR_LEN		8
#define RDATA_MAX	64

static const struct {
	ns_type		 type;
	const char	*domain;
} qtypes[] = {
	{ ns_t_txt, "example.org" },
	{ ns_t_ptr, "10.2.0.192.in-addr.arpa" },
	{ ns_t_a, "mail.example.org" },
	{ ns_t_aaaa, "mail.example.org" },
	{ ns_t_mx, "example.org" },
	{ ns_t_txt, AM_SPF_ANY46 ".example.org" },
};

/* take - the next n bytes of the input (fewer if it ends) */
static size_t
take(const uint8_t **p, size_t *left, size_t n)
{
	if (n > *left)
		n = *left;
	*p += n;
	*left -= n;
	return n;
}

/* dup_exact - an exact-size heap copy (1 byte for an empty one) */
static char *
dup_exact(const uint8_t *p, size_t n)
{
	char	*d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	memcpy(d, p, n);
	return d;
}

/* build - the ub_result the input describes; free with ub_resolve_free */
static struct ub_result *
build(const uint8_t *data, size_t size, int type, const char *qname)
{
	struct ub_result	*r;
	const uint8_t		*p = data + HDR_LEN;
	size_t			 left = size - HDR_LEN, plen, n, k = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->data = calloc(RDATA_MAX + 1, sizeof(char *))) == NULL ||
	    (r->len = calloc(RDATA_MAX + 1, sizeof(int))) == NULL ||
	    (r->qname = strdup(qname)) == NULL)
		abort();
	r->qtype = type;
	r->qclass = 1;
	r->rcode = data[1] & 0x0f;
	r->havedata = (data[1] & 0x10) != 0;
	r->nxdomain = (data[1] & 0x20) != 0;
	r->bogus = (data[1] & 0x40) != 0;
	r->secure = (data[1] & 0x80) != 0;
	r->ttl = data[7];
	plen = ((size_t)data[5] << 8) | data[6];
	n = take(&p, &left, plen);
	r->answer_packet = dup_exact(p - n, n);
	r->answer_len = (int)n;
	while (left > 0 && k < RDATA_MAX) {
		plen = (size_t)p[0] << 8;
		take(&p, &left, 1);
		if (left > 0) {
			plen |= p[0];
			take(&p, &left, 1);
		}
		n = take(&p, &left, plen);
		r->data[k] = dup_exact(p - n, n);
		r->len[k++] = (int)n;
	}
	return r;
}

/* txt_paths - TXT join, then the DMARC record parser on each string */
static void
txt_paths(const struct ub_result *r)
{
	struct am_dns_budget	 b = { 0 };
	struct am_dmarc_record	 rec;
	char			**txt;
	size_t			 ntxt, i;

	if (am_dns_txt_split(r, &b, &txt, &ntxt) != AM_DNS_OK)
		return;
	for (i = 0; i < ntxt; i++) {
		assert(strlen(txt[i]) <= (size_t)r->len[i]);
		(void)am_dmarc_record_parse(txt[i], &rec);
	}
	am_dns_txt_free(txt, ntxt);
}

/* cache_path - put the answer in a fresh cache and get a copy back */
static void
cache_path(const struct ub_result *r, enum am_dns_status st, int type)
{
	struct am_dns_cache	*c;
	struct ub_result	*got = NULL;
	enum am_dns_status	 gst;

	if ((c = am_dns_cache_new()) == NULL)
		return;
	am_dns_cache_put(c, r->qname, type, st, r);
	if (am_dns_cache_get(c, r->qname, type, &gst, &got) && got != NULL)
		txt_paths(got);
	am_dns_result_free(got);
	am_dns_cache_free(c);
}

/* spf_path - the records libspf2 would get, and PTR names as spf.c reads them */
static void
spf_path(const struct ub_result *r, enum am_dns_status st, int q, int v6)
{
	static const unsigned char addr[16] = { 192, 0, 2, 10 };
	SPF_dns_server_t	*srv;
	SPF_dns_rr_t		*rr;
	struct am_dns_budget	 b = { 0 };
	char			 name[256];
	size_t			 i;

	if ((srv = am_dns_spf_new(NULL)) == NULL)
		return;
	am_dns_spf_reset(srv, &b, v6, addr);
	rr = am_dns_spf_answer(srv, qtypes[q].domain, qtypes[q].type, st, r);
	assert(rr != NULL);
	/* no more records than rdata; none unless libunbound said OK */
	for (i = 0; r->data[i] != NULL; i++)
		continue;
	assert(rr->num_rr >= 0 && (size_t)rr->num_rr <= i);
	assert(st == AM_DNS_OK || rr->num_rr == 0);
	SPF_dns_rr_free(rr);
	for (i = 0; r->data[i] != NULL; i++)
		(void)am_dns_spf_name(r->data[i], (size_t)r->len[i], name,
		    sizeof(name));
	am_dns_spf_free(srv);
}

/* dkim_path - the reply packet libopendkim would parse */
static void
dkim_path(const struct ub_result *r, enum am_dns_status st, size_t buflen)
{
	unsigned char	*buf = malloc(buflen);
	size_t		 len = 0;
	int		 dnssec, rc;

	if (buf == NULL)
		abort();
	rc = am_dns_dkim_reply(buf, buflen, "sel._domainkey.example.org",
	    ns_t_txt, st, r, &len, &dnssec);
	assert(len <= buflen);
	assert(rc != DKIM_DNS_SUCCESS || len > 0);
	/* an answer that fits is handed over as it came */
	if (st == AM_DNS_OK && r->answer_len > 0 &&
	    (size_t)r->answer_len <= buflen) {
		assert(rc == DKIM_DNS_SUCCESS && len == (size_t)r->answer_len);
		assert(memcmp(buf, r->answer_packet, len) == 0);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ub_result	*r;
	enum am_dns_status	 st;
	int			 q, err;

	if (size < HDR_LEN)
		return 0;
	q = data[0] % (int)(sizeof(qtypes) / sizeof(qtypes[0]));
	err = -(int)(data[2] % 12);
	r = build(data, size, qtypes[q].type, qtypes[q].domain);
	st = am_dns_classify(err, r);
	assert(st >= AM_DNS_OK && st <= AM_DNS_PERM);
	(void)am_dns_ub_local(err);
	txt_paths(r);
	cache_path(r, st, qtypes[q].type);
	/* the status libunbound's flags give, and OK: every record path */
	spf_path(r, st, q, data[3] & 1);
	dkim_path(r, st, data[4] ? (size_t)data[4] * 8 : 1);
	if (st != AM_DNS_OK) {
		spf_path(r, AM_DNS_OK, q, data[3] & 1);
		dkim_path(r, AM_DNS_OK, data[4] ? (size_t)data[4] * 8 : 1);
	}
	ub_resolve_free(r);
	return 0;
}
