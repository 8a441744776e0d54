/*
 * setters.h - config.c's key table and the setters it names, one per kind
 * of value (setters.c).  Internal to config/: the rest of the daemon sets
 * keys through keys.h.  A setter parses val into cfg (dir: the config
 * file's folder, for relative names, or NULL) and returns 0, or -1 with
 * err filled; it is also run on each key's default text, so defaults are
 * checked like file values.
 */
#ifndef AM_CONFIG_SETTERS_H
#define AM_CONFIG_SETTERS_H

#include <stddef.h>

#include "config/config.h"

struct key;

typedef int (*setter_fn)(const struct key *, struct am_config *,
    const char *dir, const char *val, char *err, size_t errlen);

struct key {
	const char	*name;
	setter_fn	 set;
	size_t		 off;		/* field, for the generic setters */
	unsigned int	 min, max;	/* for set_uint */
	const char	*def;		/* default text, or NULL */
};


/* used by config.c too */
void	am_cfg_free_strv(char **v, size_t n);

int	am_cfg_set_uint(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_bool(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_action(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_from_action(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_facility(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_loglevel(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_logdest(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_logformat(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_engine(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_socket(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_authserv(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_nameservers(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_ignore(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_file(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_dnsname(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_reject(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_text(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_email(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_psl(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_sealers(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_userid(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_umask(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_path(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_metrics(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_history(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);
int	am_cfg_set_local(const struct key *, struct am_config *,
	    const char *dir, const char *val, char *err, size_t errlen);

#endif /* AM_CONFIG_SETTERS_H */
