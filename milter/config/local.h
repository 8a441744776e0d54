/*
 * local.h - the local policy keys (issue 14): TrustedDKIMDomains,
 * TrustedSenders, DomainPolicy, MailingListAction.  Private to config/:
 * config.c's key table calls am_config_local_set for them.  What the keys
 * do is message/local.h's.
 */
#ifndef AM_CONFIG_LOCAL_H
#define AM_CONFIG_LOCAL_H

#include <stddef.h>

struct am_config;

/*
 * Set the local policy key name (one of the four above) from val; dir:
 * the config file's folder for a relative DomainPolicy file.  0, or -1
 * with the problem in err (a DomainPolicy file problem as "file:line:
 * ..."); cfg is unchanged on error.
 */
int	am_config_local_set(const char *name, struct am_config *cfg,
	    const char *dir, const char *val, char *err, size_t errlen);

/* free what the keys hold (config.c's am_config_unref) */
void	am_config_local_free(struct am_config *cfg);

#endif /* AM_CONFIG_LOCAL_H */
