/*
 * db_sqlite.c - the SQLite back-end of db.h: one file, WAL mode (readers
 * such as authmilter-report --summary never block the milter's writer),
 * synchronous=NORMAL (in WAL mode a power loss may undo the last
 * transactions but never corrupts the file; the milter's queue is lost on a
 * crash anyway, README "History"), and a busy timeout so that a second
 * writer (authmilter-report deleting old rows) makes us wait, not fail.
 *
 * Statements run through am_db_exec() are kept prepared in a small cache:
 * the writer thread inserts the same statement for every record.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"

#define SQ_CACHE	8	/* prepared statements kept per handle */

struct sq_cached {
	char		*sql;
	sqlite3_stmt	*st;
	int		 idx[AM_DB_PARAMS_MAX];	/* "$k" -> bind index, 0 unused */
};

struct sq_cache {
	struct sq_cached	 e[SQ_CACHE];
	unsigned int		 next;		/* round-robin victim */
};

static const struct am_db_ops sq_ops;

/* sq_err - the handle's error after a failed call, with SQLite's text */
static void
sq_err(struct am_db *db, const char *what)
{
	am_db_seterr(db, "%s: %s", what, sqlite3_errmsg(db->h));
}

/* sq_prepare - a fresh statement */
static sqlite3_stmt *
sq_prepare(struct am_db *db, const char *sql)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_err(db, "prepare");
		return NULL;
	}
	return st;
}

/* sq_index - "$1" .. "$n" are named parameters in SQLite's grammar */
static void
sq_index(sqlite3_stmt *st, int *idx, int n)
{
	char	 name[16];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "$%d", i + 1);
		idx[i] = sqlite3_bind_parameter_index(st, name);
	}
}

/* sq_bind - the parameters by the indexes of sq_index (0: not used) */
static int
sq_bind(struct am_db *db, sqlite3_stmt *st, const int *map, int n,
    const char *const *p, sqlite3_destructor_type how)
{
	int	 i, idx, rc;

	for (i = 0; i < n; i++) {
		if ((idx = map[i]) == 0)
			continue;	/* the statement does not use it */
		if (p[i] == NULL)
			rc = sqlite3_bind_null(st, idx);
		else
			rc = sqlite3_bind_text(st, idx, p[i], -1, how);
		if (rc != SQLITE_OK) {
			sq_err(db, "bind");
			return -1;
		}
	}
	return 0;
}

/*
 * sq_cached - the cache's entry for sql, prepared (and its parameter
 * indexes looked up) on first use
 */
static struct sq_cached *
sq_cached(struct am_db *db, const char *sql)
{
	struct sq_cache		*c = db->cache;
	struct sq_cached	*e;
	unsigned int		 i;

	for (i = 0; i < SQ_CACHE; i++)
		if (c->e[i].sql != NULL && strcmp(c->e[i].sql, sql) == 0)
			return &c->e[i];
	e = &c->e[c->next++ % SQ_CACHE];
	sqlite3_finalize(e->st);
	free(e->sql);
	e->st = NULL;
	if ((e->sql = strdup(sql)) == NULL) {
		am_db_seterr(db, "out of memory");
		return NULL;
	}
	if ((e->st = sq_prepare(db, sql)) == NULL) {
		free(e->sql);
		e->sql = NULL;
		return NULL;
	}
	sq_index(e->st, e->idx, AM_DB_PARAMS_MAX);
	return e;
}

static long
sq_exec(struct am_db *db, const char *sql, int n, const char *const *p)
{
	struct sq_cached	*e;
	sqlite3_stmt		*st;
	long			 rc = -1;
	int			 r, before;

	if ((e = sq_cached(db, sql)) == NULL)
		return -1;
	st = e->st;
	/* sqlite3_changes() keeps the last DML's count across a DROP or a
	   BEGIN; the difference of the totals is this statement's */
	before = sqlite3_total_changes(db->h);
	if (sq_bind(db, st, e->idx, n, p, SQLITE_STATIC) == 0) {
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (r == SQLITE_DONE)
			rc = sqlite3_total_changes(db->h) - before;
		else
			sq_err(db, "step");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static struct am_db_rows *
sq_query(struct am_db *db, const char *sql, int n, const char *const *p)
{
	struct am_db_rows	*rows;
	sqlite3_stmt		*st;
	int			 map[AM_DB_PARAMS_MAX];

	if ((st = sq_prepare(db, sql)) == NULL)
		return NULL;
	sq_index(st, map, n);
	if (sq_bind(db, st, map, n, p, SQLITE_TRANSIENT) != 0 ||
	    (rows = calloc(1, sizeof(*rows))) == NULL) {
		if (db->err[0] == '\0')
			am_db_seterr(db, "out of memory");
		sqlite3_finalize(st);
		return NULL;
	}
	rows->db = db;
	rows->r = st;
	return rows;
}

static int
sq_next(struct am_db_rows *rows)
{
	int	 r;

	r = sqlite3_step(rows->r);
	if (r == SQLITE_ROW)
		return 1;
	if (r == SQLITE_DONE)
		return 0;
	sq_err(rows->db, "step");
	return -1;
}

static const char *
sq_col(const struct am_db_rows *rows, int col)
{
	if (col < 0 || col >= sqlite3_column_count(rows->r))
		return NULL;
	return (const char *)sqlite3_column_text(rows->r, col);
}

static int
sq_ncols(const struct am_db_rows *rows)
{
	return sqlite3_column_count(rows->r);
}

static void
sq_rows_free(struct am_db_rows *rows)
{
	sqlite3_finalize(rows->r);
	free(rows);
}

static int
sq_broken(const struct am_db *db)
{
	return 0;
}

static void
sq_close(struct am_db *db)
{
	struct sq_cache	*c = db->cache;
	unsigned int	 i;

	for (i = 0; c != NULL && i < SQ_CACHE; i++) {
		sqlite3_finalize(c->e[i].st);
		free(c->e[i].sql);
	}
	free(c);
	sqlite3_close(db->h);	/* NULL is a no-op */
	db->h = NULL;
}

static const struct am_db_ops sq_ops = {
	sq_exec, sq_query, sq_next, sq_col, sq_ncols, sq_rows_free,
	sq_broken, sq_close
};

/* sq_pragmas - WAL (readers do not block the writer), NORMAL sync */
static int
sq_pragmas(struct am_db *db)
{
	struct am_db_rows	*rows;
	const char		*mode;
	int			 ok;

	if ((rows = sq_query(db, "PRAGMA journal_mode=WAL", 0, NULL)) == NULL)
		return -1;
	ok = sq_next(rows) == 1 && (mode = sq_col(rows, 0)) != NULL &&
	    strcmp(mode, "wal") == 0;
	if (!ok && db->err[0] == '\0')
		am_db_seterr(db, "cannot switch to WAL mode");
	sq_rows_free(rows);
	if (!ok)
		return -1;
	return sq_exec(db, "PRAGMA synchronous=NORMAL", 0, NULL) < 0 ? -1 : 0;
}

/* am_db_sqlite_open - open or create the file (not its directory) */
int
am_db_sqlite_open(struct am_db *db, const char *path)
{
	sqlite3	*h = NULL;
	int	 flags;

	db->kind = AM_DB_SQLITE;
	db->ops = &sq_ops;
	snprintf(db->name, sizeof(db->name), "sqlite %s", path);
	if ((db->cache = calloc(1, sizeof(struct sq_cache))) == NULL) {
		am_db_seterr(db, "out of memory");
		return -1;
	}
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
		am_db_seterr(db, "open: %s", h != NULL ? sqlite3_errmsg(h) :
		    "out of memory");
		sqlite3_close(h);
		return -1;
	}
	db->h = h;
	sqlite3_extended_result_codes(h, 1);
	sqlite3_busy_timeout(h, AM_DB_BUSY_MS);
	return sq_pragmas(db);
}
