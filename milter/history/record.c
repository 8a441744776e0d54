/*
 * record.c - one history record from a message's results and verdict
 * (record.h).  Pure.
 */
#include <stdio.h>
#include <string.h>

#include "common/fmt.h"
#include "history/record.h"

/* copy - printable ASCII, lower-cased if asked; cut to fit */
static void
copy(char *out, size_t outlen, const char *in, int lower)
{
	size_t	 i;
	char	 c;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outlen; i++) {
		c = in[i];
		if (c < 0x20 || c > 0x7e)
			c = '?';
		else if (lower && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		out[i] = c;
	}
	out[i] = '\0';
}

/* domain_of - the domain of an address ("" for none) */
static const char *
domain_of(const char *addr)
{
	const char	*at;

	if (addr == NULL || (at = strrchr(addr, '@')) == NULL)
		return "";
	return at + 1;
}

/* am_hist_rcpt_domain - record.h */
void
am_hist_rcpt_domain(const char *addr, char *out, size_t outlen)
{
	const char	*dom;
	size_t		 n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if ((dom = domain_of(addr))[0] == '\0')
		return;
	n = strcspn(dom, ">");		/* "<u@d>": the closing bracket */
	if (n > AM_DOMAIN_MAX || n + 1 > outlen)
		return;
	memcpy(out, dom, n);
	out[n] = '\0';
	copy(out, n + 1, out, 1);	/* printable, lower case */
}

/* am_hist_wanted - schema13's last paragraph */
int
am_hist_wanted(const struct am_hist_in *in)
{
	const struct am_dmarc_res	*d = &in->res->dmarc;

	if (in->exempt || in->action == AM_ACT_TEMPFAIL)
		return 0;
	if (d->policy_domain[0] == '\0')
		return 0;		/* no record found */
	return d->result == AM_DMARC_PASS || d->result == AM_DMARC_FAIL ||
	    d->result == AM_DMARC_TEMPERROR || d->result == AM_DMARC_PERMERROR;
}

/* disposition - RFC 9990 ActionDispositionType of what was done */
static const char *
disposition(enum am_action a)
{
	return a == AM_ACT_REJECT ? "reject" :
	    a == AM_ACT_QUARANTINE ? "quarantine" : "none";
}

/* stronger - the record asked for more than was done */
static int
stronger(enum am_dmarc_policy asked, enum am_action done)
{
	if (asked == AM_DMARC_P_REJECT)
		return done != AM_ACT_REJECT;
	if (asked == AM_DMARC_P_QUARANTINE)
		return done == AM_ACT_ACCEPT;
	return 0;
}

/* override - RFC 9990 PolicyOverrideType for the record, and a comment */
static void
override(const struct am_hist_in *in, struct am_hist_rec *r)
{
	const struct am_dmarc_res	*d = &in->res->dmarc;

	r->override = "";
	r->override_comment[0] = '\0';
	if (d->override != AM_OVR_NONE) {
		r->override = am_override_str(d->override);
		copy(r->override_comment, sizeof(r->override_comment),
		    d->override_by, 0);
		return;
	}
	if (d->result != AM_DMARC_FAIL || !stronger(d->policy, in->action))
		return;
	if (d->testing) {
		r->override = am_override_str(AM_OVR_POLICY_TEST_MODE);
		copy(r->override_comment, sizeof(r->override_comment), "t=y", 0);
	} else if (d->pct < 100) {
		r->override = am_override_str(AM_OVR_OTHER);
		am_fmt(r->override_comment, sizeof(r->override_comment),
		    "pct=%d sampling", d->pct);
	} else {
		r->override = am_override_str(AM_OVR_LOCAL_POLICY);
		copy(r->override_comment, sizeof(r->override_comment),
		    in->why != NULL ? in->why : "local configuration", 0);
	}
}

/* spf - RFC 9990: the MAIL FROM identity, the HELO one for a null sender */
static void
spf(const struct am_results *res, struct am_hist_rec *r)
{
	const struct am_spf_check	*c = &res->spf_mailfrom;

	r->spf_scope = "mfrom";
	if (!c->checked || c->domain[0] == '\0') {
		c = &res->spf_helo;
		r->spf_scope = "helo";
	}
	copy(r->spf_domain, sizeof(r->spf_domain), c->domain, 1);
	r->spf_result = am_spf_result_str(c->checked ? c->result : AM_SPF_NONE);
}

/* dkim - one line per signature, in header order, whole lines that fit */
static void
dkim(const struct am_results *res, struct am_hist_rec *r)
{
	char	 line[AM_DOMAIN_MAX + AM_SELECTOR_MAX + 32];
	char	 dom[AM_DOMAIN_MAX + 1], sel[AM_SELECTOR_MAX + 1];
	size_t	 i, len = 0, n;

	r->dkim[0] = '\0';
	for (i = 0; i < res->ndkim && i < AM_DKIM_SIGS_MAX; i++) {
		copy(dom, sizeof(dom), res->dkim[i].domain, 1);
		copy(sel, sizeof(sel), res->dkim[i].selector, 0);
		n = (size_t)am_fmt(line, sizeof(line), "%s %s %s\n",
		    dom[0] ? dom : "-", sel[0] ? sel : "-",
		    am_dkim_result_str(res->dkim[i].result));
		if (len + n >= sizeof(r->dkim))
			break;
		memcpy(r->dkim + len, line, n + 1);
		len += n;
	}
}

/* am_hist_build - the am_message row of a wanted message */
void
am_hist_build(const struct am_hist_in *in, struct am_hist_rec *r)
{
	const struct am_dmarc_res	*d = &in->res->dmarc;

	memset(r, 0, sizeof(*r));
	r->t = in->t;
	copy(r->reporter, sizeof(r->reporter), in->reporter, 0);
	copy(r->source_ip, sizeof(r->source_ip), in->source_ip, 0);
	copy(r->env_from, sizeof(r->env_from), domain_of(in->mailfrom), 1);
	copy(r->env_to, sizeof(r->env_to), in->rcpt, 1);
	copy(r->header_from, sizeof(r->header_from), d->from_domain, 1);
	copy(r->policy_domain, sizeof(r->policy_domain), d->policy_domain, 1);
	copy(r->org_domain, sizeof(r->org_domain), d->org_domain, 1);
	r->pub = d->pub;
	copy(r->pub.fo, sizeof(r->pub.fo), d->pub.fo, 0);
	copy(r->pub.rua, sizeof(r->pub.rua), d->pub.rua, 0);
	copy(r->pub.ruf, sizeof(r->pub.ruf), d->pub.ruf, 0);
	r->testing = d->testing ? 'y' : 'n';
	r->pct = d->pct;
	copy(r->policy_tag, sizeof(r->policy_tag), d->policy_tag, 0);
	r->dmarc_result = am_dmarc_result_str(d->result);
	r->dkim_aligned = d->dkim_aligned != 0;
	r->spf_aligned = d->spf_aligned != 0;
	r->disposition = disposition(in->action);
	override(in, r);
	spf(in->res, r);
	dkim(in->res, r);
}

/* texts - r's texts in enum am_hist_text order */
static void
texts(const struct am_hist_rec *r, const char *t[AM_HT_N])
{
	t[AM_HT_REPORTER] = r->reporter;
	t[AM_HT_SOURCE_IP] = r->source_ip;
	t[AM_HT_ENV_FROM] = r->env_from;
	t[AM_HT_ENV_TO] = r->env_to;
	t[AM_HT_HEADER_FROM] = r->header_from;
	t[AM_HT_POLICY_DOMAIN] = r->policy_domain;
	t[AM_HT_ORG_DOMAIN] = r->org_domain;
	t[AM_HT_DISCOVERY] = r->pub.discovery;
	t[AM_HT_P] = r->pub.p;
	t[AM_HT_SP] = r->pub.sp;
	t[AM_HT_NP] = r->pub.np;
	t[AM_HT_FO] = r->pub.fo;
	t[AM_HT_RUA] = r->pub.rua;
	t[AM_HT_RUF] = r->pub.ruf;
	t[AM_HT_POLICY_TAG] = r->policy_tag;
	t[AM_HT_OVERRIDE_COMMENT] = r->override_comment;
	t[AM_HT_SPF_DOMAIN] = r->spf_domain;
	t[AM_HT_DKIM] = r->dkim;
}

/*
 * am_hist_pack - record.h.  Every text of r is NUL-terminated within its
 * array (copy() above), so their sum stays far below USHRT_MAX.
 */
size_t
am_hist_pack(const struct am_hist_rec *r, struct am_hist_packed *out,
    size_t outlen)
{
	const char	*t[AM_HT_N];
	size_t		 len[AM_HT_N], need = AM_HIST_PACKED_HEAD, pos = 0;
	int		 i;

	texts(r, t);
	for (i = 0; i < AM_HT_N; i++) {
		len[i] = strlen(t[i]) + 1;
		need += len[i];
	}
	if (out == NULL || need > outlen)
		return need;
	out->next = NULL;
	out->t = r->t;
	out->pct = r->pct;
	out->dkim_aligned = r->dkim_aligned;
	out->spf_aligned = r->spf_aligned;
	out->adkim = r->pub.adkim;
	out->aspf = r->pub.aspf;
	out->psd = r->pub.psd;
	out->testing = r->testing;
	out->dmarc_result = r->dmarc_result;
	out->disposition = r->disposition;
	out->override = r->override;
	out->spf_scope = r->spf_scope;
	out->spf_result = r->spf_result;
	for (i = 0; i < AM_HT_N; i++) {
		out->off[i] = (unsigned short)pos;
		memcpy(out->text + pos, t[i], len[i]);
		pos += len[i];
	}
	return need;
}

/* am_hist_text - record.h */
const char *
am_hist_text(const struct am_hist_packed *p, enum am_hist_text k)
{
	return p->text + p->off[k];
}
