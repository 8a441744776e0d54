/*
 * xml.c - the aggregate report document (xml.h).
 *
 * Element names and order follow dmarc-xml-0.2.xsd and RFC 9990 2.1.1
 * (draft -32): feedback = version, report_metadata, policy_published,
 * record+; a record = row, identifiers, auth_results.
 */
#include <string.h>

#include "report/xml.h"

/* utf8_len - length of a valid UTF-8 sequence at s that XML 1.0 allows, or 0 */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned long	 c;
	size_t		 n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, U+FFFE/U+FFFF, past U+10FFFF (XML 1.0 2.2) */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff ||
	    c > 0x10ffff)
		return 0;
	return n;
}

/* am_xml_text - see xml.h */
void
am_xml_text(struct am_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	while (*p != '\0') {
		switch (*p) {
		case '<': am_buf_adds(b, "&lt;"); p++; continue;
		case '>': am_buf_adds(b, "&gt;"); p++; continue;
		case '&': am_buf_adds(b, "&amp;"); p++; continue;
		case '"': am_buf_adds(b, "&quot;"); p++; continue;
		case '\'': am_buf_adds(b, "&apos;"); p++; continue;
		case '\r': am_buf_adds(b, "&#xD;"); p++; continue;
		case '\t': case '\n': am_buf_addc(b, (char)*p++); continue;
		}
		if (*p < 0x20 || (n = utf8_len(p)) == 0) {
			/* XML 1.0 2.2 has no form for it, not even a reference */
			am_buf_adds(b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		am_buf_add(b, (const char *)p, n);
		p += n;
	}
}

/* elem - <name>escaped text</name> */
static void
elem(struct am_buf *b, const char *indent, const char *name, const char *val)
{
	am_buf_addf(b, "%s<%s>", indent, name);
	am_xml_text(b, val);
	am_buf_addf(b, "</%s>\n", name);
}

/* one_of - v if it is one of the NULL-terminated list, else dflt */
static const char *
one_of(const char *v, const char *const *list, const char *dflt)
{
	for (; *list != NULL; list++)
		if (strcmp(v, *list) == 0)
			return *list;
	return dflt;
}

static const char *const dkim_results[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror", NULL };
static const char *const spf_results[] = { "none", "pass", "fail", "softfail",
	"policy", "neutral", "temperror", "permerror", NULL };
static const char *const override_types[] = { "local_policy", "mailing_list",
	"other", "policy_test_mode", "trusted_forwarder", NULL };

/* metadata - report_metadata (2.1.1.3) */
static void
metadata(struct am_buf *b, const struct am_xml_meta *meta, size_t omitted,
    unsigned long omitted_msgs)
{
	am_buf_adds(b, "  <report_metadata>\n");
	elem(b, "    ", "org_name", meta->org_name);
	elem(b, "    ", "email", meta->email);
	elem(b, "    ", "report_id", meta->report_id);
	am_buf_addf(b, "    <date_range>\n      <begin>%lld</begin>\n"
	    "      <end>%lld</end>\n    </date_range>\n", meta->begin,
	    meta->end);
	if (omitted > 0)
		am_buf_addf(b, "    <error>%zu records (%lu messages) left out: "
		    "a report holds at most %d records</error>\n", omitted,
		    omitted_msgs, AM_XML_RECORDS_MAX);
	elem(b, "    ", "generator", meta->generator);
	am_buf_adds(b, "  </report_metadata>\n");
}

/* published - policy_published (2.1.1.5): the record, defaults filled in */
static void
published(struct am_buf *b, const struct am_agg_msg *m)
{
	static const char *const align[] = { "r", "s", NULL };
	static const char *const disc[] = { "psl", "treewalk", NULL };
	static const char *const yn[] = { "n", "y", NULL };
	const char	*p = am_agg_policy(m->p, "none");
	const char	*sp = am_agg_policy(m->sp, p);

	am_buf_adds(b, "  <policy_published>\n");
	elem(b, "    ", "domain", m->policy_domain);
	elem(b, "    ", "discovery_method", one_of(m->discovery, disc,
	    "treewalk"));
	elem(b, "    ", "p", p);
	elem(b, "    ", "sp", sp);
	elem(b, "    ", "np", am_agg_policy(m->np, sp));
	elem(b, "    ", "fo", m->fo[0] != '\0' ? m->fo : "0");
	elem(b, "    ", "adkim", one_of(m->adkim, align, "r"));
	elem(b, "    ", "aspf", one_of(m->aspf, align, "r"));
	elem(b, "    ", "testing", one_of(m->testing, yn, "n"));
	am_buf_adds(b, "  </policy_published>\n");
}

/* row - row (2.1.1.9) with policy_evaluated (2.1.1.10) */
static void
row(struct am_buf *b, const struct am_agg_record *r)
{
	const struct am_agg_msg	*m = r->m;

	am_buf_adds(b, "    <row>\n");
	elem(b, "      ", "source_ip", m->source_ip);
	am_buf_addf(b, "      <count>%lu</count>\n", r->count);
	am_buf_adds(b, "      <policy_evaluated>\n");
	elem(b, "        ", "disposition", am_agg_disposition(m));
	elem(b, "        ", "dkim", m->dkim_aligned ? "pass" : "fail");
	elem(b, "        ", "spf", m->spf_aligned ? "pass" : "fail");
	if (m->override[0] != '\0') {
		am_buf_adds(b, "        <reason>\n");
		elem(b, "          ", "type", one_of(m->override,
		    override_types, "other"));
		if (m->override_comment[0] != '\0')
			elem(b, "          ", "comment", m->override_comment);
		am_buf_adds(b, "        </reason>\n");
	}
	am_buf_adds(b, "      </policy_evaluated>\n    </row>\n");
}

/* identifiers - 2.1.1.11; envelope_from may be empty (null sender) */
static void
identifiers(struct am_buf *b, const struct am_agg_msg *m)
{
	am_buf_adds(b, "    <identifiers>\n");
	elem(b, "      ", "header_from", m->header_from);
	elem(b, "      ", "envelope_from", m->env_from);
	if (m->env_to[0] != '\0')
		elem(b, "      ", "envelope_to", m->env_to);
	am_buf_adds(b, "    </identifiers>\n");
}

/*
 * auth_results - 2.1.1.12: every DKIM result in 2.1.3's order, then SPF;
 * "only the MAIL FROM identity is used in DMARC" (2.1.1.14), so a HELO
 * result is left out
 */
static void
auth_results(struct am_buf *b, const struct am_agg_msg *m)
{
	size_t	 i;

	am_buf_adds(b, "    <auth_results>\n");
	for (i = 0; i < m->nsigs; i++) {
		am_buf_adds(b, "      <dkim>\n");
		elem(b, "        ", "domain", m->sigs[i].domain);
		elem(b, "        ", "selector", m->sigs[i].selector);
		elem(b, "        ", "result", one_of(m->sigs[i].result,
		    dkim_results, "permerror"));
		am_buf_adds(b, "      </dkim>\n");
	}
	if (m->spf_domain[0] != '\0' && strcmp(m->spf_scope, "helo") != 0) {
		am_buf_adds(b, "      <spf>\n");
		elem(b, "        ", "domain", m->spf_domain);
		am_buf_adds(b, "        <scope>mfrom</scope>\n");
		elem(b, "        ", "result", one_of(m->spf_result,
		    spf_results, "permerror"));
		am_buf_adds(b, "      </spf>\n");
	}
	am_buf_adds(b, "    </auth_results>\n");
}

/* am_xml_report - see xml.h */
void
am_xml_report(struct am_buf *b, const struct am_xml_meta *meta,
    const struct am_agg_msg *pol, const struct am_agg_record *recs,
    size_t nrec)
{
	size_t		 i, keep = nrec;
	unsigned long	 omitted_msgs = 0;

	if (keep > AM_XML_RECORDS_MAX)
		keep = AM_XML_RECORDS_MAX;
	for (i = keep; i < nrec; i++)
		omitted_msgs += recs[i].count;
	am_buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	am_buf_adds(b, "<feedback xmlns=\"" AM_XML_NS "\">\n");
	am_buf_adds(b, "  <version>1.0</version>\n");
	metadata(b, meta, nrec - keep, omitted_msgs);
	published(b, pol);
	for (i = 0; i < keep; i++) {
		am_buf_adds(b, "  <record>\n");
		row(b, &recs[i]);
		identifiers(b, recs[i].m);
		auth_results(b, recs[i].m);
		am_buf_adds(b, "  </record>\n");
	}
	am_buf_adds(b, "</feedback>\n");
}
