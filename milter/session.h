/*
 * session.h - per-connection (struct am_conn) and per-message (struct
 * am_msg) state, and the message pipeline that runs the checks.
 *
 * Knows nothing of libmilter: callbacks.c unpacks libmilter's arguments and
 * calls these functions, so the whole pipeline can be driven from a unit
 * test.  libmilter runs one connection's callbacks one at a time, so an
 * am_conn and its am_msg need no locks.  Shared things are read-only (the
 * config snapshot) or internally thread-safe (am_dns, am_dkim_lib).
 *
 * Ownership: am_conn holds one reference on its config snapshot and owns
 * its am_msg; every string in them is a private copy.
 */
#ifndef AM_SESSION_H
#define AM_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "config.h"
#include "policy.h"
#include "results.h"

#define AM_FROM_HDRS_MAX	8	/* From fields kept; more is a permerror */
#define AM_HEADER_VALUE_MAX	(64 * 1024)	/* longer From values are not parsed */
#define AM_HEADERS_MAX		2000	/* headers past this are not fed to DKIM */
#define AM_AUTHRES_MAX		(8 * 1024)	/* our A-R value's cap */

struct am_dns;
struct am_dkim_lib;
struct am_dkim;
struct am_spf;

/* the long-lived handles a connection borrows; owned by the daemon */
struct am_env {
	struct am_dns		*dns;
	struct am_dkim_lib	*dkim;
};

struct am_msg;

struct am_conn {
	const struct am_env	*env;
	struct am_config	*cfg;		/* one reference held */
	char			 client_ip[64];	/* text; "unknown" if none */
	char			*hostname;	/* MTA's reverse name for the client */
	char			*helo;
	int			 trusted_net;	/* client in IgnoreHosts */
	struct am_spf		*spf;		/* made on first use */
	struct am_msg		*msg;		/* current message or NULL */
	unsigned long		 nmsgs;
};

struct am_msg {
	struct am_conn		*conn;
	char			 qid[64];	/* "NOQUEUE" until known */
	char			*mailfrom;	/* without <> */
	struct am_facts		 facts;
	const char		*exempt;	/* why the checks are skipped, or NULL */
	struct am_results	 res;
	struct am_dkim		*dkim;
	char			*from[AM_FROM_HDRS_MAX];	/* From field values */
	size_t			 nfrom;		/* From fields seen (may exceed the array) */
	int			 from_bad;	/* some From could not be kept or parsed */
	size_t			 nauthres;	/* A-R fields seen */
	size_t			*forged;	/* 1-based A-R indexes claiming our id */
	size_t			 nforged;
	size_t			 nheaders;
	enum am_err		 err;		/* first internal failure */
	char			 errwhy[128];
};

/* am_conn_new - NULL on ENOMEM; takes a new reference on cfg */
struct am_conn	*am_conn_new(const struct am_env *, struct am_config *cfg,
		    const char *hostname, const struct sockaddr *client);
void		 am_conn_free(struct am_conn *);	/* NULL is fine */
int		 am_conn_helo(struct am_conn *, const char *helo);

/*
 * Start a message (frees any previous one).  mailfrom as given (with or
 * without <>); auth_authen is the {auth_authen} macro or NULL.  Runs the
 * SPF checks unless the client is exempt.  NULL on ENOMEM.
 */
struct am_msg	*am_msg_new(struct am_conn *, const char *mailfrom,
		    const char *auth_authen);
void		 am_msg_free(struct am_msg *);		/* also detaches from conn */
void		 am_msg_set_qid(struct am_msg *, const char *);
void		 am_msg_set_err(struct am_msg *, enum am_err, const char *why);

void	am_msg_header(struct am_msg *, const char *name, const char *value);
void	am_msg_eoh(struct am_msg *);
void	am_msg_body(struct am_msg *, const unsigned char *, size_t);

/* end of message: DKIM results, From domains, DMARC.  Errors stick. */
void	am_msg_finish(struct am_msg *);

/*
 * The verdict and our A-R value (into b, initialised by the caller) for a
 * finished message.  Returns 0, or -1 if the header could not be built.
 */
void	am_msg_decide(const struct am_msg *, struct am_verdict *);
int	am_msg_authres(const struct am_msg *, const struct am_verdict *, struct am_buf *b);

/* one key=value summary line for the log */
void	am_msg_summary(const struct am_msg *, const struct am_verdict *, struct am_buf *b);

#endif /* AM_SESSION_H */
