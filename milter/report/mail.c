/*
 * mail.c - an aggregate report as a mail (mail.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "common/ascii.h"
#include "report/mail.h"

/* am_mail_safe_domain - see mail.h */
void
am_mail_safe_domain(const char *in, char *out, size_t len)
{
	size_t	 i;

	if (len == 0)
		return;
	for (i = 0; in[i] != '\0' && i + 1 < len; i++) {
		unsigned char	 c = (unsigned char)in[i];

		if (isalnum(c) && c < 0x80)
			out[i] = (char)tolower(c);
		else if (c == '-' || c == '.' || c == '_')
			out[i] = (char)c;
		else
			out[i] = '_';
	}
	out[i] = '\0';
}

/* fnv - FNV-1a, 64 bits, over a string (the NUL included: a separator) */
static unsigned long long
fnv(unsigned long long h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	} while (*s++ != '\0');
	return h;
}

/* am_mail_uid - see mail.h */
void
am_mail_uid(const char *receiver, const char *policy_domain, long long begin,
    long long end, char out[AM_MAIL_UID_LEN])
{
	unsigned long long	 h = 0xcbf29ce484222325ULL;
	char			 t[48];

	h = fnv(h, receiver);
	h = fnv(h, policy_domain);
	snprintf(t, sizeof(t), "%lld-%lld", begin, end);
	h = fnv(h, t);
	snprintf(out, AM_MAIL_UID_LEN, "%016llx", h);
}

/* am_mail_report_id - see mail.h */
void
am_mail_report_id(const char *uid, const char *receiver, char *out,
    size_t len)
{
	char	 r[AM_MAIL_DOMAIN_MAX];

	am_mail_safe_domain(receiver, r, sizeof(r));
	snprintf(out, len, "%s@%s", uid, r);
}

/* am_mail_filename - see mail.h */
void
am_mail_filename(const char *receiver, const char *policy_domain,
    long long begin, long long end, const char *uid, char *out, size_t len)
{
	char	 r[AM_MAIL_DOMAIN_MAX], d[AM_MAIL_DOMAIN_MAX];

	am_mail_safe_domain(receiver, r, sizeof(r));
	am_mail_safe_domain(policy_domain, d, sizeof(d));
	snprintf(out, len, "%s!%s!%lld!%lld!%s.xml.gz", r, d, begin, end, uid);
}

/* am_mail_gzip - see mail.h */
int
am_mail_gzip(const char *in, size_t n, struct am_buf *out)
{
	z_stream	 z;
	char		 chunk[16384];
	int		 rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper (RFC 1952), not zlib's (RFC 1950) */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = (Bytef *)chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			break;
		am_buf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return rc == Z_STREAM_END && !am_buf_failed(out) ? 0 : -1;
}

/* base64 - RFC 2045 6.8, lines of 76 characters */
static void
base64(struct am_buf *b, const unsigned char *p, size_t n)
{
	static const char	 al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 i, col = 0;
	unsigned long		 v;
	char			 q[4];

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = al[(v >> 18) & 63];
		q[1] = al[(v >> 12) & 63];
		q[2] = i + 1 < n ? al[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? al[v & 63] : '=';
		am_buf_add(b, q, 4);
		if ((col += 4) == 76) {
			am_buf_addc(b, '\n');
			col = 0;
		}
	}
	if (col != 0)
		am_buf_addc(b, '\n');
}

/* header_safe - printable ASCII without spaces: nothing to inject */
static int
header_safe(const char *s)
{
	return *s != '\0' && am_ascii_printable(s, strlen(s)) &&
	    strchr(s, ' ') == NULL && strchr(s, ',') == NULL;
}

/* utc - an RFC 5322 3.3 date-time */
static void
utc(long long t, char *out, size_t len)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* headers - the header section; the Subject of 2.5.3, folded as it shows */
static void
headers(struct am_buf *b, const struct am_mail_info *in, const char *pd,
    const char *recv, const char *boundary)
{
	char	 date[64];
	size_t	 i, n = 0;

	utc(in->now, date, sizeof(date));
	am_buf_addf(b, "From: %s\n", header_safe(in->from) ? in->from :
	    "invalid@invalid");
	am_buf_adds(b, "To: ");
	for (i = 0; i < in->nto; i++) {
		if (!header_safe(in->to[i]))
			continue;
		am_buf_addf(b, "%s<%s>", n++ > 0 ? ",\n    " : "", in->to[i]);
	}
	if (n == 0)
		am_buf_adds(b, "undisclosed-recipients:;");
	am_buf_addf(b, "\nSubject: Report Domain: %s\n    Submitter: %s\n"
	    "    Report-ID: <%s>\n", pd, recv, in->report_id);
	am_buf_addf(b, "Date: %s\nMessage-ID: <%s>\n", date, in->report_id);
	/* RFC 3834: no auto-replies to a report */
	am_buf_adds(b, "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n");
	am_buf_addf(b, "Content-Type: multipart/mixed;\n    boundary=\"%s\"\n\n",
	    boundary);
}

/* am_mail_message - see mail.h */
void
am_mail_message(struct am_buf *b, const struct am_mail_info *in,
    const char *gz, size_t gzlen)
{
	char	 pd[AM_MAIL_DOMAIN_MAX], recv[AM_MAIL_DOMAIN_MAX];
	char	 boundary[64], d0[64], d1[64];

	am_mail_safe_domain(in->policy_domain, pd, sizeof(pd));
	am_mail_safe_domain(in->receiver, recv, sizeof(recv));
	/* "=_" cannot occur in base64 nor in the text part */
	snprintf(boundary, sizeof(boundary), "=_am_%.40s", in->report_id);
	for (char *p = boundary; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '=' && *p != '_')
			*p = '_';
	headers(b, in, pd, recv, boundary);
	utc(in->begin, d0, sizeof(d0));
	utc(in->end, d1, sizeof(d1));
	am_buf_addf(b, "This is a multi-part message in MIME format.\n\n"
	    "--%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	    "DMARC aggregate report (RFC 9990) for %s\nfrom %s\n"
	    "period %s - %s\nReport-ID %s\n\n", boundary, pd, recv, d0, d1,
	    in->report_id);
	am_buf_addf(b, "--%s\nContent-Type: application/gzip;\n    name=\"%s\"\n"
	    "Content-Disposition: attachment;\n    filename=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\n\n", boundary, in->filename,
	    in->filename);
	base64(b, (const unsigned char *)gz, gzlen);
	am_buf_addf(b, "\n--%s--\n", boundary);
}
