/*
 * pidfile.h - the PidFile: written once after daemonizing, removed at exit.
 *
 * Not thread-safe; called from main() only.
 */
#ifndef AM_PIDFILE_H
#define AM_PIDFILE_H

#include <sys/types.h>

/*
 * Write getpid() and a newline to path (replacing any old file, never
 * following a symlink).  owner/group: given to the file when not -1, so
 * the process can still clear it after dropping root.  0, or -1 + err.
 */
int	am_pidfile_write(const char *path, uid_t owner, gid_t group,
	    char *err, size_t errlen);

/*
 * Remove path if it still holds our pid; when the directory does not let
 * us (root-owned after the drop), empty the file instead.  0 or -1.
 */
int	am_pidfile_remove(const char *path);

#endif /* AM_PIDFILE_H */
