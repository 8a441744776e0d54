/*
 * spf.c - SPF checks (RFC 7208) of HELO and MAIL FROM through libspf2.
 *
 * One SPF_server_t per struct am_spf (per connection), built on our own
 * DNS layer (dns_spf.c) so that every lookup goes through dns.c.  A check
 * is one SPF_request_t evaluated with SPF_request_query_mailfrom(); the
 * HELO check is the same evaluation with "postmaster@<helo>" as sender.
 *
 * What libspf2 leaves to us:
 *   - its "invalid" result (no verdict, only an error code): DNS trouble
 *     is temperror, a record that does not compile is permerror, and a
 *     domain whose TXT records hold no SPF record is none;
 *   - RFC 7208 4.6.4, the void-lookup limit (counted by dns_spf.c);
 *   - RFC 7208 2.3/4.3: identities that are not domains are not looked up.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "buf.h"
#include "dns_spf.h"
#include "results.h"
#include "spf.h"

struct am_spf {
	SPF_server_t		*server;
	SPF_dns_server_t	*layer;		/* ours; freed after server */
};

/* am_spf_new - libspf2 server on our DNS layer, for one connection */
struct am_spf *
am_spf_new(struct am_dns *dns, const char *receiver)
{
	struct am_spf	*spf;

	if ((spf = calloc(1, sizeof(*spf))) == NULL)
		return NULL;
	if ((spf->layer = am_dns_spf_new(dns)) == NULL)
		goto fail;
	if ((spf->server = SPF_server_new_dns(spf->layer, 0)) == NULL)
		goto fail;
	if (SPF_server_set_rec_dom(spf->server, receiver) != SPF_E_SUCCESS)
		goto fail;
	return spf;
fail:
	am_spf_free(spf);
	return NULL;
}

/* am_spf_free - server first (it may still point at the layer) */
void
am_spf_free(struct am_spf *spf)
{
	if (spf == NULL)
		return;
	if (spf->server != NULL)
		SPF_server_free(spf->server);
	am_dns_spf_free(spf->layer);
	free(spf);
}

/* scopy - bounded copy, always NUL-terminated; -1 if truncated */
static int
scopy(char *dst, size_t size, const char *src)
{
	size_t	 n = strlen(src);

	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* set_reason - printable ASCII only, bounded */
static void
set_reason(struct am_spf_check *out, const char *text)
{
	size_t	 i;

	for (i = 0; text[i] != '\0' && i < sizeof(out->reason) - 1; i++)
		out->reason[i] = (text[i] >= ' ' && text[i] <= '~') ?
		    text[i] : '?';
	out->reason[i] = '\0';
}

/* is_label_char - letters, digits, hyphen, underscore */
static int
is_label_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/*
 * is_domain - RFC 7208 4.3: a multi-label name, labels 1..63 of letters,
 * digits, '-' and '_', at most 253 characters (one final dot allowed),
 * and not all-numeric at the end (that would be an address).
 */
static int
is_domain(const char *s)
{
	size_t	 len = strlen(s), i, lab = 0, ndots = 0, last = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > AM_DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			ndots++;
			last = i + 1;
		} else if (!is_label_char((unsigned char)s[i]) || ++lab > 63)
			return 0;
	}
	if (lab == 0 || ndots == 0)
		return 0;
	for (i = last; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 1;
	return 0;
}

/* lower - ASCII lower-case in place */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* check_begin - fill the fixed part of *out */
static void
check_begin(struct am_spf_check *out, const char *identity,
    const char *domain)
{
	memset(out, 0, sizeof(*out));
	out->checked = 1;
	out->result = AM_SPF_NONE;
	scopy(out->identity, sizeof(out->identity), identity);
	scopy(out->domain, sizeof(out->domain), domain);
	lower(out->domain);
}

/* helo_unusable - RFC 7208 2.3: why a HELO name is not checked, or NULL */
static const char *
helo_unusable(const char *helo)
{
	if (helo == NULL || *helo == '\0')
		return "no HELO name";
	if (*helo == '[')
		return "HELO is an address literal";
	if (!is_domain(helo))
		return "HELO is not a domain name";
	return NULL;
}

/* only_not_spf - did libspf2 complain of nothing but "no SPF record"? */
static int
only_not_spf(SPF_response_t *resp)
{
	SPF_error_t	*e;
	int		 i;

	for (i = 0; i < SPF_response_messages(resp); i++) {
		e = SPF_response_message(resp, i);
		if (SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF)
			return 0;
	}
	return 1;
}

/* invalid_result - libspf2 gave no verdict: decide by its error code */
static enum am_spf_result
invalid_result(SPF_response_t *resp, SPF_errcode_t err)
{
	if (err == SPF_E_SUCCESS)
		err = SPF_response_errcode(resp);
	switch (err) {
	case SPF_E_DNS_ERROR:
	case SPF_E_NO_MEMORY:
		return AM_SPF_TEMPERROR;
	case SPF_E_NOT_SPF:
		/* TXT records but none is SPF (4.5): none; else a bad record */
		return only_not_spf(resp) ? AM_SPF_NONE : AM_SPF_PERMERROR;
	default:
		return AM_SPF_PERMERROR;
	}
}

/* map_result - libspf2's result as ours */
static enum am_spf_result
map_result(SPF_response_t *resp, SPF_errcode_t err)
{
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_PASS:
		return AM_SPF_PASS;
	case SPF_RESULT_FAIL:
		return AM_SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return AM_SPF_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return AM_SPF_NEUTRAL;
	case SPF_RESULT_NONE:
		return AM_SPF_NONE;
	case SPF_RESULT_TEMPERROR:
		return AM_SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return AM_SPF_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		return invalid_result(resp, err);
	}
}

/* first_error - libspf2's first error message, or NULL */
static const char *
first_error(SPF_response_t *resp)
{
	SPF_error_t	*e;
	int		 i;

	for (i = 0; i < SPF_response_messages(resp); i++) {
		e = SPF_response_message(resp, i);
		if (SPF_error_errorp(e) && SPF_error_message(e) != NULL)
			return SPF_error_message(e);
	}
	return NULL;
}

/* reason_of - libspf2's header comment without the "receiver: " prefix */
static void
reason_of(struct am_spf *spf, SPF_response_t *resp, struct am_spf_check *out)
{
	const char	*c = NULL, *rd = spf->server->rec_dom;
	size_t		 n;

	if (SPF_response_result(resp) != SPF_RESULT_INVALID)
		c = SPF_response_get_header_comment(resp);
	if (c == NULL)
		c = first_error(resp);
	if (c == NULL)
		c = SPF_strerror(SPF_response_errcode(resp));
	n = rd != NULL ? strlen(rd) : 0;
	if (n > 0 && strncmp(c, rd, n) == 0 && c[n] == ':' && c[n + 1] == ' ')
		c += n + 2;
	set_reason(out, c);
}

/* set_client - client address as text into the request */
static int
set_client(SPF_request_t *req, const char *ip)
{
	SPF_errcode_t	 e;

	if (ip == NULL)
		return -1;
	if (strchr(ip, ':') != NULL)
		e = SPF_request_set_ipv6_str(req, ip);
	else
		e = SPF_request_set_ipv4_str(req, ip);
	return e == SPF_E_SUCCESS ? 0 : -1;
}

/* internal - an internal failure: temperror with a reason, -1 */
static int
internal(struct am_spf_check *out, const char *why)
{
	out->result = AM_SPF_TEMPERROR;
	set_reason(out, why);
	return -1;
}

/* evaluate - run check_host() for sender; fill result and reason */
static int
evaluate(struct am_spf *spf, const char *client_ip, const char *helo,
    const char *sender, struct am_spf_check *out)
{
	SPF_request_t	*req;
	SPF_response_t	*resp = NULL;
	SPF_errcode_t	 err;

	am_dns_spf_reset(spf->layer);
	if ((req = SPF_request_new(spf->server)) == NULL)
		return internal(out, "out of memory");
	if (set_client(req, client_ip) == -1) {
		/* no address to check (odd MTA input): none, not an error */
		SPF_request_free(req);
		set_reason(out, "no usable client address");
		return 0;
	}
	if ((helo != NULL && *helo != '\0' &&
	    SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS) ||
	    SPF_request_set_env_from(req, sender) != SPF_E_SUCCESS) {
		SPF_request_free(req);
		return internal(out, "out of memory");
	}
	err = SPF_request_query_mailfrom(req, &resp);
	if (resp == NULL) {
		SPF_request_free(req);
		return internal(out, "out of memory");
	}
	out->result = map_result(resp, err);
	reason_of(spf, resp, out);
	if (am_dns_spf_voids(spf->layer) > AM_DNS_SPF_VOID_MAX) {
		out->result = AM_SPF_PERMERROR;		/* RFC 7208 4.6.4 */
		set_reason(out, "void lookup limit exceeded");
	}
	if (am_dns_spf_terms(spf->layer) > AM_DNS_SPF_TERMS_MAX) {
		out->result = AM_SPF_PERMERROR;		/* RFC 7208 4.6.4 */
		set_reason(out, "DNS lookup limit exceeded");
	}
	if (am_dns_spf_too_big(spf->layer)) {
		out->result = AM_SPF_PERMERROR;		/* see dns_spf.h */
		set_reason(out, "SPF record has more mechanisms than libspf2 evaluates");
	}
	SPF_response_free(resp);
	SPF_request_free(req);
	return err == SPF_E_NO_MEMORY ? -1 : 0;
}

/* check_as_helo - check postmaster@<helo>, or none if helo is unusable */
static int
check_as_helo(struct am_spf *spf, const char *client_ip, const char *helo,
    struct am_spf_check *out)
{
	char		 sender[AM_ADDR_MAX + 1];
	const char	*why;

	if ((why = helo_unusable(helo)) != NULL) {
		set_reason(out, why);		/* result stays none */
		return 0;
	}
	/* is_domain() bounds helo, so this always fits */
	snprintf(sender, sizeof(sender), "postmaster@%s", helo);
	return evaluate(spf, client_ip, helo, sender, out);
}

/* am_spf_check_helo - RFC 7208 2.3: the HELO identity */
int
am_spf_check_helo(struct am_spf *spf, const char *client_ip,
    const char *helo, struct am_spf_check *out)
{
	check_begin(out, helo != NULL ? helo : "", helo != NULL ? helo : "");
	return check_as_helo(spf, client_ip, helo, out);
}

/* strip_path - "<addr>" or "addr" without brackets and blanks, into buf */
static int
strip_path(const char *mailfrom, char *buf, size_t size)
{
	const char	*s = mailfrom != NULL ? mailfrom : "";
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n >= size)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* am_spf_check_mailfrom - RFC 7208 2.4: MAIL FROM, or HELO if null */
int
am_spf_check_mailfrom(struct am_spf *spf, const char *client_ip,
    const char *helo, const char *mailfrom, struct am_spf_check *out)
{
	char		 addr[AM_ADDR_MAX + 1], pm[AM_ADDR_MAX + 1];
	const char	*at;

	if (strip_path(mailfrom, addr, sizeof(addr)) == -1) {
		check_begin(out, "", "");
		set_reason(out, "MAIL FROM address too long");
		return 0;			/* none: nothing to check */
	}
	if (addr[0] == '\0') {			/* null reverse-path */
		snprintf(pm, sizeof(pm), "postmaster@%.*s",
		    AM_DOMAIN_MAX + 1, helo != NULL ? helo : "");
		check_begin(out, pm, helo != NULL ? helo : "");
		return check_as_helo(spf, client_ip, helo, out);
	}
	at = strrchr(addr, '@');
	check_begin(out, addr, at != NULL ? at + 1 : "");
	if (at == NULL || !is_domain(at + 1)) {
		set_reason(out, "MAIL FROM domain is not a domain name");
		return 0;			/* RFC 7208 4.3: none */
	}
	return evaluate(spf, client_ip, helo, addr, out);
}

/* result_word - RFC 7208 2.6 result names (also RFC 8601's) */
static const char *
result_word(enum am_spf_result r)
{
	static const char *const words[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror"
	};

	if ((unsigned int)r >= sizeof(words) / sizeof(words[0]))
		return "permerror";
	return words[r];
}

/* is_dot_atom - RFC 5322 3.2.3 dot-atom-text */
static int
is_dot_atom(const char *s)
{
	const char	*p;
	int		 prev_dot = 1;

	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
		} else if (isalnum((unsigned char)*p) ||
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL)
			prev_dot = 0;
		else
			return 0;
	}
	return !prev_dot;
}

/* add_quoted - RFC 5322 quoted-string; other than printable ASCII -> '?' */
static void
add_quoted(struct am_buf *b, const char *s)
{
	am_buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, (*s >= ' ' && *s <= '~') ? *s : '?');
	}
	am_buf_addc(b, '"');
}

/* add_kv - " key=value;" with value as dot-atom or quoted-string */
static void
add_kv(struct am_buf *b, const char *key, const char *value, int quote)
{
	am_buf_addf(b, " %s=", key);
	if (!quote && is_dot_atom(value))
		am_buf_adds(b, value);
	else
		add_quoted(b, value);
	am_buf_addc(b, ';');
}

/* add_comment - " (text)" with RFC 5322 quoted-pairs for ( ) and \ */
static void
add_comment(struct am_buf *b, const char *s)
{
	am_buf_adds(b, " (");
	for (; *s != '\0'; s++) {
		if (*s == '(' || *s == ')' || *s == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, (*s >= ' ' && *s <= '~') ? *s : '?');
	}
	am_buf_addc(b, ')');
}

/* am_spf_received - RFC 7208 9.1 Received-SPF field value */
void
am_spf_received(const struct am_spf_check *c, const char *client_ip,
    const char *helo, const char *receiver, struct am_buf *b)
{
	int	 mailfrom = strchr(c->identity, '@') != NULL;

	am_buf_adds(b, result_word(c->result));
	if (c->reason[0] != '\0')
		add_comment(b, c->reason);
	if (client_ip != NULL && *client_ip != '\0')
		add_kv(b, "client-ip", client_ip, 0);
	if (mailfrom)
		add_kv(b, "envelope-from", c->identity, 1);
	if (helo != NULL && *helo != '\0')
		add_kv(b, "helo", helo, 0);
	if (receiver != NULL && *receiver != '\0')
		add_kv(b, "receiver", receiver, 0);
	am_buf_addf(b, " identity=%s", mailfrom ? "mailfrom" : "helo");
}
