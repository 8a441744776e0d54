/*
 * signtable.h - the pure half of DKIM signing: who gets signed, and with
 * which keys (OpenDKIM's KeyTable and SigningTable formats).
 *
 * Everything here is a pure function of its arguments: no files, no
 * clock, no libraries.  sign.c reads the files and the keys and calls
 * these; the unit tests call them with fixed text.
 *
 * KeyTable, one entry a line ('#' comments, blank lines ignored):
 *	keyname  domain:selector:/path/to/keyfile
 * SigningTable, one entry a line, in order (OpenDKIM "refile:" style):
 *	pattern  keyname
 * where pattern is an address ("user@example.com"), a domain
 * ("example.com", the From domain exactly), ".example.com" (any
 * subdomain of it), or a pattern with '*' wildcards matched against the
 * whole From address ("*@example.com", "*").  The first line whose
 * pattern matches wins, together with every other line that has the same
 * pattern text: two lines "*@example.com rsa" and "*@example.com ed"
 * sign with both keys (RFC 8463 dual signing).
 *
 * Threads: the structures are read-only once built.
 */
#ifndef AM_SIGNTABLE_H
#define AM_SIGNTABLE_H

#include <stddef.h>

/*
 * Limits (README "Limits"): more table lines than AM_SIGN_TABLE_MAX is a
 * configuration error at the first line over; a message matching more
 * than AM_SIGN_PER_MSG_MAX keys is signed with the first ones (logged).
 */
#define AM_SIGN_TABLE_MAX	10000	/* lines of KeyTable or SigningTable */
#define AM_SIGN_PER_MSG_MAX	4	/* signatures added to one message */
#define AM_SIGN_NAME_MAX	255	/* key name, domain, selector (RFC 1035) */
#define AM_SIGN_ADDR_MAX	512	/* From address compared with patterns */

/* one KeyTable line */
struct am_sign_keyent {
	char	*name;
	char	*domain;		/* lower case */
	char	*selector;
	char	*keyfile;		/* as written; relative to the table */
	size_t	 line;
};

/* one SigningTable line */
struct am_sign_rule {
	char	*pattern;		/* lower case */
	char	*keyname;
	size_t	 key;			/* index into the key table, once linked */
	size_t	 line;
};

/*
 * am_signtable_keyline - parse one KeyTable line (no comment, trimmed) into
 * *e (strings allocated; am_signtable_keyent_clear frees them).  0, or -1
 * with the problem in err (e unchanged).
 */
int	am_signtable_keyline(const char *line, struct am_sign_keyent *e,
	    char *err, size_t errlen);
void	am_signtable_keyent_clear(struct am_sign_keyent *);

/* am_signtable_ruleline - one SigningTable line, the same way */
int	am_signtable_ruleline(const char *line, struct am_sign_rule *r,
	    char *err, size_t errlen);
void	am_signtable_rule_clear(struct am_sign_rule *);

/* am_signtable_match - does pattern (lower case) match addr/domain? */
int	am_signtable_match(const char *pattern, const char *addr,
	    const char *domain);

/*
 * am_signtable_select - the rules that apply to a From address: indexes of
 * the first matching rule and of every later rule with the same pattern,
 * at most max, into out.  addr and domain lower case; addr may be "@domain"
 * when the local part is unknown.  Returns how many.
 */
size_t	am_signtable_select(const struct am_sign_rule *rules, size_t nrules,
	    const char *addr, const char *domain, size_t *out, size_t max);

/*
 * am_signtable_from_addr - the address of a From field value that has
 * exactly one mailbox whose domain is domain: "local@domain", lower case,
 * into out; "@domain" when the local part cannot be read simply (quoted,
 * commented).  -1 if it does not fit.
 */
int	am_signtable_from_addr(const char *value, const char *domain,
	    char *out, size_t outlen);

/* Who is signed (issue 18): the sign mode of one message. */
enum am_sign_mode {
	AM_SIGN_OFF,		/* no keys configured: neither sign nor say why */
	AM_SIGN_OUTSIDE,	/* a client from outside: verified, never signed */
	AM_SIGN_AUTH,		/* SMTP AUTH ({auth_authen} set) */
	AM_SIGN_IGNORE,		/* client in IgnoreHosts (the MTA's own mail) */
	AM_SIGN_INTERNAL	/* client in InternalHosts */
};

/*
 * am_sign_decide - the sign mode from the facts of a client; a message
 * from outside is never signed, whatever else is configured.
 */
enum am_sign_mode am_sign_decide(int configured, int authenticated,
	    int ignore_host, int internal_host);
int		 am_sign_mode_signs(enum am_sign_mode);
const char	*am_sign_mode_str(enum am_sign_mode);	/* "auth", ... */

#endif /* AM_SIGNTABLE_H */
