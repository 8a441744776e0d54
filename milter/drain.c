/*
 * drain.c - stop accepting, let messages in flight finish, then stop
 * libmilter.  See drain.h for why the order matters with libmilter's
 * worker pool.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "drain.h"
#include "log.h"

#define FD_SCAN_MAX	4096

static unsigned char	 was_listening[FD_SCAN_MAX];
static int		 listen_fd = -1;
static int		 wake_fd = -1;	/* pipe write end behind listen_fd */
static pthread_t	 main_thread;
static int		 milter_rc = MI_FAILURE;
static int		 milter_done;	/* atomic: smfi_main returned */

/* is_listening - a socket in the listening state? */
static int
is_listening(int fd)
{
	int		 on = 0;
	socklen_t	 len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* am_drain_before_listen - remember the listening sockets we have now */
void
am_drain_before_listen(void)
{
	int	 fd;

	for (fd = 0; fd < FD_SCAN_MAX; fd++)
		was_listening[fd] = (unsigned char)is_listening(fd);
}

/* am_drain_attach - the listening socket smfi_opensocket made */
int
am_drain_attach(void)
{
	int	 fd;

	for (fd = 0; fd < FD_SCAN_MAX; fd++)
		if (!was_listening[fd] && is_listening(fd))
			listen_fd = fd;
	return listen_fd;
}

/*
 * close_listener - put a pipe's read end in place of the listening socket
 * (dup2), then shut the socket down: it refuses connections at once, and
 * libmilter's listener, woken, polls a descriptor that stays quiet until
 * wake_listener writes to the pipe after smfi_stop().
 */
static void
close_listener(const char *unix_path)
{
	int	 p[2], old;

	if (listen_fd == -1)
		return;
	if ((old = dup(listen_fd)) == -1 || pipe2(p, O_CLOEXEC) == -1 ||
	    dup2(p[0], listen_fd) == -1) {
		am_log_warn(NULL, "cannot close the listening socket: %s",
		    strerror(errno));
		if (old != -1)
			close(old);
		return;
	}
	close(p[0]);
	wake_fd = p[1];
	(void)shutdown(old, SHUT_RDWR);
	close(old);
	if (unix_path != NULL && unlink(unix_path) == -1 && errno != ENOENT)
		am_log_warn(NULL, "unlink %s: %s", unix_path, strerror(errno));
}

/* wake_listener - after smfi_stop(): libmilter's listener returns now */
static void
wake_listener(void)
{
	if (wake_fd != -1)
		(void)write(wake_fd, "x", 1);
}

/* wait_idle - until no message is in progress, at most secs */
static void
wait_idle(unsigned int secs)
{
	unsigned int	 i;

	/* commands the MTA sent without waiting (SMFIP_NR_*) may be unread */
	usleep(200000);
	for (i = 0; i < secs * 10 && am_callbacks_busy() > 0; i++)
		usleep(100000);
	if (am_callbacks_busy() > 0)
		am_log_warn(NULL, "exiting with %d messages in progress",
		    am_callbacks_busy());
}

/* milter_main - smfi_main() in its own thread; wakes main when it ends */
static void *
milter_main(void *arg)
{
	milter_rc = smfi_main();
	__atomic_store_n(&milter_done, 1, __ATOMIC_SEQ_CST);
	pthread_kill(main_thread, SIGTERM);	/* blocked: taken by sigwait */
	return NULL;
}

/* am_drain_run - smfi_main() until a stop signal, then a clean stop */
int
am_drain_run(unsigned int drain_secs, const char *unix_path)
{
	pthread_t	 t;
	sigset_t	 set;
	int		 sig = 0, r;

	main_thread = pthread_self();
	if ((r = pthread_create(&t, NULL, milter_main, NULL)) != 0) {
		am_log_err(NULL, "milter thread: %s", strerror(r));
		return MI_FAILURE;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) != 0)
		continue;
	if (!__atomic_load_n(&milter_done, __ATOMIC_SEQ_CST)) {
		am_log_info(NULL, "%s: no new connections; waiting up to %u s "
		    "for %d message%s in progress", strsignal(sig), drain_secs,
		    am_callbacks_busy(), am_callbacks_busy() == 1 ? "" : "s");
		close_listener(unix_path);
		wait_idle(drain_secs);
		smfi_stop();
		wake_listener();
	}
	pthread_join(t, NULL);
	return milter_rc;
}
