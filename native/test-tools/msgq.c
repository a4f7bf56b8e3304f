/* msgq: creates a System V message queue (for berth's IPC namespace tests).
 * Statically linked: it runs inside the tests' busybox root filesystems.
 *
 *   msgq KEY     msgget(KEY, IPC_CREAT | 0600), prints the queue id
 *
 * KEY is a number (decimal, or hex with 0x). Exits 0 on success, 1 on failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: msgq KEY\n");
		return 2;
	}
	key_t key = (key_t)strtol(argv[1], NULL, 0);
	int id = msgget(key, IPC_CREAT | 0600);
	if (id < 0) {
		fprintf(stderr, "msgq: msgget(%s): %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("%d\n", id);
	return 0;
}
