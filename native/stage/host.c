/* Host mode: plan ops berth-runtime needs from the kernel that Node cannot make,
 * run in the stage process itself (no fork, no namespaces):
 *   bpf_devices <cgroup2 dir> <program>  load a BPF_PROG_TYPE_CGROUP_DEVICE program
 *                                        compiled in TypeScript, attach it, detach the old
 *   oomwatch <memory cgroup dir>         v1 OOM notifications (eventfd + cgroup.event_control):
 *                                        prints "ready", then "oom <count>" per event.
 * Layer metadata Node cannot write (src/image/layer/extract.ts returns it), one op per item,
 * every path resolved strictly inside <layer dir> (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS
 * on an O_PATH fd of it); the layer dir is trusted, the relative paths are not:
 *   layer_dev <dir> <rel> <c|b|p> <major> <minor> <mode> <uid> <gid> <mtime sec> <mtime nsec>
 *                                        mknodat (whatever non-directory is there is unlinked first)
 *   layer_whiteout <dir> <rel>           overlay whiteout: a 0:0 char device, mode 0, owner 0:0
 *   layer_opaque <dir> <rel>             trusted.overlay.opaque=y on a directory ("" = the root)
 *   layer_xattr <dir> <rel> <name> <hex value>  set an xattr; a symlink is skipped ("warn ...")
 *   layer_getxattr <dir> <rel> <name>    prints "xattr <hex value>", or "xattr -" when it is absent
 *                                        (or <rel> is a symlink): overlay opaque markers for the
 *                                        snapshotter's diff, which Node cannot read
 * Storage driver probe (src/storage/snapshotter.ts), run alone in its own stage:
 *   overlay_probe <dir>                  in a new private mount namespace of this process only:
 *                                        mount overlay lowerdir=lower,upperdir=upper,workdir=work on
 *                                        <dir>/merged, remove merged/f (a lower file: a whiteout in
 *                                        upper) and create merged/n; TypeScript then checks upper */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static void bpf_devices(const struct rec *r)
{
	const char *dir = r->f[1];
	static char log[65536];
	union bpf_attr load;
	memset(&load, 0, sizeof load);
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)r->f[2];
	load.insn_cnt = (uint32_t)(r->len[2] / sizeof(struct bpf_insn));
	load.license = (uint64_t)(uintptr_t) "Apache";
	int prog = (int)bpf(BPF_PROG_LOAD, &load);
	if (prog < 0) {
		int err = errno;
		/* Again with the verifier's log, so the error says why. */
		load.log_buf = (uint64_t)(uintptr_t)log;
		load.log_size = sizeof log;
		load.log_level = 1;
		bpf(BPF_PROG_LOAD, &load);
		for (char *c = log; *c; c++)
			if (*c == '\n')
				*c = ' ';
		fail(err, "loading the device filter (%u instructions): %.400s", load.insn_cnt, log);
	}
	int cg = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cg < 0)
		fail(errno, "opening cgroup %s", dir);

	uint32_t old[64];
	union bpf_attr q;
	memset(&q, 0, sizeof q);
	q.query.target_fd = (uint32_t)cg;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uint64_t)(uintptr_t)old;
	q.query.prog_cnt = 64;
	if (bpf(BPF_PROG_QUERY, &q) < 0)
		q.query.prog_cnt = 0;

	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)cg;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &a) < 0)
		fail(errno, "attaching the device filter to %s", dir);
	/* The new program is in force; only now drop the ones it replaces (runc does the same). */
	for (uint32_t i = 0; i < q.query.prog_cnt; i++) {
		union bpf_attr g;
		memset(&g, 0, sizeof g);
		g.prog_id = old[i];
		int fd = (int)bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (fd < 0)
			continue;
		union bpf_attr d;
		memset(&d, 0, sizeof d);
		d.target_fd = (uint32_t)cg;
		d.attach_bpf_fd = (uint32_t)fd;
		d.attach_type = BPF_CGROUP_DEVICE;
		if (bpf(BPF_PROG_DETACH, &d) < 0)
			fail(errno, "detaching the previous device filter from %s", dir);
		close(fd);
	}
	close(prog);
	close(cg);
}

_Noreturn static void oomwatch(const struct rec *r)
{
	const char *dir = r->f[1];
	char path[4096];
	int efd = eventfd(0, EFD_CLOEXEC);
	snprintf(path, sizeof path, "%s/memory.oom_control", dir);
	int ofd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/cgroup.event_control", dir);
	int cfd = open(path, O_WRONLY | O_CLOEXEC);
	if (efd < 0 || ofd < 0 || cfd < 0)
		fail(errno, "registering for OOM events of %s", dir);
	if (dprintf(cfd, "%d %d", efd, ofd) < 0)
		fail(errno, "writing %s", path);
	close(cfd);
	report("ready");
	for (;;) {
		uint64_t n;
		if (read(efd, &n, sizeof n) != sizeof n) {
			if (errno == EINTR)
				continue;
			fail(errno, "reading OOM events of %s", dir);
		}
		/* Removing the cgroup also signals the eventfd. */
		struct stat st;
		if (stat(dir, &st) < 0) {
			report("gone");
			_exit(0);
		}
		report("oom %llu", (unsigned long long)n);
	}
}

/* ---- layer metadata ---- */

static int open_layer(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "opening layer directory %s", dir);
	return fd;
}

/* Splits rel into its parent (opened O_PATH inside the root) and the last component. */
static int open_parent(int root, const char *rel, char *base, size_t cap)
{
	char path[4096];
	while (*rel == '/')
		rel++;
	if (strlen(rel) >= sizeof path)
		fail(ENAMETOOLONG, "layer path %.200s", rel);
	strcpy(path, rel);
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		path[--n] = 0;
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) >= cap)
		fail(EINVAL, "layer path %s: invalid last component", rel);
	snprintf(base, cap, "%s", name);
	if (slash)
		*slash = 0;
	int fd = open_in_root(root, slash ? path : ".", O_PATH | O_DIRECTORY);
	if (fd < 0)
		fail(errno, "opening the parent of %s", rel);
	return fd;
}

/* Removes whatever non-directory (or empty directory) is at parent/base. */
static void clear_entry(int parent, const char *base, const char *rel)
{
	if (unlinkat(parent, base, 0) == 0 || errno == ENOENT)
		return;
	if (errno == EISDIR && (unlinkat(parent, base, AT_REMOVEDIR) == 0 || errno == ENOENT))
		return;
	fail(errno, "removing what is at %s", rel);
}

static void layer_dev(const struct rec *r)
{
	if (r->n != 11)
		fail(EINVAL, "layer_dev: %d fields", r->n);
	const char *rel = r->f[2];
	mode_t type;
	switch (r->f[3][0]) {
	case 'c': type = S_IFCHR; break;
	case 'b': type = S_IFBLK; break;
	case 'p': type = S_IFIFO; break;
	default: fail(EINVAL, "layer_dev %s: bad type %s", rel, r->f[3]);
	}
	dev_t dev = type == S_IFIFO ? 0 : makedev((unsigned)unum(r->f[4]), (unsigned)unum(r->f[5]));
	mode_t mode = (mode_t)unum(r->f[6]) & 07777;
	int root = open_layer(r->f[1]);
	char base[256];
	int parent = open_parent(root, rel, base, sizeof base);
	clear_entry(parent, base, rel);
	if (mknodat(parent, base, type | (mode & 0777), dev) < 0)
		fail(errno, "mknod %s", rel);
	if (fchownat(parent, base, (uid_t)unum(r->f[7]), (gid_t)unum(r->f[8]), AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "chown %s", rel);
	/* After chown (which clears setuid/setgid); the node was just made by us, not a symlink. */
	if (fchmodat(parent, base, mode, 0) < 0)
		fail(errno, "chmod %s", rel);
	struct timespec ts[2];
	ts[0].tv_sec = ts[1].tv_sec = (time_t)num(r->f[9]);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)num(r->f[10]);
	if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "setting the times of %s", rel);
	close(parent);
	close(root);
}

static void layer_whiteout(const struct rec *r)
{
	if (r->n != 3)
		fail(EINVAL, "layer_whiteout: %d fields", r->n);
	const char *rel = r->f[2];
	int root = open_layer(r->f[1]);
	char base[256];
	int parent = open_parent(root, rel, base, sizeof base);
	clear_entry(parent, base, rel);
	if (mknodat(parent, base, S_IFCHR, makedev(0, 0)) < 0)
		fail(errno, "creating the whiteout %s", rel);
	if (fchownat(parent, base, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "chown the whiteout %s", rel);
	if (fchmodat(parent, base, 0, 0) < 0)
		fail(errno, "chmod the whiteout %s", rel);
	close(parent);
	close(root);
}

static void layer_opaque(const struct rec *r)
{
	if (r->n != 3)
		fail(EINVAL, "layer_opaque: %d fields", r->n);
	const char *rel = r->f[2];
	int root = open_layer(r->f[1]);
	int fd = open_in_root(root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		fail(errno, "opening the opaque directory %s", rel);
	if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		fail(errno, "marking %s opaque", rel);
	close(fd);
	close(root);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void layer_xattr(const struct rec *r)
{
	if (r->n != 5)
		fail(EINVAL, "layer_xattr: %d fields", r->n);
	const char *rel = r->f[2], *name = r->f[3], *hex = r->f[4];
	size_t hl = r->len[4];
	if (hl % 2)
		fail(EINVAL, "xattr %s of %s: odd hex length", name, rel);
	unsigned char *val = malloc(hl / 2 + 1);
	if (!val)
		fail(ENOMEM, "xattr %s of %s", name, rel);
	for (size_t i = 0; i < hl / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail(EINVAL, "xattr %s of %s: bad hex value", name, rel);
		val[i] = (unsigned char)(hi << 4 | lo);
	}
	int root = open_layer(r->f[1]);
	/* O_PATH: never opens a device or blocks on a fifo; the xattr is then set through the
	 * fd's /proc/self/fd entry (our own fd, resolved by the kernel to exactly that inode). */
	int fd = open_in_root(root, rel, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		fail(errno, "opening %s for xattr %s", rel, name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		fail(errno, "stat %s", rel);
	if (S_ISLNK(st.st_mode)) {
		report("warn %s: xattr %s on a symlink skipped", rel, name);
	} else {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (setxattr(proc, name, val, hl / 2, 0) < 0)
			fail(errno, "setting xattr %s on %s", name, rel);
	}
	free(val);
	close(fd);
	close(root);
}

static void layer_getxattr(const struct rec *r)
{
	if (r->n != 4)
		fail(EINVAL, "layer_getxattr: %d fields", r->n);
	const char *rel = r->f[2], *name = r->f[3];
	int root = open_layer(r->f[1]);
	int fd = open_in_root(root, rel, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		fail(errno, "opening %s for xattr %s", rel, name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		fail(errno, "stat %s", rel);
	static unsigned char val[65536];
	ssize_t n = -1;
	if (!S_ISLNK(st.st_mode)) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		n = getxattr(proc, name, val, sizeof val);
		if (n < 0 && errno != ENODATA && errno != ENOTSUP)
			fail(errno, "reading xattr %s of %s", name, rel);
	}
	if (n < 0) {
		report("xattr -");
	} else {
		static char hex[2 * sizeof val + 1];
		for (ssize_t i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", val[i]);
		hex[2 * n] = 0;
		report("xattr %s", hex);
	}
	close(fd);
	close(root);
}

/* Leaves this process in the new mount namespace: run it as the only op of its stage. */
static void overlay_probe(const struct rec *r)
{
	if (r->n != 2)
		fail(EINVAL, "overlay_probe: %d fields", r->n);
	if (unshare(CLONE_NEWNS) < 0)
		fail(errno, "unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(errno, "making the probe's mount namespace private");
	if (chdir(r->f[1]) < 0)
		fail(errno, "chdir %s", r->f[1]);
	if (mount("overlay", "merged", "overlay", 0, "lowerdir=lower,upperdir=upper,workdir=work") < 0)
		fail(errno, "mount overlay");
	if (unlink("merged/f") < 0)
		fail(errno, "removing a lower file through the overlay");
	int fd = open("merged/n", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(errno, "creating a file through the overlay");
	close(fd);
	if (umount2("merged", MNT_DETACH) < 0)
		fail(errno, "umount overlay");
	if (chdir("/") < 0)
		fail(errno, "chdir /");
}

int run_host(struct plan *p)
{
	for (int i = 0; i < p->nrecs; i++) {
		const struct rec *r = &p->recs[i];
		if (strncmp(r->f[0], "op:", 3) != 0)
			continue;
		g_op++;
		if (!strcmp(r->f[0], "op:bpf_devices"))
			bpf_devices(r);
		else if (!strcmp(r->f[0], "op:oomwatch"))
			oomwatch(r);
		else if (!strcmp(r->f[0], "op:layer_dev"))
			layer_dev(r);
		else if (!strcmp(r->f[0], "op:layer_whiteout"))
			layer_whiteout(r);
		else if (!strcmp(r->f[0], "op:layer_opaque"))
			layer_opaque(r);
		else if (!strcmp(r->f[0], "op:layer_xattr"))
			layer_xattr(r);
		else if (!strcmp(r->f[0], "op:layer_getxattr"))
			layer_getxattr(r);
		else if (!strcmp(r->f[0], "op:overlay_probe"))
			overlay_probe(r);
		else
			fail(EINVAL, "unknown host op %s", r->f[0]);
	}
	report("done");
	return 0;
}
