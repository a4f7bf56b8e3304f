/* Status lines to berth-runtime over SYNC_FD. Errors carry the index of the plan
 * op being executed so TypeScript can say which mount, device or step failed. */
#include "stage.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int g_op = -1;
int g_sync_open = 1;
int g_fifo = -1;
int g_console_sock = -1;
int g_status_fd = -1;
int g_seccomp_sock = -1;

void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return (int)n;
}

void report(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	write_all(SYNC_FD, buf, (size_t)n);
}

_Noreturn void fail(int err, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	/* exec messages already say what went wrong, as Go's exec package words them */
	int plain = strncmp(msg, "exec: ", 6) == 0;
	if (!g_sync_open && g_status_fd >= 0)
		dprintf(g_status_fd, "%d %s%s%s", err, msg, plain ? "" : ": ", plain ? "" : strerror(err));
	if (g_sync_open)
		report("error %d %d %s%s%s", g_op, err, msg, plain ? "" : ": ", plain ? "" : strerror(err));
	else
		dprintf(2, "berth-runtime: %s%s%s\n", msg, plain ? "" : ": ", plain ? "" : strerror(err));
	/* 127/126 mirror the shell for a command that cannot be found / run. */
	_exit(err == ENOENT ? 127 : err == EACCES ? 126 : 1);
}
