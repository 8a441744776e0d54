/*
 * drain.c - stop accepting, let messages in flight finish, then stop
 * libmilter.  See drain.h for why the order matters with libmilter's
 * worker pool.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
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
static int		 swapped;	/* listen_fd is the quiet socket */
static struct sockaddr_un quiet_addr;
static socklen_t	 quiet_len;
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
 * quiet_socket - a listening unix socket in the abstract namespace under a
 * random name: nobody connects to it but the waker below.  libmilter then
 * select()s and accept()s on it without errors (each accept error costs
 * it a sleep of a second or more).  -1 on failure.
 */
static int
quiet_socket(void)
{
	int	 fd;

	memset(&quiet_addr, 0, sizeof(quiet_addr));
	quiet_addr.sun_family = AF_UNIX;
	snprintf(quiet_addr.sun_path + 1, sizeof(quiet_addr.sun_path) - 1,
	    "authmilter-drain-%ld-%08x", (long)getpid(), arc4random());
	quiet_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(quiet_addr.sun_path + 1));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&quiet_addr, quiet_len) == -1 ||
	    listen(fd, 8) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* poke - one connection to the quiet socket; never blocks */
static void
poke(void)
{
	int	 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return;
	(void)connect(fd, (struct sockaddr *)&quiet_addr, quiet_len);
	close(fd);
}

/*
 * close_listener - put the quiet socket in place of the listening socket
 * (dup2), then shut the real one down: it refuses connections at once.
 * poll() only re-reads the descriptor table when it wakes, and only waits
 * on the files it first saw: so a connection is queued on the quiet socket
 * first, and the wake-up from the shutdown makes libmilter accept that one
 * (a session that ends at once) and poll the quiet socket from then on.
 */
static void
close_listener(const char *unix_path)
{
	int	 q = -1, old = -1;

	if (listen_fd == -1)
		return;
	if ((q = quiet_socket()) == -1 || (old = dup(listen_fd)) == -1 ||
	    dup2(q, listen_fd) == -1) {
		am_log_warn(NULL, "cannot close the listening socket: %s",
		    strerror(errno));
		if (q != -1)
			close(q);
		if (old != -1)
			close(old);
		return;
	}
	close(q);
	swapped = 1;
	poke();
	(void)shutdown(old, SHUT_RDWR);
	close(old);
	if (unix_path != NULL && unlink(unix_path) == -1 && errno != ENOENT)
		am_log_warn(NULL, "unlink %s: %s", unix_path, strerror(errno));
}

/*
 * waker - libmilter's listener holds its mutex while it waits for a
 * connection, and smfi_stop() needs that mutex to close the socket.
 * smfi_stop() sets the stop flag first, so connecting to the quiet socket
 * (every 100 ms until smfi_main returned) lets the listener see the flag.
 */
static void *
waker(void *arg)
{
	int	 i;

	for (i = 0; i < 100 && !__atomic_load_n(&milter_done,
	    __ATOMIC_SEQ_CST); i++) {
		usleep(100000);
		poke();
	}
	return NULL;
}

/* stop_milter - smfi_stop(), without waiting for the listener's timeout */
static void
stop_milter(void)
{
	pthread_t	 t;

	if (swapped && pthread_create(&t, NULL, waker, NULL) == 0)
		pthread_detach(t);
	smfi_stop();
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
		stop_milter();
	}
	pthread_join(t, NULL);
	return milter_rc;
}
