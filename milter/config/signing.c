/*
 * signing.c - the signing keys of a configuration (issue 18): after the
 * file parsed, KeyTable/SigningTable or the Domain/Selector/KeyFile trio
 * are read and checked (dkim/sign.h am_signconf_load) into cfg->sign.
 * At start and at every reload (SIGUSR1), so a bad key keeps the old
 * configuration running.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/keys.h"
#include "dkim/sign.h"

/* counting - am_sign_err_fn that counts and passes on */
struct counting {
	void	(*errfn)(void *, const char *);
	void	*arg;
	size_t	 n;
};

static void
count_err(void *arg, const char *msg)
{
	struct counting	*c = arg;

	c->n++;
	if (c->errfn != NULL)
		c->errfn(c->arg, msg);
}

/* line_of - the line a key was set on, 0 if not */
static size_t
line_of(const size_t *lines, const char *key)
{
	int	 i = am_config_key_find(key);

	return i >= 0 ? lines[i] : 0;
}

/*
 * run_uid - the user that must own the key files: UserID's, or ours when
 * there is none (or at a reload, where we already run as UserID)
 */
static uid_t
run_uid(const struct am_config *cfg)
{
	struct passwd	*pw;

	if (cfg->user != NULL && (pw = getpwnam(cfg->user)) != NULL)
		return pw->pw_uid;
	return geteuid();
}

/* am_config_check_all - see keys.h */
size_t
am_config_check_all(struct am_config *cfg, const char *path,
    const size_t *lines, void (*errfn)(void *, const char *), void *arg)
{
	struct counting		 c = { errfn, arg, 0 };
	struct am_sign_src	 src;
	char			 where[4200];

	if (cfg->key_table == NULL && cfg->signing_table == NULL &&
	    cfg->key_file == NULL) {
		if ((cfg->sign_domain || cfg->sign_selector) && errfn != NULL) {
			snprintf(where, sizeof(where), "%s:%zu: Domain/Selector "
			    "without KeyFile", path, cfg->sign_domain ?
			    line_of(lines, "Domain") : line_of(lines, "Selector"));
			count_err(&c, where);
		}
		return c.n;
	}
	snprintf(where, sizeof(where), "%s:%zu: %s", path,
	    line_of(lines, cfg->key_file ? "KeyFile" : cfg->key_table ?
	    "KeyTable" : "SigningTable"), cfg->key_file ? "KeyFile" :
	    cfg->key_table ? "KeyTable" : "SigningTable");
	memset(&src, 0, sizeof(src));
	src.keytable = cfg->key_table;
	src.signtable = cfg->signing_table;
	src.domain = cfg->sign_domain;
	src.selector = cfg->sign_selector;
	src.keyfile = cfg->key_file;
	src.trio_where = where;
	src.run_uid = run_uid(cfg);
	cfg->sign = am_signconf_load(&src, count_err, &c);
	if (cfg->sign == NULL && c.n == 0)
		count_err(&c, "signing keys: cannot load");
	return c.n;
}
