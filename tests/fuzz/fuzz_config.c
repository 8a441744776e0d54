/*
 * fuzz_config.c - the configuration parser (am_config_load).
 *
 * The input is written to an anonymous memory file and loaded through
 * /proc/self/fd/N, so load.c and config.c are fuzzed exactly as they read
 * a real file.
 * Properties: a load either returns a snapshot or reported at least one
 * problem; every problem is one "file:line: ..." string.
 */
#include <assert.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz.h"

static int	 nerr;

/* on_err - count problems; each must name the file */
static void
on_err(void *arg, const char *msg)
{
	(void)arg;
	assert(msg != NULL && strncmp(msg, "/proc/self/fd/", 14) == 0);
	nerr++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_config	*cfg;
	char			 path[64];
	int			 fd;

	if ((fd = memfd_create("fuzz.conf", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nerr = 0;
	cfg = am_config_load(path, on_err, NULL);
	assert((cfg == NULL) == (nerr > 0));
	am_config_unref(cfg);
	close(fd);
	return 0;
}
