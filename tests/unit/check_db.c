/*
 * check_db.c - milter/db/ over SQLite (a temporary file): which back-end a
 * HistoryDB value names, schema creation and its version, the page cache
 * cap, statements with
 * $n parameters, rows as text, transactions, error texts, a newer schema
 * refused, a second writer's lock.  PostgreSQL is tested with a real
 * server in tests/milter (test_history_pg.py).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

static char	 dir[64];
static char	 path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_db.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/history.db", dir);
}

static void
teardown(void)
{
	char	 f[160];

	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
	unlink(path);
	rmdir(dir);
}

static struct am_db *
open_ok(const char *spec)
{
	char		 err[AM_DB_ERR_MAX] = "";
	struct am_db	*db;

	db = am_db_open(spec, err, sizeof(err));
	ck_assert_msg(db != NULL, "open %s: %s", spec, err);
	return db;
}

/* one text value of a one-row query */
static char *
one(struct am_db *db, const char *sql, int n, const char *const *p)
{
	static char		 val[256];
	struct am_db_rows	*rows;

	rows = am_db_query(db, sql, n, p);
	ck_assert_msg(rows != NULL, "%s: %s", sql, am_db_error(db));
	ck_assert_int_eq(am_db_next(rows), 1);
	snprintf(val, sizeof(val), "%s", am_db_col(rows, 0) ?
	    am_db_col(rows, 0) : "(null)");
	ck_assert_int_eq(am_db_next(rows), 0);
	am_db_rows_free(rows);
	return val;
}

START_TEST(test_spec_kind)
{
	const char	*p;

	ck_assert_int_eq(am_db_spec_kind("none", NULL), AM_DB_NONE);
	ck_assert_int_eq(am_db_spec_kind("/var/lib/a/h.db", &p), AM_DB_SQLITE);
	ck_assert_str_eq(p, "/var/lib/a/h.db");
	ck_assert_int_eq(am_db_spec_kind("sqlite:/x/h.db", &p), AM_DB_SQLITE);
	ck_assert_str_eq(p, "/x/h.db");
	ck_assert_int_eq(am_db_spec_kind("sqlite:///x/h.db", &p), AM_DB_SQLITE);
	ck_assert_str_eq(p, "/x/h.db");
	ck_assert_int_eq(am_db_spec_kind("postgresql://u@h:5/db", &p), AM_DB_PG);
	ck_assert_str_eq(p, "postgresql://u@h:5/db");
	ck_assert_int_eq(am_db_spec_kind("postgres://h/db", NULL), AM_DB_PG);
	ck_assert_int_eq(am_db_spec_kind("history.db", NULL), AM_DB_INVALID);
	ck_assert_int_eq(am_db_spec_kind("sqlite:h.db", NULL), AM_DB_INVALID);
	ck_assert_int_eq(am_db_spec_kind("/var/lib/", NULL), AM_DB_INVALID);
	ck_assert_int_eq(am_db_spec_kind("mysql://h/db", NULL), AM_DB_INVALID);
	ck_assert_int_eq(am_db_spec_kind("", NULL), AM_DB_INVALID);
}
END_TEST

/* a fresh file gets every table, version 1, WAL mode */
START_TEST(test_create_schema)
{
	struct am_db	*db = open_ok(path);
	const char	*tables[] = { "am_schema", "am_message", "am_report",
			    "am_dest", "am_freport", "am_message_t",
			    "am_message_pd" };
	const char	*p[1];
	size_t		 i;

	ck_assert_int_eq(am_db_kind(db), AM_DB_SQLITE);
	ck_assert_int_eq(am_db_schema_version(db), AM_DB_SCHEMA_VERSION);
	ck_assert_str_eq(one(db, "SELECT count(*) FROM am_schema", 0, NULL), "1");
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		p[0] = tables[i];
		ck_assert_str_eq(one(db, "SELECT count(*) FROM sqlite_master "
		    "WHERE name = $1", 1, p), "1");
	}
	ck_assert_str_eq(one(db, "PRAGMA journal_mode", 0, NULL), "wal");
	am_db_close(db);
	/* opened again: still one version row, nothing re-created */
	db = open_ok(path);
	ck_assert_str_eq(one(db, "SELECT count(*) FROM am_schema", 0, NULL), "1");
	am_db_close(db);
	db = open_ok(path);		/* "sqlite:" names the same file */
	am_db_close(db);
}
END_TEST

/* the page cache capped (issue 17): SQLite's default is 2000 KiB */
START_TEST(test_cache_kb)
{
	struct am_db	*db = open_ok(path);

	ck_assert_int_eq(am_db_cache_kb(db, 512), 0);
	ck_assert_str_eq(one(db, "PRAGMA cache_size", 0, NULL), "-512");
	am_db_close(db);
}
END_TEST

/* $n parameters, used twice and out of order; rows come back as text */
START_TEST(test_params_rows)
{
	struct am_db		*db;
	struct am_db_rows	*rows;
	const char		*p[3] = { "a.example", "1700000000", "x'; DROP" };
	char			 spec[160];

	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	db = open_ok(spec);
	ck_assert_int_eq(am_db_exec(db, "INSERT INTO am_freport "
	    "(t, policy_domain, address, result) VALUES ($2, $1, $3, $1)",
	    3, p), 1);
	ck_assert_int_eq(am_db_exec(db, "INSERT INTO am_freport "
	    "(t, policy_domain, address, result) VALUES ($2 + 5, 'b', '', '')",
	    3, p), 1);
	rows = am_db_query(db, "SELECT t, policy_domain, address, result, NULL "
	    "FROM am_freport WHERE t >= $1 ORDER BY t", 1, &p[1]);
	ck_assert_ptr_nonnull(rows);
	ck_assert_int_eq(am_db_ncols(rows), 5);
	ck_assert_int_eq(am_db_next(rows), 1);
	ck_assert_str_eq(am_db_col(rows, 0), "1700000000");
	ck_assert_str_eq(am_db_col(rows, 1), "a.example");
	ck_assert_str_eq(am_db_col(rows, 2), "x'; DROP");
	ck_assert_str_eq(am_db_col(rows, 3), "a.example");
	ck_assert_ptr_null(am_db_col(rows, 4));
	ck_assert_ptr_null(am_db_col(rows, 5));
	ck_assert_int_eq(am_db_next(rows), 1);
	ck_assert_str_eq(am_db_col(rows, 0), "1700000005");
	ck_assert_int_eq(am_db_next(rows), 0);
	am_db_rows_free(rows);
	/* rows changed */
	ck_assert_int_eq(am_db_exec(db, "UPDATE am_freport SET result = 'x'",
	    0, NULL), 2);
	am_db_close(db);
}
END_TEST

START_TEST(test_transactions)
{
	struct am_db	*db = open_ok(path);
	const char	*p[1] = { "r@example.org" };
	const char	*ins = "INSERT INTO am_dest (address, failures, next_try, "
			    "suppressed, last_error) VALUES ($1, 0, 0, 0, '')";

	ck_assert_int_eq(am_db_begin_write(db), 0);
	ck_assert_int_eq(am_db_exec(db, ins, 1, p), 1);
	ck_assert_int_eq(am_db_rollback(db), 0);
	ck_assert_str_eq(one(db, "SELECT count(*) FROM am_dest", 0, NULL), "0");
	ck_assert_int_eq(am_db_begin(db), 0);
	ck_assert_int_eq(am_db_exec(db, ins, 1, p), 1);
	ck_assert_int_eq(am_db_commit(db), 0);
	ck_assert_str_eq(one(db, "SELECT count(*) FROM am_dest", 0, NULL), "1");
	/* the primary key holds, and the error names the store */
	ck_assert_int_eq(am_db_exec(db, ins, 1, p), -1);
	ck_assert_msg(strstr(am_db_error(db), "UNIQUE") != NULL &&
	    strstr(am_db_error(db), path) != NULL, "%s", am_db_error(db));
	/* rollback keeps the error that caused it */
	ck_assert_int_eq(am_db_begin(db), 0);
	ck_assert_int_eq(am_db_exec(db, "SELECT nosuchcolumn FROM am_dest",
	    0, NULL), -1);
	am_db_rollback(db);
	ck_assert_msg(strstr(am_db_error(db), "nosuchcolumn") != NULL, "%s",
	    am_db_error(db));
	am_db_close(db);
}
END_TEST

/* clear errors: a missing directory, a bad spec, a newer schema */
START_TEST(test_errors)
{
	char		 err[AM_DB_ERR_MAX], spec[160];
	struct am_db	*db;

	snprintf(spec, sizeof(spec), "%s/nodir/history.db", dir);
	ck_assert_ptr_null(am_db_open(spec, err, sizeof(err)));
	ck_assert_msg(strstr(err, spec) != NULL &&
	    strstr(err, "unable to open") != NULL, "%s", err);
	ck_assert_ptr_null(am_db_open("history.db", err, sizeof(err)));
	ck_assert_msg(strstr(err, "absolute") != NULL, "%s", err);
	ck_assert_ptr_null(am_db_open("none", err, sizeof(err)));

	db = open_ok(path);
	ck_assert_int_eq(am_db_exec(db, "UPDATE am_schema SET version = 9",
	    0, NULL), 1);
	am_db_close(db);
	ck_assert_ptr_null(am_db_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "schema version 9 is newer") != NULL, "%s",
	    err);
}
END_TEST

/* a store from before the version table had rows (version 0) is migrated */
START_TEST(test_migrate_from_empty)
{
	struct am_db	*db = open_ok(path);

	ck_assert_int_eq(am_db_exec(db, "DROP TABLE am_message", 0, NULL), 0);
	ck_assert_int_eq(am_db_exec(db, "DROP TABLE am_report", 0, NULL), 0);
	ck_assert_int_eq(am_db_exec(db, "DROP TABLE am_dest", 0, NULL), 0);
	ck_assert_int_eq(am_db_exec(db, "DROP TABLE am_freport", 0, NULL), 0);
	ck_assert_int_eq(am_db_exec(db, "DELETE FROM am_schema", 0, NULL), 1);
	ck_assert_int_eq(am_db_schema_version(db), 0);
	ck_assert_int_eq(am_db_migrate(db), 0);
	ck_assert_int_eq(am_db_schema_version(db), 1);
	ck_assert_str_eq(one(db, "SELECT count(*) FROM am_message", 0, NULL), "0");
	am_db_close(db);
}
END_TEST

/* another writer holds the lock: we wait AM_DB_BUSY_MS, then fail */
START_TEST(test_locked)
{
	struct am_db	*a = open_ok(path), *b = open_ok(path);
	struct timespec	 t0, t1;
	double		 ms;

	ck_assert_int_eq(am_db_begin_write(a), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(am_db_begin_write(b), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms >= AM_DB_BUSY_MS * 0.9, "waited %.0f ms", ms);
	ck_assert_msg(strstr(am_db_error(b), "locked") != NULL, "%s",
	    am_db_error(b));
	ck_assert_int_eq(am_db_commit(a), 0);
	ck_assert_int_eq(am_db_begin_write(b), 0);
	ck_assert_int_eq(am_db_commit(b), 0);
	am_db_close(a);
	am_db_close(b);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_spec_kind);
	tcase_add_test(tc, test_create_schema);
	tcase_add_test(tc, test_cache_kb);
	tcase_add_test(tc, test_params_rows);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_migrate_from_empty);
	tcase_add_test(tc, test_locked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(db_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
