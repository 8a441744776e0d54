/*
 * readfile.c - a whole regular file of bounded size into memory.
 *
 * The file is opened with O_NONBLOCK so that opening a FIFO returns at once
 * instead of waiting for a writer; fstat then refuses anything that is not
 * a regular file (FIFO, device, directory, socket).  The size is checked
 * before reading and again while reading, as a file may grow in between.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/readfile.h"

/* kind - what a non-regular file is, for the message */
static const char *
kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* check_fd - a regular file no larger than max; 0, or -1 with err set */
static int
check_fd(int fd, size_t max, size_t *size, char *err, size_t errlen)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "is %s, not a regular file",
		    kind(st.st_mode));
		return -1;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "larger than %zu bytes", max);
		return -1;
	}
	*size = (size_t)st.st_size;
	return 0;
}

/* grow - room for at least one more byte than len (never past max + 1) */
static int
grow(char **buf, size_t *cap, size_t len, size_t max)
{
	size_t	 ncap = *cap * 2;
	char	*nbuf;

	if (len + 1 < *cap)
		return 0;
	if (ncap > max + 2)
		ncap = max + 2;		/* max + 1 bytes shows the overflow */
	if ((nbuf = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* read_all - every byte of fd into *buf; 0, or -1 with err set */
static int
read_all(int fd, size_t max, char **buf, size_t *len, size_t cap, char *err,
    size_t errlen)
{
	ssize_t	 n;

	*len = 0;
	for (;;) {
		if (grow(buf, &cap, *len, max) == -1) {
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -1;
		}
		n = read(fd, *buf + *len, cap - *len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		if ((*len += (size_t)n) > max) {
			snprintf(err, errlen, "larger than %zu bytes", max);
			return -1;
		}
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* am_readfile - a whole regular file of at most max bytes */
int
am_readfile(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	size_t	 size;
	int	 fd, rc = -1;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (check_fd(fd, max, &size, err, errlen) == 0) {
		/* one byte past st_size: a read of 0 there ends the loop */
		if ((*buf = malloc(size + 2)) == NULL)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		else
			rc = read_all(fd, max, buf, len, size + 2, err, errlen);
	}
	close(fd);
	if (rc == -1) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}

/* am_readfile_line - the next line, NUL-terminated in place */
char *
am_readfile_line(char **pos, char *end, int *nul)
{
	char	*line = *pos, *nl;

	if (line >= end)
		return NULL;
	if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
		nl = end;		/* the last line has no '\n' */
	*nl = '\0';			/* *end is am_readfile's NUL */
	*nul = memchr(line, '\0', (size_t)(nl - line)) != NULL;
	*pos = nl < end ? nl + 1 : end;
	return line;
}
