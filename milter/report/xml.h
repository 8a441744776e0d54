/*
 * xml.h - the aggregate report document (RFC 9990 section 2.1.1 and its
 * XSD, dmarc-xml-0.2.xsd, namespace urn:ietf:params:xml:ns:dmarc-2.0).
 *
 * Every value that a sender or a DNS record controls (domains,
 * selectors, comments, ...) goes through am_xml_text: the five markup
 * characters become references, and what XML 1.0 cannot carry at all
 * (C0 controls but TAB/LF/CR, U+FFFE/FFFF, surrogates, invalid UTF-8)
 * becomes U+FFFD, so the document is well-formed whatever the store
 * holds.  Values of enumerated types are mapped onto the XSD's values.
 *
 * Pure: builds into a struct am_buf; no I/O.
 */
#ifndef AM_REPORT_XML_H
#define AM_REPORT_XML_H

#include <stddef.h>

#include "common/buf.h"
#include "report/agg.h"

#define AM_XML_NS	"urn:ietf:params:xml:ns:dmarc-2.0"

/*
 * A report holds at most this many records; past it the records with the
 * fewest messages are left out and report_metadata's <error> says how
 * many records and messages (the report stays valid and bounded).
 */
#define AM_XML_RECORDS_MAX	50000

/* what report_metadata says */
struct am_xml_meta {
	const char	*org_name;	/* ReportOrgName */
	const char	*email;		/* ReportEmail */
	const char	*report_id;
	long long	 begin, end;	/* the period, Unix seconds */
	const char	*generator;	/* "authmilter-report x.y" */
};

/* am_xml_text - append s, escaped for element content and attributes */
void	am_xml_text(struct am_buf *b, const char *s);

/*
 * am_xml_report - the whole document: meta, policy_published from pol
 * (am_agg_latest), then the records (am_agg_group's order).  Check
 * am_buf_failed afterwards.
 */
void	am_xml_report(struct am_buf *b, const struct am_xml_meta *meta,
	    const struct am_agg_msg *pol, const struct am_agg_record *recs,
	    size_t nrec);

#endif /* AM_REPORT_XML_H */
