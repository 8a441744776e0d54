/*
 * privs.h - run as an unprivileged user: UserID "user[:group]".
 *
 * Called once from main() after the socket is bound and the files that
 * need root are open, before any thread starts (so the credentials of
 * one thread are those of the process).  Not thread-safe.
 */
#ifndef AM_PRIVS_H
#define AM_PRIVS_H

#include <sys/types.h>

/*
 * Look up user (and group, or the user's login group when NULL) into
 * *uid and *gid.  Returns 0, or -1 with a message in err.
 */
int	am_privs_lookup(const char *user, const char *group, uid_t *uid,
	    gid_t *gid, char *err, size_t errlen);

/*
 * Become user:group: initgroups, setgid, setuid, in that order, then check
 * with getuid/geteuid/getgid/getegid that it took and that root cannot be
 * regained.  chown_path (a unix socket, may be NULL) is given to the user
 * first so the MTA's group can reach it and the socket can be removed at
 * exit.  Returns 0, or -1 with a message in err: the caller must exit, never
 * keep running as root.
 */
int	am_privs_drop(const char *user, const char *group,
	    const char *chown_path, char *err, size_t errlen);

#endif /* AM_PRIVS_H */
