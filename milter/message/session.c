/*
 * session.c - per-connection and per-message state; the message pipeline.
 *
 * The order of work follows the SMTP transaction: SPF at MAIL FROM (the
 * MTA does not wait for us there: SMFIP_NR_MAIL), headers streamed into
 * DKIM as they come, and everything that needs the whole message (DKIM
 * results, From domains, DMARC) at end of message (finish.c).  Internal
 * failures are recorded on the message (am_msg_set_err, first one wins)
 * and turned into the configured safe action by policy.c, never into a
 * crash.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "message/authres.h"
#include "arc/arc.h"
#include "dkim/dkim.h"
#include "dkim/sign.h"
#include "dmarc/dmarc.h"
#include "common/fmt.h"
#include "common/netlist.h"
#include "message/iprev.h"
#include "message/rfc5322.h"
#include "message/overlap.h"
#include "message/session.h"
#include "message/session_int.h"
#include "message/trace.h"
#include "spf/spf.h"

/* addr_to_text - client address as text, "unknown" when there is none
   (IPv4 without inet_ntop, whose sprintf was 0.5 % of the CPU) */
static void
addr_to_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const unsigned char	*a;

	if (sa != NULL && sa->sa_family == AF_INET) {
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		am_fmt(out, outlen, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (sa == NULL || sa->sa_family != AF_INET6 ||
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
	    sa)->sin6_addr, out, (socklen_t)outlen) == NULL)
		am_fmt(out, outlen, "unknown");
}

/*
 * keep_client - the client address as the connection keeps it: an
 * IPv4-mapped IPv6 client (::ffff:a.b.c.d) as the IPv4 address it is (RFC
 * 4291 2.5.5.2): SPF checks it as IPv4 (RFC 7208 5), and IgnoreHosts' IPv4
 * entries match it.  No address, or not IPv4/IPv6: AF_UNSPEC.
 */
static void
keep_client(const struct sockaddr *sa, struct sockaddr_storage *ss)
{
	const struct sockaddr_in6	*sin6;
	struct sockaddr_in		*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		memcpy(ss, sa, sizeof(struct sockaddr_in));
	if (sa->sa_family != AF_INET6)
		return;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(ss, sa, sizeof(*sin6));
		return;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
}

/* am_conn_client - the client address, or NULL when the MTA gave none */
const struct sockaddr *
am_conn_client(const struct am_conn *c)
{
	if (c->client.ss_family == AF_UNSPEC)
		return NULL;
	return (const struct sockaddr *)&c->client;
}

/* am_conn_new - state for one SMTP connection */
struct am_conn *
am_conn_new(const struct am_env *env, struct am_config *cfg,
    const char *hostname, const struct sockaddr *client)
{
	struct am_conn		*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->env = env;
	c->cfg = am_config_ref(cfg);
	keep_client(client, &c->client);
	/* printed once, for the log and Received-SPF; never parsed back */
	addr_to_text(am_conn_client(c), c->client_ip, sizeof(c->client_ip));
	if ((c->hostname = strdup(hostname ? hostname : "")) == NULL) {
		am_conn_free(c);
		return NULL;
	}
	c->trusted_net = am_conn_client(c) != NULL &&
	    am_netlist_match(cfg->ignore_hosts, am_conn_client(c));
	c->internal_net = am_conn_client(c) != NULL &&
	    cfg->internal_hosts != NULL &&
	    am_netlist_match(cfg->internal_hosts, am_conn_client(c));
	return c;
}

/* am_conn_free - end of connection */
void
am_conn_free(struct am_conn *c)
{
	if (c == NULL)
		return;
	am_msg_free(c->msg);
	am_spf_free(c->spf);
	am_config_unref(c->cfg);
	free(c->hostname);
	free(c->helo);
	free(c);
}

/* am_conn_helo - remember the latest HELO/EHLO argument */
int
am_conn_helo(struct am_conn *c, const char *helo)
{
	char	*p;

	if ((p = strdup(helo ? helo : "")) == NULL)
		return -1;
	free(c->helo);
	c->helo = p;
	return 0;
}

/*
 * strip_angle - copy a MAIL FROM argument without <> and surrounding
 * space: the reverse-path's address (RFC 5321 4.1.2), the one place the
 * brackets come off; "" for the null sender
 */
static char *
strip_angle(const char *s)
{
	size_t	 len;

	if (s == NULL)
		s = "";
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	return strndup(s, len);
}

/* the DNS budget phases of a message; the limits are in session.h */
/* Postfix waits for the command after MAIL: SPF has AM_DNS_SPF_SECS */
const struct am_msg_phase am_msg_phase_spf = { AM_DNS_SPF_SECS,
	AM_DNS_SPF_LOOKUPS };
const struct am_msg_phase am_msg_phase_dkim = { AM_DNS_DKIM_SECS,
	AM_DNS_DKIM_LOOKUPS };
const struct am_msg_phase am_msg_phase_dmarc = { AM_DNS_DMARC_SECS,
	AM_DNS_DMARC_LOOKUPS };
const struct am_msg_phase am_msg_phase_arc = { AM_DNS_ARC_SECS,
	AM_ARC_KEYS_MAX };

/*
 * am_msg_budgeted - run one check under a fresh DNS budget of its phase (the
 * deadline counts from now); the bits of a budget it ran out of are noted
 * on the message (summary dns_budget=) and returned.  A local failure
 * (dns.h: out of descriptors or memory) is an internal error, whatever
 * temperror the check made of it: OnTempError accept must not deliver
 * what working DNS might have rejected (issue 15).
 */
int
am_msg_budgeted(struct am_msg *m, const struct am_msg_phase *ph,
    void (*check)(struct am_msg *, struct am_dns_budget *))
{
	am_dns_budget_arm(&m->dnsb, ph->secs, ph->lookups);
	check(m, &m->dnsb);
	m->dns_over |= m->dnsb.exhausted;
	am_msg_local_dns(m, &m->dnsb);
	return m->dnsb.exhausted;
}

void
am_msg_local_dns(struct am_msg *m, const struct am_dns_budget *b)
{
	char	 why[96], msg[128];

	if (b->local_what == NULL)
		return;
	am_dns_local_str(b, why, sizeof(why));
	am_fmt(msg, sizeof(msg), "local resource failure in DNS (%s)", why);
	am_msg_set_err(m, AM_ERR_RESOURCE, msg);
}

/* spf_checks - RFC 7208 checks of HELO and MAIL FROM; failures are results */
static void
spf_checks(struct am_msg *m, struct am_dns_budget *b)
{
	struct am_conn	*c = m->conn;
	const char	*helo = c->helo ? c->helo : "";

	/* RFC 7208 2.3: no HELO name, no HELO identity to report */
	if (*helo != '\0' && am_spf_check_helo(c->spf, b, am_conn_client(c),
	    helo, &m->res.spf_helo) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "SPF HELO check failed");
	if (am_spf_check_mailfrom(c->spf, b, am_conn_client(c), helo,
	    m->mailfrom, &m->res.spf_mailfrom) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "SPF MAIL FROM check failed");
}

/* run_spf - the SPF phase, with the connection's libspf2 server */
static void
run_spf(struct am_msg *m)
{
	struct am_conn	*c = m->conn;

	if (c->spf == NULL &&
	    (c->spf = am_spf_new(c->env->dns, c->cfg->authserv_id)) == NULL) {
		am_msg_set_err(m, AM_ERR_LIBRARY, "cannot create SPF server");
		return;
	}
	am_msg_budgeted(m, &am_msg_phase_spf, spf_checks);
	am_trace_spf(m);
}

/*
 * start_sign - signing mode (issue 18): the site's own clients are signed,
 * a client from outside never (signtable.h am_sign_decide)
 */
static void
start_sign(struct am_msg *m, const char *auth_authen)
{
	const struct am_conn	*c = m->conn;

	m->sign_mode = am_sign_decide(c->cfg->sign != NULL,
	    auth_authen != NULL && *auth_authen != '\0', c->trusted_net,
	    c->internal_net);
	if (!am_sign_mode_signs(m->sign_mode))
		return;
	if ((m->signer = am_signer_new(c->cfg->sign, m->qid)) == NULL)
		am_msg_set_err(m, AM_ERR_RESOURCE, "out of memory (signer)");
}

/*
 * start_iprev - the PTR query of the iprev check (iprev.h) goes out now
 * and is waited for at end of message, so it overlaps the transfer; an
 * exempt client is not looked up (IPRev no: nothing at all)
 */
static void
start_iprev(struct am_msg *m)
{
	struct am_conn	*c = m->conn;

	if (!c->cfg->iprev || am_conn_client(c) == NULL)
		return;		/* no address (a local submission): no iprev */
	if ((m->iprev = am_iprev_start(c->env->dns, am_conn_client(c),
	    c->client_ip, m->qid)) == NULL)
		am_msg_set_err(m, AM_ERR_RESOURCE, "out of memory (iprev)");
}


/* am_msg_new - a new transaction on the connection, queue id unknown */
struct am_msg *
am_msg_new(struct am_conn *c, const char *mailfrom, const char *auth_authen)
{
	return am_msg_begin(c, NULL, mailfrom, auth_authen);
}

/* am_msg_begin - a new transaction on the connection */
struct am_msg *
am_msg_begin(struct am_conn *c, const char *qid, const char *mailfrom,
    const char *auth_authen)
{
	struct am_msg	*m;

	am_msg_free(c->msg);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->conn = c;
	c->msg = m;
	c->nmsgs++;
	am_fmt(m->qid, sizeof(m->qid), "NOQUEUE");
	am_msg_set_qid(m, qid);
	m->dnsb.qid = m->qid;		/* debug lines of the checks */
	am_buf_init(&m->frep_hdrs, AM_FREPORT_HEADERS_MAX);
	am_buf_init(&m->frep_body, AM_FREPORT_BODY_MAX);
	if ((m->mailfrom = strip_angle(mailfrom)) == NULL) {
		am_msg_free(m);
		return NULL;
	}
	/* InternalHosts: signed instead of verified, like IgnoreHosts */
	m->facts.trusted_net = c->trusted_net || c->internal_net;
	m->facts.authenticated = c->cfg->ignore_auth &&
	    auth_authen != NULL && *auth_authen != '\0';
	m->exempt = am_policy_exempt(&m->facts);
	start_sign(m, auth_authen);
	if (m->exempt == NULL)
		start_iprev(m);
	/* SPF in the background (overlap.h); if it cannot be, here */
	if (m->exempt == NULL && am_overlap_spf(m) == -1)
		run_spf(m);
	return m;
}

/* am_msg_free - end of a transaction */
void
am_msg_free(struct am_msg *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	am_overlap_free(m);		/* cancels what still runs */
	if (m->conn != NULL && m->conn->msg == m)
		m->conn->msg = NULL;
	am_dkim_free(m->dkim);
	am_arc_free(m->arc);
	am_signer_free(m->signer);
	am_iprev_free(m->iprev);
	for (i = 0; i < AM_FROM_HDRS_MAX; i++)
		free(m->from[i]);
	free(m->forged);
	free(m->mailfrom);
	free(m->msgid);
	am_buf_clear(&m->frep_hdrs);
	am_buf_clear(&m->frep_body);
	free(m);
}

/* am_msg_set_qid - the MTA's queue id, for the log */
void
am_msg_set_qid(struct am_msg *m, const char *qid)
{
	if (qid != NULL && *qid != '\0')
		am_fmt(m->qid, sizeof(m->qid), "%s", qid);
}

/* am_msg_set_err - record the first internal failure of the message */
void
am_msg_set_err(struct am_msg *m, enum am_err err, const char *why)
{
	if (m->err != AM_ERR_NONE)
		return;
	m->err = err;
	am_fmt(m->errwhy, sizeof(m->errwhy), "%s", why);
}

/* note_authres - remember the index of an A-R field that claims our id */
static void
note_authres(struct am_msg *m, const char *value)
{
	size_t	*p;

	m->nauthres++;
	if (!am_authres_is_ours(value, m->conn->cfg->authserv_id))
		return;
	if (m->nforged >= AM_AUTHRES_FORGED_MAX) {
		/* we could not remove it: never deliver it */
		am_msg_set_err(m, AM_ERR_RESOURCE,
		    "too many forged Authentication-Results fields");
		return;
	}
	if ((p = reallocarray(m->forged, m->nforged + 1, sizeof(*p))) == NULL) {
		am_msg_set_err(m, AM_ERR_RESOURCE, "out of memory (A-R index)");
		return;
	}
	m->forged = p;
	m->forged[m->nforged++] = m->nauthres;
}

/* note_from - keep a From field value for end-of-message parsing */
static void
note_from(struct am_msg *m, const char *value)
{
	size_t	 n = m->nfrom++;

	/* RFC 5322 3.6: exactly one From; more than we keep is a permerror anyway */
	/* kept even past a header limit: padding must not hide the author */
	if (n >= AM_FROM_HDRS_MAX || strlen(value) > AM_HEADER_VALUE_MAX) {
		m->from_bad = 1;
		return;
	}
	if ((m->from[n] = strdup(value)) == NULL)
		am_msg_set_err(m, AM_ERR_RESOURCE, "out of memory (From)");
}

/*
 * note_msgid - the first Message-ID (RFC 5322 3.6.4), for the log only:
 * surrounding whitespace off, at most AM_MSGID_LOG_MAX characters
 */
static void
note_msgid(struct am_msg *m, const char *value)
{
	size_t	 len;

	if (m->msgid != NULL)
		return;
	value += strspn(value, " \t\r\n");
	len = strcspn(value, "\r\n");
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (len > AM_MSGID_LOG_MAX) {
		if ((m->msgid = malloc(AM_MSGID_LOG_MAX + 4)) != NULL)
			am_fmt(m->msgid, AM_MSGID_LOG_MAX + 4, "%.*s...",
			    AM_MSGID_LOG_MAX, value);
		return;
	}
	m->msgid = strndup(value, len);	/* NULL on ENOMEM: not logged */
}

/* start_dkim - the per-message verifier, made at the first header */
static void
start_dkim(struct am_msg *m)
{
	const struct am_config	*cfg = m->conn->cfg;

	m->dkim = am_dkim_new(m->conn->env->dkim, m->qid, cfg->min_key_bits,
	    cfg->max_signatures);
	if (m->dkim == NULL)
		am_msg_set_err(m, AM_ERR_LIBRARY, "cannot start DKIM verification");
	/* ARC (issue 14): the same headers, kept by arc/ */
	if ((m->arc = am_arc_new(cfg->min_key_bits)) == NULL)
		am_msg_set_err(m, AM_ERR_RESOURCE, "cannot start ARC verification");
}

/*
 * header_limit - AM_HEADERS_MAX, AM_HEADER_VALUE_MAX, AM_HEADER_BYTES_MAX:
 * the first one passed stops DKIM verification for this message.
 */
static void
header_limit(struct am_msg *m, const char *name, const char *value)
{
	size_t	 len = strlen(name) + strlen(value);

	m->hdrbytes += len;
	if (m->limit != NULL)
		return;
	if (m->nheaders > AM_HEADERS_MAX)
		m->limit = "too many header fields";
	else if (len > AM_HEADER_VALUE_MAX)
		m->limit = "header field too long";
	else if (m->hdrbytes > AM_HEADER_BYTES_MAX)
		m->limit = "header too large";
	else
		return;
	am_dkim_free(m->dkim);		/* nothing more is stored for it */
	m->dkim = NULL;
	if (m->arc != NULL)		/* a chain present is fail "not verified" */
		am_arc_limit(m->arc, m->limit);
}

/* sign_header - the signer keeps the field; an exempt message's From */
static void
sign_header(struct am_msg *m, const char *name, const char *value)
{
	if (am_signer_header(m->signer, name, value) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM signing (header) failed");
	/* the checks note From themselves; an exempt message needs it here */
	if (m->exempt != NULL && strcasecmp(name, "From") == 0)
		note_from(m, value);
}

/* header - one header field, its value as the message has it */
static void
header(struct am_msg *m, const char *name, const char *value)
{
	m->nheaders++;
	if (strcasecmp(name, "Authentication-Results") == 0)
		note_authres(m, value);
	if (strcasecmp(name, "Message-ID") == 0)
		note_msgid(m, value);
	if (strcasecmp(name, "List-Id") == 0)	/* RFC 2919: a list (local.h) */
		m->list_id = 1;
	if (m->signer != NULL)
		sign_header(m, name, value);
	if (m->exempt != NULL)
		return;
	if (m->conn->cfg->failure_reports)	/* issue 13 */
		am_freport_keep_header(&m->frep_hdrs, name, value,
		    &m->frep_hdrs_cut);
	header_limit(m, name, value);
	if (strcasecmp(name, "From") == 0)
		note_from(m, value);
	if (m->limit != NULL)
		return;
	if (m->dkim == NULL && m->err == AM_ERR_NONE && m->nheaders == 1)
		start_dkim(m);
	if (m->dkim != NULL && am_dkim_header(m->dkim, name, value) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM header processing failed");
	if (m->arc != NULL)	/* ENOMEM: a chain present is fail */
		(void)am_arc_header(m->arc, name, value);
	am_overlap_header(m, name, value);	/* DKIM key, DMARC names */
}

/* am_msg_header - one header field, name and value as the MTA sent them */
void
am_msg_header(struct am_msg *m, const char *name, const char *value)
{
	const char	*sp;
	char		*v;
	size_t		 len;

	if (name == NULL || value == NULL)
		return;
	sp = m->conn->hdr_space_lost ? am_rfc5322_lost_space(value) : "";
	if (*sp == '\0') {
		header(m, name, value);
		return;
	}
	/* c=simple DKIM (RFC 6376 3.4.1) hashes the field as it was sent */
	len = strlen(value);
	if ((v = malloc(len + 2)) == NULL) {
		am_msg_set_err(m, AM_ERR_RESOURCE, "out of memory (header)");
		return;
	}
	v[0] = *sp;
	memcpy(v + 1, value, len + 1);
	header(m, name, v);
	free(v);
}

/* dkim_eoh - signatures parsed, key look-ups started */
static void
dkim_eoh(struct am_msg *m, struct am_dns_budget *b)
{
	if (am_dkim_eoh(m->dkim, b) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM end-of-header failed");
}

/*
 * sign_eoh - the From address picks the keys: one From field with one
 * mailbox (RFC 5322 3.6.2), else the message is not signed
 */
static void
sign_eoh(struct am_msg *m)
{
	char		 dom[2][AM_DOMAIN_MAX + 1], addr[AM_SIGN_ADDR_MAX];
	const char	*a = NULL, *d = NULL;
	char		*p;

	if (m->nfrom == 1 && !m->from_bad && m->from[0] != NULL &&
	    am_rfc5322_from_domains(m->from[0], dom, 2) == 1 &&
	    am_signtable_from_addr(m->from[0], dom[0], addr,
	    sizeof(addr)) == 0) {
		for (p = dom[0]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		a = addr;
		d = dom[0];
	}
	if (am_signer_eoh(m->signer, a, d) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM signing (start) failed");
}

/* am_msg_eoh - end of headers */
void
am_msg_eoh(struct am_msg *m)
{
	if (m->signer != NULL)
		sign_eoh(m);
	if (m->arc != NULL)
		am_arc_eoh(m->arc);
	if (m->dkim == NULL)
		return;
	/* key look-ups may start here: the DKIM budget starts too */
	am_msg_budgeted(m, &am_msg_phase_dkim, dkim_eoh);
}

/* keep_body - the body for a failure report, cut at AM_FREPORT_BODY_MAX */
static void
keep_body(struct am_msg *m, const unsigned char *p, size_t len)
{
	if (m->frep_body_cut)
		return;
	if (m->frep_body.len + len > m->frep_body.cap) {
		len = m->frep_body.cap - m->frep_body.len;
		m->frep_body_cut = 1;
	}
	am_buf_add(&m->frep_body, (const char *)p, len);
}

/* am_msg_body - one body chunk */
void
am_msg_body(struct am_msg *m, const unsigned char *p, size_t len)
{
	if (m->signer != NULL && am_signer_body(m->signer, p, len) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM signing (body) failed");
	if (m->dkim != NULL && am_dkim_body(m->dkim, p, len) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM body processing failed");
	if (m->arc != NULL)		/* ARC body hashes, same pass */
		am_arc_body(m->arc, p, len);
	if (m->conn->cfg->failure_reports && m->conn->cfg->failure_reports_body &&
	    m->exempt == NULL)	/* issue 13 */
		keep_body(m, p, len);
}
