/*
 * metrics_http.h - the MetricsSocket: an HTTP server (libmicrohttpd) that
 * answers GET /metrics with am_metrics_render's text.
 *
 * Two steps so the port is bound while still root and the thread starts
 * after the privilege drop: am_metrics_http_new binds and listens,
 * am_metrics_http_start starts libmicrohttpd's thread on that socket.
 * Called from main() only; the server thread only reads atomic counters.
 */
#ifndef AM_METRICS_HTTP_H
#define AM_METRICS_HTTP_H

#include <stddef.h>

struct am_metrics_http;

/* spec: "inet:port[@addr]" or "inet6:port[@addr]"; NULL + err on failure */
struct am_metrics_http	*am_metrics_http_new(const char *spec, char *err,
			    size_t errlen);
int			 am_metrics_http_start(struct am_metrics_http *,
			    char *err, size_t errlen);
void			 am_metrics_http_free(struct am_metrics_http *);	/* NULL is fine */

#endif /* AM_METRICS_HTTP_H */
