/*
 * privs.c - drop root for the configured user and group.
 *
 * Order matters: supplementary groups and the group id can only be set
 * while we are still root, so initgroups() and setgid() come before
 * setuid().  Afterwards every id is checked: a drop that silently failed
 * must not leave a milter parsing mail as root.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/privs.h"

/* supplementary groups looked at when deciding whether the run user may
 * write a directory (am_privs_file_dir); more are ignored */
#define AM_PRIVS_GROUPS_MAX	256

/* am_privs_lookup - user and group names to ids */
int
am_privs_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		 buf[16384];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL) {
		snprintf(err, errlen, "no such user \"%s\"", user);
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	if (group == NULL)
		return 0;
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || grp == NULL) {
		snprintf(err, errlen, "no such group \"%s\"", group);
		return -1;
	}
	*gid = gr.gr_gid;
	return 0;
}

/* verify - every id is the target and root cannot be regained */
static int
verify(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		snprintf(err, errlen, "still uid %ld/%ld gid %ld/%ld after "
		    "dropping to %ld:%ld", (long)getuid(), (long)geteuid(),
		    (long)getgid(), (long)getegid(), (long)uid, (long)gid);
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "could regain root after dropping to "
		    "uid %ld", (long)uid);
		return -1;
	}
	return 0;
}

/* am_privs_drop - become user:group for good */
int
am_privs_drop(const char *user, const char *group, const char *chown_path,
    char *err, size_t errlen)
{
	uid_t	 uid;
	gid_t	 gid;

	if (am_privs_lookup(user, group, &uid, &gid, err, errlen) == -1)
		return -1;
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return 0;	/* started as that user already */
		snprintf(err, errlen, "UserID %s: must be started as root "
		    "(running as uid %ld)", user, (long)geteuid());
		return -1;
	}
	if (chown_path != NULL && chown(chown_path, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", chown_path,
		    strerror(errno));
		return -1;
	}
	if (initgroups(user, gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		snprintf(err, errlen, "cannot become %s (uid %ld gid %ld): %s",
		    user, (long)uid, (long)gid, strerror(errno));
		return -1;
	}
	return verify(uid, gid, err, errlen);
}

/* am_privs_dir_removable - the permission classes of chmod(2): owner,
 * else group, else other; the first that matches decides */
int
am_privs_dir_removable(const struct stat *st, uid_t uid, const gid_t *groups,
    int ngroups)
{
	int	 i;

	if (uid == 0)
		return 1;
	if (st->st_uid == uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	for (i = 0; i < ngroups; i++)
		if (groups[i] == st->st_gid)
			return (st->st_mode & (S_IWGRP | S_IXGRP)) ==
			    (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* dir_of - the directory part of path into dir ("." or "/" at least) */
static int
dir_of(const char *path, char *dir, size_t len)
{
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (slash == NULL)
		return snprintf(dir, len, ".") >= (int)len ? -1 : 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* am_privs_file_dir - create the directory for the run user, or say
 * that the file will outlive the daemon */
int
am_privs_file_dir(const char *path, const char *user, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	char		 dir[4096];
	struct stat	 st;
	gid_t		 groups[AM_PRIVS_GROUPS_MAX];
	int		 ngroups = AM_PRIVS_GROUPS_MAX;

	if (dir_of(path, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "%s: name too long", path);
		return -1;
	}
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0755) == -1 ||
		    (uid != (uid_t)-1 && chown(dir, uid, gid) == -1)) {
			snprintf(err, errlen, "%s: cannot create directory "
			    "%s: %s", path, dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (uid == (uid_t)-1 || user == NULL)
		return 0;
	/* more groups than the array holds: the first ones decide */
	if (getgrouplist(user, gid, groups, &ngroups) == -1)
		ngroups = AM_PRIVS_GROUPS_MAX;
	if (am_privs_dir_removable(&st, uid, groups, ngroups))
		return 0;
	snprintf(err, errlen, "%s: directory %s is not writable by %s, so "
	    "the file cannot be removed at exit (a PidFile is emptied "
	    "instead): use a directory %s owns, e.g. /run/authmilter "
	    "(systemd/authmilter-tmpfiles.conf), or one authmilter creates",
	    path, dir, user, user);
	return 1;
}
