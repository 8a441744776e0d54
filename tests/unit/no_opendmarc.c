/*
 * no_opendmarc.c - check_opendmarc when configure found no libopendmarc:
 * the oracle cannot run, and says so by failing (see check_opendmarc.c).
 */
#include <stdio.h>
#include <stdlib.h>

int
main(void)
{
	fprintf(stderr, "check_opendmarc: libopendmarc-dev was not installed "
	    "when configure ran, so the libopendmarc cross-check of the DMARC "
	    "record parser cannot run; install it (scripts/deps) and re-run "
	    "configure\n");
	return EXIT_FAILURE;
}
