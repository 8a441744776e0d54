/*
 * buf.h - growable string with a hard cap and a sticky failure flag.
 *
 * Appends never fail loudly: past the cap or on ENOMEM the buffer is marked
 * failed and further appends are ignored, so a builder checks once at the end
 * (am_buf_failed).  The string is always NUL-terminated.  Not thread-safe;
 * owned by whoever called am_buf_init.
 */
#ifndef AM_BUF_H
#define AM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct am_buf {
	char	*s;		/* NUL-terminated, NULL until first append */
	size_t	 len;
	size_t	 size;
	size_t	 cap;		/* maximum len */
	int	 failed;
};

void	 am_buf_init(struct am_buf *, size_t cap);
void	 am_buf_clear(struct am_buf *);		/* frees the storage */
void	 am_buf_reset(struct am_buf *);		/* len = 0, failure cleared, keeps storage */
void	 am_buf_add(struct am_buf *, const char *, size_t);
void	 am_buf_adds(struct am_buf *, const char *);
void	 am_buf_addc(struct am_buf *, char);
void	 am_buf_addf(struct am_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *am_buf_str(const struct am_buf *);	/* "" when empty; valid until next append */
int	 am_buf_failed(const struct am_buf *);

#endif /* AM_BUF_H */
