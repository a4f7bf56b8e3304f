/* berth-stage: executes a launch plan computed by TypeScript (src/runtime/plan/).
 * Nothing clever here: every decision was made in TypeScript; this code performs
 * the syscalls in order and reports which step failed and with which errno. */
#ifndef BERTH_STAGE_H
#define BERTH_STAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYNC_FD 3 /* socket to berth-runtime: plan in, status lines out */

/* One plan record: a keyword and its string fields (see src/runtime/plan/encode.ts). */
struct rec {
	int n;        /* number of fields including the keyword */
	char **f;     /* f[0] is the keyword; every field is NUL-terminated */
	size_t *len;  /* byte length of each field (fields may hold binary data) */
};

struct plan {
	int nrecs;
	struct rec *recs;
};

/* plan.c */
struct plan *plan_read(int fd);
void plan_append(struct plan *p, struct plan *more);
void join_cgroups(const struct plan *p);
const struct rec *plan_find(const struct plan *p, const char *kw);
int rec_is(const struct rec *r, const char *kw);
long long num(const char *s);
unsigned long long unum(const char *s);

/* report.c: the current op index is what TypeScript maps back to a description. */
extern int g_op;
extern int g_sync_open;
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void write_all(int fd, const void *buf, size_t n);
int read_line(int fd, char *buf, size_t cap);

/* parent.c */
extern int g_fifo; /* exec fifo, read end, opened by the parent (create only) */
extern int g_console_sock; /* --console-socket, connected by the parent (it can see host paths) */
extern int g_status_fd;    /* exec.status: where the init reports a failure after `start` */
extern int g_seccomp_sock; /* linux.seccomp.listenerPath, connected by the parent */
int run_parent(struct plan *p);
_Noreturn void run_child(struct plan *p, int ipc);

/* host.c */
int run_host(struct plan *p);

/* init.c */
_Noreturn void run_init(struct plan *p, int ipc);

/* rootfs.c */
int open_in_root(int rootfd, const char *rel, int flags);
int mkdir_all_in_root(int rootfd, const char *rel, mode_t mode);
int mkfile_in_root(int rootfd, const char *rel);
int open_mount_target(int rootfd, const char *rel, const char *mk);
void op_mount_abs(const struct rec *r);
void op_overlay_rootfs(const struct rec *r);
void op_mount_in(int rootfd, const struct rec *r);
void op_mknod(int rootfd, const struct rec *r);
void op_symlink(int rootfd, const struct rec *r);
void op_mkdir(int rootfd, const struct rec *r);
void op_pivot_root(const char *rootfs);
void op_chroot(const char *rootfs);
void op_mask(const struct rec *r);
void op_readonly(const struct rec *r);
void op_remount_root_ro(void);
void op_sysctl(const struct rec *r);
void op_write_file(const struct rec *r);
void op_loopback(void);

/* idmap.c: detached mount clones (idmapped, or plain for the chown-copy fallback) */
int idmap_probe(const struct plan *p);
void clones_prepare(const struct plan *p);
void clones_close(void);
void op_attach_clone(int rootfd, const struct rec *r);

/* console.c */
struct console {
	int master;   /* -1 when no terminal */
	int slave;
};
void op_console(int rootfd, const struct rec *r, int ipc, struct console *c);
int send_fd(int sock, int fd, const char *name);
int recv_fd(int sock);
int proxy_pty(int master, pid_t init, int *status);

/* hooks.c */
void run_hook(const struct rec *r, const char *state, size_t state_len);

/* process.c */
void apply_process(const struct plan *p, struct console *c);
#endif
