/*
 * results.c - the names of the values in results.h: RFC 8601 keywords for
 * check results, record values for DMARC policies, words for actions.
 */
#include <stddef.h>

#include "common/results.h"

static const char *spf_names[] = {
	[AM_SPF_NONE] = "none",
	[AM_SPF_NEUTRAL] = "neutral",
	[AM_SPF_PASS] = "pass",
	[AM_SPF_FAIL] = "fail",
	[AM_SPF_SOFTFAIL] = "softfail",
	[AM_SPF_TEMPERROR] = "temperror",
	[AM_SPF_PERMERROR] = "permerror",
};

static const char *dkim_names[] = {
	[AM_DKIM_NONE] = "none",
	[AM_DKIM_PASS] = "pass",
	[AM_DKIM_FAIL] = "fail",
	[AM_DKIM_NEUTRAL] = "neutral",
	[AM_DKIM_POLICY] = "policy",
	[AM_DKIM_TEMPERROR] = "temperror",
	[AM_DKIM_PERMERROR] = "permerror",
};

static const char *dmarc_names[] = {
	[AM_DMARC_NONE] = "none",
	[AM_DMARC_PASS] = "pass",
	[AM_DMARC_FAIL] = "fail",
	[AM_DMARC_TEMPERROR] = "temperror",
	[AM_DMARC_PERMERROR] = "permerror",
};

static const char *policy_names[] = {
	[AM_DMARC_P_UNSPEC] = "",
	[AM_DMARC_P_NONE] = "none",
	[AM_DMARC_P_QUARANTINE] = "quarantine",
	[AM_DMARC_P_REJECT] = "reject",
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* am_spf_result_str - RFC 8601 2.7.2 keyword for an SPF result */
const char *
am_spf_result_str(enum am_spf_result r)
{
	if ((size_t)r >= NITEMS(spf_names))
		return "unknown";
	return spf_names[r];
}

/* am_dkim_result_str - RFC 8601 2.7.1 keyword for a DKIM result */
const char *
am_dkim_result_str(enum am_dkim_result r)
{
	if ((size_t)r >= NITEMS(dkim_names))
		return "unknown";
	return dkim_names[r];
}

/* am_dmarc_result_str - RFC 7489 11.2 keyword for a DMARC result */
const char *
am_dmarc_result_str(enum am_dmarc_result r)
{
	if ((size_t)r >= NITEMS(dmarc_names))
		return "unknown";
	return dmarc_names[r];
}

/* am_dmarc_policy_str - p=/sp=/np= value, "" for no policy */
const char *
am_dmarc_policy_str(enum am_dmarc_policy p)
{
	if ((size_t)p >= NITEMS(policy_names))
		return "";
	return policy_names[p];
}

/* am_override_str - RFC 9990 PolicyOverrideType name, "" for none */
const char *
am_override_str(enum am_override o)
{
	switch (o) {
	case AM_OVR_NONE:
		return "";
	case AM_OVR_LOCAL_POLICY:
		return "local_policy";
	case AM_OVR_MAILING_LIST:
		return "mailing_list";
	case AM_OVR_TRUSTED_FORWARDER:
		return "trusted_forwarder";
	case AM_OVR_POLICY_TEST_MODE:
		return "policy_test_mode";
	case AM_OVR_OTHER:
		return "other";
	}
	return "other";
}

static const char *iprev_names[] = {
	[AM_IPREV_NONE] = "none",
	[AM_IPREV_PASS] = "pass",
	[AM_IPREV_FAIL] = "fail",
	[AM_IPREV_TEMPERROR] = "temperror",
	[AM_IPREV_PERMERROR] = "permerror",
};

/* am_iprev_result_str - RFC 8601 3 keyword for an iprev result */
const char *
am_iprev_result_str(enum am_iprev_result r)
{
	if ((size_t)r >= NITEMS(iprev_names))
		return "unknown";
	return iprev_names[r];
}

/* am_action_str - action name for logs */
const char *
am_action_str(enum am_action a)
{
	switch (a) {
	case AM_ACT_ACCEPT:
		return "accept";
	case AM_ACT_QUARANTINE:
		return "quarantine";
	case AM_ACT_REJECT:
		return "reject";
	case AM_ACT_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}
