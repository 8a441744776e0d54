/*
 * pidfile.c - write and remove the PidFile.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pidfile.h"

/*
 * am_pidfile_write - "PID\n" into path, atomically: written to a temporary
 * file beside it and renamed, so a reader never sees an empty PidFile
 */
int
am_pidfile_write(const char *path, uid_t owner, gid_t group, char *err,
    size_t errlen)
{
	char	 buf[32], tmp[4096];
	int	 fd, len, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "PidFile %s: name too long", path);
		return -1;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len ||
	    (owner != (uid_t)-1 && fchown(fd, owner, group) == -1))
		rc = -1;
	if (close(fd) == -1)
		rc = -1;
	/* rename replaces a stale file, or one that is not ours */
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
	return rc;
}

/* ours - does path hold our pid? */
static int
ours(const char *path)
{
	char	 buf[32];
	FILE	*fp;
	int	 rc = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), fp) != NULL &&
	    strtol(buf, NULL, 10) == (long)getpid())
		rc = 1;
	fclose(fp);
	return rc;
}

/* am_pidfile_remove - unlink, or empty when unlink is not allowed */
int
am_pidfile_remove(const char *path)
{
	int	 fd;

	if (path == NULL || !ours(path))
		return 0;
	if (unlink(path) == 0)
		return 0;
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	close(fd);
	return 0;
}
