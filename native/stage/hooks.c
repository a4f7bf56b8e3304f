/* OCI hooks run from inside the stage (createContainer, startContainer): the
 * state JSON on stdin, an optional timeout, a failure that stops the create. */
#include "stage.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void run_hook(const struct rec *r, const char *state, size_t state_len)
{
	/* phase timeout path argc args... env... */
	const char *phase = r->f[1], *path = r->f[3];
	int timeout = (int)num(r->f[2]);
	int argc = (int)num(r->f[4]);
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	for (int i = 0; i < argc; i++)
		argv[i] = r->f[5 + i];
	int envc = r->n - 5 - argc;
	char **envp = calloc((size_t)envc + 1, sizeof *envp);
	for (int i = 0; i < envc; i++)
		envp[i] = r->f[5 + argc + i];

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		fail(errno, "pipe for %s hook", phase);
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "fork for %s hook", phase);
	if (pid == 0) {
		dup2(pfd[0], 0);
		signal(SIGPIPE, SIG_DFL);
		execve(path, argc ? argv : (char *[]){ (char *)path, NULL }, envp);
		_exit(127);
	}
	close(pfd[0]);
	if (state)
		write_all(pfd[1], state, state_len);
	close(pfd[1]);

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (timeout > 0 && pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int n;
		do
			n = poll(&p, 1, timeout * 1000);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail(ETIMEDOUT, "%s hook %s timed out after %d s", phase, path, timeout);
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		fail(ENOENT, "%s hook %s could not be executed", phase, path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail(ECANCELED, "%s hook %s failed (%s %d)", phase, path,
		     WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	free(argv);
	free(envp);
}
