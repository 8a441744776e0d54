/*
 * freport.c - DMARC failure reports (RFC 9991): the fo= decision, the
 * AFRF mail (RFC 5965, RFC 6591, RFC 9991 4) and the rate limiter.
 * Pure (see freport.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "report/freport.h"

/* fo_token - one dmarc-fo option (RFC 9989 4.7), its bit or 0 */
static unsigned int
fo_token(const char *p, size_t len)
{
	if (len != 1)
		return 0;
	switch (tolower((unsigned char)*p)) {
	case '0': return AM_FREPORT_FO_0;
	case '1': return AM_FREPORT_FO_1;
	case 'd': return AM_FREPORT_FO_D;
	case 's': return AM_FREPORT_FO_S;
	}
	return 0;
}

/* am_freport_fo_parse - see freport.h */
unsigned int
am_freport_fo_parse(const char *fo)
{
	unsigned int	 bits = 0, b;
	const char	*p = fo, *e;
	size_t		 len;

	if (fo == NULL || *fo == '\0')
		return AM_FREPORT_FO_0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ':' && *e != ' ' && *e != '\t'; e++)
			;
		len = (size_t)(e - p);
		while (*e == ' ' || *e == '\t')
			e++;
		if ((b = fo_token(p, len)) == 0 || (bits & b) != 0)
			return AM_FREPORT_FO_0;
		bits |= b;
		if (*e == '\0')
			break;
		if (*e != ':')
			return AM_FREPORT_FO_0;
		p = e + 1;
	}
	/* "0" and "1" are mutually exclusive */
	if ((bits & AM_FREPORT_FO_0) && (bits & AM_FREPORT_FO_1))
		return AM_FREPORT_FO_0;
	return bits;
}

/* am_freport_kind_str - the Auth-Failure value (RFC 6591 3.1, RFC 9991 4) */
const char *
am_freport_kind_str(enum am_freport_kind k)
{
	switch (k) {
	case AM_FREPORT_DMARC:	return "dmarc";
	case AM_FREPORT_DKIM:	return "signature";
	case AM_FREPORT_SPF:	return "spf";
	case AM_FREPORT_NONE:	break;
	}
	return "none";
}

/* dkim_failed - fo=d: a signature that failed evaluation */
static int
dkim_failed(const struct am_results *r)
{
	size_t	 i;

	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX; i++)
		if (r->dkim[i].result == AM_DKIM_FAIL ||
		    r->dkim[i].result == AM_DKIM_PERMERROR)
			return 1;
	return 0;
}

/* am_freport_decide - see freport.h */
enum am_freport_kind
am_freport_decide(const struct am_results *r)
{
	const struct am_dmarc_res	*d = &r->dmarc;
	unsigned int			 fo;

	if ((d->result != AM_DMARC_PASS && d->result != AM_DMARC_FAIL) ||
	    d->policy_domain[0] == '\0' || d->pub.ruf[0] == '\0' || d->pub.psd == 'y')
		return AM_FREPORT_NONE;
	fo = am_freport_fo_parse(d->pub.fo);
	if ((fo & AM_FREPORT_FO_0) && !d->dkim_aligned && !d->spf_aligned)
		return AM_FREPORT_DMARC;
	if ((fo & AM_FREPORT_FO_1) && (!d->dkim_aligned || !d->spf_aligned))
		return AM_FREPORT_DMARC;
	if ((fo & AM_FREPORT_FO_D) && dkim_failed(r))
		return AM_FREPORT_DKIM;
	if ((fo & AM_FREPORT_FO_S) && r->spf_mailfrom.checked &&
	    (r->spf_mailfrom.result == AM_SPF_FAIL ||
	    r->spf_mailfrom.result == AM_SPF_PERMERROR))
		return AM_FREPORT_SPF;
	return AM_FREPORT_NONE;
}

/* am_freport_identity_alignment - see freport.h */
const char *
am_freport_identity_alignment(const struct am_dmarc_res *d)
{
	if (!d->dkim_aligned && !d->spf_aligned)
		return "dkim, spf";
	if (!d->dkim_aligned)
		return "dkim";
	if (!d->spf_aligned)
		return "spf";
	return "none";
}

/* am_freport_keep_header - see freport.h */
void
am_freport_keep_header(struct am_buf *b, const char *name, const char *value,
    int *cut)
{
	size_t		 need = strlen(name) + strlen(value) + 2;
	const char	*p;

	if (b->failed || b->len + need > b->cap) {
		*cut = 1;
		return;
	}
	am_buf_adds(b, name);
	am_buf_addc(b, ':');
	for (p = value; *p != '\0'; p++)
		if (*p != '\r')
			am_buf_addc(b, *p);
	am_buf_addc(b, '\n');
}

/* am_freport_date - see freport.h (no locale: RFC 5322 names) */
void
am_freport_date(time_t t, char *out, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* aligned - identifier id aligned with the author domain, relaxed */
static int
aligned(const struct am_dmarc_res *d, const char *id)
{
	size_t	 il = strlen(id), ol = strlen(d->org_domain);

	if (strcasecmp(id, d->from_domain) == 0)
		return 1;
	if (ol == 0 || il < ol || strcasecmp(id + il - ol, d->org_domain) != 0)
		return 0;
	return il == ol || id[il - ol - 1] == '.';
}

/*
 * clean - a value copied into a field: unfolded (CR and LF dropped, a tab
 * is a space), any other control or 8-bit byte a '?'
 */
static void
clean(struct am_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\r' || *v == '\n')
			continue;
		am_buf_addc(b, (*v >= ' ' && *v < 127) ? *v :
		    (*v == '\t' ? ' ' : '?'));
	}
}

/*
 * folded - our own A-R value, which may be long: its folds (LF or CRLF
 * then WSP, RFC 5322 2.2.3) kept as LF WSP, the rest cleaned
 */
static void
folded(struct am_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\r')
			continue;
		if (*v == '\n' && (v[1] == ' ' || v[1] == '\t'))
			am_buf_addc(b, '\n');
		else if (*v != '\n')
			am_buf_addc(b, (*v >= ' ' && *v < 127) || *v == '\t' ?
			    *v : '?');
	}
}

/* field - "Name: value\n", the value cleaned */
static void
field(struct am_buf *b, const char *name, const char *value)
{
	am_buf_addf(b, "%s: ", name);
	clean(b, value);
	am_buf_addc(b, '\n');
}

/* dkim_fields - RFC 9991 4: for a DKIM failure of an aligned identifier */
static void
dkim_fields(struct am_buf *b, const struct am_results *r)
{
	const struct am_dkim_sig	*k;
	size_t				 i;

	if (r->dmarc.dkim_aligned)
		return;
	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX; i++) {
		k = &r->dkim[i];
		if (k->result == AM_DKIM_PASS || k->domain[0] == '\0' ||
		    !aligned(&r->dmarc, k->domain))
			continue;
		field(b, "DKIM-Domain", k->domain);
		am_buf_adds(b, "DKIM-Identity: @");	/* i= default (RFC 6376 3.5) */
		clean(b, k->domain);
		am_buf_addc(b, '\n');
		field(b, "DKIM-Selector", k->selector);
		return;
	}
}

/* spf_fields - RFC 9991 4, RFC 6591 3.2: for an aligned SPF failure */
static void
spf_fields(struct am_buf *b, const struct am_freport_in *in)
{
	const struct am_spf_check	*s = &in->res->spf_mailfrom;

	if (in->res->dmarc.spf_aligned || !s->checked ||
	    s->result == AM_SPF_PASS || s->domain[0] == '\0' ||
	    !aligned(&in->res->dmarc, s->domain))
		return;
	am_buf_adds(b, "SPF-DNS: txt : ");
	clean(b, s->domain);
	am_buf_adds(b, " : ");
	clean(b, in->spf_record != NULL ? in->spf_record : "");
	am_buf_addc(b, '\n');
}

/* delivery_result - RFC 6591 3.1 Delivery-Result */
static const char *
delivery_result(enum am_action a)
{
	switch (a) {
	case AM_ACT_ACCEPT:	return "delivered";
	case AM_ACT_QUARANTINE:	return "policy";
	case AM_ACT_REJECT:	return "reject";
	case AM_ACT_TEMPFAIL:	break;
	}
	return "other";
}

/* top - the report mail's own header fields */
static void
top(struct am_buf *b, const struct am_freport_in *in, const char *date)
{
	field(b, "From", in->sender);
	field(b, "To", in->to);
	field(b, "Date", date);
	am_buf_adds(b, "Subject: DMARC failure report for ");
	clean(b, in->res->dmarc.from_domain);
	am_buf_adds(b, " from ");
	clean(b, in->source_ip);
	am_buf_addc(b, '\n');
	field(b, "Message-ID", in->message_id);
	am_buf_adds(b, "Auto-Submitted: auto-generated\n");	/* RFC 3834 */
	am_buf_adds(b, "MIME-Version: 1.0\n");
	am_buf_addf(b, "Content-Type: multipart/report; "
	    "report-type=feedback-report;\n\tboundary=\"%s\"\n\n", in->boundary);
	am_buf_adds(b, "This is a MIME-formatted DMARC failure report "
	    "(RFC 9991).\n\n");
}

/* text_part - the human-readable part */
static void
text_part(struct am_buf *b, const struct am_freport_in *in, const char *date)
{
	am_buf_addf(b, "--%s\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n\n", in->boundary);
	am_buf_adds(b, "This is an authentication failure report for an email "
	    "message received\nfrom IP ");
	clean(b, in->source_ip);
	am_buf_adds(b, " on ");
	clean(b, date);
	am_buf_adds(b, ".\nAuthor domain: ");
	clean(b, in->res->dmarc.from_domain);
	am_buf_adds(b, ", policy domain: ");
	clean(b, in->res->dmarc.policy_domain);
	am_buf_addf(b, ", DMARC result: %s.\n",
	    am_dmarc_result_str(in->res->dmarc.result));
	if (in->headers_cut)
		am_buf_adds(b, "Some header fields were left out (size limit).\n");
	if (in->body_cut)
		am_buf_adds(b, "The body was cut (size limit).\n");
	am_buf_addc(b, '\n');
}

/* feedback_part - the message/feedback-report part (RFC 5965 3.1) */
static void
feedback_part(struct am_buf *b, const struct am_freport_in *in,
    const char *date)
{
	am_buf_addf(b, "--%s\nContent-Type: message/feedback-report\n"
	    "Content-Transfer-Encoding: 7bit\n\n", in->boundary);
	am_buf_adds(b, "Feedback-Type: auth-failure\nVersion: 1\n");
	field(b, "User-Agent", in->user_agent);
	field(b, "Auth-Failure", am_freport_kind_str(in->kind));
	if (in->authres != NULL && *in->authres != '\0') {
		am_buf_adds(b, "Authentication-Results: ");
		folded(b, in->authres);
		am_buf_addc(b, '\n');
	}
	field(b, "Identity-Alignment",
	    am_freport_identity_alignment(&in->res->dmarc));
	dkim_fields(b, in->res);
	spf_fields(b, in);
	am_buf_adds(b, "Original-Mail-From: <");
	clean(b, in->mailfrom);
	am_buf_adds(b, ">\n");
	field(b, "Arrival-Date", date);
	field(b, "Source-IP", in->source_ip);
	field(b, "Reported-Domain", in->res->dmarc.from_domain);
	field(b, "Delivery-Result", delivery_result(in->action));
	am_buf_addc(b, '\n');
}

/* has_8bit - any byte over 127 */
static int
has_8bit(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] > 127)
			return 1;
	return 0;
}

/* message_part - the header fields, and the body when kept (RFC 6591 3.3) */
static void
message_part(struct am_buf *b, const struct am_freport_in *in)
{
	const char	*h = in->headers != NULL ? in->headers : "";
	size_t		 i;
	int		 eight = has_8bit(h, strlen(h)) ||
	    (in->body != NULL && has_8bit(in->body, in->body_len));

	am_buf_addf(b, "--%s\nContent-Type: %s\nContent-Transfer-Encoding: "
	    "%s\n\n", in->boundary, in->body != NULL ? "message/rfc822" :
	    "text/rfc822-headers", eight ? "8bit" : "7bit");
	am_buf_adds(b, h);
	if (in->body != NULL) {
		am_buf_addc(b, '\n');
		for (i = 0; i < in->body_len; i++)
			if (in->body[i] != '\r' && in->body[i] != '\0')
				am_buf_addc(b, in->body[i]);
		if (in->body_len > 0 && in->body[in->body_len - 1] != '\n')
			am_buf_addc(b, '\n');
	}
	am_buf_addf(b, "\n--%s--\n", in->boundary);
}

/* am_freport_compose - see freport.h */
int
am_freport_compose(const struct am_freport_in *in, struct am_buf *out)
{
	char	 date[64];

	am_freport_date(in->arrival, date, sizeof(date));
	top(out, in, date);
	text_part(out, in, date);
	feedback_part(out, in, date);
	message_part(out, in);
	return am_buf_failed(out) ? -1 : 0;
}

/* dom_slot - domain's slot, a free or expired one, or the oldest */
static struct am_freport_rate_dom *
dom_slot(struct am_freport_rate *r, const char *domain, long now)
{
	struct am_freport_rate_dom	*old = NULL;
	size_t				 i;

	for (i = 0; i < r->nd; i++)
		if (strcasecmp(r->d[i].domain, domain) == 0)
			return &r->d[i];
	if (r->nd < AM_FREPORT_RATE_DOMAINS)
		old = &r->d[r->nd++];
	else
		for (i = 0; i < r->nd; i++)
			if (old == NULL || r->d[i].start < old->start)
				old = &r->d[i];
	snprintf(old->domain, sizeof(old->domain), "%s", domain);
	old->start = now;
	old->n = 0;
	return old;
}

/* am_freport_rate_take - see freport.h */
int
am_freport_rate_take(struct am_freport_rate *r, const char *domain, long now,
    unsigned int global, unsigned int per_domain)
{
	struct am_freport_rate_dom	*d;

	if (r->n > 0 && now - r->start >= AM_FREPORT_RATE_WINDOW)
		r->n = 0;
	if (r->n >= global)
		return AM_FREPORT_RATE_GLOBAL;
	d = dom_slot(r, domain, now);
	if (d->n > 0 && now - d->start >= AM_FREPORT_RATE_WINDOW)
		d->n = 0;
	if (d->n >= per_domain)
		return AM_FREPORT_RATE_DOMAIN;
	if (r->n++ == 0)
		r->start = now;
	if (d->n++ == 0)
		d->start = now;
	return AM_FREPORT_RATE_OK;
}
