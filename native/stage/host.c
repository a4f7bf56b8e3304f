/* Host mode: plan ops berth-runtime needs from the kernel that Node cannot make,
 * run in the stage process itself (no fork, no namespaces):
 *   bpf_devices <cgroup2 dir> <program>  load a BPF_PROG_TYPE_CGROUP_DEVICE program
 *                                        compiled in TypeScript, attach it, detach the old
 *   oomwatch <memory cgroup dir>         v1 OOM notifications (eventfd + cgroup.event_control):
 *                                        prints "ready", then "oom <count>" per event. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
		else
			fail(EINVAL, "unknown host op %s", r->f[0]);
	}
	report("done");
	return 0;
}
