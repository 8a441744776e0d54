/*
 * authres.c - the Authentication-Results field value (RFC 8601).
 *
 * am_authres_build turns one message's results into our field value:
 *
 *	mx.example.net;
 *		spf=pass smtp.helo=mail.example.org;
 *		spf=fail reason="..." smtp.mailfrom=user@example.org;
 *		dkim=pass header.d=example.org header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh;
 *		dmarc=fail (p=reject dis=reject) header.from=example.org
 *
 * Values are written bare when RFC 2045 allows (a token, or for
 * smtp.mailfrom a local-part@domain, RFC 8601 section 2.2 pvalue), and as
 * a quoted-string otherwise.  Reasons (section 2.2 reasonspec) are always
 * quoted, printable ASCII only, and cut at AR_REASON_MAX characters.
 * Property values are printable ASCII too: a local part that is not (UTF-8,
 * a control character) leaves the domain alone (section 2.7.2), any other
 * such value leaves the property out.
 *
 * am_authres_is_ours answers section 5's question: does an existing field
 * claim our authserv-id (and so must go)?
 *
 * The am_*_result_str functions of results.h live here too: their text is
 * the RFC 8601 section 2.7 result keyword.
 *
 * Pure: no I/O, no allocation except through struct am_buf; thread-safe.
 */
#include <string.h>
#include <strings.h>

#include "message/authres.h"
#include "common/ascii.h"
#include "common/buf.h"
#include "message/rfc5322.h"

#define AR_REASON_MAX	100	/* characters of a reason we keep */
#define AR_ID_MAX	512	/* longest authserv-id we compare */
#define AR_COMMENT_MAX	32	/* nesting of comments we skip */

/* is_tchar - RFC 2045 5.1: any CHAR except SPACE, CTLs and tspecials */
static int
is_tchar(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* is_token - the whole string is one RFC 2045 token */
static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* is_domain_name - RFC 6376 3.5 domain-name: LDH labels joined by dots */
static int
is_domain_name(const char *s)
{
	size_t	 label = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-')
			label++;
		else
			return 0;
	}
	return label > 0;
}

/* is_mailbox - local-part@domain that RFC 8601 2.2 pvalue allows bare */
static int
is_mailbox(const char *s)
{
	const char	*at;

	if ((at = strrchr(s, '@')) == NULL)
		return 0;
	return am_ascii_dot_atom(s, (size_t)(at - s)) && is_domain_name(at + 1);
}

/*
 * add_quoted - RFC 5322 3.2.4 quoted-string; '"' and '\' become
 * quoted-pairs, controls (which no quoted-pair may carry) are dropped.
 * Bytes >= 0x80 stay: RFC 6532 3.2 allows UTF-8 in qtext.
 */
static void
add_quoted(struct am_buf *b, const char *s)
{
	unsigned char	 c;

	am_buf_addc(b, '"');
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, (char)c);
	}
	am_buf_addc(b, '"');
}

/* am_authres_add_value - RFC 2045 token bare, anything else quoted */
void
am_authres_add_value(struct am_buf *b, const char *value)
{
	if (value == NULL)
		value = "";
	if (is_token(value))
		am_buf_adds(b, value);
	else
		add_quoted(b, value);
}

/*
 * is_writable - RFC 8601 2.2: a pvalue is an RFC 2045 token or
 * quoted-string, ASCII only; strict parsers refuse UTF-8 in it even in an
 * RFC 6532 message.  A value that is not printable ASCII (a UTF-8 HELO
 * name, a U-label, a name with a control character) is left out of our
 * header rather than written as another name; the result and its reason
 * stay.
 */
static int
is_writable(const char *s)
{
	return am_ascii_printable(s, strlen(s));
}

/* add_prop - " ptype.property=value" when value is not empty and writable */
static void
add_prop(struct am_buf *b, const char *name, const char *value)
{
	if (value[0] == '\0' || !is_writable(value))
		return;
	am_buf_addf(b, " %s=", name);
	am_authres_add_value(b, value);
}

/*
 * add_mailbox_value - " smtp.mailfrom=...": user@domain bare when
 * RFC 8601 2.2 allows.  An SMTPUTF8 (RFC 6531) local part, or one with a
 * control character, is left out: RFC 8601 2.7.2 and RFC 7208 9.1 allow
 * the domain alone, and a pvalue is printable ASCII (see is_writable).  A
 * domain that is not either: no property.
 */
static void
add_mailbox_value(struct am_buf *b, const char *value)
{
	const char	*at = strrchr(value, '@');

	if (at != NULL && !am_ascii_printable(value, (size_t)(at - value)))
		value = at + 1;
	if (!is_mailbox(value)) {
		add_prop(b, "smtp.mailfrom", value);
		return;
	}
	am_buf_adds(b, " smtp.mailfrom=");
	am_buf_adds(b, value);
}

/*
 * add_reason - " reason=\"...\"" (RFC 8601 2.2 reasonspec) for a non-empty
 * reason: printable ASCII only, at most AR_REASON_MAX characters of it.
 */
static void
add_reason(struct am_buf *b, const char *reason)
{
	char		 clean[AR_REASON_MAX + 1];
	size_t		 n = 0;
	unsigned char	 c;

	for (; (c = (unsigned char)*reason) != '\0' && n < AR_REASON_MAX;
	    reason++)
		if (c >= 0x20 && c < 0x7f)
			clean[n++] = (char)c;
	clean[n] = '\0';
	if (n == 0)
		return;
	am_buf_adds(b, " reason=");
	add_quoted(b, clean);
}

/* add_spf - one "spf=" resinfo for the smtp.helo or smtp.mailfrom identity */
static void
add_spf(struct am_buf *b, const char *ptype, const struct am_spf_check *c)
{
	const char	*id;

	am_buf_addf(b, ";\n\tspf=%s", am_spf_result_str(c->result));
	if (c->result != AM_SPF_PASS)
		add_reason(b, c->reason);
	/* RFC 8601 2.7.2: the identity as checked; its domain if that is all */
	id = c->identity[0] != '\0' ? c->identity : c->domain;
	if (*id == '\0')
		return;
	if (strcmp(ptype, "mailfrom") == 0)
		add_mailbox_value(b, id);
	else
		add_prop(b, "smtp.helo", id);
}

/* add_dkim - one "dkim=" resinfo per signature (RFC 8601 2.7.1, RFC 6008) */
static void
add_dkim(struct am_buf *b, const struct am_dkim_sig *s)
{
	am_buf_addf(b, ";\n\tdkim=%s", am_dkim_result_str(s->result));
	if (s->result != AM_DKIM_PASS)
		add_reason(b, s->reason);
	add_prop(b, "header.d", s->domain);
	add_prop(b, "header.s", s->selector);
	add_prop(b, "header.a", s->algorithm);
	add_prop(b, "header.b", s->bprefix);
}

/*
 * add_iprev - "iprev=pass policy.iprev=192.0.2.1 (mail.example.org)"
 * (RFC 8601 3; 2.7.3 names policy.iprev the address checked).  An IPv6
 * address has ':', a tspecial, so it is quoted (2.2 pvalue: token or
 * quoted-string); the confirmed name goes in a comment.
 */
static void
add_iprev(struct am_buf *b, const struct am_iprev_res *ip)
{
	am_buf_addf(b, ";\n\tiprev=%s", am_iprev_result_str(ip->result));
	if (ip->result != AM_IPREV_PASS)
		add_reason(b, ip->reason);
	add_prop(b, "policy.iprev", ip->addr);
	if (ip->result == AM_IPREV_PASS && ip->name[0] != '\0' &&
	    is_domain_name(ip->name)) {
		am_buf_adds(b, " (");
		am_buf_adds(b, ip->name);
		am_buf_addc(b, ')');
	}
}

/* dis_str - the disposition for the dmarc comment: "none" when delivered */
static const char *
dis_str(enum am_action a)
{
	return a == AM_ACT_ACCEPT ? "none" : am_action_str(a);
}

/*
 * add_dmarc - the "dmarc=" resinfo.  The comment exists only when a record
 * was found: p= is the record's, sp=/np= the tag that applied instead.
 */
static void
add_dmarc(struct am_buf *b, const struct am_dmarc_res *d, enum am_action dis)
{
	am_buf_addf(b, ";\n\tdmarc=%s", am_dmarc_result_str(d->result));
	if (d->result != AM_DMARC_PASS)
		add_reason(b, d->reason);
	if (d->result != AM_DMARC_NONE && d->result != AM_DMARC_PERMERROR &&
	    d->p != AM_DMARC_P_UNSPEC) {
		am_buf_addf(b, " (p=%s dis=%s", am_dmarc_policy_str(d->p),
		    dis_str(dis));
		if (strcmp(d->policy_tag, "sp") == 0 ||
		    strcmp(d->policy_tag, "np") == 0)
			am_buf_addf(b, " %s=%s", d->policy_tag,
			    am_dmarc_policy_str(d->policy));
		if (d->testing)
			am_buf_adds(b, " t=y");
		if (d->override != AM_OVR_NONE)	/* why dis= is not p= */
			am_buf_addf(b, " override=%s",
			    am_override_str(d->override));
		am_buf_addc(b, ')');
	}
	add_prop(b, "header.from", d->from_domain);
}

/*
 * add_arc - "arc=none|pass|fail" (RFC 8617 10.1; none: the message has no
 * ARC sets): header.oldest-pass when an older AMS failed, smtp.remote-ip
 * of the first hop's AAR.
 */
static void
add_arc(struct am_buf *b, const struct am_arc_res *a)
{
	am_buf_addf(b, ";\n\tarc=%s", a->result == AM_ARC_PASS ? "pass" :
	    a->result == AM_ARC_FAIL ? "fail" : "none");
	if (a->result == AM_ARC_NONE)
		return;
	if (a->result != AM_ARC_PASS)
		add_reason(b, a->reason);
	if (a->oldest_pass > 0)
		am_buf_addf(b, " header.oldest-pass=%u", a->oldest_pass);
	add_prop(b, "smtp.remote-ip", a->remote_ip);
}

/* am_authres_build - RFC 8601 field value for one message's results */
int
am_authres_build(struct am_buf *b, const char *authserv_id,
    const struct am_results *r, enum am_action disposition)
{
	size_t	 i, n;

	if (authserv_id == NULL || *authserv_id == '\0') {
		b->failed = 1;		/* config guarantees one */
		return -1;
	}
	am_authres_add_value(b, authserv_id);
	if (r->iprev.result != AM_IPREV_NONE)
		add_iprev(b, &r->iprev);
	if (r->spf_helo.checked)
		add_spf(b, "helo", &r->spf_helo);
	if (r->spf_mailfrom.checked)
		add_spf(b, "mailfrom", &r->spf_mailfrom);
	n = r->ndkim < AM_DKIM_SIGS_MAX ? r->ndkim : AM_DKIM_SIGS_MAX;
	if (n == 0)
		am_buf_adds(b, ";\n\tdkim=none");
	for (i = 0; i < n; i++)
		add_dkim(b, &r->dkim[i]);
	add_arc(b, &r->arc);
	add_dmarc(b, &r->dmarc, disposition);
	return am_buf_failed(b) ? -1 : 0;
}

/* has_ctext - does s hold a visible character add_comment would keep? */
static int
has_ctext(const char *s)
{
	unsigned char	 c;

	for (; (c = (unsigned char)*s) != '\0'; s++)
		if (c >= 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\' &&
		    c != ' ')
			return 1;
	return 0;
}

/* add_comment - " (text)": printable ASCII but ( ) \, so no quoted-pairs */
static void
add_comment(struct am_buf *b, const char *s)
{
	unsigned char	 c;

	am_buf_adds(b, " (");
	for (; (c = (unsigned char)*s) != '\0'; s++)
		if (c >= 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\')
			am_buf_addc(b, (char)c);
	am_buf_addc(b, ')');
}

/* am_authres_build_none - "authserv-id; none (comment)" (RFC 8601 2.2) */
int
am_authres_build_none(struct am_buf *b, const char *authserv_id,
    const char *comment)
{
	if (authserv_id == NULL || *authserv_id == '\0') {
		b->failed = 1;
		return -1;
	}
	am_authres_add_value(b, authserv_id);
	am_buf_adds(b, "; none");
	if (comment != NULL && has_ctext(comment))
		add_comment(b, comment);
	return am_buf_failed(b) ? -1 : 0;
}

/*
 * skip_cfws - RFC 5322 3.2.2 CFWS, leniently: a bare LF counts as folding
 * (MTAs hand milters LF line ends).  NULL for an unclosed or too deeply
 * nested comment.
 */
static const char *
skip_cfws(const char *p)
{
	int	 depth;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		depth = 0;
		do {
			if (*p == '\0')
				return NULL;
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(' && ++depth > AR_COMMENT_MAX)
				return NULL;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0);
	}
}

/* id_len - length of an authserv-id without one final dot */
static size_t
id_len(const char *s, size_t n)
{
	return n > 1 && s[n - 1] == '.' ? n - 1 : n;
}

/*
 * id_equal - same authserv-id?  Case-insensitive (it is normally a domain,
 * RFC 8601 2.5), and "mx.example.net." is taken as "mx.example.net": a
 * reader that strips the dot would believe it, so it must go.
 */
static int
id_equal(const char *a, const char *ours)
{
	size_t	 na = id_len(a, strlen(a)), no = id_len(ours, strlen(ours));

	return na == no && strncasecmp(a, ours, no) == 0;
}

/* is_name_char - a character that continues a host name (no boundary) */
static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/*
 * mentions_id - is our id anywhere in value as a whole name (one final dot
 * allowed, as in id_equal)?  The boundary is tested first, so the scan
 * stays linear in the value's length whatever the id.
 */
static int
mentions_id(const char *value, const char *ours)
{
	size_t		 n = id_len(ours, strlen(ours));
	const char	*p, *end;

	for (p = value; *p != '\0'; p++) {
		if (p > value && is_name_char((unsigned char)p[-1]))
			continue;
		if (strncasecmp(p, ours, n) != 0)
			continue;
		end = p + n;
		if (*end == '.')
			end++;
		if (!is_name_char((unsigned char)*end))
			return 1;
	}
	return 0;
}

/* am_authres_is_ours - does this A-R value claim our authserv-id? */
int
am_authres_is_ours(const char *value, const char *authserv_id)
{
	char		 id[AR_ID_MAX];
	const char	*p;

	if (value == NULL || authserv_id == NULL || *authserv_id == '\0')
		return 0;
	if (am_rfc5322_authserv_id(value, id, sizeof(id)) == 0)
		return id_equal(id, authserv_id);
	if ((p = skip_cfws(value)) != NULL &&
	    am_rfc5322_authserv_id(p, id, sizeof(id)) == 0)
		return id_equal(id, authserv_id);
	/*
	 * RFC 8601 5: the authserv-id cannot be parsed (no id, an unclosed
	 * comment, comments nested deeper than we follow, ...).  Another
	 * reader may still find ours in it (python3-authres follows any
	 * depth), so a value that names us anywhere goes (safe side).
	 */
	return mentions_id(value, authserv_id);
}
