/* syscall-probe: makes one system call and says how it went (for berth's seccomp tests,
 * src/runtime/seccomp/kernel.test.ts).
 *
 *   syscall-probe [-t] [-32] NR [ARG0..ARG5]
 *
 * Prints "ret=R errno=E" (E is 0 on success) and exits 0. NR and the arguments are decimal
 * or 0x-hex, taken as unsigned 64-bit values and passed as they are.
 *   -t   catch SIGSYS: a SECCOMP_RET_TRAP prints "SIGSYS nr=N arch=0xA data=D" and exits 0
 *        (a KILL action cannot be caught: the probe dies of SIGSYS).
 *   -32  make the call with int $0x80, the i386 ABI (seccomp sees AUDIT_ARCH_I386); ARG5 is
 *        not passed.
 * A child of clone/fork/vfork exits at once; the parent reaps it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "SIGSYS nr=%d arch=0x%x data=%d\n", si->si_syscall, si->si_arch, si->si_errno);
	if (n > 0)
		(void)!write(1, buf, (size_t)n);
	_exit(0);
}

static unsigned long long num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "syscall-probe: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static long int80(unsigned long nr, const unsigned long *a)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

int main(int argc, char **argv)
{
	int i = 1, compat = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-t")) {
			struct sigaction sa;
			memset(&sa, 0, sizeof(sa));
			sa.sa_sigaction = on_sigsys;
			sa.sa_flags = SA_SIGINFO;
			sigaction(SIGSYS, &sa, NULL);
		} else if (!strcmp(argv[i], "-32")) {
			compat = 1;
		} else {
			break;
		}
	}
	if (i >= argc || argc - i > 7) {
		fprintf(stderr, "usage: syscall-probe [-t] [-32] NR [ARG0..ARG5]\n");
		return 2;
	}
	unsigned long nr = (unsigned long)num(argv[i++]);
	unsigned long a[6] = { 0 };
	for (int j = 0; i < argc; i++, j++)
		a[j] = (unsigned long)num(argv[i]);

	long ret;
	int err = 0;
	if (compat) {
		/* the i386 ABI returns -errno in eax */
		ret = (int)int80(nr, a);
		if (ret < 0 && ret >= -4095) {
			err = (int)-ret;
			ret = -1;
		}
	} else {
		errno = 0;
		ret = syscall((long)nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (ret == -1)
			err = errno;
		if (ret == 0 && (nr == SYS_clone || nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone3))
			_exit(0);
		if (ret > 0 && (nr == SYS_clone || nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone3))
			waitpid((pid_t)ret, NULL, __WALL);
	}
	printf("ret=%ld errno=%d\n", ret, err);
	return 0;
}
