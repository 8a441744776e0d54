/*
 * send.c - a report mail to the local MTA or to a directory (send.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/send.h"

/* the most recipients of one submission (uri.h keeps at most 8 per record) */
#define SEND_ARGS_MAX	64

/* write_all - the whole buffer to fd; 0 or -1 */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* child - exec sendmail with the message on its stdin (after fork) */
static void
child(int rfd, const char *sendmail, const char *const *argv)
{
	if (dup2(rfd, 0) == -1)
		_exit(71);
	close(rfd);
	execv(sendmail, (char *const *)(uintptr_t)argv);
	fprintf(stderr, "authmilter-report: exec %s: %s\n", sendmail,
	    strerror(errno));
	_exit(71);	/* EX_OSERR */
}

/* am_send_sendmail - see send.h */
int
am_send_sendmail(const char *sendmail, const char *from,
    const char *const *to, size_t nto, const char *msg, size_t len,
    char *err, size_t errlen)
{
	const char	*argv[SEND_ARGS_MAX + 6];
	int		 fd[2], st, werr = 0;
	size_t		 i, n = 0;
	pid_t		 pid;

	if (nto == 0 || nto > SEND_ARGS_MAX) {
		snprintf(err, errlen, "%zu recipients", nto);
		return -1;
	}
	argv[n++] = sendmail;
	argv[n++] = "-oi";	/* a line of one "." does not end the message */
	argv[n++] = "-f";
	argv[n++] = from;
	argv[n++] = "--";	/* no address is read as an option */
	for (i = 0; i < nto; i++)
		argv[n++] = to[i];
	argv[n] = NULL;
	if (pipe(fd) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[1]);
		child(fd[0], sendmail, argv);
	}
	close(fd[0]);
	if (write_all(fd[1], msg, len) == -1)
		werr = errno;	/* EPIPE: SIGPIPE is ignored by the program */
	close(fd[1]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFSIGNALED(st)) {
		snprintf(err, errlen, "%s: signal %d", sendmail, WTERMSIG(st));
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "%s: exit %d", sendmail, WEXITSTATUS(st));
		return -1;
	}
	if (werr != 0) {
		snprintf(err, errlen, "%s: write: %s", sendmail, strerror(werr));
		return -1;
	}
	return 0;
}

/* am_send_file - see send.h */
int
am_send_file(const char *dir, const char *name, const char *data, size_t len,
    char *err, size_t errlen)
{
	char	 path[PATH_MAX], tmp[PATH_MAX];
	int	 fd, bad;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) || (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp",
	    dir, name) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s/%s: name too long", dir, name);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	bad = write_all(fd, data, len) == -1;
	bad |= close(fd) == -1;
	if (bad || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
