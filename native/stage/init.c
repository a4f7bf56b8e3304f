/* The container init (C2) before exec: runs the plan's ops in order (mounts,
 * devices, hooks, pivot_root, masks, sysctls...), reports "created", waits for
 * `start` on the exec fifo, runs startContainer hooks, then becomes the process. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *g_state;       /* state JSON from berth-runtime, for hooks */
static size_t g_state_len;

static void hooks_sync(void)
{
	char line[64];
	report("hooks");
	if (read_line(SYNC_FD, line, sizeof line) < 0)
		_exit(1); /* berth-runtime went away */
	if (strncmp(line, "ok ", 3) != 0)
		_exit(1); /* a runtime-namespace hook failed; berth-runtime reports it */
	g_state_len = (size_t)num(line + 3);
	g_state = malloc(g_state_len + 1);
	size_t got = 0;
	while (got < g_state_len) {
		ssize_t n = read(SYNC_FD, g_state + got, g_state_len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		got += (size_t)n;
	}
	g_state[g_state_len] = 0;
}

static void wait_for_start(int fifo)
{
	/* The fifo is ours for reading; `start` writes one byte to it. */
	struct pollfd pfd = { .fd = fifo, .events = POLLIN };
	char b;
	for (;;) {
		int n = poll(&pfd, 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(errno, "waiting for start");
		ssize_t r = read(fifo, &b, 1);
		if (r == 1)
			break;
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			fail(errno, "reading the exec fifo");
		if (r == 0)
			usleep(1000); /* a writer came and went without a byte; keep waiting */
	}
	close(fifo);
}

static void set_rlimit(const struct rec *r)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)unum(r->f[2]), .rlim_max = (rlim_t)unum(r->f[3]) };
	if (setrlimit((int)num(r->f[1]), &rl) < 0)
		fail(errno, "setrlimit %s", r->f[1]);
}

_Noreturn void run_init(struct plan *p, int ipc)
{
	char go[8];
	if (recv(ipc, go, sizeof go, 0) <= 0)
		_exit(1);
	umask(0); /* modes in the plan are exact */

	int fifo = g_fifo;
	const struct rec *r;

	const char *rootfs = NULL;
	int rootfd = -1;
	struct console con = { .master = -1, .slave = -1 };
	const struct rec *start_hooks[64];
	int start_hook_ops[64], nstart = 0;
	int op = -1;

	for (int i = 0; i < p->nrecs; i++) {
		r = &p->recs[i];
		const char *kw = r->f[0];
		if (strncmp(kw, "op:", 3) != 0)
			continue; /* header or process record */
		kw += 3;
		g_op = ++op;
		if (!strcmp(kw, "rootfs")) {
			rootfs = r->f[1];
			rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				fail(errno, "opening rootfs %s", rootfs);
		} else if (!strcmp(kw, "mount_abs")) {
			op_mount_abs(r);
		} else if (!strcmp(kw, "overlay_rootfs")) {
			op_overlay_rootfs(r);
		} else if (!strcmp(kw, "mount")) {
			op_mount_in(rootfd, r);
		} else if (!strcmp(kw, "attach_clone")) {
			op_attach_clone(rootfd, r);
		} else if (!strcmp(kw, "mknod")) {
			op_mknod(rootfd, r);
		} else if (!strcmp(kw, "symlink")) {
			op_symlink(rootfd, r);
		} else if (!strcmp(kw, "mkdir")) {
			op_mkdir(rootfd, r);
		} else if (!strcmp(kw, "console")) {
			op_console(rootfd, r, ipc, &con);
		} else if (!strcmp(kw, "hooks_sync")) {
			hooks_sync();
		} else if (!strcmp(kw, "hook")) {
			if (!strcmp(r->f[1], "startContainer")) {
				if (nstart < 64) {
					start_hooks[nstart] = r;
					start_hook_ops[nstart++] = op;
				}
			} else {
				run_hook(r, g_state, g_state_len);
			}
		} else if (!strcmp(kw, "pivot_root")) {
			op_pivot_root(rootfs);
			close(rootfd);
			rootfd = -1;
		} else if (!strcmp(kw, "chroot")) {
			op_chroot(rootfs);
			close(rootfd);
			rootfd = -1;
		} else if (!strcmp(kw, "mask")) {
			op_mask(r);
		} else if (!strcmp(kw, "readonly")) {
			op_readonly(r);
		} else if (!strcmp(kw, "remount_root_ro")) {
			op_remount_root_ro();
		} else if (!strcmp(kw, "sysctl")) {
			op_sysctl(r);
		} else if (!strcmp(kw, "loopback")) {
			op_loopback();
		} else if (!strcmp(kw, "write")) {
			op_write_file(r);
		} else if (!strcmp(kw, "hostname")) {
			if (sethostname(r->f[1], r->len[1]) < 0)
				fail(errno, "sethostname");
		} else if (!strcmp(kw, "domainname")) {
			if (setdomainname(r->f[1], r->len[1]) < 0)
				fail(errno, "setdomainname");
		} else if (!strcmp(kw, "rlimit")) {
			set_rlimit(r);
		} else if (!strcmp(kw, "chdir")) {
			if (chdir(r->f[1]) < 0)
				fail(errno, "chdir %s", r->f[1]);
		} else {
			fail(EINVAL, "unknown plan op %s", kw);
		}
	}
	g_op = ++op; /* the "exec" op: resolving and starting the process */
	apply_process(p, NULL); /* phase 1: resolve the executable while we can still report */
	if (fifo >= 0) {
		report("created");
		wait_for_start(fifo);
		g_sync_open = 0; /* create has returned: from here errors go to exec.status and stderr */
	}
	for (int i = 0; i < nstart; i++) {
		g_op = start_hook_ops[i];
		run_hook(start_hooks[i], g_state, g_state_len);
	}
	g_op = op;
	apply_process(p, &con); /* phase 2: become the process; does not return */
	_exit(1);
}
