/*
 * readfile.h - read a whole file that the configuration names, safely.
 *
 * The configuration file, IgnoreHosts files and the Public Suffix List are
 * read at start and on every reload, by the reload thread.  A FIFO there
 * would block it forever and a device like /dev/zero would never end, so
 * only a regular file of at most a given size is read.
 *
 * Thread-safe: no shared state.
 */
#ifndef AM_READFILE_H
#define AM_READFILE_H

#include <stddef.h>

/*
 * Read the regular file path (at most max bytes) into a new buffer: *buf
 * (the caller frees it) holds *len bytes plus a terminating NUL, which the
 * file itself may also contain.  0, or -1 with the problem (without the
 * path: callers say where) in err.
 */
int	am_readfile(const char *path, size_t max, char **buf, size_t *len,
	    char *err, size_t errlen);

/*
 * The next line of a buffer from am_readfile, its '\n' replaced by NUL;
 * NULL after the last one.  *pos starts at the buffer, end is buf + len.
 * *nul is set to 1 if the line holds a NUL byte (the C string would hide
 * its rest), else 0.
 */
char	*am_readfile_line(char **pos, char *end, int *nul);

#endif /* AM_READFILE_H */
