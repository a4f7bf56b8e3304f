/* The stage parent (P) and first child (C1), after runc's nsexec:
 *   P  joins the cgroups, forks C1, writes C1's id maps, learns the init pid,
 *      then (foreground) stays as subreaper to report the init's exit status.
 *   C1 joins namespaces by path, unshares the user namespace (P maps it), then the
 *      others, writes time offsets, and forks the init (C2), which lands in the new
 *      pid and time namespaces. C1 exits; the init is re-parented to P. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_proc_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "opening %s", path);
	ssize_t w = write(fd, data, len);
	if (w < 0 || (size_t)w != len)
		fail(w < 0 ? errno : EIO, "writing %s", path);
	close(fd);
}

static void write_id_maps(const struct plan *p, pid_t child)
{
	char path[64];
	const struct rec *r;
	if ((r = plan_find(p, "setgroups"))) {
		snprintf(path, sizeof path, "/proc/%d/setgroups", child);
		write_proc_file(path, r->f[1], r->len[1]);
	}
	if ((r = plan_find(p, "uidmap"))) {
		snprintf(path, sizeof path, "/proc/%d/uid_map", child);
		write_proc_file(path, r->f[1], r->len[1]);
	}
	if ((r = plan_find(p, "gidmap"))) {
		snprintf(path, sizeof path, "/proc/%d/gid_map", child);
		write_proc_file(path, r->f[1], r->len[1]);
	}
}

static int recv_msg(int sock, char *buf, size_t cap)
{
	ssize_t n;
	do
		n = recv(sock, buf, cap - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static void send_msg(int sock, const char *msg)
{
	while (send(sock, msg, strlen(msg), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* Foreground: wait for the init (re-parented to us as subreaper) and report its status. */
static int wait_init(pid_t init, int master)
{
	int status = 0;
	if (master >= 0) {
		if (proxy_pty(master, init, &status) < 0)
			fail(errno, "relaying the container's terminal");
	} else {
		for (;;) {
			pid_t w = waitpid(-1, &status, 0);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				fail(errno, "waiting for the container process");
			if (w == init)
				break;
		}
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	report("exit %d", code);
	return 0;
}

/* Writes our pid into the cgroup.procs file of every `keyword` record. */
static void move_self(const struct plan *p, const char *keyword)
{
	char pidbuf[32];
	int pidlen = snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
	for (int i = 0; i < p->nrecs; i++)
		if (rec_is(&p->recs[i], keyword))
			write_proc_file(p->recs[i].f[1], pidbuf, (size_t)pidlen);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* struct clone_args up to .cgroup (CLONE_ARGS_SIZE_VER2, Linux 5.7). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int g_cgroup2_fd = -1; /* "cgroupfork": the cgroup2 dir C1 is cloned into */
static const char *g_cgroup2_dir;

/* Join the container's cgroups before any fork, so every process is born inside them.
 * A whole-process move (cgroup.procs) takes a global lock whose first taker waits for an
 * RCU grace period (5-15 ms); the other two ways below do not:
 *   cgroupthread <v1 dir>/tasks: "0" moves only the calling thread, and we have no other;
 *   cgroupfork <cgroup2 dir>: C1 is cloned straight into it (a thread cannot move alone
 *   across cgroup2 domains). */
void join_cgroups(const struct plan *p)
{
	move_self(p, "cgroup");
	for (int i = 0; i < p->nrecs; i++)
		if (rec_is(&p->recs[i], "cgroupthread"))
			write_proc_file(p->recs[i].f[1], "0", 1);
	const struct rec *r = plan_find(p, "cgroupfork");
	if (r) {
		g_cgroup2_dir = r->f[1];
		g_cgroup2_fd = open(g_cgroup2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (g_cgroup2_fd < 0)
			fail(errno, "opening cgroup %s", g_cgroup2_dir);
	}
}

/* fork(), into the "cgroupfork" cgroup if there is one. */
static pid_t fork_c1(void)
{
	if (g_cgroup2_fd < 0)
		return fork();
	struct clone_args_v2 a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)g_cgroup2_fd };
	long pid = syscall(SYS_clone3, &a, sizeof a);
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
		/* Before Linux 5.7: move there, the slow way. */
		char path[PATH_MAX], pidbuf[32];
		int n = snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
		snprintf(path, sizeof path, "%s/cgroup.procs", g_cgroup2_dir);
		write_proc_file(path, pidbuf, (size_t)n);
		pid = fork();
	}
	if (pid != 0) { /* C1 closes its copy first thing */
		close(g_cgroup2_fd);
		g_cgroup2_fd = -1;
	}
	return (pid_t)pid;
}

/* A unix stream socket connected to `path` (the caller's, from the host side). */
static int connect_unix(const char *path, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		fail(ENAMETOOLONG, "%s path %s", what, path);
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		fail(errno, "connecting to %s %s", what, path);
	return s;
}

int run_parent(struct plan *p)
{
	const struct rec *r;
	int foreground = plan_find(p, "foreground") != NULL;

	if ((r = plan_find(p, "mode")) && !strcmp(r->f[1], "idmap_probe"))
		return idmap_probe(p);
	/* Detached clones of the rootfs and bind mounts (idmap.c), made here as host root in
	 * the host's mount namespace: the init inherits the fds and attaches them. */
	clones_prepare(p);
	/* The fifo is opened here, by host root: the init may be an unprivileged
	 * uid of a user namespace by the time it needs it. */
	if ((r = plan_find(p, "fifo"))) {
		if (mkfifo(r->f[1], 0600) < 0)
			fail(errno, "creating %s", r->f[1]);
		g_fifo = open(r->f[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (g_fifo < 0)
			fail(errno, "opening %s", r->f[1]);
	}
	if ((r = plan_find(p, "consolesock")))
		g_console_sock = connect_unix(r->f[1], "console socket");
	if ((r = plan_find(p, "seccomplistener")))
		g_seccomp_sock = connect_unix(r->f[1], "seccomp listener");
	if ((r = plan_find(p, "statusfile"))) {
		g_status_fd = open(r->f[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (g_status_fd < 0)
			fail(errno, "creating %s", r->f[1]);
	}
	if ((r = plan_find(p, "oom")))
		write_proc_file("/proc/self/oom_score_adj", r->f[1], r->len[1]);
	if (foreground && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail(errno, "becoming child subreaper");

	int ipc[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0)
		fail(errno, "socketpair");
	pid_t c1 = fork_c1();
	if (c1 < 0)
		fail(errno, "fork");
	if (c1 == 0) {
		close(ipc[0]);
		run_child(p, ipc[1]);
	}
	close(ipc[1]);
	clones_close();

	pid_t init = 0;
	char msg[64];
	while (!init) {
		if (recv_msg(ipc[0], msg, sizeof msg) < 0) {
			/* C1 died; it has reported why on SYNC_FD. */
			int st;
			waitpid(c1, &st, 0);
			return 1;
		}
		if (msg[0] == 'M') {
			write_id_maps(p, c1);
			send_msg(ipc[0], "m");
		} else if (msg[0] == 'T') {
			/* C1's own /proc files belong to host root (non-dumpable), which a new user
			 * namespace does not map: P writes the offsets for it, as it does the id maps. */
			char path[64];
			const struct rec *t = plan_find(p, "timens");
			snprintf(path, sizeof path, "/proc/%d/timens_offsets", c1);
			write_proc_file(path, t->f[1], t->len[1]);
			send_msg(ipc[0], "t");
		} else if (msg[0] == 'P') {
			init = (pid_t)atoi(msg + 1);
		}
	}
	int st;
	while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
		;
	report("pid %d", init);
	send_msg(ipc[0], "G");
	if (!foreground)
		return 0;
	/* We stay to wait for the init: not inside its cgroup, where we would count
	 * against its pids and memory limits. */
	move_self(p, "leavecgroup");

	int master = -1;
	if (plan_find(p, "ptyproxy"))
		master = recv_fd(ipc[0]); /* -1 if the init failed before opening a pty */
	close(ipc[0]);
	return wait_init(init, master);
}

_Noreturn void run_child(struct plan *p, int ipc)
{
	const struct rec *r;
	if (g_cgroup2_fd >= 0) /* a host directory: not for the container's eyes */
		close(g_cgroup2_fd);
	for (int i = 0; i < p->nrecs; i++) {
		r = &p->recs[i];
		if (!rec_is(r, "join"))
			continue;
		int fd = open(r->f[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(errno, "opening %s namespace %s", r->f[1], r->f[2]);
		if (setns(fd, 0) < 0)
			fail(errno, "joining %s namespace %s", r->f[1], r->f[2]);
		close(fd);
	}
	if (plan_find(p, "userns")) {
		if (unshare(CLONE_NEWUSER) < 0)
			fail(errno, "creating the user namespace");
		char ack[8];
		send_msg(ipc, "M");
		if (recv_msg(ipc, ack, sizeof ack) < 0)
			_exit(1); /* P failed to write the maps and reported it */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			fail(errno, "becoming root in the new user namespace (is uid/gid 0 mapped?)");
	}
	if ((r = plan_find(p, "unshare"))) {
		int flags = (int)num(r->f[1]);
		if (flags && unshare(flags) < 0)
			fail(errno, "creating namespaces (unshare flags 0x%x)", flags);
	}
	if (plan_find(p, "timens")) {
		char ack[8];
		send_msg(ipc, "T");
		if (recv_msg(ipc, ack, sizeof ack) < 0)
			_exit(1); /* P failed to write the offsets and reported it */
	}
	pid_t init = fork();
	if (init < 0)
		fail(errno, "forking the container init");
	if (init == 0)
		run_init(p, ipc);
	char msg[32];
	snprintf(msg, sizeof msg, "P%d", init);
	send_msg(ipc, msg);
	_exit(0);
}
