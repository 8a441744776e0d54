/*
 * history.c - the bounded queue of history records and its writer thread
 * (history.h says what callers may expect; README "History" what an admin
 * may).
 *
 * The queue is a linked list of packed records (record.h), so
 * HistoryQueueSize can change on reload without moving anything.  A record
 * lives in a slot of the slab when one is free and it fits, else in a
 * malloc'd block of its size (issue 17: before, every record took ~5.2 KB
 * and up to 1000 written ones were kept as spares, ~5 MB that a c=128
 * burst left behind for good; the slab is one mapping whose pages are
 * touched only as its slots are first used, LIFO, so the steady state
 * touches a few pages, and memory a burst takes beyond it is freed once
 * written).  The writer wakes every AM_HIST_TICK_MS
 * (puts never signal it: no system call on the mail path), takes up to
 * AM_HIST_BATCH_MAX records off the head and writes them in one transaction
 * without holding the lock.  A failed batch goes back to the head and is
 * tried again after a back-off; the handle is closed on any failure, so
 * the next try reopens the store (a file made writable again, a restarted
 * PostgreSQL).
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "db/db.h"
#include "history/history.h"

#define NPARAMS		31
#define SLAB_BYTES	((size_t)AM_HIST_SLOTS * AM_HIST_SLOT)

_Static_assert(AM_HIST_SLOT % 16 == 0 && AM_HIST_SLOT > AM_HIST_PACKED_HEAD,
    "a slot holds an aligned record head and some text");

static const char insert_sql[] =
	"INSERT INTO am_message (t, reporter, source_ip, env_from, env_to,"
	" header_from, policy_domain, org_domain, discovery, p, sp, np,"
	" adkim, aspf, testing, psd, fo, rua, ruf, pct, policy_tag,"
	" dmarc_result, dkim_aligned, spf_aligned, disposition, override,"
	" override_comment, spf_domain, spf_scope, spf_result, dkim)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
	" $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
	" $27, $28, $29, $30, $31)";

struct am_history {
	pthread_mutex_t		 lock;		/* guards all but the writer's own */
	pthread_cond_t		 cond;
	struct am_hist_packed	*head, *tail;
	size_t			 count, cap;
	size_t			 inflight;	/* taken by the writer, not yet done:
						   they count against cap too */
	char			*slab;		/* SLAB_BYTES, or NULL (no mapping) */
	size_t			 carved;	/* slab slots ever handed out */
	struct am_hist_packed	*free_slots;	/* written records' slots, LIFO */
	size_t			 outside;	/* queued or in flight, not in the slab */
	int			 head_tries;	/* failed attempts of the head batch */
	int			 stopping;
	int			 reconf;	/* newspec/newcap wait for the writer */
	char			*newspec;
	size_t			 newcap;
	int			 enabled;	/* __atomic */
	unsigned long		 written, dropped, failed;	/* __atomic */
	pthread_t		 thread;
	int			 running;
	/* the writer's own */
	char			*spec;
	struct am_db		*db;
	int			 failing;	/* the last attempt failed */
	unsigned int		 backoff_ms;
	struct timespec		 retry_at;
	time_t			 last_log;
	unsigned long		 logged_dropped, logged_failed;
	char			 err[AM_DB_ERR_MAX];
};

/* ---- time ---- */

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
add_ms(struct timespec *ts, unsigned int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ---- the queue (callers hold the lock) ---- */

/* take - detach up to max records from the head */
static struct am_hist_packed *
take(struct am_history *h, size_t max, size_t *n)
{
	struct am_hist_packed	*first = h->head, *r = h->head;

	*n = 0;
	if (r == NULL)
		return NULL;
	for (*n = 1; r->next != NULL && *n < max; (*n)++)
		r = r->next;
	h->head = r->next;
	if (h->head == NULL)
		h->tail = NULL;
	r->next = NULL;
	h->count -= *n;
	return first;
}

/* give_back - a batch that failed goes back to the head, in order */
static void
give_back(struct am_history *h, struct am_hist_packed *batch, size_t n)
{
	struct am_hist_packed	*last = batch;

	while (last->next != NULL)
		last = last->next;
	last->next = h->head;
	h->head = batch;
	if (h->tail == NULL)
		h->tail = last;
	h->count += n;
}

/* ---- the records' memory ---- */

/* in_slab - whether r is one of the slab's slots */
static int
in_slab(const struct am_history *h, const struct am_hist_packed *r)
{
	return h->slab != NULL &&
	    (uintptr_t)r - (uintptr_t)h->slab < SLAB_BYTES;
}

/*
 * slot - a free slot for a record of need bytes, or NULL (it does not
 * fit, or every slot is queued): a written one first (LIFO: its pages are
 * resident), else one never used yet
 */
static struct am_hist_packed *
slot(struct am_history *h, size_t need)
{
	struct am_hist_packed	*r = h->free_slots;

	if (need > AM_HIST_SLOT || h->slab == NULL)
		return NULL;
	if (r != NULL) {
		h->free_slots = r->next;
		return r;
	}
	if (h->carved == AM_HIST_SLOTS)
		return NULL;
	return (struct am_hist_packed *)(void *)(h->slab +
	    h->carved++ * AM_HIST_SLOT);
}

/*
 * release - records that are done with (written, failed or dropped): the
 * slots back to the free list, the rest freed.  Lock held.
 */
static void
release(struct am_history *h, struct am_hist_packed *r)
{
	struct am_hist_packed	*next;

	for (; r != NULL; r = next) {
		next = r->next;
		if (in_slab(h, r)) {
			r->next = h->free_slots;
			h->free_slots = r;
		} else {
			h->outside--;
			free(r);
		}
	}
}

/*
 * free_outside - a written batch's records that are not slots, freed
 * without the lock (the batch is the writer's), so that the blocks of a
 * burst do not hold up puts; returns the slots, *n the freed
 */
static struct am_hist_packed *
free_outside(const struct am_history *h, struct am_hist_packed *r,
    size_t *n)
{
	struct am_hist_packed	*slots = NULL, *next;

	for (*n = 0; r != NULL; r = next) {
		next = r->next;
		if (in_slab(h, r)) {
			r->next = slots;
			slots = r;
		} else {
			free(r);
			(*n)++;
		}
	}
	return slots;
}

/* ---- writing ---- */

/* num - a number's text (the writer's hot path: no printf) */
static void
num(char *out, long long v)
{
	char	 tmp[24];
	size_t	 n = 0, i = 0;
	int	 neg = v < 0;

	do {
		tmp[n++] = (char)('0' + (neg ? -(v % 10) : v % 10));
		v /= 10;
	} while (v != 0 && n < sizeof(tmp));
	if (neg)
		out[i++] = '-';
	while (n > 0)
		out[i++] = tmp[--n];
	out[i] = '\0';
}

/* row - the statement's parameters; nums holds the numbers' texts */
static void
row(const struct am_hist_packed *r, const char *p[NPARAMS], char nums[4][24],
    char flag[4][2])
{
	num(nums[0], r->t);
	num(nums[1], r->pct);
	num(nums[2], r->dkim_aligned);
	num(nums[3], r->spf_aligned);
	flag[0][0] = r->adkim ? r->adkim : 'r';
	flag[1][0] = r->aspf ? r->aspf : 'r';
	flag[2][0] = r->testing;
	flag[3][0] = r->psd ? r->psd : 'u';
	flag[0][1] = flag[1][1] = flag[2][1] = flag[3][1] = '\0';
	p[0] = nums[0];
	p[1] = am_hist_text(r, AM_HT_REPORTER);
	p[2] = am_hist_text(r, AM_HT_SOURCE_IP);
	p[3] = am_hist_text(r, AM_HT_ENV_FROM);
	p[4] = am_hist_text(r, AM_HT_ENV_TO);
	p[5] = am_hist_text(r, AM_HT_HEADER_FROM);
	p[6] = am_hist_text(r, AM_HT_POLICY_DOMAIN);
	p[7] = am_hist_text(r, AM_HT_ORG_DOMAIN);
	p[8] = am_hist_text(r, AM_HT_DISCOVERY);
	p[9] = am_hist_text(r, AM_HT_P);
	p[10] = am_hist_text(r, AM_HT_SP);
	p[11] = am_hist_text(r, AM_HT_NP);
	p[12] = flag[0];	p[13] = flag[1];	p[14] = flag[2];
	p[15] = flag[3];
	p[16] = am_hist_text(r, AM_HT_FO);
	p[17] = am_hist_text(r, AM_HT_RUA);
	p[18] = am_hist_text(r, AM_HT_RUF);
	p[19] = nums[1];
	p[20] = am_hist_text(r, AM_HT_POLICY_TAG);
	p[21] = r->dmarc_result; p[22] = nums[2];	p[23] = nums[3];
	p[24] = r->disposition;	p[25] = r->override;
	p[26] = am_hist_text(r, AM_HT_OVERRIDE_COMMENT);
	p[27] = am_hist_text(r, AM_HT_SPF_DOMAIN);
	p[28] = r->spf_scope;	p[29] = r->spf_result;
	p[30] = am_hist_text(r, AM_HT_DKIM);
}

/*
 * store_open - the store, its page cache capped at AM_HIST_DB_CACHE_KB
 * (issue 17); NULL with h->err set
 */
static struct am_db *
store_open(struct am_history *h)
{
	struct am_db	*db = am_db_open(h->spec, h->err, sizeof(h->err));

	if (db != NULL && am_db_cache_kb(db, AM_HIST_DB_CACHE_KB) != 0) {
		snprintf(h->err, sizeof(h->err), "%s", am_db_error(db));
		am_db_close(db);
		return NULL;
	}
	return db;
}

/* write_batch - one transaction; 0, or -1 with h->err set (handle closed) */
static int
write_batch(struct am_history *h, const struct am_hist_packed *batch)
{
	const struct am_hist_packed	*r;
	const char			*p[NPARAMS];
	char				 nums[4][24], flag[4][2];

	if (h->db == NULL && (h->db = store_open(h)) == NULL)
		return -1;
	if (am_db_begin_write(h->db) != 0)
		goto fail;
	for (r = batch; r != NULL; r = r->next) {
		row(r, p, nums, flag);
		if (am_db_exec(h->db, insert_sql, 31, p) < 0) {
			am_db_rollback(h->db);
			goto fail;
		}
	}
	if (am_db_commit(h->db) == 0)
		return 0;
	am_db_rollback(h->db);
fail:
	snprintf(h->err, sizeof(h->err), "%s", am_db_error(h->db));
	am_db_close(h->db);
	h->db = NULL;
	return -1;
}

/* ---- logging: the first failure at once, then once a minute ---- */

static void
log_state(struct am_history *h, int force)
{
	unsigned long	 d, f;
	time_t		 t = time(NULL);

	d = __atomic_load_n(&h->dropped, __ATOMIC_RELAXED);
	f = __atomic_load_n(&h->failed, __ATOMIC_RELAXED);
	if (!force && (t - h->last_log < AM_HIST_LOG_SECS ||
	    (d == h->logged_dropped && f == h->logged_failed && !h->failing)))
		return;
	if (h->failing)
		am_log_err(NULL, "history: %s; queued %zu, dropped %lu and "
		    "failed %lu records since the last line", h->err,
		    h->count, d - h->logged_dropped, f - h->logged_failed);
	else
		am_log_warn(NULL, "history: dropped %lu and failed %lu records "
		    "since the last line (HistoryQueueSize %zu)",
		    d - h->logged_dropped, f - h->logged_failed, h->cap);
	h->logged_dropped = d;
	h->logged_failed = f;
	h->last_log = t;
}

/*
 * attempt - write the head batch (lock held on entry and exit).  A
 * failure puts it back, or, after AM_HIST_TRIES, counts it failed.
 */
static int
attempt(struct am_history *h)
{
	struct am_hist_packed	*batch;
	size_t			 n, nfreed = 0;
	int			 rc;

	batch = take(h, AM_HIST_BATCH_MAX, &n);
	if (batch == NULL)
		return 0;
	h->inflight = n;
	pthread_mutex_unlock(&h->lock);
	rc = write_batch(h, batch);
	if (rc == 0)
		batch = free_outside(h, batch, &nfreed);
	pthread_mutex_lock(&h->lock);
	h->inflight = 0;
	if (rc == 0) {
		__atomic_add_fetch(&h->written, n, __ATOMIC_RELAXED);
		h->outside -= nfreed;
		release(h, batch);
		h->head_tries = 0;
		return 0;
	}
	if (++h->head_tries >= AM_HIST_TRIES) {
		__atomic_add_fetch(&h->failed, n, __ATOMIC_RELAXED);
		release(h, batch);
		h->head_tries = 0;
	} else
		give_back(h, batch, n);
	return -1;
}

/* after - the outcome of an attempt: back-off, and the log */
static void
after(struct am_history *h, int rc)
{
	if (rc == 0) {
		if (h->failing)
			am_log_info(NULL, "history: writing to %s again",
			    h->db != NULL ? am_db_name(h->db) : h->spec);
		h->failing = 0;
		h->backoff_ms = 0;
		return;
	}
	h->backoff_ms = h->backoff_ms == 0 ? AM_HIST_BACKOFF_MIN_MS :
	    h->backoff_ms * 2;
	if (h->backoff_ms > AM_HIST_BACKOFF_MAX_MS)
		h->backoff_ms = AM_HIST_BACKOFF_MAX_MS;
	now(&h->retry_at);
	add_ms(&h->retry_at, h->backoff_ms);
	if (!h->failing) {
		h->failing = 1;
		log_state(h, 1);
	}
}

/* flush - write the queue for at most AM_HIST_STOP_SECS; 0 when empty */
static int
flush(struct am_history *h)
{
	struct timespec	 end, t;

	now(&end);
	end.tv_sec += AM_HIST_STOP_SECS;
	while (h->count > 0) {
		now(&t);
		if (!before(&t, &end))
			return -1;
		if (attempt(h) != 0) {
			after(h, -1);
			return -1;
		}
		after(h, 0);
	}
	return 0;
}

/* drop_all - what is queued is lost (stop, or history turned off) */
static void
drop_all(struct am_history *h)
{
	if (h->count > 0) {
		am_log_warn(NULL, "history: %zu queued records dropped",
		    h->count);
		__atomic_add_fetch(&h->dropped, h->count, __ATOMIC_RELAXED);
	}
	release(h, h->head);
	h->head = h->tail = NULL;
	h->count = 0;
	h->head_tries = 0;
}

/* switch_store - a reload: the old store gets the queue first */
static void
switch_store(struct am_history *h)
{
	char	*spec = h->newspec;

	h->newspec = NULL;
	h->reconf = 0;
	h->cap = h->newcap;
	if (strcmp(spec, h->spec) == 0) {
		free(spec);
		return;
	}
	if (__atomic_load_n(&h->enabled, __ATOMIC_RELAXED))
		(void)flush(h);
	am_db_close(h->db);
	h->db = NULL;
	free(h->spec);
	h->spec = spec;
	h->failing = 0;
	h->backoff_ms = 0;
	__atomic_store_n(&h->enabled, am_db_spec_kind(spec, NULL) != AM_DB_NONE,
	    __ATOMIC_RELAXED);
	if (!__atomic_load_n(&h->enabled, __ATOMIC_RELAXED))
		drop_all(h);
	am_log_info(NULL, "history: store now %s", spec);
}

/*
 * open_now - open the store at start and after a switch, so that the
 * schema exists before the first record (authmilter-report --summary on
 * a fresh install) and a store that cannot be opened is logged at once
 */
static void
open_now(struct am_history *h)
{
	if (!__atomic_load_n(&h->enabled, __ATOMIC_RELAXED) || h->db != NULL)
		return;
	pthread_mutex_unlock(&h->lock);
	h->db = store_open(h);
	pthread_mutex_lock(&h->lock);
	after(h, h->db != NULL ? 0 : -1);
	if (h->db != NULL)
		am_log_info(NULL, "history: writing to %s", am_db_name(h->db));
}

/* writer - the thread: tick, write, back off; at stop, flush */
static void *
writer(void *arg)
{
	struct am_history	*h = arg;
	struct timespec		 t, wake;

	pthread_mutex_lock(&h->lock);
	open_now(h);
	while (!h->stopping) {
		if (h->reconf) {
			switch_store(h);
			open_now(h);
			continue;
		}
		now(&t);
		if (h->count > 0 && !before(&t, &h->retry_at)) {
			after(h, attempt(h));
			if (h->count >= AM_HIST_BATCH_MAX && !h->failing)
				continue;	/* more than a batch: at once */
		}
		log_state(h, 0);
		clock_gettime(CLOCK_REALTIME, &wake);
		add_ms(&wake, AM_HIST_TICK_MS);
		(void)pthread_cond_timedwait(&h->cond, &h->lock, &wake);
	}
	if (__atomic_load_n(&h->enabled, __ATOMIC_RELAXED))
		(void)flush(h);
	drop_all(h);
	log_state(h, 0);
	pthread_mutex_unlock(&h->lock);
	am_db_close(h->db);
	h->db = NULL;
	return NULL;
}

/* ---- the API ---- */

struct am_history *
am_history_new(const char *spec, size_t qsize, char *err, size_t errlen)
{
	struct am_history	*h;
	int			 rc;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->spec = strdup(spec)) == NULL) {
		free(h);
		snprintf(err, errlen, "history: out of memory");
		return NULL;
	}
	h->cap = qsize;
	h->enabled = am_db_spec_kind(spec, NULL) != AM_DB_NONE;
	/* pages are touched as slots are first used; without it, malloc */
	h->slab = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->slab == MAP_FAILED)
		h->slab = NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if ((rc = pthread_create(&h->thread, NULL, writer, h)) != 0) {
		snprintf(err, errlen, "history: writer thread: %s",
		    strerror(rc));
		am_history_free(h);
		return NULL;
	}
	h->running = 1;
	return h;
}

int
am_history_enabled(struct am_history *h)
{
	return h != NULL && __atomic_load_n(&h->enabled, __ATOMIC_RELAXED);
}

/* room - whether a put may queue one more record; lock held */
static int
room(const struct am_history *h)
{
	return !h->stopping && h->count + h->inflight < h->cap;
}

/* append - r at the tail; lock held */
static void
append(struct am_history *h, struct am_hist_packed *r)
{
	r->next = NULL;
	if (h->tail != NULL)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
	h->count++;
}

/*
 * am_history_put - packed into a free slot, else into a block of its size
 * (malloc'd without the lock), or counted dropped
 */
void
am_history_put(struct am_history *h, const struct am_hist_rec *rec)
{
	struct am_hist_packed	*r = NULL;
	size_t			 need;

	if (!am_history_enabled(h))
		return;
	need = am_hist_pack(rec, NULL, 0);
	pthread_mutex_lock(&h->lock);
	if (room(h) && (r = slot(h, need)) != NULL) {
		(void)am_hist_pack(rec, r, AM_HIST_SLOT);
		append(h, r);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (room(h)) {
		/* no free slot (a burst deeper than the slab), or too long */
		pthread_mutex_unlock(&h->lock);
		if ((r = malloc(need)) != NULL)
			(void)am_hist_pack(rec, r, need);
		pthread_mutex_lock(&h->lock);
		if (r != NULL && room(h)) {
			h->outside++;
			append(h, r);
			pthread_mutex_unlock(&h->lock);
			return;
		}
	}
	pthread_mutex_unlock(&h->lock);
	free(r);
	__atomic_add_fetch(&h->dropped, 1, __ATOMIC_RELAXED);
}

void
am_history_reload(struct am_history *h, const char *spec, size_t qsize)
{
	char	*s;

	if (h == NULL || (s = strdup(spec)) == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	free(h->newspec);
	h->newspec = s;
	h->newcap = qsize;
	h->reconf = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void
am_history_stop(struct am_history *h)
{
	if (h == NULL || !h->running)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	h->running = 0;
}

void
am_history_free(struct am_history *h)
{
	if (h == NULL)
		return;
	am_history_stop(h);
	release(h, h->head);
	if (h->slab != NULL)
		(void)munmap(h->slab, SLAB_BYTES);
	free(h->newspec);
	free(h->spec);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void
am_history_stats(struct am_history *h, struct am_history_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	st->depth = h->count + h->inflight;
	st->slab_used = h->carved;
	st->outside = h->outside;
	pthread_mutex_unlock(&h->lock);
	st->written = __atomic_load_n(&h->written, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&h->dropped, __ATOMIC_RELAXED);
	st->failed = __atomic_load_n(&h->failed, __ATOMIC_RELAXED);
}
