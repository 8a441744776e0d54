/*
 * iprev.c - the iprev check (RFC 8601 section 3): PTR names of the
 * client, confirmed by forward look-ups (iprev.h says what each result
 * means and where the limits are).
 *
 * The decision (am_iprev_decide) is pure and takes the answers as values;
 * the look-ups below only gather them.  RFC 8601 3 leaves how many names
 * to check to us: AM_IPREV_NAMES_MAX, like authentication_milter's and
 * Postfix's reject_unknown_reverse_client_hostname (which checks one).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "common/fmt.h"
#include "message/iprev.h"

#define RR_A		1
#define RR_PTR		12
#define RR_AAAA		28

struct am_iprev {
	struct am_dns		*dns;
	struct am_dns_budget	 b;		/* its pointer lives in the queries */
	struct sockaddr_storage	 client;
	char			 addr[64];
	char			 revname[AM_IPREV_REVNAME_MAX];
	struct am_dns_query	*ptr;		/* NULL when not asked */
	struct am_dns_query	*fwd[AM_IPREV_NAMES_MAX];
	int			 forwarded;	/* am_iprev_forward ran */
	struct am_iprev_answers	 ans;
};

/* am_iprev_revname - RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa */
int
am_iprev_revname(const struct sockaddr *sa, char *out, size_t outlen)
{
	const unsigned char	*a;
	size_t			 o = 0;
	int			 i, n;

	if (sa == NULL || outlen < AM_IPREV_REVNAME_MAX)
		return -1;
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		am_fmt(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	for (i = 15; i >= 0; i--) {
		n = am_fmt(out + o, outlen - o, "%x.%x.", a[i] & 0xf,
		    a[i] >> 4);
		o += (size_t)n;
	}
	am_fmt(out + o, outlen - o, "ip6.arpa");
	return 0;
}

/* label_char - what a name we ask may hold (RFC 1123 2.1, and '_') */
static int
label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* am_iprev_ptr_name - RFC 1035 3.3.12 PTRDNAME, wire form to text */
int
am_iprev_ptr_name(const unsigned char *rdata, size_t len, char *out,
    size_t outlen)
{
	size_t	 i = 0, o = 0, n, k;

	if (outlen == 0)
		return -1;
	while (i < len && rdata[i] != 0) {
		n = rdata[i++];
		/* RFC 1035 4.1.4: a pointer (or a reserved form) is no label */
		if (n > 63 || n > len - i || o + n + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < n; k++) {
			if (!label_char(rdata[i + k]))
				return -1;
			out[o++] = (char)(rdata[i + k] | (rdata[i + k] >= 'A' &&
			    rdata[i + k] <= 'Z' ? 0x20 : 0));
		}
		i += n;
	}
	if (i >= len || o == 0 || o > AM_DOMAIN_MAX)	/* no root label, or "." */
		return -1;
	out[o] = '\0';
	return 0;
}

/* set - fill the result */
static void
set(struct am_iprev_res *out, enum am_iprev_result r, const char *name,
    const char *reason)
{
	out->result = r;
	am_fmt(out->name, sizeof(out->name), "%s", name ? name : "");
	am_fmt(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
}

/* decide_ptr - the PTR answer alone: 1 when names are to be confirmed */
static int
decide_ptr(const struct am_iprev_answers *a, struct am_iprev_res *out)
{
	char	 why[AM_REASON_MAX];

	switch (a->ptr_status) {
	case AM_DNS_OK:
		break;
	case AM_DNS_NXDOMAIN:
	case AM_DNS_NODATA:
		am_fmt(why, sizeof(why), "no PTR record for %s", a->addr);
		set(out, AM_IPREV_FAIL, NULL, why);
		return 0;
	case AM_DNS_TEMP:
		am_fmt(why, sizeof(why), "PTR look-up for %.64s: %.60s", a->addr,
		    a->ptr_why ? a->ptr_why : "temporary DNS error");
		set(out, AM_IPREV_TEMPERROR, NULL, why);
		return 0;
	case AM_DNS_PERM:
	default:
		am_fmt(why, sizeof(why), "PTR look-up for %s: bad answer",
		    a->addr);
		set(out, AM_IPREV_PERMERROR, NULL, why);
		return 0;
	}
	if (a->nptr == 0) {	/* an answer with no PTR in it */
		am_fmt(why, sizeof(why), "no PTR record for %s", a->addr);
		set(out, AM_IPREV_FAIL, NULL, why);
		return 0;
	}
	if (a->nnames == 0) {	/* PTR records, none a name we can ask */
		am_fmt(why, sizeof(why), "PTR record for %s is no host name",
		    a->addr);
		set(out, AM_IPREV_PERMERROR, NULL, why);
		return 0;
	}
	return 1;
}

/*
 * am_iprev_decide - RFC 8601 3: pass when one name resolves back; a
 * temporary error on a name that might have is temperror, not fail
 */
void
am_iprev_decide(const struct am_iprev_answers *a, struct am_iprev_res *out)
{
	const struct am_iprev_name	*temp = NULL, *perm = NULL;
	char				 why[AM_REASON_MAX];
	size_t				 i;

	memset(out, 0, sizeof(*out));
	if (!decide_ptr(a, out))
		return;
	for (i = 0; i < a->nnames; i++) {
		if (a->names[i].match) {
			set(out, AM_IPREV_PASS, a->names[i].name, NULL);
			return;
		}
		if (a->names[i].status == AM_DNS_TEMP && temp == NULL)
			temp = &a->names[i];
		if (a->names[i].status == AM_DNS_PERM && perm == NULL)
			perm = &a->names[i];
	}
	if (temp != NULL) {
		am_fmt(why, sizeof(why), "look-up of %.100s: %.40s", temp->name,
		    temp->why ? temp->why : "temporary DNS error");
		set(out, AM_IPREV_TEMPERROR, temp->name, why);
	} else if (perm != NULL) {
		am_fmt(why, sizeof(why), "look-up of %.100s: bad answer",
		    perm->name);
		set(out, AM_IPREV_PERMERROR, perm->name, why);
	} else {
		am_fmt(why, sizeof(why), "%.60s does not resolve to %.45s%.29s",
		    a->names[0].name, a->addr, a->nnames > 1 ?
		    " (nor do the other PTR names)" : "");
		set(out, AM_IPREV_FAIL, a->names[0].name, why);
	}
}

/* am_iprev_start - keep the client, send the PTR query */
struct am_iprev *
am_iprev_start(struct am_dns *dns, const struct sockaddr *client,
    const char *addr, const char *qid)
{
	struct am_iprev	*ip;

	if ((ip = calloc(1, sizeof(*ip))) == NULL)
		return NULL;
	ip->dns = dns;
	ip->b.qid = qid;
	am_fmt(ip->addr, sizeof(ip->addr), "%s", addr ? addr : "unknown");
	ip->ans.addr = ip->addr;
	ip->client.ss_family = AF_UNSPEC;
	if (client != NULL && (client->sa_family == AF_INET ||
	    client->sa_family == AF_INET6))
		memcpy(&ip->client, client, client->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	if (am_iprev_revname((const struct sockaddr *)&ip->client,
	    ip->revname, sizeof(ip->revname)) == -1)
		return ip;		/* permerror at finish */
	/* the deadline is set again at finish; one lookup here */
	am_dns_budget_arm(&ip->b, AM_DNS_IPREV_SECS, 1);
	ip->ptr = am_dns_query_start(dns, &ip->b, ip->revname, RR_PTR);
	if (ip->ptr == NULL)
		am_dns_budget_local(&ip->b, AM_DNS_LOCAL_MEMORY, ENOMEM);
	return ip;
}

/* take_ptr - the PTR answer's names, at most AM_IPREV_NAMES_MAX */
static void
take_ptr(struct am_iprev *ip, const struct ub_result *res)
{
	struct am_iprev_answers	*a = &ip->ans;
	struct am_iprev_name	*n;
	size_t			 i;

	for (i = 0; res->data != NULL && res->data[i] != NULL; i++) {
		a->nptr++;
		if (a->nnames >= AM_IPREV_NAMES_MAX)
			continue;	/* iprev.h: the first ones only */
		n = &a->names[a->nnames];
		if (am_iprev_ptr_name((const unsigned char *)res->data[i],
		    (size_t)res->len[i], n->name, sizeof(n->name)) == -1) {
			a->nbad++;
			continue;
		}
		a->nnames++;
	}
}

/* wait_ptr - the PTR answer, started at MAIL FROM */
static void
wait_ptr(struct am_iprev *ip)
{
	struct ub_result	*res = NULL;

	ip->ans.ptr_status = am_dns_query_wait(ip->ptr, 0, &res);
	if (ip->ans.ptr_status == AM_DNS_TEMP)
		ip->ans.ptr_why = am_dns_budget_temp_of(&ip->b, ip->revname);
	if (ip->ans.ptr_status == AM_DNS_OK && res != NULL)
		take_ptr(ip, res);
	am_dns_result_free(res);
}

/* match - does an A/AAAA answer hold the client's address? */
static int
match(const struct am_iprev *ip, const struct ub_result *res)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&ip->client;
	const void		*want;
	size_t			 wlen, i;

	if (sa->sa_family == AF_INET) {
		want = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		wlen = 4;
	} else {
		want = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
		wlen = 16;
	}
	for (i = 0; res->data != NULL && res->data[i] != NULL; i++)
		if ((size_t)res->len[i] == wlen &&
		    memcmp(res->data[i], want, wlen) == 0)
			return 1;
	return 0;
}

/* forward_start - every name's A or AAAA query, all at once */
static void
forward_start(struct am_iprev *ip)
{
	int	 rr = ip->client.ss_family == AF_INET ? RR_A : RR_AAAA;
	size_t	 i;

	for (i = 0; i < ip->ans.nnames; i++)
		ip->fwd[i] = am_dns_query_start(ip->dns, &ip->b,
		    ip->ans.names[i].name, rr);
}

/* forward_wait - each forward answer in turn, until one matches */
static void
forward_wait(struct am_iprev *ip)
{
	struct am_iprev_name	*n;
	struct ub_result	*res;
	size_t			 i;

	for (i = 0; i < ip->ans.nnames; i++) {
		n = &ip->ans.names[i];
		if (ip->fwd[i] == NULL) {
			n->status = AM_DNS_TEMP;
			am_dns_budget_local(&ip->b, AM_DNS_LOCAL_MEMORY, ENOMEM);
			continue;
		}
		res = NULL;
		n->status = am_dns_query_wait(ip->fwd[i], 0, &res);
		if (n->status == AM_DNS_TEMP)
			n->why = am_dns_budget_temp_of(&ip->b, n->name);
		n->match = n->status == AM_DNS_OK && res != NULL &&
		    match(ip, res);
		am_dns_result_free(res);
		if (n->match)
			break;		/* the others need not be waited for */
	}
}

/* am_iprev_forward - the PTR answer read, the forward queries sent */
void
am_iprev_forward(struct am_iprev *ip)
{
	if (ip->ptr == NULL || ip->forwarded)
		return;
	ip->forwarded = 1;
	/* a fresh deadline: the message took its own time since MAIL */
	am_dns_budget_arm(&ip->b, AM_DNS_IPREV_SECS, AM_IPREV_NAMES_MAX);
	wait_ptr(ip);
	if (ip->ans.ptr_status == AM_DNS_OK)
		forward_start(ip);
}

/* am_iprev_finish - the answers gathered, the result decided */
void
am_iprev_finish(struct am_iprev *ip, struct am_iprev_res *out)
{
	if (ip->ptr == NULL)
		ip->ans.ptr_status = ip->revname[0] == '\0' ? AM_DNS_PERM :
		    AM_DNS_TEMP;
	else {
		am_iprev_forward(ip);
		if (ip->ans.ptr_status == AM_DNS_OK)
			forward_wait(ip);
	}
	am_iprev_decide(&ip->ans, out);
	am_fmt(out->addr, sizeof(out->addr), "%.45s", ip->addr);
}

/* am_iprev_budget - see iprev.h */
const struct am_dns_budget *
am_iprev_budget(const struct am_iprev *ip)
{
	return &ip->b;
}

/* am_iprev_free - cancel what still runs */
void
am_iprev_free(struct am_iprev *ip)
{
	size_t	 i;

	if (ip == NULL)
		return;
	am_dns_query_done(ip->ptr);
	for (i = 0; i < AM_IPREV_NAMES_MAX; i++)
		am_dns_query_done(ip->fwd[i]);
	free(ip);
}
