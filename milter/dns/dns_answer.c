/*
 * dns_answer.c - what libunbound answers, as the checks want it: the
 * status class of a callback's (err, result), the TXT records joined
 * into strings, and the status names.  am_dns_classify and
 * am_dns_txt_split take libunbound's structures as they come and trust
 * no length in them (dns_seam.h, tests/fuzz/fuzz_dns_answer.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_int.h"
#include "dns/dns_seam.h"

/* am_dns_classify - libunbound's answer as an am_dns_status (dns_seam.h) */
enum am_dns_status
am_dns_classify(int err, const struct ub_result *r)
{
	if (err != 0 || r == NULL || r->bogus)
		return AM_DNS_TEMP;
	if (r->rcode == DNS_RCODE_NXDOMAIN)
		return AM_DNS_NXDOMAIN;
	if (r->rcode != DNS_RCODE_NOERROR)
		return AM_DNS_TEMP;	/* SERVFAIL, REFUSED, ... */
	return r->havedata ? AM_DNS_OK : AM_DNS_NODATA;
}

/* am_dns_result_free - free an answer handed over by a query */
void
am_dns_result_free(struct ub_result *r)
{
	if (r != NULL)
		ub_resolve_free(r);
}

/* am_dns_txt_rdata - one TXT rdata's character-strings joined into out */
int
am_dns_txt_rdata(const void *rdata, size_t len, char *out)
{
	const unsigned char	*p = rdata;
	char			*o = out;
	size_t			 n;

	for (; len > 0; p += n, len -= n) {
		n = *p++;
		len--;
		if (n > len)		/* string runs past the rdata */
			return -1;
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	return (int)(o - out);
}

/* txt_join - one TXT rdata as a malloc'd string in *out */
static enum am_dns_status
txt_join(const char *p, size_t len, char **out)
{
	if ((*out = malloc(len + 1)) == NULL)
		return AM_DNS_TEMP;
	if (am_dns_txt_rdata(p, len, *out) == -1) {
		free(*out);
		*out = NULL;
		return AM_DNS_PERM;
	}
	return AM_DNS_OK;
}

/*
 * am_dns_txt_split - every TXT record of r as a string (dns_seam.h).  A
 * negative length is malformed (libunbound never hands one over).
 */
enum am_dns_status
am_dns_txt_split(const struct ub_result *r, struct am_dns_budget *b,
    char ***txt, size_t *ntxt)
{
	char			**v;
	size_t			 i, n;
	enum am_dns_status	 st;

	*txt = NULL;
	*ntxt = 0;
	for (n = 0; r->data != NULL && r->data[n] != NULL; n++)
		continue;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		return AM_DNS_TEMP;
	}
	for (i = 0; i < n; i++) {
		st = r->len[i] < 0 ? AM_DNS_PERM :
		    txt_join(r->data[i], (size_t)r->len[i], &v[i]);
		if (st == AM_DNS_TEMP)
			am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		if (st != AM_DNS_OK) {
			am_dns_txt_free(v, i);
			return st;	/* malformed: PERM; ENOMEM: TEMP */
		}
	}
	*txt = v;
	*ntxt = n;
	return AM_DNS_OK;
}

/* am_dns_txt - TXT records of name, strings concatenated per record */
enum am_dns_status
am_dns_txt(struct am_dns *dns, struct am_dns_budget *b, const char *name,
    char ***txt, size_t *ntxt)
{
	struct ub_result	*r;
	enum am_dns_status	 st;

	*txt = NULL;
	*ntxt = 0;
	if ((st = am_dns_query(dns, b, name, 16, &r)) != AM_DNS_OK)
		return st;
	st = am_dns_txt_split(r, b, txt, ntxt);
	am_dns_result_free(r);
	return st;
}

/* am_dns_txt_free - free what am_dns_txt returned */
void
am_dns_txt_free(char **txt, size_t ntxt)
{
	size_t	 i;

	if (txt == NULL)
		return;
	for (i = 0; i < ntxt; i++)
		free(txt[i]);
	free(txt);
}

/* am_dns_status_str - "ok", "nxdomain", "nodata", "temp", "perm" */
const char *
am_dns_status_str(enum am_dns_status st)
{
	switch (st) {
	case AM_DNS_OK:
		return "ok";
	case AM_DNS_NXDOMAIN:
		return "nxdomain";
	case AM_DNS_NODATA:
		return "nodata";
	case AM_DNS_TEMP:
		return "temp";
	case AM_DNS_PERM:
		return "perm";
	}
	return "unknown";
}
