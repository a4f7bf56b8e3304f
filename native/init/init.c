/* berth-init: PID 1 for `--init` (tini's job), linked statically so it runs in any image.
 *
 *   berth-init COMMAND [ARG...]
 *
 * Runs COMMAND as its child in the child's own process group (the terminal's foreground
 * group when stdin is a tty), forwards every signal it can receive to the child (all but
 * the synchronous ones: SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV SIGSYS, and SIGTTIN
 * SIGTTOU SIGCHLD), reaps every zombie re-parented to it, and exits with the child's
 * status: its exit code, or 128+N when signal N killed it. When the child cannot be
 * executed: 127 (not found) or 126. As PID 1 of a pid namespace, its exit ends the rest.
 *
 * Signals are blocked and taken with sigtimedwait, so they are never lost and no handler
 * runs: as PID 1 a signal with the default disposition would be discarded, a blocked one
 * is queued. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* No stdio: it would triple the size of the static binary. */
static void say(const char *a, const char *b, const char *c)
{
	const char *parts[] = { "berth-init: ", a, b, c, "\n" };
	for (int i = 0; i < 5; i++)
		if (parts[i] && write(2, parts[i], strlen(parts[i])) < 0)
			return;
}

static int synchronous(int sig)
{
	return sig == SIGILL || sig == SIGTRAP || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE ||
	       sig == SIGSEGV || sig == SIGSYS || sig == SIGTTIN || sig == SIGTTOU;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		say("usage: berth-init COMMAND [ARG...]", NULL, NULL);
		return 2;
	}
	/* Docker runs `docker-init -- CMD...`: a leading "--" ends our (absent) options, as in tini. */
	if (argc > 2 && strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	sigset_t all, old;
	sigfillset(&all);
	for (int s = 1; s < NSIG; s++)
		if (synchronous(s))
			sigdelset(&all, s);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* tcsetpgrp from a background group would stop us with SIGTTOU. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, ttin, ttou;
	sigaction(SIGTTIN, &ign, &ttin);
	sigaction(SIGTTOU, &ign, &ttou);

	pid_t child = fork();
	if (child < 0) {
		say("fork: ", strerror(errno), NULL);
		return 1;
	}
	if (child == 0) {
		setpgid(0, 0);
		if (isatty(STDIN_FILENO))
			tcsetpgrp(STDIN_FILENO, getpgrp());
		sigaction(SIGTTIN, &ttin, NULL);
		sigaction(SIGTTOU, &ttou, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[1], argv + 1);
		int e = errno;
		say("exec ", argv[1], e == ENOENT ? ": not found" : ": cannot execute");
		_exit(e == ENOENT ? 127 : 126);
	}
	/* Also in the parent, so a signal sent before the child ran cannot reach the group
	 * while it is still ours. */
	setpgid(child, child);

	int code = -1;
	for (;;) {
		/* Reap everything that has exited: the child, and orphans handed to PID 1. */
		for (;;) {
			int st;
			pid_t w = waitpid(-1, &st, WNOHANG);
			if (w <= 0)
				break;
			if (w == child)
				code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		}
		if (code >= 0)
			return code;
		struct timespec tick = { .tv_sec = 1 }; /* a lost SIGCHLD still gets reaped */
		siginfo_t si;
		int sig = sigtimedwait(&all, &si, &tick);
		if (sig <= 0 || sig == SIGCHLD)
			continue;
		if (kill(child, sig) < 0 && errno != ESRCH)
			say("forwarding a signal: ", strerror(errno), NULL);
	}
}
