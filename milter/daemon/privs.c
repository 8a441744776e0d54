/*
 * privs.c - drop root for the configured user and group.
 *
 * Order matters: supplementary groups and the group id can only be set
 * while we are still root, so initgroups() and setgid() come before
 * setuid().  Afterwards every id is checked: a drop that silently failed
 * must not leave a milter parsing mail as root.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/privs.h"

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
