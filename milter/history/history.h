/*
 * history.h - the milter's side of the history store (issue 13, README
 * "History"): a bounded in-memory queue of records and one writer thread
 * that writes them to the store (db.h) in batches, one transaction each.
 *
 * The mail path never waits for the store: am_history_put() packs a record
 * (record.h: what its texts need, not the ~5.2 KB of struct am_hist_rec)
 * into the queue under a mutex, or drops it (and counts it) when the queue
 * is full or the history is off.  Memory (issue 17): a packed record goes
 * into a slot of one slab of AM_HIST_SLOTS slots of AM_HIST_SLOT bytes,
 * reused once written; a record that finds no free slot (a queue deeper
 * than the slab) or does not fit one (long rua/ruf or DKIM lists) is
 * malloc'd for its size and freed once written.  So the queue holds at most
 * the slab (512 KB) plus what a burst deeper than it queues, and nothing
 * of a burst stays behind.  The writer
 * retries a failed batch with back-off (AM_HIST_BACKOFF_*), reopening the
 * store each time; a batch that failed AM_HIST_TRIES times is given up
 * (counted failed).  It logs the first failure at once and then at most
 * one line a minute (AM_HIST_LOG_SECS) with what was dropped and failed.
 *
 * Thread-safe: put/stats from any thread; start, reload and stop from one
 * thread at a time (main, the reload thread).
 */
#ifndef AM_HISTORY_H
#define AM_HISTORY_H

#include <stddef.h>

#include "history/record.h"

#define AM_HIST_QUEUE_DEFAULT	5000	/* HistoryQueueSize: 10 s at 500 msg/s */
#define AM_HIST_QUEUE_MAX	1000000
#define AM_HIST_BATCH_MAX	500	/* records per transaction */
#define AM_HIST_TICK_MS		200	/* the writer looks at the queue this often */
#define AM_HIST_TRIES		3	/* attempts per batch before it fails */
#define AM_HIST_BACKOFF_MIN_MS	1000	/* first retry; doubles per failure */
#define AM_HIST_BACKOFF_MAX_MS	10000
#define AM_HIST_STOP_SECS	5	/* a stop or reload writes the queue for at most this long */
#define AM_HIST_LOG_SECS	60	/* at most one drop/failure line this often */
#define AM_HIST_SLOT		512	/* bytes of a slab slot: a packed record
					   of usual mail (~300-500 bytes) fits */
#define AM_HIST_SLOTS		1024	/* slots in the slab (512 KB); touched
					   only as they are first used */
#define AM_HIST_DB_CACHE_KB	512	/* the writer's SQLite page cache
					   (SQLite's default: 2 MB) */

struct am_history;

struct am_history_stats {
	unsigned long	 depth;		/* records waiting now */
	unsigned long	 written;
	unsigned long	 dropped;	/* queue full, history off, or left at stop */
	unsigned long	 failed;	/* a batch given up after AM_HIST_TRIES */
	unsigned long	 slab_used;	/* slab slots ever used (the slab's
					   resident part): <= AM_HIST_SLOTS */
	unsigned long	 outside;	/* records queued or being written
					   outside the slab now */
};

/*
 * am_history_new - the queue and its writer thread.  spec: HistoryDB
 * ("none": off; the writer still runs, so that a reload can turn it on);
 * qsize: HistoryQueueSize.  The store is opened by the writer, so a store
 * that cannot be opened now is a log line, not a failure here.  NULL with
 * the reason in err (out of memory, no thread).
 */
struct am_history *am_history_new(const char *spec, size_t qsize,
		    char *err, size_t errlen);

/* am_history_put - copy a record into the queue; never waits on the store */
void		 am_history_put(struct am_history *, const struct am_hist_rec *);

/* am_history_enabled - 1 unless the history is "none" (a cheap test) */
int		 am_history_enabled(struct am_history *);

/*
 * am_history_reload - a new HistoryDB and HistoryQueueSize.  Returns at
 * once: the writer first writes what is queued to the store it has (for
 * at most AM_HIST_STOP_SECS), then switches; records it could not write
 * stay queued for the new store (or, for "none", are dropped).
 */
void		 am_history_reload(struct am_history *, const char *spec,
		    size_t qsize);

/*
 * am_history_stop - write what is queued (at most AM_HIST_STOP_SECS; what
 * is left is dropped and counted) and end the writer.  Puts after it are
 * counted dropped.  am_history_free() after every thread that puts ended.
 */
void		 am_history_stop(struct am_history *);
void		 am_history_free(struct am_history *);	/* NULL is fine */

void		 am_history_stats(struct am_history *, struct am_history_stats *);

#endif /* AM_HISTORY_H */
