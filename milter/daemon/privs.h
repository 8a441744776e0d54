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
#include <sys/stat.h>

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

/*
 * May a user with uid and the groups groups[0..ngroups) remove a file of
 * its own from a directory that stat() describes as st?  unlink(2) needs
 * write and search permission on the directory (the sticky bit then still
 * lets the owner of the file remove it).  Pure; uid 0 always may.
 */
int	am_privs_dir_removable(const struct stat *st, uid_t uid,
	    const gid_t *groups, int ngroups);

/*
 * Ready the directory of path, a file made as root and removed at exit
 * after the drop (the PidFile, a unix socket), before it is made: a
 * missing directory (the last component only) is created with mode 0755
 * less the umask and, when uid is not -1, given to uid:gid, so that user
 * can remove the file at exit.  An existing directory user cannot remove
 * the file from gives 1 and a warning in err (the file is left behind at
 * exit: a PidFile emptied).  0 when ready, -1 with err when the directory
 * cannot be created.
 */
int	am_privs_file_dir(const char *path, const char *user, uid_t uid,
	    gid_t gid, char *err, size_t errlen);

#endif /* AM_PRIVS_H */
