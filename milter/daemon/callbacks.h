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

/*
 * The table for am_engine_conf; the engine's udata must be the struct
 * am_daemon the callbacks use.
 */
const struct am_milter *am_callbacks_milter(void);
/* connections open right now (for a clean shutdown) */
int		 am_callbacks_active(void);

#endif /* AM_CALLBACKS_H */
