/*
 * keys.h - the key table as the loader (load.c) sees it: names, look-up
 * and the setters, by index.  Private to config/; the table itself and
 * what each key accepts are in config.c.
 */
#ifndef AM_CONFIG_KEYS_H
#define AM_CONFIG_KEYS_H

#include <stddef.h>

struct am_config;

#define AM_CONFIG_ERR_MAX	512	/* one problem's text */

/* am_config_nkeys - how many keys the table has (indexes 0 .. n-1) */
size_t		 am_config_nkeys(void);

/* am_config_key_name - the key's name as documented ("AuthservID") */
const char	*am_config_key_name(size_t i);

/* am_config_key_find - index of a key name (case-insensitive), or -1 */
int		 am_config_key_find(const char *name);

/*
 * am_config_key_set - check val and set key i in cfg; dir: the config
 * file's directory, for relative file names (NULL: none).  0, or -1 with
 * the problem in err (cfg unchanged).
 */
int		 am_config_key_set(size_t i, struct am_config *cfg,
		    const char *dir, const char *val, char *err, size_t errlen);

/*
 * am_config_check_all - after a file parsed without problems: what needs
 * several keys or other files (the signing keys, config/signing.c).
 * lines[i]: the line key i was set on (0: not set).  Every problem goes
 * to errfn as "file:line: ..."; returns how many.
 */
size_t		 am_config_check_all(struct am_config *cfg, const char *path,
		    const size_t *lines, void (*errfn)(void *, const char *),
		    void *arg);

/* am_config_base - a snapshot of every default but AuthservID's; NULL: ENOMEM */
struct am_config *am_config_base(void);

/*
 * am_config_default_authserv - set AuthservID to this host's FQDN: the host
 * name if it has a dot, else its canonical name (getaddrinfo AI_CANONNAME)
 * if that has one, else the host name, with a warning when warn is set.
 * Only when the file sets none: getaddrinfo may ask DNS.  0 or -1 (ENOMEM).
 */
int		 am_config_default_authserv(struct am_config *, int warn);

#endif /* AM_CONFIG_KEYS_H */
