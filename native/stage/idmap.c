/* Detached mount clones, for idmapped mounts (MOUNT_ATTR_IDMAP). TypeScript decides
 * everything (src/runtime/plan/idmap.ts); the plan says:
 *   idmap_userns <n> <uid_map> <gid_map>   a user namespace holding exactly these maps
 *   mount_clone <i> <source> <open_tree flags> <userns n|-1> <mount_setattr flags>
 *                                          clone i of source, idmapped to userns n (-1: a
 *                                          plain clone, the chown-copy fallback)
 *   op:attach_clone <i> <target> <abs|dir|file|none>
 * The stage parent (host root, in the host's mount namespace) makes every clone before it
 * forks, so the init inherits the fds; the init moves clone i onto its target (an absolute
 * path for the rootfs, else resolved inside the rootfs with openat2(RESOLVE_IN_ROOT)).
 * Mode idmap_probe makes the clones, reports "idmap <i> <step> <errno>" for each, and exits:
 * berth-runtime learns before a launch where the kernel refuses idmapped mounts. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef MOVE_MOUNT_T_AUTOMOUNTS
#define MOVE_MOUNT_T_AUTOMOUNTS 0x00000020
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* struct mount_attr (MOUNT_ATTR_SIZE_VER0); own name, as not every libc header has it. */
struct berth_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

static int *g_clone_fd; /* by clone index; inherited by the init across both forks */
static int g_nclones;

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, len);
	int e = errno;
	close(fd);
	if (w < 0 || (size_t)w != len) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* A user namespace with the record's maps: a child born in it (clone(CLONE_NEWUSER)) that
 * only waits; we write its maps, keep an fd of its namespace, and kill it. */
static int make_userns(const struct rec *r)
{
	pid_t parent = getpid();
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Never outlive us, even if we are killed before we kill it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	char path[64];
	int fd = -1, e = 0;
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	if (write_file(path, r->f[2], r->len[2]) < 0)
		goto out;
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	if (write_file(path, r->f[3], r->len[3]) < 0)
		goto out;
	snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
out:
	e = errno;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	errno = e;
	return fd;
}

/* Clone i of the record's source; *step names the call that failed. */
static int make_clone(const struct rec *r, const int *userns, int nuserns, const char **step)
{
	*step = "open_tree";
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, r->f[2], (unsigned)unum(r->f[3]));
	if (fd < 0)
		return -1;
	int n = (int)num(r->f[4]);
	if (n < 0)
		return fd;
	*step = "mount_setattr";
	if (n >= nuserns || userns[n] < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	struct berth_mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns[n] };
	if (syscall(SYS_mount_setattr, fd, "", (unsigned)unum(r->f[5]), &a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int count(const struct plan *p, const char *kw)
{
	int n = 0;
	for (int i = 0; i < p->nrecs; i++)
		n += rec_is(&p->recs[i], kw);
	return n;
}

/* Index field of record r, checked against n (TypeScript numbers them 0..n-1). */
static int index_of(const struct rec *r, int n)
{
	int i = (int)num(r->f[1]);
	if (i < 0 || i >= n)
		fail(EINVAL, "%s index %s out of range", r->f[0], r->f[1]);
	return i;
}

/* probe: report each clone's outcome instead of failing. */
static void make_all(const struct plan *p, int probe)
{
	int nuserns = count(p, "idmap_userns");
	g_nclones = count(p, "mount_clone");
	if (!g_nclones)
		return;
	int *userns = calloc((size_t)nuserns + 1, sizeof *userns);
	int *userns_errno = calloc((size_t)nuserns + 1, sizeof *userns_errno);
	g_clone_fd = calloc((size_t)g_nclones, sizeof *g_clone_fd);
	if (!userns || !userns_errno || !g_clone_fd)
		fail(ENOMEM, "allocating mount clones");
	for (int n = 0; n < nuserns; n++)
		userns[n] = -1;
	for (int c = 0; c < g_nclones; c++)
		g_clone_fd[c] = -1;
	for (int i = 0; i < p->nrecs; i++) {
		const struct rec *r = &p->recs[i];
		if (!rec_is(r, "idmap_userns"))
			continue;
		int n = index_of(r, nuserns);
		if (userns[n] >= 0)
			fail(EINVAL, "idmap_userns index %d given twice", n);
		userns[n] = make_userns(r);
		if (userns[n] < 0) {
			if (!probe)
				fail(errno, "creating a user namespace for idmapped mounts");
			userns_errno[n] = errno;
		}
	}
	for (int i = 0; i < p->nrecs; i++) {
		const struct rec *r = &p->recs[i];
		if (!rec_is(r, "mount_clone"))
			continue;
		int c = index_of(r, g_nclones), n = (int)num(r->f[4]);
		if (g_clone_fd[c] >= 0)
			fail(EINVAL, "mount_clone index %d given twice", c);
		if (probe && n >= 0 && n < nuserns && userns[n] < 0) {
			report("idmap %d userns %d", c, userns_errno[n]);
			continue;
		}
		const char *step;
		int fd = make_clone(r, userns, nuserns, &step);
		if (probe) {
			report("idmap %d %s %d", c, fd < 0 ? step : "ok", fd < 0 ? errno : 0);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (fd < 0)
			fail(errno, "%s of %s for an idmapped mount", step, r->f[2]);
		g_clone_fd[c] = fd;
	}
	for (int n = 0; n < nuserns; n++)
		if (userns[n] >= 0)
			close(userns[n]); /* an idmapped mount keeps what it needs of its namespace */
	free(userns);
	free(userns_errno);
}

int idmap_probe(const struct plan *p)
{
	make_all(p, 1);
	report("done");
	return 0;
}

void clones_prepare(const struct plan *p)
{
	make_all(p, 0);
}

/* The stage parent's copies: only the init attaches them. */
void clones_close(void)
{
	for (int i = 0; i < g_nclones; i++)
		if (g_clone_fd[i] >= 0)
			close(g_clone_fd[i]);
}

void op_attach_clone(int rootfd, const struct rec *r)
{
	/* index target where(abs|dir|file|none) */
	int i = index_of(r, g_nclones);
	const char *tgt = r->f[2], *where = r->f[3];
	int fd = g_clone_fd[i];
	if (fd < 0)
		fail(EBADF, "mount clone %d was attached already", i);
	long rc;
	if (!strcmp(where, "abs")) {
		/* The path resolves as mount(2) would resolve it: symlinks followed. */
		rc = syscall(SYS_move_mount, fd, "", AT_FDCWD, tgt, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS | MOVE_MOUNT_T_AUTOMOUNTS);
	} else {
		int t = open_mount_target(rootfd, tgt, where);
		if (t < 0)
			fail(errno, "resolving mount target %s in the rootfs", tgt);
		rc = syscall(SYS_move_mount, fd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		int e = errno;
		close(t);
		errno = e;
	}
	if (rc < 0)
		fail(errno, "move_mount onto %s", tgt);
	close(fd);
	g_clone_fd[i] = -1;
}
