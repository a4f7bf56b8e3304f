/* The container's terminal: a pty allocated from the container's devpts, its
 * master sent over --console-socket as runc does (SCM_RIGHTS, the pty path as
 * payload), or to the stage parent, which relays it to our own stdio (`run -t`). */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int send_fd(int sock, int fd, const char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int recv_fd(int sock)
{
	char name[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

void op_console(int rootfd, const struct rec *r, int ipc, struct console *con)
{
	/* socketpath rows cols console_target */
	int master = open_in_root(rootfd, "dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0)
		master = open_in_root(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0)
		fail(errno, "opening /dev/ptmx in the container (is /dev/pts mounted?)");
	int unlock = 0, n = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		fail(errno, "unlocking the pty");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		fail(errno, "opening the pty slave");
	unsigned rows = (unsigned)num(r->f[2]), cols = (unsigned)num(r->f[3]);
	if (rows && cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		ioctl(master, TIOCSWINSZ, &ws);
	}
	if (r->f[4][0]) {
		/* /dev/console is the pty slave, bind-mounted over an empty file. */
		int tfd = mkfile_in_root(rootfd, r->f[4]);
		if (tfd < 0)
			fail(errno, "resolving %s", r->f[4]);
		char src[40], tgt[40];
		snprintf(src, sizeof src, "/proc/self/fd/%d", slave);
		snprintf(tgt, sizeof tgt, "/proc/self/fd/%d", tfd);
		if (mount(src, tgt, NULL, MS_BIND, NULL) < 0)
			fail(errno, "bind-mounting the pty onto /dev/console");
		close(tfd);
	}
	char name[32];
	snprintf(name, sizeof name, "/dev/pts/%d", n);
	if (g_console_sock >= 0) {
		if (send_fd(g_console_sock, master, name) < 0)
			fail(errno, "sending the pty to the console socket");
		close(g_console_sock);
		g_console_sock = -1;
	} else if (send_fd(ipc, master, name) < 0) {
		fail(errno, "handing the pty to the stage parent");
	}
	close(master);
	con->slave = slave;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	/* A 0x0 terminal (a pty nobody sized) would override consoleSize with nonsense. */
	if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Relays our stdio to the pty master until the init exits, then drains output. */
int proxy_pty(int master, pid_t init, int *status)
{
	struct termios saved;
	int raw = isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(0, TCSANOW, &t);
		copy_winsize(0, master);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct pollfd pf[3] = { { .fd = sfd, .events = POLLIN }, { .fd = master, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	char buf[8192];
	int done = 0, stdin_open = 1;
	/* A process that exited before SIGCHLD was blocked sent a signal that was discarded
	 * (SIGCHLD's default is to ignore): it is a zombie already, and signalfd will never say so. */
	for (pid_t w; (w = waitpid(-1, status, WNOHANG)) > 0;)
		if (w == init)
			done = 1;
	while (!done) {
		int n = poll(pf, stdin_open ? 3 : 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) > 0 && si.ssi_signo == SIGWINCH)
				copy_winsize(0, master);
			pid_t w;
			while ((w = waitpid(-1, status, WNOHANG)) > 0)
				if (w == init)
					done = 1;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(master, buf, sizeof buf);
			if (r > 0)
				write_all(1, buf, (size_t)r);
			else
				pf[1].fd = -1; /* slave closed (EIO): wait for the exit */
		}
		if (stdin_open && (pf[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r > 0)
				write_all(master, buf, (size_t)r);
			else
				stdin_open = 0;
		}
	}
	/* What the process wrote just before exiting is still in the pty. */
	fcntl(master, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t r = read(master, buf, sizeof buf);
		if (r <= 0)
			break;
		write_all(1, buf, (size_t)r);
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	return 0;
}
