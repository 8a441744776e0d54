/*
 * fmt.h - snprintf() for the per-message path.
 *
 * glibc's vfprintf took 3.5 % of the daemon's CPU at c=8 (issue 17's
 * profile), nearly all of it for formats that only paste strings and
 * numbers together ("_dmarc.%s", " %s=", "%u.%u.%u.%u", "%s" as a bounded
 * copy).  Such "plain" formats, of text and the conversions %s, %u and %%
 * alone (no flags, width, precision or length), are written here byte by
 * byte; any other format goes to vsnprintf().  Either way the bytes and the
 * return value are vsnprintf()'s (C11 7.21.6.12): at most cap - 1 bytes and
 * a NUL when cap > 0, and the length the whole output would have had, or
 * -1 (EOVERFLOW) past INT_MAX.  A NULL %s prints "(null)", as glibc does.
 *
 * Owns nothing; pure functions of their arguments.
 */
#ifndef AM_COMMON_FMT_H
#define AM_COMMON_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* am_fmt_plain - 1 if fmt uses no conversion but %s, %u and %% */
int	am_fmt_plain(const char *fmt);

/*
 * am_fmt_each - the output of a plain fmt (am_fmt_plain), piece by piece:
 * put(arg, bytes, n) for each run of text and each converted argument
 */
void	am_fmt_each(const char *fmt, va_list ap,
	    void (*put)(void *arg, const char *p, size_t n), void *arg);

/* am_fmt, am_vfmt - as snprintf, vsnprintf */
int	am_fmt(char *dst, size_t cap, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	am_vfmt(char *dst, size_t cap, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

#endif
