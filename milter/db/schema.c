/*
 * schema.c - the history store's schema (README "History"; the shared
 * text is issue 13's schema13.md), created and migrated by whichever
 * program opens the store first.
 *
 * am_schema holds one row, the version.  Each version is one step of
 * statements; a store at version v runs the steps after v in one write
 * transaction and records the new version, so version 2 is one more entry
 * in steps[].  Two programs that migrate at once (two MX hosts starting
 * against one PostgreSQL) are serialised: SQLite by BEGIN IMMEDIATE, the
 * PostgreSQL by a transaction-scoped advisory lock, and the second one
 * finds the work done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"

#define SQL_MAX		2048
#define PG_MIGRATE_LOCK	"SELECT pg_advisory_xact_lock(1634561331)"  /* "amhs" */

/*
 * Version 1.  "@ID@" is the dialect's auto-increment primary key (SQLite:
 * an alias of the rowid; PostgreSQL: a BIGSERIAL).
 */
static const char *const v1[] = {
	"CREATE TABLE am_message ("
	" id @ID@,"
	" t BIGINT NOT NULL, reporter TEXT NOT NULL,"
	" source_ip TEXT NOT NULL, env_from TEXT NOT NULL,"
	" env_to TEXT NOT NULL, header_from TEXT NOT NULL,"
	" policy_domain TEXT NOT NULL, org_domain TEXT NOT NULL,"
	" discovery TEXT NOT NULL,"
	" p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,"
	" adkim TEXT NOT NULL, aspf TEXT NOT NULL,"
	" testing TEXT NOT NULL, psd TEXT NOT NULL,"
	" fo TEXT NOT NULL, rua TEXT NOT NULL, ruf TEXT NOT NULL,"
	" pct INTEGER NOT NULL, policy_tag TEXT NOT NULL,"
	" dmarc_result TEXT NOT NULL,"
	" dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,"
	" disposition TEXT NOT NULL, override TEXT NOT NULL,"
	" override_comment TEXT NOT NULL,"
	" spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
	" spf_result TEXT NOT NULL, dkim TEXT NOT NULL)",
	"CREATE INDEX am_message_t ON am_message (t)",
	"CREATE INDEX am_message_pd ON am_message (policy_domain, t)",
	"CREATE TABLE am_report ("
	" policy_domain TEXT NOT NULL, begin_t BIGINT NOT NULL,"
	" end_t BIGINT NOT NULL, report_id TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL, claimed_by TEXT NOT NULL,"
	" claimed_at BIGINT NOT NULL, attempts INTEGER NOT NULL,"
	" last_error TEXT NOT NULL, sent_at BIGINT NOT NULL,"
	" PRIMARY KEY (policy_domain, begin_t, end_t))",
	"CREATE TABLE am_dest ("
	" address TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
	" next_try BIGINT NOT NULL, suppressed INTEGER NOT NULL,"
	" last_error TEXT NOT NULL)",
	"CREATE TABLE am_freport ("
	" t BIGINT NOT NULL, policy_domain TEXT NOT NULL,"
	" address TEXT NOT NULL, result TEXT NOT NULL)",
	NULL
};

static const struct {
	int			 version;	/* the version after this step */
	const char *const	*sql;
} steps[] = {
	{ 1, v1 },
};

/* expand - the statement in the handle's dialect */
static int
expand(const struct am_db *db, const char *sql, char *out, size_t len)
{
	const char	*id, *at;
	int		 n;

	id = db->kind == AM_DB_PG ? "BIGSERIAL PRIMARY KEY" :
	    "INTEGER PRIMARY KEY";
	if ((at = strstr(sql, "@ID@")) == NULL)
		n = snprintf(out, len, "%s", sql);
	else
		n = snprintf(out, len, "%.*s%s%s", (int)(at - sql), sql, id,
		    at + 4);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* am_db_schema_version - the stored version, 0 for an empty table */
int
am_db_schema_version(struct am_db *db)
{
	struct am_db_rows	*rows;
	const char		*v;
	int			 version = -1;

	rows = am_db_query(db, "SELECT max(version) FROM am_schema", 0, NULL);
	if (rows == NULL)
		return -1;
	if (am_db_next(rows) == 1)
		version = (v = am_db_col(rows, 0)) == NULL ? 0 : atoi(v);
	am_db_rows_free(rows);
	return version;
}

/* run_steps - every step after version `from`, then the new version */
static int
run_steps(struct am_db *db, int from)
{
	char		 sql[SQL_MAX], ver[16];
	const char	*p[1] = { ver };
	size_t		 i, j;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].version <= from)
			continue;
		for (j = 0; steps[i].sql[j] != NULL; j++) {
			if (expand(db, steps[i].sql[j], sql, sizeof(sql)) != 0) {
				am_db_seterr(db, "schema statement too long");
				return -1;
			}
			if (am_db_exec(db, sql, 0, NULL) < 0)
				return -1;
		}
	}
	snprintf(ver, sizeof(ver), "%d", AM_DB_SCHEMA_VERSION);
	if (am_db_exec(db, "DELETE FROM am_schema", 0, NULL) < 0 ||
	    am_db_exec(db, "INSERT INTO am_schema (version) VALUES ($1)", 1,
	    p) < 0)
		return -1;
	return 0;
}

/* migrate_locked - inside the write transaction: look again, then step */
static int
migrate_locked(struct am_db *db)
{
	int	 v;

	if (db->kind == AM_DB_PG && am_db_exec(db, PG_MIGRATE_LOCK, 0, NULL) < 0)
		return -1;
	if (am_db_exec(db, "CREATE TABLE IF NOT EXISTS am_schema "
	    "(version INTEGER NOT NULL)", 0, NULL) < 0)
		return -1;
	if ((v = am_db_schema_version(db)) < 0)
		return -1;
	if (v > AM_DB_SCHEMA_VERSION) {
		am_db_seterr(db, "schema version %d is newer than this "
		    "program's (%d): upgrade authmilter", v,
		    AM_DB_SCHEMA_VERSION);
		return -1;
	}
	if (v == AM_DB_SCHEMA_VERSION)
		return 0;
	return run_steps(db, v);
}

/*
 * am_db_migrate - bring the schema to AM_DB_SCHEMA_VERSION.  The common
 * case (already there) is one read and takes no write lock.
 */
int
am_db_migrate(struct am_db *db)
{
	int	 v;

	v = am_db_schema_version(db);
	if (v == AM_DB_SCHEMA_VERSION) {
		db->err[0] = '\0';
		return 0;
	}
	if (v > AM_DB_SCHEMA_VERSION) {
		am_db_seterr(db, "schema version %d is newer than this "
		    "program's (%d): upgrade authmilter", v,
		    AM_DB_SCHEMA_VERSION);
		return -1;
	}
	db->err[0] = '\0';	/* "no such table" is the fresh store's case */
	if (am_db_begin_write(db) != 0)
		return -1;
	if (migrate_locked(db) != 0) {
		am_db_rollback(db);
		return -1;
	}
	return am_db_commit(db);
}
