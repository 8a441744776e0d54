/*
 * spf.c - SPF checks (RFC 7208) of HELO and MAIL FROM through libspf2.
 *
 * One SPF_server_t per struct am_spf (per connection, reused by the
 * thread's next connection: see am_spf_new), built on our own
 * DNS layer (dns_spf.c) so that every lookup goes through dns.c.  A check
 * is one SPF_request_t evaluated with SPF_request_query_mailfrom(); the
 * HELO check is the same evaluation with "postmaster@<helo>" as sender.
 *
 * What libspf2 leaves to us:
 *   - its "invalid" result (no verdict, only an error code): DNS trouble
 *     is temperror, a record that does not compile is permerror, and a
 *     domain whose TXT records hold no SPF record is none;
 *   - record syntax (RFC 7208 12) and the rewrites libspf2 needs, done on
 *     every TXT answer by dns_spf.c with spf_check.c: a syntax error seen
 *     there is permerror here, whatever libspf2 made of the record;
 *   - RFC 7208 4.6.4, the DNS-term, MX-name and void-lookup limits
 *     (counted by dns_spf.c), each permerror here;
 *   - RFC 7208 5: an IPv4-mapped IPv6 client is checked as IPv4;
 *   - RFC 7208 6.2: the explanation of a fail, looked up and expanded here
 *     (libspf2 only tells which exp= applies);
 *   - RFC 7208 2.3/4.3: identities that are not domains are not looked up.
 * Conformance: the openspf suites pass in full (tests/conformance).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
#include <unbound.h>

#include "common/ascii.h"
#include "common/fmt.h"
#include "common/buf.h"
#include "dns/dns.h"
#include "spf/dns_spf.h"
#include "spf/spf_check.h"
#include "common/results.h"
#include "spf/spf.h"

#define PTR_NAMES_MAX	10	/* RFC 7208 4.6.4: PTR names looked at */

struct am_spf {
	SPF_server_t		*server;
	SPF_dns_server_t	*layer;		/* ours; freed after server */
	struct am_dns		*dns;		/* borrowed; explanations */
	char			 receiver[AM_DOMAIN_MAX + 1];
};

/* One check's client address, normalised (RFC 7208 5: v4-mapped is v4) */
struct client {
	int		 v6;
	unsigned char	 addr[16];
	char		 text[INET6_ADDRSTRLEN];
};

/*
 * Each thread keeps one spare struct am_spf: a libspf2 server costs a
 * gethostname() and a dozen allocations to build, and a worker thread
 * serves one connection after the other.  The DNS layer is reset at the
 * start of every check, so a spare carries nothing from one connection to
 * the next; a spare is reused only for the same resolver and receiver
 * (after a reload that changes AuthservID, a new one is built).
 */
/* process-wide state: see daemon/daemon.h */
static pthread_key_t	 spare_key;
static pthread_once_t	 spare_once = PTHREAD_ONCE_INIT;

static void	destroy(struct am_spf *);
static int	scopy(char *, size_t, const char *);

static void
spare_free(void *p)
{
	destroy(p);
}

static void
spare_init(void)
{
	(void)pthread_key_create(&spare_key, spare_free);
}

/* am_spf_new - libspf2 server on our DNS layer, for one connection */
struct am_spf *
am_spf_new(struct am_dns *dns, const char *receiver)
{
	struct am_spf	*spf;

	if (receiver == NULL)
		receiver = "";
	pthread_once(&spare_once, spare_init);
	spf = pthread_getspecific(spare_key);
	if (spf != NULL) {
		(void)pthread_setspecific(spare_key, NULL);
		if (spf->dns == dns && strcmp(spf->receiver, receiver) == 0)
			return spf;
		destroy(spf);
	}
	if ((spf = calloc(1, sizeof(*spf))) == NULL)
		return NULL;
	if ((spf->layer = am_dns_spf_new(dns)) == NULL)
		goto fail;
	if ((spf->server = SPF_server_new_dns(spf->layer, 0)) == NULL)
		goto fail;
	spf->dns = dns;
	/* a receiver too long to keep whole is never matched: no reuse */
	(void)scopy(spf->receiver, sizeof(spf->receiver), receiver);
	if (SPF_server_set_rec_dom(spf->server, receiver) != SPF_E_SUCCESS)
		goto fail;
	return spf;
fail:
	destroy(spf);
	return NULL;
}

/* destroy - server first (it may still point at the layer) */
static void
destroy(struct am_spf *spf)
{
	if (spf == NULL)
		return;
	if (spf->server != NULL)
		SPF_server_free(spf->server);
	am_dns_spf_free(spf->layer);
	free(spf);
}

/* am_spf_free - kept as this thread's spare, or freed */
void
am_spf_free(struct am_spf *spf)
{
	if (spf == NULL)
		return;
	pthread_once(&spare_once, spare_init);
	if (pthread_getspecific(spare_key) == NULL &&
	    pthread_setspecific(spare_key, spf) == 0)
		return;
	destroy(spf);
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

/* set_text - printable ASCII only, bounded */
static void
set_text(char *dst, size_t size, const char *text)
{
	size_t	 i;

	for (i = 0; text[i] != '\0' && i < size - 1; i++)
		dst[i] = (text[i] >= ' ' && text[i] <= '~') ? text[i] : '?';
	dst[i] = '\0';
}

/* set_reason - the reason text of a check */
static void
set_reason(struct am_spf_check *out, const char *text)
{
	set_text(out->reason, sizeof(out->reason), text);
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

/*
 * client_of - the client address, an IPv4-mapped IPv6 address as the
 * IPv4 one (RFC 7208 5: "::FFFF:1.2.3.4" is checked as 1.2.3.4); -1 if
 * there is none or it is not IPv4/IPv6.  The text is for %{i} and
 * explanations only.
 */
static int
client_of(const struct sockaddr *sa, struct client *c)
{
	const struct in6_addr	*a6;

	memset(c, 0, sizeof(*c));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(c->addr, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		c->v6 = !IN6_IS_ADDR_V4MAPPED(a6);
		memcpy(c->addr, c->v6 ? a6->s6_addr : a6->s6_addr + 12,
		    c->v6 ? 16 : 4);
	} else
		return -1;
	if (c->v6)
		inet_ntop(AF_INET6, c->addr, c->text, sizeof(c->text));
	else			/* inet_ntop's sprintf: 0.5 % of the CPU */
		am_fmt(c->text, sizeof(c->text), "%u.%u.%u.%u", c->addr[0],
		    c->addr[1], c->addr[2], c->addr[3]);
	return 0;
}

/* set_client - client address into the request */
static int
set_client(SPF_request_t *req, const struct client *c)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	SPF_errcode_t	 e;

	if (c->v6) {
		memcpy(&a6, c->addr, sizeof(a6));
		e = SPF_request_set_ipv6(req, a6);
	} else {
		memcpy(&a4, c->addr, sizeof(a4));
		e = SPF_request_set_ipv4(req, a4);
	}
	return e == SPF_E_SUCCESS ? 0 : -1;
}

/* reverse_name - the in-addr.arpa / ip6.arpa name of the client */
static void
reverse_name(const struct client *c, char *out, size_t len)
{
	size_t	 o = 0;
	int	 i;

	if (!c->v6) {
		am_fmt(out, len, "%u.%u.%u.%u.in-addr.arpa", c->addr[3],
		    c->addr[2], c->addr[1], c->addr[0]);
		return;
	}
	for (i = 15; i >= 0 && o + 5 < len; i--)
		o += (size_t)am_fmt(out + o, len - o, "%x.%x.",
		    c->addr[i] & 15, c->addr[i] >> 4);
	am_fmt(out + o, len - o, "ip6.arpa");
}

/* has_addr - does name have the client's address? */
static int
has_addr(struct am_spf *spf, struct am_dns_budget *b, const char *name,
    const struct client *c)
{
	struct ub_result	*res;
	int			 i, hit = 0;

	if (am_dns_query(spf->dns, b, name, c->v6 ? 28 : 1, &res) != AM_DNS_OK)
		return 0;
	for (i = 0; res->data[i] != NULL && !hit; i++)
		hit = res->len[i] == (c->v6 ? 16 : 4) &&
		    memcmp(res->data[i], c->addr, c->v6 ? 16 : 4) == 0;
	am_dns_result_free(res);
	return hit;
}

/* sub_of - is name domain or below it? */
static int
sub_of(const char *name, const char *domain)
{
	size_t	 n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strcasecmp(name + n - d, domain) == 0;
}

/*
 * validated_ptr - RFC 7208 7.3 %{p}: a PTR name of the client whose
 * addresses include the client, preferring domain or a name below it;
 * "unknown" if none.
 */
static void
validated_ptr(struct am_spf *spf, struct am_dns_budget *b,
    const struct client *c, const char *domain, char *out, size_t len)
{
	struct ub_result	*res;
	char			 rev[80], name[AM_DOMAIN_MAX + 2];
	int			 i, found = 0;

	am_fmt(out, len, "unknown");
	reverse_name(c, rev, sizeof(rev));
	if (am_dns_query(spf->dns, b, rev, 12, &res) != AM_DNS_OK)
		return;
	for (i = 0; res->data[i] != NULL && i < PTR_NAMES_MAX; i++) {
		if (am_dns_spf_name(res->data[i], (size_t)res->len[i], name,
		    sizeof(name)) == -1 || !has_addr(spf, b, name, c))
			continue;
		if (!found || sub_of(name, domain))
			am_fmt(out, len, "%s", name);
		if (sub_of(name, domain))
			break;
		found = 1;
	}
	am_dns_result_free(res);
}

/* truncate_name - RFC 7208 7.3: drop left labels until <= 253 chars */
static const char *
truncate_name(const char *name)
{
	while (strlen(name) > AM_DOMAIN_MAX && strchr(name, '.') != NULL)
		name = strchr(name, '.') + 1;
	return name;
}

/*
 * explain - RFC 7208 6.2: the explanation of a fail result, if the record
 * had an exp= that expands, names exactly one TXT record, and that
 * record's explain-string expands; else it stays empty (the caller's
 * default).  libspf2 only tells us which exp= applies (dns_spf.c).
 */
static void
explain(struct am_spf *spf, struct am_dns_budget *b, const struct client *c,
    const char *helo, const char *sender, struct am_spf_check *out)
{
	const struct am_dns_spf_exp	*x = am_dns_spf_exp(spf->layer);
	struct am_spf_macros		 m;
	char				 local[AM_ADDR_MAX + 1], name[1024];
	char				 text[2048], ptr[AM_DOMAIN_MAX + 2];
	char				**txt;
	const char			*at;
	size_t				 ntxt;

	if (x == NULL)
		return;
	at = strrchr(sender, '@');
	am_fmt(local, sizeof(local), "%.*s", (int)(at - sender), sender);
	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.local = local[0] != '\0' ? local : "postmaster";
	m.sender_dom = at + 1;
	m.domain = x->domain;
	m.ip = c->text;
	m.ipv6 = c->v6;
	memcpy(m.addr, c->addr, sizeof(m.addr));
	m.helo = helo != NULL ? helo : "";
	m.receiver = spf->receiver;
	m.now = (long long)time(NULL);
	if (am_spf_macro_uses_p(x->spec)) {
		validated_ptr(spf, b, c, x->domain, ptr, sizeof(ptr));
		m.ptr = ptr;
	}
	if (am_spf_macro_expand(x->spec, 0, &m, name, sizeof(name)) == -1)
		return;
	if (am_dns_txt(spf->dns, b, truncate_name(name), &txt, &ntxt) !=
	    AM_DNS_OK)
		return;				/* 6.2: DNS trouble, no text */
	if (ntxt == 1 && am_spf_macro_uses_p(txt[0]) && m.ptr == NULL) {
		validated_ptr(spf, b, c, x->domain, ptr, sizeof(ptr));
		m.ptr = ptr;
	}
	if (ntxt == 1 && am_spf_macro_expand(txt[0], 1, &m, text,
	    sizeof(text)) == 0)
		set_text(out->explanation, sizeof(out->explanation), text);
	am_dns_txt_free(txt, ntxt);
}

/* internal - an internal failure: temperror with a reason, -1 */
static int
internal(struct am_spf_check *out, const char *why)
{
	out->result = AM_SPF_TEMPERROR;
	set_reason(out, why);
	return -1;
}

/* overrides - RFC 7208 rules libspf2 misses: permerror over its result */
static void
overrides(struct am_spf *spf, struct am_spf_check *out)
{
	const char	*why;

	if ((why = am_dns_spf_syntax(spf->layer)) != NULL) {
		out->result = AM_SPF_PERMERROR;		/* RFC 7208 4.6 */
		set_reason(out, "SPF record syntax error: ");
		set_text(out->reason + strlen(out->reason),
		    sizeof(out->reason) - strlen(out->reason), why);
	} else if ((why = am_dns_spf_limit(spf->layer)) != NULL) {
		out->result = AM_SPF_PERMERROR;		/* RFC 7208 4.6.4 */
		set_reason(out, why);
	} else if (am_dns_spf_voids(spf->layer) > AM_DNS_SPF_VOID_MAX) {
		out->result = AM_SPF_PERMERROR;		/* RFC 7208 4.6.4 */
		set_reason(out, "void lookup limit exceeded");
	}
}

/* evaluate - run check_host() for sender; fill result and reason */
static int
evaluate(struct am_spf *spf, struct am_dns_budget *b,
    const struct sockaddr *client, const char *helo, const char *sender,
    struct am_spf_check *out)
{
	SPF_request_t	*req;
	SPF_response_t	*resp = NULL;
	SPF_errcode_t	 err;
	struct client	 c;
	char		 why[AM_REASON_MAX];

	if (client_of(client, &c) == -1) {
		/* no address to check (odd MTA input): none, not an error */
		set_reason(out, "no usable client address");
		return 0;
	}
	am_dns_spf_reset(spf->layer, b, c.v6, c.addr);
	if (b != NULL)
		b->temp_name[0] = '\0';	/* a failure from now on is ours */
	if ((req = SPF_request_new(spf->server)) == NULL)
		return internal(out, "out of memory");
	if (set_client(req, &c) == -1) {
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
	overrides(spf, out);
	/* RFC 8601 2.7.2 temperror: name the look-up that failed */
	if (out->result == AM_SPF_TEMPERROR &&
	    am_dns_budget_temp(b, why, sizeof(why)) != NULL)
		set_reason(out, why);
	if (out->result == AM_SPF_FAIL)
		explain(spf, b, &c, helo, sender, out);
	SPF_response_free(resp);
	SPF_request_free(req);
	return err == SPF_E_NO_MEMORY ? -1 : 0;
}

/* check_as_helo - check postmaster@<helo>, or none if helo is unusable */
static int
check_as_helo(struct am_spf *spf, struct am_dns_budget *b,
    const struct sockaddr *client, const char *helo, struct am_spf_check *out)
{
	char		 sender[AM_ADDR_MAX + 1];
	const char	*why;

	if ((why = helo_unusable(helo)) != NULL) {
		set_reason(out, why);		/* result stays none */
		return 0;
	}
	/* is_domain() bounds helo, so this always fits */
	am_fmt(sender, sizeof(sender), "postmaster@%s", helo);
	return evaluate(spf, b, client, helo, sender, out);
}

/* am_spf_check_helo - RFC 7208 2.3: the HELO identity */
int
am_spf_check_helo(struct am_spf *spf, struct am_dns_budget *b,
    const struct sockaddr *client, const char *helo, struct am_spf_check *out)
{
	check_begin(out, helo != NULL ? helo : "", helo != NULL ? helo : "");
	return check_as_helo(spf, b, client, helo, out);
}

/* am_spf_check_mailfrom - RFC 7208 2.4: MAIL FROM, or HELO if null */
int
am_spf_check_mailfrom(struct am_spf *spf, struct am_dns_budget *b,
    const struct sockaddr *client, const char *helo, const char *mailfrom,
    struct am_spf_check *out)
{
	const char	*addr = mailfrom != NULL ? mailfrom : "";
	char		 pm[AM_ADDR_MAX + 1];
	const char	*at;

	if (strlen(addr) > AM_ADDR_MAX) {
		check_begin(out, "", "");
		set_reason(out, "MAIL FROM address too long");
		return 0;			/* none: nothing to check */
	}
	if (addr[0] == '\0') {			/* null reverse-path */
		am_fmt(pm, sizeof(pm), "postmaster@%.*s",
		    AM_DOMAIN_MAX + 1, helo != NULL ? helo : "");
		check_begin(out, pm, helo != NULL ? helo : "");
		return check_as_helo(spf, b, client, helo, out);
	}
	at = strrchr(addr, '@');
	check_begin(out, addr, at != NULL ? at + 1 : "");
	if (at == NULL || !is_domain(at + 1)) {
		set_reason(out, "MAIL FROM domain is not a domain name");
		return 0;			/* RFC 7208 4.3: none */
	}
	return evaluate(spf, b, client, helo, addr, out);
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

/*
 * add_kv - " key=value;" with value as dot-atom or quoted-string; a value
 * that is not printable ASCII (am_ascii_printable: a UTF-8 HELO name or
 * U-label) is left out, as RFC 7208 9.1's keys are all optional
 */
static void
add_kv(struct am_buf *b, const char *key, const char *value, int quote)
{
	if (!am_ascii_printable(value, strlen(value)))
		return;
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

/*
 * add_envelope_from - " envelope-from=...;" (RFC 7208 9.1).  An SMTPUTF8
 * (RFC 6531) local part, or one with a control character, cannot be
 * written in the ASCII key-value-pair (dot-atom / quoted-string), and '?'
 * for its bytes would name another mailbox: write the domain the check
 * ran for alone, as RFC 8601 2.7.2 does for smtp.mailfrom.  A domain that
 * cannot be written either leaves the key out (add_kv).
 */
static void
add_envelope_from(struct am_buf *b, const struct am_spf_check *c)
{
	const char	*at = strrchr(c->identity, '@');

	if (at != NULL && !am_ascii_printable(c->identity,
	    (size_t)(at - c->identity))) {
		add_kv(b, "envelope-from",
		    c->domain[0] != '\0' ? c->domain : at + 1, 0);
		return;
	}
	add_kv(b, "envelope-from", c->identity, 1);
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
		add_envelope_from(b, c);
	if (helo != NULL && *helo != '\0')
		add_kv(b, "helo", helo, 0);
	if (receiver != NULL && *receiver != '\0')
		add_kv(b, "receiver", receiver, 0);
	am_buf_addf(b, " identity=%s", mailfrom ? "mailfrom" : "helo");
}
