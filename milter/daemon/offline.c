/*
 * offline.c - run one message file through session.c, as the milter would.
 *
 * The file is read as an RFC 5322 message with LF or CRLF line ends.  Each
 * header field goes to am_msg_header the way the engine hands it over with
 * SMFIP_HDR_LEADSPC: the name, and the value as it follows the colon with
 * folds kept as "\n" line breaks.  The body is fed with CRLF line ends, as
 * an MTA sends it.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/buf.h"
#include "common/netlist.h"
#include "daemon/offline.h"
#include "message/session.h"

#define OFFLINE_LINE_MAX	(1024 * 1024)

/* chomp - drop the line end (LF or CRLF); returns the new length */
static size_t
chomp(char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	return len;
}

/* flush_header - hand the collected field "Name:value" to the message */
static void
flush_header(struct am_msg *m, struct am_buf *field)
{
	char	*colon;

	if (field->len == 0)
		return;
	if ((colon = strchr(field->s, ':')) != NULL) {
		*colon = '\0';
		am_msg_header(m, field->s, colon + 1);
	}
	am_buf_reset(field);
}

/* feed_headers - the header section; 0, or -1 if there is none */
static int
feed_headers(struct am_msg *m, FILE *fp)
{
	struct am_buf	 field;
	char		*line = NULL;
	size_t		 size = 0, len;
	ssize_t		 n;
	int		 nfields = 0;

	am_buf_init(&field, OFFLINE_LINE_MAX);
	while ((n = getline(&line, &size, fp)) != -1) {
		len = chomp(line, (size_t)n);
		if (len == 0)
			break;			/* end of the header section */
		if (line[0] == ' ' || line[0] == '\t') {
			am_buf_addc(&field, '\n');	/* a fold */
			am_buf_add(&field, line, len);
			continue;
		}
		flush_header(m, &field);
		am_buf_add(&field, line, len);
		nfields++;
	}
	flush_header(m, &field);
	am_buf_clear(&field);
	free(line);
	return nfields > 0 ? 0 : -1;
}

/* feed_body - the rest of the file, with CRLF line ends */
static void
feed_body(struct am_msg *m, FILE *fp)
{
	char	*line = NULL;
	size_t	 size = 0, len;
	ssize_t	 n;

	while ((n = getline(&line, &size, fp)) != -1) {
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n') {
			len = chomp(line, len);
			am_msg_body(m, (const unsigned char *)line, len);
			am_msg_body(m, (const unsigned char *)"\r\n", 2);
		} else
			am_msg_body(m, (const unsigned char *)line, len);
	}
	free(line);
}

/*
 * print_edits - the header edits, as the milter would apply them: the
 * fields it adds, top first ("Name: value"), then the ones it deletes
 * ("Deleted: Name n").  A refused message gets no edits; its A-R is
 * printed all the same, so the reader sees why.
 */
static void
print_edits(const struct am_outcome *o, FILE *out)
{
	size_t	 i;

	if (!am_outcome_delivers(o) && o->authres.len > 0)
		fprintf(out, "Authentication-Results: %s\n",
		    am_buf_str(&o->authres));
	/* inserted at 0 one after the other: the last one ends on top */
	for (i = o->nedits; i > 0; i--)
		if (o->edits[i - 1].kind == AM_EDIT_INSERT)
			fprintf(out, "%s: %s\n", o->edits[i - 1].name,
			    o->edits[i - 1].value);
	for (i = 0; i < o->nedits; i++)
		if (o->edits[i].kind == AM_EDIT_DELETE)
			fprintf(out, "Deleted: %s %zu\n", o->edits[i].name,
			    o->edits[i].index);
}

/* print_outcome - header edits, action, summary */
static int
print_outcome(struct am_msg *m, FILE *out)
{
	struct am_outcome	 o;
	struct am_buf		 b;
	int			 rc;

	am_msg_end(m, &o);
	print_edits(&o, out);
	fprintf(out, "Action: %s", am_action_str(o.verdict.action));
	if (o.verdict.code[0] != '\0')
		fprintf(out, " %s %s %s", o.verdict.code, o.verdict.xcode,
		    o.verdict.text);
	fprintf(out, "\n");
	am_buf_init(&b, 4096);
	am_msg_summary(m, &o.verdict, &b);
	fprintf(out, "Summary: %s\n", am_buf_str(&b));
	am_buf_clear(&b);
	rc = o.authres.len > 0 ? 0 : EX_SOFTWARE;
	am_outcome_clear(&o);
	return rc;
}

/* run - the pipeline on an open file */
static int
run(struct am_conn *c, const struct am_offline_opts *o, FILE *fp, FILE *out)
{
	struct am_msg	*m;
	int		 rc;

	if (o->helo != NULL && am_conn_helo(c, o->helo) == -1)
		return EX_SOFTWARE;
	m = am_msg_new(c, o->mailfrom != NULL ? o->mailfrom : "<>", o->auth);
	if (m == NULL)
		return EX_SOFTWARE;
	am_msg_set_qid(m, "OFFLINE");
	if (feed_headers(m, fp) == -1) {
		fprintf(stderr, "%s: no header section\n", o->file);
		am_msg_free(m);
		return EX_DATAERR;
	}
	am_msg_eoh(m);
	feed_body(m, fp);
	rc = print_outcome(m, out);
	am_msg_free(m);
	return rc;
}

/* am_offline_check - one file through the checks */
int
am_offline_check(const struct am_env *env, struct am_config *cfg,
    const struct am_offline_opts *o, FILE *out)
{
	struct sockaddr_storage	 ss;
	struct am_conn		*c;
	FILE			*fp;
	const char		*ip = o->ip != NULL ? o->ip : "127.0.0.1";
	int			 rc;

	if (am_netlist_addr(ip, &ss) == -1) {
		fprintf(stderr, "authmilter: -i %s: not an IP address\n", ip);
		return EX_USAGE;
	}
	fp = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "r");
	if (fp == NULL) {
		fprintf(stderr, "authmilter: %s: %s\n", o->file, strerror(errno));
		return EX_NOINPUT;
	}
	c = am_conn_new(env, cfg, NULL, (struct sockaddr *)&ss);
	rc = c != NULL ? run(c, o, fp, out) : EX_SOFTWARE;
	am_conn_free(c);
	if (fp != stdin)
		fclose(fp);
	return rc;
}
