/*
 * send.h - a report mail handed to the local MTA (RFC 9990 2.5.3: the MTA
 * signs it so that it passes DMARC, queues and retries it), or written to
 * a directory (authmilter-report --dry-run).
 *
 * Blocking; no shared state.
 */
#ifndef AM_REPORT_SEND_H
#define AM_REPORT_SEND_H

#include <stddef.h>

/*
 * am_send_sendmail - run "sendmail -oi -f from -- to..." (no shell) and
 * write the message to its standard input.  0 when it exited 0, else -1
 * with the reason ("exit 75", "signal 9", "exec: ...") in err.
 */
int	am_send_sendmail(const char *sendmail, const char *from,
	    const char *const *to, size_t nto, const char *msg, size_t len,
	    char *err, size_t errlen);

/*
 * am_send_file - write data to dir/name (mode 0644, replaced atomically
 * through a temporary name); 0 or -1 with the reason in err
 */
int	am_send_file(const char *dir, const char *name, const char *data,
	    size_t len, char *err, size_t errlen);

#endif /* AM_REPORT_SEND_H */
