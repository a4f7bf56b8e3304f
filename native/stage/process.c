/* Becoming the container process: resolve the executable (phase 1, while errors
 * can still reach berth-runtime), then cwd, terminal, user, capabilities,
 * no_new_privs, seccomp, and exec with only fds 0-2 open (CVE-2024-21626). */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>
#include <sched.h>
#include <sys/personality.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char exe[4096];

/* chdir that must stay inside the root: getcwd fails for a directory outside it
 * (the kernel reports it "(unreachable)"), e.g. a /proc/self/fd/N of a host fd. */
static void chdir_inside(const char *dir)
{
	char buf[4096];
	if (chdir(dir) < 0)
		fail(errno, "chdir to the process cwd %s", dir);
	if (!getcwd(buf, sizeof buf) || buf[0] != '/')
		fail(EPERM, "the process cwd %s is outside the container", dir);
}
static char **g_env;

static char **rec_list(const struct rec *r, int from)
{
	int n = r ? r->n - from : 0;
	char **v = calloc((size_t)n + 2, sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = r->f[from + i];
	return v;
}

static const char *env_get(char **env, const char *key)
{
	size_t kl = strlen(key);
	for (; *env; env++)
		if (!strncmp(*env, key, kl) && (*env)[kl] == '=')
			return *env + kl + 1;
	return NULL;
}

static int is_executable(const char *path, int *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		*err = errno;
		return 0;
	}
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
		*err = EACCES;
		return 0;
	}
	return 1;
}

static void resolve_exe(const char *arg0, char **env)
{
	int err = ENOENT;
	if (strchr(arg0, '/')) {
		if (!is_executable(arg0, &err))
			fail(err, "exec: \"%s\": %s", arg0, err == EACCES ? "permission denied" : strerror(err));
		snprintf(exe, sizeof exe, "%s", arg0);
		return;
	}
	const char *path = env_get(env, "PATH");
	char *dirs = strdup(path ? path : DEFAULT_PATH), *save = NULL;
	int seen_eacces = 0;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof exe, "%s/%s", *d ? d : ".", arg0);
		if (is_executable(exe, &err))
			return;
		if (err == EACCES)
			seen_eacces = 1;
	}
	if (seen_eacces)
		fail(EACCES, "exec: \"%s\": permission denied", arg0);
	fail(ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

/* HOME from the container's /etc/passwd when the spec does not set it, as runc does. */
static char **with_home(char **env, uid_t uid)
{
	if (env_get(env, "HOME"))
		return env;
	char home[1024] = "/", line[2048];
	FILE *f = fopen("/etc/passwd", "re");
	while (f && fgets(line, sizeof line, f)) {
		char *fld[7] = { 0 }, *s = line;
		int i = 0;
		for (; i < 7 && s; i++)
			fld[i] = strsep(&s, ":");
		if (i == 7 && fld[2] && (uid_t)strtoul(fld[2], NULL, 10) == uid && fld[5] && *fld[5]) {
			snprintf(home, sizeof home, "%s", fld[5]);
			break;
		}
	}
	if (f)
		fclose(f);
	int n = 0;
	while (env[n])
		n++;
	char **out = calloc((size_t)n + 2, sizeof *out);
	memcpy(out, env, (size_t)n * sizeof *out);
	out[n] = malloc(strlen(home) + 6);
	sprintf(out[n], "HOME=%s", home);
	return out;
}

static void apply_caps(const struct rec *r)
{
	/* bounding effective inheritable permitted ambient last_cap (hex masks) */
	unsigned long long bnd = unum(r->f[1]), eff = unum(r->f[2]), inh = unum(r->f[3]);
	unsigned long long prm = unum(r->f[4]), amb = unum(r->f[5]);
	int last = (int)num(r->f[6]);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(errno, "setting capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(errno, "clearing ambient capabilities");
	for (int c = 0; c <= last; c++)
		if ((amb >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			fail(errno, "raising ambient capability %d", c);
	(void)bnd;
}

static void drop_bounding(const struct rec *r)
{
	unsigned long long bnd = unum(r->f[1]);
	int last = (int)num(r->f[6]);
	for (int c = 0; c <= last; c++)
		if (!(bnd >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			fail(errno, "dropping capability %d from the bounding set", c);
}

static void load_seccomp(const struct plan *p, const struct rec *r)
{
	/* program(raw sock_filter array, compiled in TypeScript) flags */
	struct sock_fprog prog = { .len = (unsigned short)(r->len[1] / sizeof(struct sock_filter)),
				   .filter = (struct sock_filter *)r->f[1] };
	unsigned flags = (unsigned)unum(r->f[2]);
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (fd < 0)
		fail(errno, "loading the seccomp filter (%u instructions)", prog.len);
	if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		/* SCMP_ACT_NOTIFY: the listener fd goes to linux.seccomp.listenerPath, with the
		 * container state berth-runtime prepared as payload (runc's protocol). */
		const struct rec *st = plan_find(p, "seccompstate");
		if (g_seccomp_sock < 0 || send_fd(g_seccomp_sock, (int)fd, st ? st->f[1] : "{}") < 0)
			fail(errno, "sending the seccomp notify fd to the listener");
		close(g_seccomp_sock);
		close((int)fd);
	}
}

/* The kernel's struct sched_attr (glibc has no wrapper for sched_setattr). */
struct sched_attr_k {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static void set_scheduler(const struct rec *r)
{
	/* policy flags nice priority runtime deadline period */
	struct sched_attr_k a = {
		.size = sizeof a, .sched_policy = (uint32_t)num(r->f[1]), .sched_flags = unum(r->f[2]),
		.sched_nice = (int32_t)num(r->f[3]), .sched_priority = (uint32_t)num(r->f[4]),
		.sched_runtime = unum(r->f[5]), .sched_deadline = unum(r->f[6]), .sched_period = unum(r->f[7]),
	};
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		fail(errno, "setting the scheduler (policy %u)", a.sched_policy);
}

void apply_process(const struct plan *p, struct console *con)
{
	const struct rec *r;
	char **argv = rec_list(plan_find(p, "args"), 1);
	uid_t uid = 0;
	gid_t gid = 0;
	if ((r = plan_find(p, "user"))) {
		uid = (uid_t)num(r->f[1]);
		gid = (gid_t)num(r->f[2]);
	}
	const struct rec *cwd = plan_find(p, "cwd");
	if (!argv[0])
		fail(EINVAL, "no process args");
	if (!con) {
		/* Phase 1: relative executables resolve against the process cwd. */
		if (cwd)
			chdir_inside(cwd->f[1]);
		g_env = with_home(rec_list(plan_find(p, "env"), 1), uid);
		resolve_exe(argv[0], g_env);
		return;
	}
	if (cwd)
		chdir_inside(cwd->f[1]);
	if (plan_find(p, "setsid") || con->slave >= 0) {
		if (setsid() < 0 && errno != EPERM)
			fail(errno, "setsid");
	}
	if (con->slave >= 0) {
		if (fchown(con->slave, uid, (gid_t)-1) < 0 && errno != EINVAL)
			fail(errno, "chown of the pty to uid %u", uid);
		if (ioctl(con->slave, TIOCSCTTY, 0) < 0)
			fail(errno, "making the pty the controlling terminal");
		for (int fd = 0; fd < 3; fd++)
			if (dup2(con->slave, fd) < 0)
				fail(errno, "attaching the pty to fd %d", fd);
		if (con->slave > 2)
			close(con->slave);
	}
	/* Scheduling and I/O priority may need CAP_SYS_NICE: before the caps are dropped. */
	if ((r = plan_find(p, "sched")))
		set_scheduler(r);
	if ((r = plan_find(p, "ioprio")) && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)num(r->f[1])) < 0)
		fail(errno, "setting the I/O priority");
	if ((r = plan_find(p, "personality")) && personality((unsigned long)num(r->f[1])) < 0)
		fail(errno, "setting the personality");
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: load it while we still
	 * hold it (the profile must then allow what follows: setuid, capset, execve), as runc does.
	 * With no_new_privs, as late as possible, just before exec. */
	const struct rec *sc = plan_find(p, "seccomp");
	int nnp = plan_find(p, "nnp") != NULL;
	if (sc && !nnp)
		load_seccomp(p, sc);
	const struct rec *caps = plan_find(p, "caps");
	if (caps)
		drop_bounding(caps);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail(errno, "prctl(PR_SET_KEEPCAPS)");
	if ((r = plan_find(p, "groups"))) {
		int n = r->n - 1;
		gid_t *g = calloc((size_t)n + 1, sizeof *g);
		for (int i = 0; i < n; i++)
			g[i] = (gid_t)num(r->f[1 + i]);
		/* Clearing groups is refused where setgroups is denied (user ns): nothing to clear then. */
		if (setgroups((size_t)n, g) < 0 && !(n == 0 && errno == EPERM))
			fail(errno, "setgroups");
	}
	if (setresgid(gid, gid, gid) < 0)
		fail(errno, "setting gid %u", gid);
	if (setresuid(uid, uid, uid) < 0)
		fail(errno, "setting uid %u", uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fail(errno, "prctl(PR_SET_KEEPCAPS)");
	if (caps)
		apply_caps(caps);
	if ((r = plan_find(p, "umask")))
		umask((mode_t)unum(r->f[1]));
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(errno, "setting no_new_privs");
	/* Signals: the stage ignored SIGPIPE and may have blocked some; reset both. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (sc && nnp)
		load_seccomp(p, sc);
	/* Nothing of ours may survive exec: only 0, 1 and 2. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	execve(exe, argv, g_env);
	fail(errno, "exec %s", exe);
}
