/*
 * policy.c - facts, results, the sticky error and the policy knobs in;
 * one verdict out.
 *
 * The order of questions:
 *	1. an internal error stuck to the message -> OnInternalError
 *	2. an exempt client (IgnoreHosts, authenticated) -> accept
 *	3. DMARC temperror -> OnTempError
 *	4. DMARC fail -> the policy that applies (p, sp or np), one step
 *	   milder under t=y (RFC 9989) or outside the pct sample (RFC 7489
 *	   6.6.4), or replaced by a local override (dmarc.override, issue
 *	   14), then RejectFailures and HoldQuarantinedMessages
 *	5. no DMARC record (dmarc=none), SPF fail for MAIL FROM and
 *	   RejectSPFFail (issue 14) -> reject, 550 5.7.23 (RFC 7372 3.2)
 *	6. anything else -> accept
 *	7. then a missing or unusable From (OnMissingFrom, OnMalformedFrom):
 *	   its action when stricter than the one above (accept < quarantine
 *	   < tempfail < reject), so a From we cannot read never softens a
 *	   DMARC failure of a From we can
 *
 * Pure: no I/O, no clock, no randomness; thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "message/policy.h"

#define DEFAULT_REJECT	"Rejected by DMARC policy for %{domain}"

/* what a DMARC failure comes to after the config has had its say */
enum outcome {
	OUT_REJECT,		/* 550 */
	OUT_REJECT_HOLD,	/* p=reject, RejectFailures off, held */
	OUT_REJECT_MARK,	/* p=reject, RejectFailures off, header only */
	OUT_QUAR_HOLD,		/* p=quarantine, held */
	OUT_QUAR_MARK,		/* p=quarantine, header only */
	OUT_NONE,		/* p=none */
	OUT_MAX
};

/* why a policy was applied one step milder */
enum milder {
	MILD_NO = 0,
	MILD_TESTING,		/* t=y */
	MILD_PCT,		/* pct sample outside pct= */
	MILD_OVERRIDE,		/* a local override (issue 14): d->override_policy */
	MILD_MAX
};

static const char *why_fail[MILD_MAX][OUT_MAX] = {
	[MILD_NO] = {
		"dmarc fail, p=reject",
		"dmarc fail, p=reject, RejectFailures off, held",
		"dmarc fail, p=reject, RejectFailures off, header only",
		"dmarc fail, p=quarantine",
		"dmarc fail, p=quarantine, header only",
		"dmarc fail, p=none",
	},
	[MILD_TESTING] = {
		"dmarc fail, t=y: as p=reject",
		"dmarc fail, t=y: as p=reject, RejectFailures off, held",
		"dmarc fail, t=y: as p=reject, RejectFailures off, header only",
		"dmarc fail, t=y: as p=quarantine",
		"dmarc fail, t=y: as p=quarantine, header only",
		"dmarc fail, t=y: as p=none",
	},
	[MILD_PCT] = {
		"dmarc fail, outside pct: as p=reject",
		"dmarc fail, outside pct: as p=reject, RejectFailures off, held",
		"dmarc fail, outside pct: as p=reject, RejectFailures off, header only",
		"dmarc fail, outside pct: as p=quarantine",
		"dmarc fail, outside pct: as p=quarantine, header only",
		"dmarc fail, outside pct: as p=none",
	},
	[MILD_OVERRIDE] = {
		"dmarc fail, local override: as p=reject",
		"dmarc fail, local override: as p=reject, RejectFailures off, held",
		"dmarc fail, local override: as p=reject, RejectFailures off, header only",
		"dmarc fail, local override: as p=quarantine",
		"dmarc fail, local override: as p=quarantine, header only",
		"dmarc fail, local override: as p=none",
	},
};

/* am_err_str - name of a sticky error, for the log */
const char *
am_err_str(enum am_err e)
{
	switch (e) {
	case AM_ERR_NONE:
		return "none";
	case AM_ERR_RESOURCE:
		return "resource";
	case AM_ERR_MILTER:
		return "milter";
	case AM_ERR_LIBRARY:
		return "library";
	case AM_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

/* am_policy_exempt - static reason the client skips checks, or NULL */
const char *
am_policy_exempt(const struct am_facts *f)
{
	if (f == NULL)
		return NULL;
	if (f->trusted_net)
		return "exempt: trusted network";
	if (f->authenticated)
		return "exempt: authenticated client";
	return NULL;
}

/* put - append c to out[*o] if it fits (one byte kept for the NUL) */
static void
put(char c, char *out, size_t outlen, size_t *o)
{
	unsigned char	 u = (unsigned char)c;

	/* RFC 5321 4.2: reply text is printable US-ASCII (and SP) */
	if (u < 0x20 || u >= 0x7f)
		return;
	if (*o + 1 < outlen)
		out[(*o)++] = c;
}

/* am_policy_expand - RejectString with %{domain} and %% expanded */
void
am_policy_expand(const char *tmpl, const char *domain, char *out,
    size_t outlen)
{
	size_t		 o = 0;
	const char	*d;

	if (outlen == 0)
		return;
	if (tmpl == NULL)
		tmpl = "";
	if (domain == NULL)
		domain = "";
	while (*tmpl != '\0') {
		if (strncmp(tmpl, "%{domain}", 9) == 0) {
			for (d = domain; *d != '\0'; d++)
				put(*d, out, outlen, &o);
			tmpl += 9;
		} else if (strncmp(tmpl, "%%", 2) == 0) {
			put('%', out, outlen, &o);
			tmpl += 2;
		} else
			put(*tmpl++, out, outlen, &o);
	}
	out[o] = '\0';
}

/* set_reply - fill the SMTP reply of a reject or tempfail verdict */
static void
set_reply(struct am_verdict *v, enum am_action a, const char *code,
    const char *xcode, const char *tmpl, const char *domain)
{
	v->action = a;
	snprintf(v->code, sizeof(v->code), "%s", code);
	snprintf(v->xcode, sizeof(v->xcode), "%s", xcode);
	am_policy_expand(tmpl, domain, v->text, sizeof(v->text));
}

/* milder - one step down: reject -> quarantine -> none */
static enum am_dmarc_policy
milder(enum am_dmarc_policy p)
{
	if (p == AM_DMARC_P_REJECT)
		return AM_DMARC_P_QUARANTINE;
	return AM_DMARC_P_NONE;
}

/* decide_fail - a DMARC failure under the policy that applies */
static void
decide_fail(const struct am_policy_conf *cfg, const struct am_facts *f,
    const struct am_dmarc_res *d, struct am_verdict *v)
{
	enum am_dmarc_policy	 p = d->policy;
	enum milder		 m = MILD_NO;
	enum outcome		 out;
	const char		*tmpl;

	if (d->override != AM_OVR_NONE) {	/* decided locally, as it is */
		m = MILD_OVERRIDE;
		p = d->override_policy;
	} else if (d->testing)		/* RFC 9989: t=y, one step milder */
		m = MILD_TESTING;
	else if (f->pct_sample >= d->pct)	/* RFC 7489 6.6.4 */
		m = MILD_PCT;
	if (m == MILD_TESTING || m == MILD_PCT)
		p = milder(p);

	if (p == AM_DMARC_P_REJECT && cfg->reject_failures) {
		tmpl = cfg->reject_string != NULL ? cfg->reject_string :
		    DEFAULT_REJECT;
		set_reply(v, AM_ACT_REJECT, "550", "5.7.26", tmpl,
		    d->from_domain);
		out = OUT_REJECT;
	} else if (p == AM_DMARC_P_REJECT)
		out = cfg->hold_quarantined ? OUT_REJECT_HOLD : OUT_REJECT_MARK;
	else if (p == AM_DMARC_P_QUARANTINE)
		out = cfg->hold_quarantined ? OUT_QUAR_HOLD : OUT_QUAR_MARK;
	else
		out = OUT_NONE;

	if (out == OUT_REJECT_HOLD || out == OUT_QUAR_HOLD)
		v->action = AM_ACT_QUARANTINE;
	v->why = why_fail[m][out];
}

/* strictness - accept < quarantine < tempfail < reject */
static int
strictness(enum am_action a)
{
	switch (a) {
	case AM_ACT_REJECT:
		return 3;
	case AM_ACT_TEMPFAIL:
		return 2;
	case AM_ACT_QUARANTINE:
		return 1;
	case AM_ACT_ACCEPT:
	default:
		return 0;
	}
}

/* [missing][accept, quarantine, reject]: the log's reason */
static const char *const why_from[2][3] = {
	{ "unusable From header, OnMalformedFrom accept",
	  "unusable From header, OnMalformedFrom quarantine",
	  "unusable From header, OnMalformedFrom reject" },
	{ "no From header, OnMissingFrom accept",
	  "no From header, OnMissingFrom quarantine",
	  "no From header, OnMissingFrom reject" },
};

/*
 * decide_from - RFC 5322 3.6 wants exactly one From, a mailbox-list: a
 * message without one we can read gets OnMissingFrom / OnMalformedFrom
 * unless the DMARC verdict is stricter (or as strict: its text stays).
 * DMARC itself says permerror there (no author domain to evaluate).
 */
static void
decide_from(const struct am_policy_conf *cfg, const struct am_facts *f,
    const struct am_results *r, struct am_verdict *v)
{
	int		 missing = f->from == AM_FROM_MISSING;
	enum am_action	 a = missing ? cfg->on_missing_from :
			    cfg->on_malformed_from;

	if (f->from == AM_FROM_OK || strictness(a) < strictness(v->action))
		return;
	/* a tie: DMARC's verdict and reason stay, but for its permerror */
	if (a == v->action && (a != AM_ACT_ACCEPT ||
	    r->dmarc.result == AM_DMARC_FAIL ||
	    r->dmarc.result == AM_DMARC_TEMPERROR))
		return;
	memset(v, 0, sizeof(*v));
	v->action = a;
	v->why = why_from[missing][a == AM_ACT_REJECT ? 2 :
	    a == AM_ACT_QUARANTINE ? 1 : 0];
	if (a == AM_ACT_REJECT)
		set_reply(v, a, "550", "5.7.1", missing ?
		    "Message has no From header (RFC 5322 section 3.6)" :
		    "Message From header is not a valid address "
		    "(RFC 5322 section 3.6.2)", NULL);
	else if (a == AM_ACT_QUARANTINE)
		snprintf(v->text, sizeof(v->text), "%s", missing ?
		    "no From header" : "unusable From header");
}

/*
 * decide_spf - RejectSPFFail: the MAIL FROM domain's SPF says fail ("-all"
 * means it) and no DMARC policy speaks for the From domain; RFC 7372 3.2
 * has the code for an SPF failure
 */
static void
decide_spf(const struct am_policy_conf *cfg, const struct am_results *r,
    struct am_verdict *v)
{
	if (!cfg->reject_spf_fail || !r->spf_mailfrom.checked ||
	    r->spf_mailfrom.result != AM_SPF_FAIL)
		return;
	set_reply(v, AM_ACT_REJECT, "550", "5.7.23", "SPF validation failed "
	    "for %{domain}", r->spf_mailfrom.domain);
	v->why = "spf fail, no dmarc policy, RejectSPFFail";
}

/* decide_dmarc - the verdict of the DMARC result alone */
static void
decide_dmarc(const struct am_policy_conf *cfg, const struct am_facts *f,
    const struct am_results *r, struct am_verdict *v)
{
	switch (r->dmarc.result) {
	case AM_DMARC_TEMPERROR:
		v->why = "dmarc temperror, accepted";
		if (cfg->on_temperror != AM_ACT_ACCEPT) {
			set_reply(v, AM_ACT_TEMPFAIL, "451", "4.4.3",
			    r->dmarc.from_domain[0] != '\0' ?
			    "Temporary DNS failure evaluating DMARC for "
			    "%{domain}, try again later" :
			    "Temporary DNS failure evaluating DMARC, "
			    "try again later", r->dmarc.from_domain);
			v->why = "dmarc temperror";
		}
		return;
	case AM_DMARC_FAIL:
		decide_fail(cfg, f, &r->dmarc, v);
		return;
	case AM_DMARC_PASS:
		v->why = "dmarc pass";
		return;
	case AM_DMARC_PERMERROR:
		v->why = "dmarc permerror";
		return;
	case AM_DMARC_NONE:
	default:
		v->why = "no dmarc policy";
		decide_spf(cfg, r, v);
		return;
	}
}

/* am_policy_decide - same inputs, same verdict */
void
am_policy_decide(const struct am_policy_conf *cfg, const struct am_facts *f,
    const struct am_results *r, enum am_err err, struct am_verdict *v)
{
	const char	*exempt;

	memset(v, 0, sizeof(*v));
	v->action = AM_ACT_ACCEPT;

	if (err != AM_ERR_NONE) {		/* never lose mail */
		v->why = "internal error, accepted";
		if (cfg->on_internal_error != AM_ACT_ACCEPT) {
			set_reply(v, AM_ACT_TEMPFAIL, "451", "4.3.0",
			    "Temporary internal error, try again later", NULL);
			v->why = "internal error";
		}
		return;
	}
	if ((exempt = am_policy_exempt(f)) != NULL) {
		v->why = exempt;
		return;
	}
	decide_dmarc(cfg, f, r, v);
	decide_from(cfg, f, r, v);
}
