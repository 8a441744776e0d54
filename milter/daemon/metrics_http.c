/*
 * metrics_http.c - GET /metrics over HTTP with libmicrohttpd.
 *
 * libmicrohttpd runs one internal polling thread; each request renders the
 * counters into a fresh buffer that libmicrohttpd copies.  Anything but
 * GET or HEAD /metrics gets 404 or 405.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/sockspec.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"

#define METRICS_MAX		(256 * 1024)
#define METRICS_CTYPE		"application/openmetrics-text; version=1.0.0; charset=utf-8"

struct am_metrics_http {
	int		 fd;
	struct MHD_Daemon *mhd;
};

/*
 * parse_spec - "inet[6]:port[@addr]" into a socket address; no address:
 * loopback (sockspec.h says why)
 */
static int
parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct am_sockspec	 sp;

	if (am_sockspec_parse(spec, &sp) != NULL ||
	    sp.kind == AM_SOCKSPEC_UNIX ||
	    (sp.host[0] != '\0' && !sp.host_is_addr))
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (sp.kind == AM_SOCKSPEC_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)sp.port);
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, sp.host[0] ? sp.host : "::1",
		    &sin6->sin6_addr) == 1 ? 0 : -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)sp.port);
	*len = sizeof(*sin);
	return inet_pton(AF_INET, sp.host[0] ? sp.host : "127.0.0.1",
	    &sin->sin_addr) == 1 ? 0 : -1;
}

/* am_metrics_http_new - bind and listen */
struct am_metrics_http *
am_metrics_http_new(const char *spec, char *err, size_t errlen)
{
	struct am_metrics_http	*h;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 one = 1;

	if (parse_spec(spec, &ss, &len) == -1) {
		snprintf(err, errlen, "MetricsSocket %s: bad address", spec);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "MetricsSocket: %s", strerror(errno));
		return NULL;
	}
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd == -1 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(h->fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(h->fd, 16) == -1) {
		snprintf(err, errlen, "MetricsSocket %s: %s", spec,
		    strerror(errno));
		am_metrics_http_free(h);
		return NULL;
	}
	return h;
}

/* simple - a short text response with a status code */
static enum MHD_Result
simple(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	struct MHD_Response	*r;
	enum MHD_Result		 rc;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* handle - one request */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	struct MHD_Response	*r;
	struct am_buf		 b;
	enum MHD_Result		 rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return simple(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n");
	if (strcmp(url, "/metrics") != 0)
		return simple(conn, MHD_HTTP_NOT_FOUND, "try /metrics\n");
	am_buf_init(&b, METRICS_MAX);
	am_metrics_render(&b);
	if (am_buf_failed(&b)) {
		am_buf_clear(&b);
		return simple(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n");
	}
	r = MHD_create_response_from_buffer(b.len, (void *)am_buf_str(&b),
	    MHD_RESPMEM_MUST_COPY);
	am_buf_clear(&b);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CTYPE);
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* am_metrics_http_start - libmicrohttpd's thread on the bound socket */
int
am_metrics_http_start(struct am_metrics_http *h, char *err, size_t errlen)
{
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, NULL,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "MetricsSocket: cannot start the HTTP "
		    "server");
		return -1;
	}
	return 0;
}

/* am_metrics_http_free - stop the server and close the socket */
void
am_metrics_http_free(struct am_metrics_http *h)
{
	if (h == NULL)
		return;
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);	/* closes the listen socket */
	else if (h->fd != -1)
		close(h->fd);
	free(h);
}
