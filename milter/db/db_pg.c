/*
 * db_pg.c - the PostgreSQL back-end of db.h (libpq): one connection per
 * handle, statements with text parameters (PQexecParams, which speaks $1
 * natively), results as text.  A connection that breaks (the server
 * stopped or restarted) stays broken: am_db_broken() tells the owner to
 * open a new handle, after its own back-off.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"

/* pg_name - "postgresql host:port/db" for errors, never the password */
static void
pg_name(struct am_db *db, const char *uri)
{
	PQconninfoOption	*opts, *o;
	const char		*host = "", *port = "", *dbname = "";

	snprintf(db->name, sizeof(db->name), "postgresql");
	if ((opts = PQconninfoParse(uri, NULL)) == NULL)
		return;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	snprintf(db->name, sizeof(db->name), "postgresql %.60s%s%.8s/%.60s",
	    *host ? host : "localhost", *port ? ":" : "", port, dbname);
	PQconninfoFree(opts);
}

/* pg_quiet - NOTICEs ("relation already exists, skipping") are not errors */
static void
pg_quiet(void *arg, const char *msg)
{
}

/* pg_run - one statement; the result, or NULL with the error set */
static PGresult *
pg_run(struct am_db *db, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	ExecStatusType	 st;

	res = PQexecParams(db->h, sql, n, NULL, p, NULL, NULL, 0);
	if (res == NULL) {
		am_db_seterr(db, "%s", PQerrorMessage(db->h));
		return NULL;
	}
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	am_db_seterr(db, "%s", *PQresultErrorMessage(res) ?
	    PQresultErrorMessage(res) : PQerrorMessage(db->h));
	PQclear(res);
	return NULL;
}

static long
pg_exec(struct am_db *db, const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	long		 changed;

	if ((res = pg_run(db, sql, n, p)) == NULL)
		return -1;
	changed = atol(PQcmdTuples(res));	/* "" for BEGIN: 0 */
	PQclear(res);
	return changed;
}

static struct am_db_rows *
pg_query(struct am_db *db, const char *sql, int n, const char *const *p)
{
	struct am_db_rows	*rows;
	PGresult		*res;

	if ((res = pg_run(db, sql, n, p)) == NULL)
		return NULL;
	if ((rows = calloc(1, sizeof(*rows))) == NULL) {
		am_db_seterr(db, "out of memory");
		PQclear(res);
		return NULL;
	}
	rows->db = db;
	rows->r = res;
	rows->row = -1;
	return rows;
}

static int
pg_next(struct am_db_rows *rows)
{
	if (rows->row + 1 >= PQntuples(rows->r))
		return 0;
	rows->row++;
	return 1;
}

static const char *
pg_col(const struct am_db_rows *rows, int col)
{
	if (rows->row < 0 || col < 0 || col >= PQnfields(rows->r) ||
	    PQgetisnull(rows->r, rows->row, col))
		return NULL;
	return PQgetvalue(rows->r, rows->row, col);
}

static int
pg_ncols(const struct am_db_rows *rows)
{
	return PQnfields(rows->r);
}

static void
pg_rows_free(struct am_db_rows *rows)
{
	PQclear(rows->r);
	free(rows);
}

static int
pg_broken(const struct am_db *db)
{
	return PQstatus(db->h) != CONNECTION_OK;
}

static void
pg_close(struct am_db *db)
{
	PQfinish(db->h);	/* NULL is a no-op */
	db->h = NULL;
}

static const struct am_db_ops pg_ops = {
	pg_exec, pg_query, pg_next, pg_col, pg_ncols, pg_rows_free,
	pg_broken, pg_close
};

/*
 * am_db_pg_open - connect.  The timeouts and application_name come before
 * the URI, so that the URI's own values win (libpq: later keywords
 * override earlier ones).  A server that stops answering (a dead host, a
 * cut network: no RST) must not hold the writer, and so a stop, for
 * minutes: TCP keepalives end an idle wait, tcp_user_timeout a send that
 * is never acknowledged (db.h AM_DB_PG_DEAD_MS).
 */
int
am_db_pg_open(struct am_db *db, const char *uri)
{
	static const char *const keys[] = {
		"connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"application_name", "dbname", NULL
	};
	const char	*vals[] = { AM_DB_CONNECT_TIMEOUT, "1", "10", "5", "2",
			    AM_DB_PG_DEAD_MS, "authmilter", uri, NULL };

	db->kind = AM_DB_PG;
	db->ops = &pg_ops;
	pg_name(db, uri);
	db->h = PQconnectdbParams(keys, vals, 1);
	if (db->h == NULL) {
		am_db_seterr(db, "connect: out of memory");
		return -1;
	}
	if (PQstatus(db->h) != CONNECTION_OK) {
		am_db_seterr(db, "connect: %s", PQerrorMessage(db->h));
		return -1;
	}
	PQsetNoticeProcessor(db->h, pg_quiet, NULL);
	return 0;
}
