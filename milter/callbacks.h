/*
 * callbacks.h - the libmilter callback table.
 *
 * Callbacks are thin: unpack libmilter's arguments, call one session.c
 * function, map the outcome to SMFIS_* (and smfi_setreply/_quarantine/
 * header edits at end of message).  No policy lives here.
 */
#ifndef AM_CALLBACKS_H
#define AM_CALLBACKS_H

struct am_daemon;
struct smfiDesc;

/* Set the daemon the callbacks use; once, before smfi_main(). */
void		 am_callbacks_init(struct am_daemon *);
struct smfiDesc	*am_callbacks_desc(void);
/* connections open right now (for a clean shutdown) */
int		 am_callbacks_active(void);
/* messages between MAIL FROM and end of message right now */
int		 am_callbacks_busy(void);

#endif /* AM_CALLBACKS_H */
