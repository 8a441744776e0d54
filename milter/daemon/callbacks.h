/*
 * callbacks.h - the milter callback table (engine.h).
 *
 * Callbacks are thin: unpack the engine's arguments, call one session.c
 * function, map the outcome to AM_MS_* (and the reply text, quarantine
 * and header edits at end of message).  No policy lives here.
 */
#ifndef AM_CALLBACKS_H
#define AM_CALLBACKS_H

struct am_daemon;
struct am_milter;

/* Set the daemon the callbacks use; once, before the engine starts. */
void		 am_callbacks_init(struct am_daemon *);
const struct am_milter *am_callbacks_milter(void);
/* connections open right now (for a clean shutdown) */
int		 am_callbacks_active(void);
/* messages between MAIL FROM and end of message right now */
int		 am_callbacks_busy(void);

#endif /* AM_CALLBACKS_H */
