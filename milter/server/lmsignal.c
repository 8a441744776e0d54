/*
 * lmsignal.c - libmilter's signal thread, parked.  libmilter's smfi_main
 * starts a thread that sigwait()s for SIGHUP, SIGTERM and SIGINT and
 * stops the milter on any of them (its signal.c), so a SIGHUP meant as
 * "reload" would stop it, and a SIGTERM would stop it without the drain.
 *
 * This file defines sigwait() itself.  The dynamic linker binds
 * libmilter's call to it: the executable's definition comes first in the
 * symbol search (ELF interposition; an unversioned definition satisfies
 * libmilter's sigwait@GLIBC_2.2.5 reference).  Once the libmilter engine
 * arms it (before smfi_main), a sigwait() caller is parked for good with
 * every signal blocked.  Why that is sound: a process-directed signal is
 * delivered only to a thread that has it unblocked or waits for it
 * (sigwait, sigwaitinfo, signalfd); the parked thread does neither, so
 * every signal goes to authmilter's own waiters, which use
 * am_engine_sigwait (sigwaitinfo), never sigwait().  The engine checks
 * that libmilter's thread did park before it serves (am_lm_parked), and
 * refuses to run otherwise: a libmilter that waited some other way would
 * stop on SIGHUP again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "server/engine.h"
#include "server/lmengine_int.h"

/* process-wide state: signals are */
static int		 lm_park_armed;		/* __atomic */
static int		 lm_parked;		/* __atomic */

/* am_lm_park_arm - see lmengine_int.h */
void
am_lm_park_arm(void)
{
	__atomic_store_n(&lm_park_armed, 1, __ATOMIC_SEQ_CST);
}

/* park - libmilter's signal thread ends here, taking no signal ever */
static void __attribute__((noreturn))
park(void)
{
	sigset_t	 all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	__atomic_add_fetch(&lm_parked, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

/*
 * sigwait - libmilter's signal thread calls this one (see the top of the
 * file).  Parked while the libmilter engine runs; otherwise sigwait()'s
 * meaning, on sigwaitinfo.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	int	 s;

	if (__atomic_load_n(&lm_park_armed, __ATOMIC_SEQ_CST))
		park();
	if ((s = am_engine_sigwait(set)) == -1)
		return errno;
	*sig = s;
	return 0;
}

/* am_lm_parked - see lmengine_int.h */
int
am_lm_parked(unsigned int ms)
{
	unsigned int	 i;

	for (i = 0; i < ms / 10; i++) {
		if (__atomic_load_n(&lm_parked, __ATOMIC_SEQ_CST) > 0)
			return 1;
		usleep(10000);
	}
	return __atomic_load_n(&lm_parked, __ATOMIC_SEQ_CST) > 0;
}
