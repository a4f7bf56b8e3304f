/* seccomp-run: loads a raw seccomp filter and execs a command under it (for berth's seccomp
 * tests, src/runtime/seccomp/kernel.test.ts).
 *
 *   seccomp-run PROGRAM FLAGS CMD [ARG...]
 *
 * PROGRAM is a file of struct sock_filter[] as compileSeccomp() makes it (8 bytes an
 * instruction). FLAGS go to seccomp(SECCOMP_SET_MODE_FILTER, FLAGS, &prog), decimal or 0x-hex.
 * no_new_privs is set first, as the runtime does. With SECCOMP_FILTER_FLAG_NEW_LISTENER the
 * listener fd (close-on-exec) just goes away at exec: notified calls then fail with ENOSYS.
 * Exits 125 when it cannot load the filter, 127 when CMD cannot be run, else CMD's status. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 4096

static int die(const char *what, int err)
{
	fprintf(stderr, "seccomp-run: %s: %s\n", what, strerror(err));
	return 125;
}

int main(int argc, char **argv)
{
	static struct sock_filter insns[MAX_INSNS + 1];
	if (argc < 4) {
		fprintf(stderr, "usage: seccomp-run PROGRAM FLAGS CMD [ARG...]\n");
		return 125;
	}

	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return die(argv[1], errno);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, (char *)insns + len, sizeof(insns) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return die(argv[1], errno);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(insns))
			break;
	}
	close(fd);
	if (len == 0 || len % sizeof(struct sock_filter) != 0 || len > MAX_INSNS * sizeof(struct sock_filter)) {
		fprintf(stderr, "seccomp-run: %s: %zu bytes is not 1..%d whole instructions\n", argv[1], len, MAX_INSNS);
		return 125;
	}

	char *end;
	errno = 0;
	unsigned long flags = strtoul(argv[2], &end, 0);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "seccomp-run: bad FLAGS %s\n", argv[2]);
		return 125;
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return die("prctl(PR_SET_NO_NEW_PRIVS)", errno);
	struct sock_fprog prog = { .len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0)
		return die("seccomp(SECCOMP_SET_MODE_FILTER)", errno);

	execvp(argv[3], argv + 3);
	fprintf(stderr, "seccomp-run: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}
