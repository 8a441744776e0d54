/*
 * daemon.c - process-wide handles: config snapshot, resolver, DKIM library.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "dkim/dkim.h"
#include "dkim/dkim_keycache.h"
#include "dns/dns.h"
#include "history/history.h"

/* am_daemon_init - resolver and DKIM library for the configured nameservers */
int
am_daemon_init(struct am_daemon *d, struct am_config *cfg, char *err,
    size_t errlen)
{
	struct am_dns_opts	 o;
	char			 why[256];

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	memset(&o, 0, sizeof(o));
	o.nameservers = (const char *const *)cfg->nameservers;
	o.nnameservers = cfg->nnameservers;
	o.timeout = cfg->dns_timeout;
	if ((d->env.dns = am_dns_new(&o, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "resolver: %s", why);
		return -1;
	}
	if ((d->env.dkim = am_dkim_lib_new(d->env.dns, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "DKIM library: %s", why);
		am_dns_free(d->env.dns);
		d->env.dns = NULL;
		return -1;
	}
	(void)am_keycache_selftest();	/* a bypassed cache is logged, not fatal */
	d->cfg = am_config_ref(cfg);
	return 0;
}

/* am_daemon_clear - release everything (after the engine stopped) */
void
am_daemon_clear(struct am_daemon *d)
{
	am_history_free(d->history);	/* stops its writer first */
	am_dkim_lib_free(d->env.dkim);
	am_dns_free(d->env.dns);
	am_config_unref(d->cfg);
	pthread_mutex_destroy(&d->lock);
	memset(d, 0, sizeof(*d));
}

/* am_daemon_config - a reference on the current snapshot */
struct am_config *
am_daemon_config(struct am_daemon *d)
{
	struct am_config	*c;

	pthread_mutex_lock(&d->lock);
	c = am_config_ref(d->cfg);
	pthread_mutex_unlock(&d->lock);
	return c;
}

/* am_daemon_swap_config - install a new snapshot */
void
am_daemon_swap_config(struct am_daemon *d, struct am_config *cfg)
{
	struct am_config	*old;

	pthread_mutex_lock(&d->lock);
	old = d->cfg;
	d->cfg = cfg;
	pthread_mutex_unlock(&d->lock);
	am_config_unref(old);
}
