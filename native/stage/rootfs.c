/* Filesystem ops of the plan. Every target inside the rootfs is resolved with
 * openat2(RESOLVE_IN_ROOT): a symlink in the image can never redirect a mount,
 * device or directory outside the rootfs. Mounts then go to /proc/self/fd/N. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define FDPATH_LEN 40

static const char *nul_if_empty(const char *s)
{
	return s && *s ? s : NULL;
}

static void fdpath(char *buf, int fd)
{
	snprintf(buf, FDPATH_LEN, "/proc/self/fd/%d", fd);
}

int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
}

/* mkdir -p inside the root; returns an O_PATH fd of the final directory. A dangling
 * symlink on the way is followed inside the root and its target created, as runc's
 * securejoin does; nothing can lead outside, since every open is RESOLVE_IN_ROOT. */
static int mkdir_all_depth(int rootfd, const char *rel, mode_t mode, int depth)
{
	char path[4096];
	while (*rel == '/')
		rel++;
	if (strlen(rel) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(path, rel);
	int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Walk from the top, creating what is missing, each step resolved in root. */
	char *p = path;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			char *last = strrchr(path, '/');
			const char *name = last ? last + 1 : path;
			if (last)
				*last = 0;
			int parent = open_in_root(rootfd, last ? path : ".", O_PATH | O_DIRECTORY);
			if (last)
				*last = '/';
			if (parent < 0)
				return -1;
			if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) {
				int e = errno;
				close(parent);
				errno = e;
				return -1;
			}
			char target[4096];
			ssize_t tl = readlinkat(parent, name, target, sizeof target - 1);
			close(parent);
			if (tl > 0) {
				/* A dangling symlink: create its target instead, then the rest of the path. */
				if (depth >= 40) {
					errno = ELOOP;
					return -1;
				}
				target[tl] = 0;
				char next[8192];
				const char *rest = slash ? slash + 1 : "";
				if (target[0] == '/')
					snprintf(next, sizeof next, "%s/%s", target, rest);
				else if (last) {
					*last = 0;
					snprintf(next, sizeof next, "%s/%s/%s", path, target, rest);
				} else
					snprintf(next, sizeof next, "%s/%s", target, rest);
				return mkdir_all_depth(rootfd, next, mode, depth + 1);
			}
			fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
		}
		if (fd < 0)
			return -1;
		if (!slash)
			return fd;
		close(fd);
		*slash = '/';
		p = slash + 1;
	}
}

int mkdir_all_in_root(int rootfd, const char *rel, mode_t mode)
{
	return mkdir_all_depth(rootfd, rel, mode, 0);
}

/* The directory of `rel` inside the root (created if missing), as an O_PATH fd;
 * *name points at the last component of `rel`. */
static int open_parent_in_root(int rootfd, const char *rel, const char **name)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", rel);
	char *last = strrchr(dir, '/');
	*name = last ? rel + (last - dir) + 1 : rel;
	if (!last)
		return open_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
	*last = 0;
	return mkdir_all_in_root(rootfd, dir, 0755);
}

/* Creates an empty file (and its parents) inside the root if missing; returns an O_PATH fd. */
int mkfile_in_root(int rootfd, const char *rel)
{
	int fd = open_in_root(rootfd, rel, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	const char *name;
	int parent = open_parent_in_root(rootfd, rel, &name);
	if (parent < 0)
		return -1;
	int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST) {
		int e = errno;
		close(parent);
		errno = e;
		return -1;
	}
	if (f >= 0)
		close(f);
	close(parent);
	return open_in_root(rootfd, rel, O_PATH);
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* mount(2), retrying a bind remount with the flags the kernel locked (user namespaces). */
static int do_mount(const char *src, const char *tgt, const char *type, unsigned long flags, const char *data, int keep_locked)
{
	if (mount(src, tgt, type, flags, data) == 0)
		return 0;
	if (errno == EPERM && keep_locked && (flags & MS_REMOUNT)) {
		unsigned long lk = locked_flags(tgt);
		if ((flags | lk) != flags)
			return mount(src, tgt, type, flags | lk, data);
		errno = EPERM;
	}
	return -1;
}

void op_mount_abs(const struct rec *r)
{
	/* src target fstype flags data */
	if (mount(nul_if_empty(r->f[1]), r->f[2], nul_if_empty(r->f[3]), (unsigned long)unum(r->f[4]), nul_if_empty(r->f[5])) < 0)
		fail(errno, "mount %s", r->f[2]);
}

/* overlay_rootfs <base> <target> <data>: the container's overlay root, mounted inside the
 * container's own mount namespace (after / is made private). The lowerdir/upperdir/workdir in
 * <data> are relative to <base> (short links keep a deep image's options under a page), so the
 * mount is made with <base> as the working directory. TypeScript validated every field. */
void op_overlay_rootfs(const struct rec *r)
{
	if (r->n != 4)
		fail(EINVAL, "overlay_rootfs: %d fields", r->n);
	if (chdir(r->f[1]) < 0)
		fail(errno, "chdir %s", r->f[1]);
	if (mount("overlay", r->f[2], "overlay", 0, r->f[3]) < 0)
		fail(errno, "mount overlay on %s", r->f[2]);
	if (chdir("/") < 0)
		fail(errno, "chdir /");
}

/* An O_PATH fd of a mount target inside the root, created first as a directory or an
 * empty file when `mk` says so ("dir", "file"; "none" must exist). */
int open_mount_target(int rootfd, const char *rel, const char *mk)
{
	if (!strcmp(mk, "dir"))
		return mkdir_all_in_root(rootfd, rel, 0755);
	if (!strcmp(mk, "file"))
		return mkfile_in_root(rootfd, rel);
	return open_in_root(rootfd, rel, O_PATH);
}

void op_mount_in(int rootfd, const struct rec *r)
{
	/* target src fstype flags data mk(dir|file|none) keep_locked */
	const char *tgt = r->f[1];
	int fd = open_mount_target(rootfd, tgt, r->f[6]);
	if (fd < 0)
		fail(errno, "resolving mount target %s in the rootfs", tgt);
	char p[FDPATH_LEN];
	fdpath(p, fd);
	if (do_mount(nul_if_empty(r->f[2]), p, nul_if_empty(r->f[3]), (unsigned long)unum(r->f[4]), nul_if_empty(r->f[5]), r->f[7][0] == '1') < 0)
		fail(errno, "mount %s", tgt);
	close(fd);
}

void op_mknod(int rootfd, const struct rec *r)
{
	/* path mode(with type bits) major minor uid gid */
	const char *rel = r->f[1], *name;
	int parent = open_parent_in_root(rootfd, rel, &name);
	if (parent < 0)
		fail(errno, "resolving the directory of device %s", rel);
	dev_t dev = makedev((unsigned)num(r->f[3]), (unsigned)num(r->f[4]));
	if (mknodat(parent, name, (mode_t)unum(r->f[2]), dev) < 0 && errno != EEXIST)
		fail(errno, "mknod %s", rel);
	if (fchownat(parent, name, (uid_t)num(r->f[5]), (gid_t)num(r->f[6]), AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "chown device %s", rel);
	close(parent);
}

void op_symlink(int rootfd, const struct rec *r)
{
	/* path value */
	const char *rel = r->f[1], *name;
	int parent = open_parent_in_root(rootfd, rel, &name);
	if (parent < 0)
		fail(errno, "resolving the directory of symlink %s", rel);
	if (symlinkat(r->f[2], parent, name) < 0 && errno != EEXIST)
		fail(errno, "symlink %s -> %s", rel, r->f[2]);
	close(parent);
}

void op_mkdir(int rootfd, const struct rec *r)
{
	int fd = mkdir_all_in_root(rootfd, r->f[1], (mode_t)unum(r->f[2]));
	if (fd < 0)
		fail(errno, "mkdir %s", r->f[1]);
	close(fd);
}

void op_pivot_root(const char *rootfs)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		fail(errno, "opening roots for pivot_root");
	/* pivot_root(".", ".") stacks the old root on the new one; no temp dir needed. */
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		fail(errno, "pivot_root to %s", rootfs);
	if (fchdir(oldroot) < 0)
		fail(errno, "fchdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail(errno, "making the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		fail(errno, "detaching the old root");
	if (chdir("/") < 0)
		fail(errno, "chdir /");
	close(oldroot);
	close(newroot);
}

void op_chroot(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		fail(errno, "chdir %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		fail(errno, "moving %s to /", rootfs);
	if (chroot(".") < 0 || chdir("/") < 0)
		fail(errno, "chroot %s", rootfs);
}

void op_mask(const struct rec *r)
{
	struct stat st;
	const char *path = r->f[1];
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		fail(errno, "stat masked path %s", path);
	}
	int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
				      : mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (rc < 0)
		fail(errno, "masking %s", path);
}

void op_readonly(const struct rec *r)
{
	const char *path = r->f[1];
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return;
		fail(errno, "bind-mounting %s for read-only", path);
	}
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path);
	if (mount(NULL, path, NULL, fl, NULL) < 0)
		fail(errno, "remounting %s read-only", path);
}

void op_remount_root_ro(void)
{
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/");
	if (mount(NULL, "/", NULL, fl, NULL) < 0)
		fail(errno, "remounting the root filesystem read-only");
}

void op_write_file(const struct rec *r)
{
	/* path value */
	int fd = open(r->f[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "opening %s", r->f[1]);
	ssize_t w = write(fd, r->f[2], r->len[2]);
	if (w < 0 || (size_t)w != r->len[2])
		fail(w < 0 ? errno : EIO, "writing %s", r->f[1]);
	close(fd);
}

void op_sysctl(const struct rec *r)
{
	op_write_file(r);
}

/* A new network namespace starts with lo down; runc brings it up, so do we. */
void op_loopback(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail(errno, "socket for configuring lo");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail(errno, "reading the flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail(errno, "bringing lo up");
	close(s);
}
