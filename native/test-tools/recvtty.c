/* recvtty: a minimal --console-socket peer for berth's tests (like runc's
 * contrib/cmd/recvtty, single-shot).
 *
 *   recvtty [-w STRING] [-t SECONDS] SOCKET_PATH
 *
 * Listens on the unix socket SOCKET_PATH (bound under a temporary name and renamed
 * into place once listening, so a caller that sees the path can connect at once),
 * accepts one connection and receives the pty master over SCM_RIGHTS. Prints
 * "recvtty: name <payload>" to stderr (the payload is the pty's name), writes STRING
 * (C escapes \n, \r, \t, \\ and \xHH are decoded) to the master, then copies
 * everything the master yields to stdout until EOF/EIO (the pty's last slave closed).
 * Exits 0 then; 2 on a usage error, 1 on any other failure; -t bounds the whole run. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
	exit(1);
}

static size_t unescape(const char *in, char *out)
{
	size_t n = 0;
	while (*in) {
		if (*in != '\\' || !in[1]) {
			out[n++] = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'n': out[n++] = '\n'; in++; break;
		case 'r': out[n++] = '\r'; in++; break;
		case 't': out[n++] = '\t'; in++; break;
		case 'x': {
			char hex[3] = { 0, 0, 0 };
			in++;
			for (int i = 0; i < 2 && *in; i++)
				hex[i] = *in++;
			out[n++] = (char)strtol(hex, NULL, 16);
			break;
		}
		default: out[n++] = *in++; break;
		}
	}
	return n;
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		buf += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	const char *input = NULL;
	int timeout = 0, opt;
	while ((opt = getopt(argc, argv, "w:t:")) != -1) {
		if (opt == 'w')
			input = optarg;
		else if (opt == 't')
			timeout = atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: recvtty [-w STRING] [-t SECONDS] SOCKET_PATH\n");
		return 2;
	}
	const char *path = argv[optind];
	if (timeout > 0)
		alarm((unsigned)timeout); /* SIGALRM's default action ends us */

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof sa.sun_path];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		die(path);
	}
	strcpy(sa.sun_path, tmp);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	unlink(tmp);
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	if (listen(ls, 1) < 0)
		die("listen");
	if (rename(tmp, path) < 0)
		die("rename");

	int c;
	do
		c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	while (c < 0 && errno == EINTR);
	if (c < 0)
		die("accept");
	close(ls);
	unlink(path);

	char name[512], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n;
	do
		n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("recvmsg");
	name[n] = 0;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "recvtty: no file descriptor received\n");
		return 1;
	}
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof master);
	close(c);
	fprintf(stderr, "recvtty: name %s\n", name);

	if (input) {
		char *buf = malloc(strlen(input) + 1);
		size_t len = unescape(input, buf);
		write_all(master, buf, len);
		free(buf);
	}
	char buf[8192];
	for (;;) {
		n = read(master, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == EIO))
			break; /* every slave fd is closed: the container is gone */
		if (n < 0)
			die("read");
		write_all(1, buf, (size_t)n);
	}
	return 0;
}
