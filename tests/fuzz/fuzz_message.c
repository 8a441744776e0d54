/*
 * fuzz_message.c - one whole SMTP transaction through the session code:
 * am_conn_new, am_conn_helo, am_msg_new (SPF), am_msg_header,
 * am_msg_eoh, am_msg_body, am_msg_finish (DKIM, From, DMARC),
 * am_msg_decide, am_msg_authres, am_msg_summary.
 *
 * DNS answers come from the input: am_dns in local_only mode (no network)
 * serves the zone-file lines of the first section.  Input layout:
 *
 *	zone-file lines ("name TTL IN TYPE rdata"), one per line
 *	%%
 *	client IP (v4 or v6)
 *	HELO name
 *	MAIL FROM argument
 *	%%
 *	message: header lines (folded lines continue a header), an empty
 *	line, then the body (fed in chunks whose size the input decides)
 *
 * Properties: the A-R value always fits its cap or the call reports -1;
 * the action is one of the four.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <assert.h>
#include <stdio.h>

#include "common/buf.h"
#include "config/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "fuzz.h"
#include "message/session.h"

#define FUZZ_RR_MAX	64	/* zone lines used per input */
#define FUZZ_HDR_MAX	(AM_HEADERS_MAX + 10)

static struct am_config	*cfg;

/* client_addr - parse the client line; NULL address when it is not an IP */
static const struct sockaddr *
client_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return (struct sockaddr *)ss;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return (struct sockaddr *)ss;
	}
	return NULL;
}

/* load_zone - every line of zone as local data; bad lines are skipped */
static void
load_zone(struct am_dns *dns, char *zone)
{
	char	*line, *save = NULL;
	int	 n = 0;

	for (line = strtok_r(zone, "\n", &save); line != NULL && n < FUZZ_RR_MAX;
	    line = strtok_r(NULL, "\n", &save), n++)
		(void)am_dns_add_local(dns, line);
}

/* feed_headers - split "Name: value" lines, unfold continuation lines */
static void
feed_headers(struct am_msg *m, char *hdrs)
{
	char	*line, *next, *colon, *name = NULL, *value = NULL;
	int	 n = 0;

	for (line = hdrs; line != NULL && *line != '\0' && n < FUZZ_HDR_MAX;
	    line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if ((*line == ' ' || *line == '\t') && value != NULL) {
			/* a continuation: rejoin it to the value, folding kept */
			line[-1] = '\n';
			continue;
		}
		if (name != NULL) {
			am_msg_header(m, name, value);
			n++;
		}
		name = line;
		if ((colon = strchr(line, ':')) == NULL) {
			value = line + strlen(line);	/* a header without a colon */
			continue;
		}
		*colon = '\0';
		value = colon + 1;
	}
	if (name != NULL)
		am_msg_header(m, name, value);
}

/* feed_body - the body in chunks of a size taken from its first byte */
static void
feed_body(struct am_msg *m, const char *body, size_t len)
{
	size_t	 chunk = len > 0 ? 1 + (unsigned char)body[0] * 37 : 1, n;

	while (len > 0) {
		n = len < chunk ? len : chunk;
		am_msg_body(m, (const unsigned char *)body, n);
		body += n;
		len -= n;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((cfg = am_config_defaults()) == NULL)
		abort();
	free(cfg->authserv_id);
	cfg->authserv_id = strdup("mx.fuzz.example");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 1 };
	struct am_env		 env;
	struct sockaddr_storage	 ss;
	struct am_conn		*c;
	struct am_msg		*m;
	struct am_verdict	 v;
	struct am_buf		 b;
	char			 err[256];
	char			*s = fuzz_str(data, size), *smtp, *msg, *body;
	char			*ip, *helo, *mailfrom;
	size_t			 bodylen;
	int			 rc;

	smtp = fuzz_split(s, "%%\n");
	msg = fuzz_split(smtp, "%%\n");
	helo = fuzz_split(ip = smtp, "\n");
	mailfrom = fuzz_split(helo, "\n");
	(void)fuzz_split(mailfrom, "\n");
	body = fuzz_split(msg, "\n\n");
	/* the body may hold NULs: take its length from the input */
	bodylen = size - (size_t)(body - s);

	if ((env.dns = am_dns_new(&o, err, sizeof(err))) == NULL)
		abort();
	load_zone(env.dns, s);
	if ((env.dkim = am_dkim_lib_new(env.dns, err, sizeof(err))) == NULL)
		abort();
	c = am_conn_new(&env, cfg, "client.fuzz.example", client_addr(ip, &ss));
	assert(c != NULL);
	(void)am_conn_helo(c, helo);
	m = am_msg_new(c, mailfrom, NULL);
	assert(m != NULL);
	am_msg_set_qid(m, "FUZZ");
	feed_headers(m, msg);
	am_msg_eoh(m);
	feed_body(m, body, bodylen);
	am_msg_finish(m);
	am_msg_decide(m, &v);
	assert(v.action >= AM_ACT_ACCEPT && v.action <= AM_ACT_TEMPFAIL);
	am_buf_init(&b, AM_AUTHRES_MAX);
	rc = am_msg_authres(m, &v, &b);
	assert(rc == -1 || (rc == 0 && b.len <= AM_AUTHRES_MAX));
	am_buf_clear(&b);
	am_buf_init(&b, 4096);
	am_msg_summary(m, &v, &b);
	am_buf_clear(&b);
	am_conn_free(c);
	am_dkim_lib_free(env.dkim);
	am_dns_free(env.dns);
	free(s);
	return 0;
}
