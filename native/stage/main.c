/* berth-stage entry: re-execute from a sealed memfd copy (so a container can never
 * reach and overwrite this binary through /proc/<pid>/exe: CVE-2019-5736), then
 * read the plan from SYNC_FD and run it. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int running_from_sealed_memfd(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

static void reexec_from_memfd(char **argv, char **envp)
{
	if (running_from_sealed_memfd())
		return;
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		fail(errno, "opening /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0)
		fail(errno, "stat /proc/self/exe");
	int mfd = memfd_create("berth-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		fail(errno, "memfd_create");
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
		if (n <= 0)
			fail(errno, "copying the stage binary into a memfd");
		left -= n;
	}
	close(src);
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		fail(errno, "sealing the stage memfd");
	fexecve(mfd, argv, envp);
	fail(errno, "re-executing the stage from its memfd");
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	/* Nobody in the container may ptrace or open /proc files of the stage. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!getenv("BERTH_STAGE_NO_MEMFD"))
		reexec_from_memfd(argv, envp);
	/* Nothing inherited beyond stdio and our socket may reach the container, not even
	 * for a moment: a leaked host directory fd is an escape (CVE-2024-21626). */
	if (syscall(SYS_close_range, SYNC_FD + 1, ~0U, 0) < 0)
		for (int fd = SYNC_FD + 1; fd < 1024; fd++)
			close(fd);
	if (fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC) < 0) {
		g_sync_open = 0;
		fail(errno, "berth-stage must be started by berth-runtime (fd 3 is not open)");
	}
	signal(SIGPIPE, SIG_IGN);
	struct plan *p = plan_read(SYNC_FD);
	/* berth-runtime sends the cgroups first and the rest when computed: joining a
	 * cgroup waits for an RCU grace period (~10 ms), which overlaps that work. */
	const struct rec *mode = plan_find(p, "mode");
	if (mode && !strcmp(mode->f[1], "host"))
		return run_host(p);
	join_cgroups(p);
	if (plan_find(p, "more"))
		plan_append(p, plan_read(SYNC_FD));
	return run_parent(p);
}
