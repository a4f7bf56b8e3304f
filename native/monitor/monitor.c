/* berth-monitor: the per-container parent (conmon's and containerd-shim's job).
 *
 *   berth-monitor --dir DIR --log FILE (absolute paths) [--log-max-size BYTES] [--log-max-files N]
 *                 [--tty] [--stdin] [--wait-attach] [--attach-fd N] -- STAGE_PATH
 *   berth-monitor --standby -- STAGE_PATH
 *
 * berthd starts it in a new session with fd 3 = the stage's plan/status socket. It
 * becomes child subreaper, runs STAGE_PATH as its child (fds 0-2 as below, fd 3 kept,
 * nothing else), and so inherits the container's init when the stage's intermediate
 * processes exit. It then owns the container's stdio: it logs it, relays it to attach
 * clients, reaps the init and records how it ended. It never talks to berthd except
 * through the files and sockets in DIR, so it outlives berthd.
 *
 * Files in DIR (created if missing, 0700):
 *   monitor.pid   our pid (atomic write)
 *   attach.sock   attach clients (mode 0600), any number
 *   console.sock  (--tty) where the stage sends the pty master, runc's console-socket
 *                 protocol: one SCM_RIGHTS fd, the pty's name as payload
 *   exit.json     {"exitCode":N,"signal":S,"finishedAt":"<RFC 3339 nano>","pid":P}
 *                 written atomically once the init is reaped and its output drained;
 *                 exitCode is the exit status or 128+S for a death by signal S (signal 0
 *                 otherwise). No exit.json: the init never appeared (the create failed).
 *
 * --wait-attach: the stage is started only once the first attach client has connected, so
 * that client sees all of the output.
 *
 * --attach-fd N: fd N (> 3) is a connected attach client from the start (berthd's end of a
 * socketpair it passed us). The stage starts at once and the client still sees all of the
 * output: exec uses it, saving the wait for attach.sock to appear and the connect.
 *
 * --standby: started ahead of need (berthd keeps one ready for the next exec, which then does
 * not wait ~2 ms for berthd to fork itself). The other options arrive first on fd 3, as
 * u32 LE length + NUL-terminated arguments, then the plan as usual. EOF: not needed; exit 0.
 *
 * Container stdio: without --tty, pipes for stdout and stderr, stdin a pipe with --stdin
 * (else /dev/null). With --tty, 0-2 are /dev/null and the stage hands us the pty master.
 *
 * Attach protocol (attach.sock, SOCK_STREAM):
 *   monitor -> client: Docker's stdcopy frames: [stream u8: 1 stdout, 2 stderr][0 0 0]
 *     [length u32 BE][payload]. With a tty everything is stream 1. A client sees output
 *     produced after it connected (the log has the rest). When the init has exited and
 *     its output is flushed, the monitor closes every connection.
 *   client -> monitor: [type u8][length u32 BE][payload]:
 *     0 stdin bytes (ignored without --stdin or --tty);
 *     1 close stdin (the pipe's write end is closed once queued bytes are written,
 *       Docker's StdinOnce; ignored with a tty, where EOF is the terminal's ^D);
 *     2 resize: rows u16 BE, cols u16 BE -> TIOCSWINSZ on the pty master.
 *     Unknown types are skipped.
 *   A slow client holds back reading the container's output (as Docker's attach does)
 *   once 64 KiB are queued for it; stdin is queued up to 64 KiB before clients are no
 *   longer read.
 *
 * Log (--log FILE): Docker's json-file format (jsonlog.c), rotated when a record would
 * make FILE exceed --log-max-size: FILE -> FILE.1 -> ... -> FILE.(N-1), the oldest
 * dropped (N = --log-max-files, default 1: FILE is truncated).
 *
 * Signals: SIGPIPE and SIGHUP ignored; SIGTERM/SIGINT end the monitor (and a running
 * stage) only while no container init exists (a failed create); afterwards they are
 * ignored: the container's life is not ours to end.
 *
 * Exit: 0 after exit.json; 1 when the stage ended without leaving an init, or on a
 * start-up error (reported on fd 3 as the stage would: "error -1 <errno> <message>"). */
#include "monitor.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SYNC_FD 3
#define CLIENT_OUT_CAP (64 * 1024)
#define STDIN_CAP (64 * 1024)
#define DRAIN_MS 1000
#define FLUSH_MS 1000

struct buf {
	char *p;
	size_t off, len, cap;
};

struct client {
	int fd;
	unsigned char hdr[5];
	int hlen;       /* header bytes read */
	uint32_t need;  /* payload bytes still to come */
	unsigned char small[4];
	int slen;
	struct buf out;
};

static const char *g_dir;
static char g_attach_path[PATH_MAX], g_console_path[PATH_MAX];
static int g_tty, g_stdin, g_wait_attach, g_sync_open = 1;
static struct jlog g_log;
static struct linebuf g_line[3];

static int g_sfd = -1, g_attach_ls = -1, g_console_ls = -1, g_console_conn = -1;
static int g_out[3] = { -1, -1, -1 }; /* [1] stdout pipe or pty master, [2] stderr pipe */
static int g_in = -1;                 /* stdin pipe write end, or the pty master */
static struct buf g_inq;
static int g_in_close; /* close the stdin pipe once g_inq is written */
static struct winsize g_ws;
static int g_ws_pending;

static struct client *g_clients;
static int g_nclients;

static pid_t g_stage;
static int g_stage_done;
static pid_t g_init;
static int g_init_status;
static struct timespec g_finished;

static char g_rbuf[32768];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth-monitor: %s: %s\n", msg, strerror(err));
	if (g_sync_open) {
		char line[700];
		int n = snprintf(line, sizeof line, "error -1 %d berth-monitor: %s: %s\n", err, msg, strerror(err));
		if (n > 0 && write(SYNC_FD, line, (size_t)n) < 0) {
			/* nobody to tell */
		}
		/* Keep fd 3 open until berthd has read the line: it may still be writing the plan,
		 * and a write to a closed socket (EPIPE) makes Node drop the unread error line. */
		struct pollfd p = { .fd = SYNC_FD, .events = POLLIN };
		long long until = now_ms() + 2000;
		char sink[4096];
		while (now_ms() < until && poll(&p, 1, 100) >= 0) {
			if ((p.revents & (POLLIN | POLLHUP)) && read(SYNC_FD, sink, sizeof sink) <= 0)
				break;
		}
	}
	exit(1);
}


/* ---- small buffers ---- */

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->off + b->len + n > b->cap) {
		if (b->off) {
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			/* Just what is needed (16 KiB steps): queues are capped, growth is mremap. */
			size_t cap = (b->len + n + 16383) & ~(size_t)16383;
			char *np = realloc(b->p, cap);
			if (!np)
				return; /* out of memory: drop, never die */
			b->p = np;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, p, n);
	b->len += n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Writes what fd accepts now; returns -1 on a hard error (peer gone). */
static int buf_flush(struct buf *b, int fd, int is_sock)
{
	while (b->len) {
		ssize_t w = is_sock ? send(fd, b->p + b->off, b->len, MSG_NOSIGNAL | MSG_DONTWAIT) : write(fd, b->p + b->off, b->len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		b->off += (size_t)w;
		b->len -= (size_t)w;
	}
	buf_free(b); /* keep idle monitors small */
	return 0;
}

/* ---- files ---- */

static int write_file_atomic(const char *name, const char *data, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", g_dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", g_dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, n);
	int ok = w == (ssize_t)n;
	close(fd);
	/* No fsync: these files live in berthd's exec root and describe processes, which do not
	 * survive a machine crash anyway; the rename alone keeps readers from half a file. */
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int listen_at(char *out, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[PATH_MAX];
	snprintf(out, PATH_MAX, "%s/%s", g_dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", g_dir, name);
	if (strlen(tmp) >= sizeof sa.sun_path)
		die(ENAMETOOLONG, "socket path %s", out);
	strcpy(sa.sun_path, tmp);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		die(errno, "socket");
	unlink(tmp);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		die(errno, "binding %s", tmp);
	if (chmod(tmp, 0600) < 0 || listen(s, 64) < 0 || rename(tmp, out) < 0)
		die(errno, "listening on %s", out);
	return s;
}

/* ---- clients ---- */

static int client_add(int fd)
{
	struct client *nc = realloc(g_clients, sizeof *nc * (size_t)(g_nclients + 1));
	if (!nc)
		return -1;
	g_clients = nc;
	memset(&g_clients[g_nclients], 0, sizeof *g_clients);
	g_clients[g_nclients++].fd = fd;
	return 0;
}

static void client_drop(int i)
{
	close(g_clients[i].fd);
	buf_free(&g_clients[i].out);
	g_clients[i] = g_clients[--g_nclients];
}

static void broadcast(int stream, const char *data, size_t n)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };
	for (int i = 0; i < g_nclients; i++) {
		struct client *c = &g_clients[i];
		buf_add(&c->out, h, sizeof h);
		buf_add(&c->out, data, n);
		if (buf_flush(&c->out, c->fd, 1) < 0)
			client_drop(i--);
	}
}

static void apply_winsize(void)
{
	if (g_tty && g_out[1] >= 0 && g_ws_pending) {
		ioctl(g_out[1], TIOCSWINSZ, &g_ws);
		g_ws_pending = 0;
	}
}

static void close_stdin_now(void)
{
	if (!g_tty && g_in >= 0) {
		close(g_in);
		g_in = -1;
	}
	buf_free(&g_inq);
	g_in_close = 0;
}

/* The pty master is on its way (the stage sends it during create; a client may already type). */
static int pty_pending(void)
{
	return g_tty && g_in < 0 && (g_console_ls >= 0 || g_console_conn >= 0);
}

static void stdin_bytes(const unsigned char *p, size_t n)
{
	if (pty_pending()) {
		buf_add(&g_inq, p, n); /* written once the master arrives */
		return;
	}
	if (g_in < 0 || g_in_close)
		return;
	buf_add(&g_inq, p, n);
	if (buf_flush(&g_inq, g_in, 0) < 0) {
		/* the reader is gone: drop what it will never read */
		buf_free(&g_inq);
		if (!g_tty)
			close_stdin_now();
	}
}

/* Parses the client's frames; returns -1 when the client is gone. */
static int client_read(struct client *c)
{
	unsigned char b[4096];
	ssize_t n = recv(c->fd, b, sizeof b, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return -1;
	size_t i = 0;
	while (i < (size_t)n) {
		if (c->hlen < 5) {
			c->hdr[c->hlen++] = b[i++];
			if (c->hlen == 5) {
				c->need = (uint32_t)c->hdr[1] << 24 | (uint32_t)c->hdr[2] << 16 | (uint32_t)c->hdr[3] << 8 | c->hdr[4];
				c->slen = 0;
			} else {
				continue;
			}
		} else {
			size_t k = (size_t)n - i;
			if (k > c->need)
				k = c->need;
			if (c->hdr[0] == 0)
				stdin_bytes(b + i, k);
			else if (c->hdr[0] == 2)
				for (size_t j = 0; j < k; j++)
					if (c->slen < 4)
						c->small[c->slen++] = b[i + j];
			c->need -= (uint32_t)k;
			i += k;
		}
		if (c->hlen == 5 && c->need == 0) {
			if (c->hdr[0] == 1) {
				if (g_inq.len)
					g_in_close = 1;
				else
					close_stdin_now();
			} else if (c->hdr[0] == 2 && c->slen == 4) {
				g_ws.ws_row = (unsigned short)(c->small[0] << 8 | c->small[1]);
				g_ws.ws_col = (unsigned short)(c->small[2] << 8 | c->small[3]);
				g_ws_pending = 1;
				apply_winsize();
			}
			c->hlen = 0;
		}
	}
	return 0;
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(g_attach_ls, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (client_add(fd) < 0) {
			close(fd);
			return;
		}
	}
}

/* ---- the console socket (--tty) ---- */

static void console_receive(void)
{
	char name[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n = recvmsg(g_console_conn, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm), sizeof fd);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		g_out[1] = g_in = fd;
		apply_winsize();
		if (g_inq.len && buf_flush(&g_inq, g_in, 0) < 0)
			buf_free(&g_inq);
	}
	if (g_in < 0)
		buf_free(&g_inq); /* no pty after all */
	/* one pty per container: done with the socket, whether it worked or not */
	close(g_console_conn);
	g_console_conn = -1;
	if (g_console_ls >= 0) {
		close(g_console_ls);
		g_console_ls = -1;
		unlink(g_console_path);
	}
}

/* ---- output ---- */

static void out_closed(int s)
{
	if (g_out[s] < 0)
		return;
	if (g_in == g_out[s]) { /* the pty master: input goes nowhere now */
		g_in = -1;
		buf_free(&g_inq);
	}
	close(g_out[s]);
	g_out[s] = -1;
}

/* Reads one chunk of stream s; returns 1 if it read something. */
static int read_output(int s)
{
	ssize_t n = read(g_out[s], g_rbuf, sizeof g_rbuf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) { /* EOF, or EIO: the pty's last slave fd closed */
		out_closed(s);
		return 0;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	jlog_lines(&g_log, &g_line[s], s, g_rbuf, (size_t)n, &ts);
	jlog_flush(&g_log);
	broadcast(s, g_rbuf, (size_t)n);
	return 1;
}

static int backpressure(void)
{
	for (int i = 0; i < g_nclients; i++)
		if (g_clients[i].out.len >= CLIENT_OUT_CAP)
			return 1;
	return 0;
}

/* ---- children ---- */

/* True while we have a child that is not the stage (the init, once the stage is gone). */
static int have_children(void)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void cleanup_sockets(void)
{
	unlink(g_attach_path);
	if (g_console_ls >= 0)
		unlink(g_console_path);
}

static void reap(void)
{
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG);
		if (w <= 0)
			break;
		if (w == g_stage) {
			g_stage_done = 1;
		} else if (!g_init) {
			g_init = w;
			g_init_status = st;
			clock_gettime(CLOCK_REALTIME, &g_finished);
		}
	}
	if (g_stage_done && !g_init && !have_children()) {
		/* The stage failed (it told berthd why on fd 3) or left nothing running. */
		cleanup_sockets();
		exit(1);
	}
}

static void on_signal(void)
{
	struct signalfd_siginfo si;
	while (read(g_sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			reap();
			if (g_init || (g_stage_done && have_children()))
				continue; /* a container exists: not ours to end */
			if (g_stage > 0 && !g_stage_done)
				kill(g_stage, SIGKILL);
			cleanup_sockets();
			exit(1);
		}
	}
	reap();
}

static void write_exit_file(void)
{
	int code, sig = 0;
	if (WIFSIGNALED(g_init_status)) {
		sig = WTERMSIG(g_init_status);
		code = 128 + sig;
	} else {
		code = WEXITSTATUS(g_init_status);
	}
	char t[TIME_LEN], json[300];
	fmt_time(t, &g_finished);
	int n = snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\",\"pid\":%d}\n", code, sig, t, (int)g_init);
	write_file_atomic("exit.json", json, (size_t)n);
}

/* The init is gone and its output drained: record it, flush the clients, leave. */
/* Ends every client connection after a half-close: our output is complete (EOF for them),
 * while what they still send (stdin typed meanwhile) is read and dropped until they close too.
 * Closing a unix socket with unread input would reset it, and a client whose write then fails
 * may lose the output it had not read yet. Bounded by the flush deadline. */
static void linger_close(long long deadline)
{
	for (int i = 0; i < g_nclients; i++)
		shutdown(g_clients[i].fd, SHUT_WR);
	while (g_nclients > 0) {
		struct pollfd pf[64];
		int n = 0;
		for (int i = 0; i < g_nclients && n < 64; i++)
			pf[n++] = (struct pollfd){ .fd = g_clients[i].fd, .events = POLLIN };
		long long left = deadline - now_ms();
		if (left <= 0 || (poll(pf, (nfds_t)n, (int)left) < 0 && errno != EINTR))
			break;
		for (int i = 0; i < g_nclients; i++) {
			char junk[4096];
			ssize_t r = recv(g_clients[i].fd, junk, sizeof junk, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				client_drop(i--);
		}
	}
	for (int i = 0; i < g_nclients; i++)
		close(g_clients[i].fd);
}

static _Noreturn void finish(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	jlog_rest(&g_log, &g_line[1], 1, &ts);
	jlog_rest(&g_log, &g_line[2], 2, &ts);
	jlog_flush(&g_log);
	write_exit_file();
	close(g_attach_ls);
	cleanup_sockets();
	long long deadline = now_ms() + FLUSH_MS;
	for (;;) {
		struct pollfd pf[64];
		int n = 0;
		for (int i = 0; i < g_nclients && n < 64; i++)
			if (g_clients[i].out.len)
				pf[n++] = (struct pollfd){ .fd = g_clients[i].fd, .events = POLLOUT };
		long long left = deadline - now_ms();
		if (!n || left <= 0)
			break;
		if (poll(pf, (nfds_t)n, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < g_nclients; i++)
			if (g_clients[i].out.len && buf_flush(&g_clients[i].out, g_clients[i].fd, 1) < 0)
				client_drop(i--);
	}
	linger_close(deadline);
	exit(0);
}

/* ---- start-up ---- */

static void usage(void)
{
	fprintf(stderr, "usage: berth-monitor --dir DIR --log FILE [--log-max-size BYTES] [--log-max-files N] [--tty] [--stdin] [--wait-attach] [--attach-fd N] -- STAGE_PATH\n"
			"       berth-monitor --standby -- STAGE_PATH (the other options then come on fd 3)\n");
	exit(2);
}

/* Executes the stage from a sealed memfd copy, as the stage would otherwise re-execute itself
 * (native/stage/main.c: so that no container can reach its binary through /proc/PID/exe):
 * one exec fewer. Returns only if that fails; the caller then runs the file. */
static void exec_stage_sealed(const char *stage, char **argv)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	int src = open(stage, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return;
	struct stat st;
	int mfd = fstat(src, &st) == 0 ? memfd_create("berth-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING) : -1;
	off_t left = mfd >= 0 ? st.st_size : 0;
	while (left > 0) {
		ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
		if (n <= 0)
			break;
		left -= n;
	}
	close(src);
	if (mfd >= 0 && left == 0 && fcntl(mfd, F_ADD_SEALS, seals) == 0)
		fexecve(mfd, argv, environ);
	if (mfd >= 0)
		close(mfd);
}

static _Noreturn void run_stage(const char *stage, int nullfd, int out[2], int err[2], int in[2], sigset_t *old)
{
	int fds[3];
	fds[0] = g_tty || !g_stdin ? nullfd : in[0];
	fds[1] = g_tty ? nullfd : out[1];
	fds[2] = g_tty ? nullfd : err[1];
	/* Move them above 3 first, so no dup2 below clobbers another one's source. */
	for (int i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(127);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(127);
	fcntl(SYNC_FD, F_SETFD, 0);
	if (syscall(SYS_close_range, SYNC_FD + 1, ~0U, 0) < 0)
		for (int fd = SYNC_FD + 1; fd < 4096; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
	char *argv[] = { (char *)stage, NULL };
	exec_stage_sealed(stage, argv);
	execv(stage, argv);
	char line[300];
	int n = snprintf(line, sizeof line, "error -1 %d cannot run %s: %s\n", errno, stage, strerror(errno));
	if (n > 0 && write(SYNC_FD, line, (size_t)n) < 0) {
		/* nobody to tell */
	}
	_exit(127);
}

struct opts {
	const char *log, *stage;
	long long max_size;
	int max_files, attach_fd, standby;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) { /* the stage follows (in standby options: it is on the command line) */
			if (i + 1 < argc)
				o->stage = argv[i + 1];
			break;
		} else if (!strcmp(a, "--standby")) {
			o->standby = 1;
		} else if (!strcmp(a, "--dir") && i + 1 < argc) {
			g_dir = argv[++i];
		} else if (!strcmp(a, "--log") && i + 1 < argc) {
			o->log = argv[++i];
		} else if (!strcmp(a, "--log-max-size") && i + 1 < argc) {
			o->max_size = atoll(argv[++i]);
		} else if (!strcmp(a, "--log-max-files") && i + 1 < argc) {
			o->max_files = atoi(argv[++i]);
		} else if (!strcmp(a, "--tty")) {
			g_tty = 1;
		} else if (!strcmp(a, "--stdin")) {
			g_stdin = 1;
		} else if (!strcmp(a, "--wait-attach")) {
			g_wait_attach = 1;
		} else if (!strcmp(a, "--attach-fd") && i + 1 < argc) {
			o->attach_fd = atoi(argv[++i]);
		} else {
			usage();
		}
	}
}

static void read_exact(int fd, void *buf, size_t n)
{
	for (char *p = buf; n > 0;) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			exit(0); /* berthd let the standby go (or went away) */
		p += r;
		n -= (size_t)r;
	}
}

/* --standby: the options berthd sends on fd 3 once it needs us (see the header). */
static void read_standby_args(struct opts *o)
{
	unsigned char h[4];
	read_exact(SYNC_FD, h, sizeof h);
	uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	if (len == 0 || len > 64 * 1024)
		die(EINVAL, "standby options of %u bytes", len);
	char *buf = malloc(len);
	char **argv = calloc(len + 1, sizeof *argv);
	if (!buf || !argv)
		die(ENOMEM, "standby options");
	read_exact(SYNC_FD, buf, len);
	if (buf[len - 1] != 0)
		die(EINVAL, "standby options not NUL-terminated");
	int argc = 0;
	for (uint32_t i = 0; i < len; i += (uint32_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	parse_args(argc, argv, o); /* buf stays: the options point into it */
	free(argv);
}

int main(int argc, char **argv)
{
	struct opts o = { .max_files = 1, .attach_fd = -1 };
	parse_args(argc - 1, argv + 1, &o);
	if (o.standby && fcntl(SYNC_FD, F_GETFD) >= 0)
		read_standby_args(&o);
	const char *log = o.log, *stage = o.stage;
	long long max_size = o.max_size;
	int max_files = o.max_files, attach_fd = o.attach_fd;
	if (!g_dir || !log || !stage || g_dir[0] != '/' || log[0] != '/' || (attach_fd != -1 && attach_fd <= SYNC_FD))
		usage(); /* absolute paths: we leave the caller's cwd */
	if (fcntl(SYNC_FD, F_GETFD) < 0) {
		g_sync_open = 0;
		die(EBADF, "fd 3 must be the stage's plan socket");
	}
	if (max_files < 1)
		max_files = 1;
	/* Queues for slow clients come and go: map them (fixed threshold) and give them back, so
	 * a monitor returns to its idle size after a burst. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024);
	setsid(); /* already a session leader when spawned detached; harmless otherwise */

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	g_sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (g_sfd < 0)
		die(errno, "signalfd");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		die(errno, "becoming child subreaper");

	if (mkdir(g_dir, 0700) < 0 && errno != EEXIST)
		die(errno, "creating %s", g_dir);
	char pid[24];
	int pn = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (write_file_atomic("monitor.pid", pid, (size_t)pn) < 0)
		die(errno, "writing %s/monitor.pid", g_dir);
	g_log.path = log;
	g_log.max_size = max_size;
	g_log.max_files = max_files;
	if (jlog_open(&g_log) < 0)
		die(errno, "opening the log %s", log);
	g_attach_ls = listen_at(g_attach_path, "attach.sock");
	if (g_tty)
		g_console_ls = listen_at(g_console_path, "console.sock");
	/* Before the stage runs, so the client misses nothing; the stage never sees the fd
	 * (run_stage closes everything above SYNC_FD). */
	if (attach_fd >= 0) {
		if (fcntl(attach_fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(attach_fd, F_SETFL, fcntl(attach_fd, F_GETFL) | O_NONBLOCK) < 0)
			die(errno, "--attach-fd %d", attach_fd);
		if (client_add(attach_fd) < 0)
			die(ENOMEM, "--attach-fd %d", attach_fd);
	}

	while (g_wait_attach && !g_nclients) {
		struct pollfd w[2] = { { .fd = g_sfd, .events = POLLIN }, { .fd = g_attach_ls, .events = POLLIN } };
		if (poll(w, 2, -1) < 0 && errno != EINTR)
			die(errno, "poll");
		if (w[0].revents)
			on_signal(); /* SIGTERM: no container yet, so we leave */
		if (w[1].revents)
			accept_clients();
	}

	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0)
		die(errno, "opening /dev/null");
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
	if (!g_tty) {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (g_stdin && pipe2(in, O_CLOEXEC) < 0))
			die(errno, "pipe");
	}
	g_stage = fork();
	if (g_stage < 0)
		die(errno, "fork");
	if (g_stage == 0)
		run_stage(stage, nullfd, out, err, in, &old);

	/* Only the stage and what it leaves talk to berthd on fd 3; it must see EOF when they are done. */
	close(SYNC_FD);
	g_sync_open = 0;
	if (!g_tty) {
		close(out[1]);
		close(err[1]);
		g_out[1] = out[0];
		g_out[2] = err[0];
		fcntl(out[0], F_SETFL, O_NONBLOCK);
		fcntl(err[0], F_SETFL, O_NONBLOCK);
		if (g_stdin) {
			close(in[0]);
			g_in = in[1];
			fcntl(g_in, F_SETFL, O_NONBLOCK);
		}
	}
	/* Not berthd's cwd (a mount it may want to remove), and not its stdio once it may be gone. */
	if (chdir("/") < 0) {
		/* stay where we are */
	}
	for (int i = 0; i < 3; i++)
		dup2(nullfd, i);
	close(nullfd);

	long long drain_deadline = 0;
	struct pollfd *pf = NULL;
	int *who = NULL, cap = 0;
	enum { W_SIG = -1, W_ATTACH = -2, W_CLS = -3, W_CCONN = -4, W_OUT1 = -5, W_OUT2 = -6, W_IN = -7 };
	for (;;) {
		if (g_init && !drain_deadline)
			drain_deadline = now_ms() + DRAIN_MS;
		if (g_init && ((g_out[1] < 0 && g_out[2] < 0) || now_ms() >= drain_deadline))
			finish();
		if (cap < g_nclients + 8) {
			cap = g_nclients + 16;
			pf = realloc(pf, sizeof *pf * (size_t)cap);
			who = realloc(who, sizeof *who * (size_t)cap);
			if (!pf || !who)
				die(ENOMEM, "poll set");
		}
		int n = 0;
#define ADD(f, ev, w) (pf[n] = (struct pollfd){ .fd = (f), .events = (ev) }, who[n++] = (w))
		ADD(g_sfd, POLLIN, W_SIG);
		ADD(g_attach_ls, POLLIN, W_ATTACH);
		if (g_console_ls >= 0 && g_console_conn < 0)
			ADD(g_console_ls, POLLIN, W_CLS);
		if (g_console_conn >= 0)
			ADD(g_console_conn, POLLIN, W_CCONN);
		int bp = backpressure();
		short inev = g_inq.len ? POLLOUT : 0;
		if (g_out[1] >= 0)
			ADD(g_out[1], (bp ? 0 : POLLIN) | (g_in == g_out[1] ? inev : 0), W_OUT1);
		if (g_out[2] >= 0 && !bp)
			ADD(g_out[2], POLLIN, W_OUT2);
		if (g_in >= 0 && g_in != g_out[1] && inev)
			ADD(g_in, inev, W_IN);
		for (int i = 0; i < g_nclients; i++)
			ADD(g_clients[i].fd, (g_inq.len < STDIN_CAP ? POLLIN : 0) | (g_clients[i].out.len ? POLLOUT : 0), i);
#undef ADD
		int timeout = -1;
		if (drain_deadline) {
			long long left = drain_deadline - now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		int r = poll(pf, (nfds_t)n, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(errno, "poll");
		/* The pty first: a client's first keystrokes may be in this round. */
		for (int k = 0; k < n; k++) {
			if (who[k] == W_CCONN && pf[k].revents) {
				console_receive();
				pf[k].revents = 0;
			}
		}
		/* Clients (by fd: the array may shrink while we walk it). */
		for (int k = 0; k < n; k++) {
			if (who[k] < 0 || !pf[k].revents)
				continue;
			for (int i = 0; i < g_nclients; i++) {
				if (g_clients[i].fd != pf[k].fd)
					continue;
				int gone = 0;
				if (pf[k].revents & POLLOUT)
					gone = buf_flush(&g_clients[i].out, g_clients[i].fd, 1) < 0;
				if (!gone && (pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
					gone = client_read(&g_clients[i]) < 0;
				if (gone)
					client_drop(i);
				break;
			}
		}
		for (int k = 0; k < n; k++) {
			short ev = pf[k].revents;
			if (!ev)
				continue;
			switch (who[k]) {
			case W_SIG:
				on_signal();
				break;
			case W_ATTACH:
				accept_clients();
				break;
			case W_CLS:
				g_console_conn = accept4(g_console_ls, NULL, NULL, SOCK_CLOEXEC);
				break;
			case W_CCONN:
				console_receive();
				break;
			case W_OUT1:
			case W_OUT2: {
				int s = who[k] == W_OUT1 ? 1 : 2;
				if ((ev & POLLOUT) && g_in >= 0 && buf_flush(&g_inq, g_in, 0) < 0)
					buf_free(&g_inq);
				if (g_out[s] >= 0 && (ev & (POLLIN | POLLHUP | POLLERR)))
					read_output(s);
				break;
			}
			case W_IN:
				if (buf_flush(&g_inq, g_in, 0) < 0 || (ev & POLLERR))
					close_stdin_now();
				else if (!g_inq.len && g_in_close)
					close_stdin_now();
				break;
			}
		}
	}
}
