/*
 * dns_log.c - the debug line of a finished query and the budget's last
 * temporary failure (dns_log.h).  At LogLevel info this costs one load
 * and, for a TEMP, one copy of the name.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <unbound.h>

#include "common/log.h"
#include "dns/dns.h"
#include "dns/dns_log.h"

#define RR_TXT			16
#define DNS_LOG_TXT_MAX		300	/* TXT text shown in a debug line */

/* am_dns_rcode_str - RFC 1035 4.1.1 / RFC 6895 2.3 names */
const char *
am_dns_rcode_str(int rcode)
{
	switch (rcode) {
	case 1:
		return "FORMERR";
	case 2:
		return "SERVFAIL";
	case 4:
		return "NOTIMP";
	case 5:
		return "REFUSED";
	default:
		return "unexpected rcode";
	}
}

/* type_str - the types the checks ask */
static const char *
type_str(int rrtype)
{
	switch (rrtype) {
	case 1:
		return "A";
	case 5:
		return "CNAME";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	default:
		return "?";
	}
}

/* first_txt - the first TXT record's text, shortened, into out */
static void
first_txt(const struct ub_result *r, char *out, size_t outlen)
{
	char	 buf[DNS_LOG_TXT_MAX + 256];

	out[0] = '\0';
	if (r == NULL || r->data == NULL || r->data[0] == NULL)
		return;
	if ((size_t)r->len[0] >= sizeof(buf) - 1) {
		snprintf(out, outlen, ": (a TXT record of %d bytes)", r->len[0]);
		return;
	}
	if (am_dns_txt_rdata(r->data[0], (size_t)r->len[0], buf) == -1)
		return;
	snprintf(out, outlen, ": \"%.*s%s\"", DNS_LOG_TXT_MAX, buf,
	    strlen(buf) > DNS_LOG_TXT_MAX ? "..." : "");
}

/* count - records in an answer */
static int
count(const struct ub_result *r)
{
	int	 n = 0;

	if (r != NULL && r->data != NULL)
		while (r->data[n] != NULL)
			n++;
	return n;
}

/* am_dns_note - see dns_log.h */
void
am_dns_note(struct am_dns_budget *b, const char *name, int rrtype,
    enum am_dns_status st, const char *why, const struct ub_result *r,
    int cached)
{
	char	 txt[DNS_LOG_TXT_MAX + 64];

	if (st == AM_DNS_TEMP && b != NULL) {
		why = why != NULL ? why : "temporary failure";
		snprintf(b->temp_name, sizeof(b->temp_name), "%s", name);
		b->temp_why = why;
		snprintf(b->temp_names[b->ntemp % AM_DNS_TEMP_KEEP],
		    AM_DNS_TEMP_NAME_MAX, "%s", name);
		b->temp_whys[b->ntemp++ % AM_DNS_TEMP_KEEP] = why;
	}
	if (!am_log_enabled(AM_LOG_DEBUG))
		return;
	txt[0] = '\0';
	if (st == AM_DNS_OK && rrtype == RR_TXT)
		first_txt(r, txt, sizeof(txt));
	if (st == AM_DNS_OK)
		am_log_debug(b ? b->qid : NULL, "dns: %s %s: %d record%s%s%s",
		    name, type_str(rrtype), count(r), count(r) == 1 ? "" : "s",
		    cached ? " (cached)" : "", txt);
	else
		am_log_debug(b ? b->qid : NULL, "dns: %s %s: %s%s%s%s", name,
		    type_str(rrtype), am_dns_status_str(st),
		    why != NULL ? " (" : "", why != NULL ? why : "",
		    why != NULL ? ")" : cached ? " (cached)" : "");
}

/* am_dns_budget_temp_of - see dns.h */
const char *
am_dns_budget_temp_of(const struct am_dns_budget *b, const char *name)
{
	unsigned int	 i, n;

	if (b == NULL)
		return NULL;
	n = b->ntemp < AM_DNS_TEMP_KEEP ? b->ntemp : AM_DNS_TEMP_KEEP;
	for (i = 0; i < n; i++)		/* newest first */
		if (strcasecmp(b->temp_names[(b->ntemp - 1 - i) %
		    AM_DNS_TEMP_KEEP], name) == 0)
			return b->temp_whys[(b->ntemp - 1 - i) %
			    AM_DNS_TEMP_KEEP];
	return NULL;
}

/* am_dns_budget_temp - see dns.h */
const char *
am_dns_budget_temp(const struct am_dns_budget *b, char *buf, size_t len)
{
	if (b == NULL || b->temp_name[0] == '\0' || len == 0)
		return NULL;
	snprintf(buf, len, "%s: %s", b->temp_name,
	    b->temp_why != NULL ? b->temp_why : "temporary failure");
	return buf;
}

/* am_dns_budget_merge_temp - earlier's failed queries, then b's */
void
am_dns_budget_merge_temp(struct am_dns_budget *b,
    const struct am_dns_budget *earlier)
{
	char		 names[2 * AM_DNS_TEMP_KEEP][AM_DNS_TEMP_NAME_MAX];
	const char	*whys[2 * AM_DNS_TEMP_KEEP];
	unsigned int	 n = 0, i, k, total;
	const struct am_dns_budget *src[2] = { earlier, b };

	if (earlier->ntemp == 0)
		return;
	/* oldest first: the kept entries of earlier, then those of b */
	for (i = 0; i < 2; i++) {
		k = src[i]->ntemp < AM_DNS_TEMP_KEEP ? src[i]->ntemp :
		    AM_DNS_TEMP_KEEP;
		for (; k > 0; k--, n++) {
			unsigned int j = (src[i]->ntemp - k) % AM_DNS_TEMP_KEEP;

			memcpy(names[n], src[i]->temp_names[j],
			    AM_DNS_TEMP_NAME_MAX);
			whys[n] = src[i]->temp_whys[j];
		}
	}
	total = earlier->ntemp + b->ntemp;
	k = n < AM_DNS_TEMP_KEEP ? n : AM_DNS_TEMP_KEEP;
	for (i = 0; i < k; i++) {
		unsigned int j = (total - k + i) % AM_DNS_TEMP_KEEP;

		memcpy(b->temp_names[j], names[n - k + i], AM_DNS_TEMP_NAME_MAX);
		b->temp_whys[j] = whys[n - k + i];
	}
	if (b->ntemp == 0) {
		memcpy(b->temp_name, earlier->temp_name, sizeof(b->temp_name));
		b->temp_why = earlier->temp_why;
	}
	b->ntemp = total;
}
