/* berth-monitor: shared declarations (see monitor.c for the protocol). */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H
#include <stddef.h>
#include <time.h>

/* Docker's json-file log: one JSON object per line, rotated by size. */
struct jlog {
	int fd;
	const char *path;
	long long max_size; /* 0: never rotate */
	int max_files;      /* files kept in all, FILE included (>= 1) */
	long long size;     /* bytes in FILE, buffered ones included */
	size_t len;         /* bytes in buf */
	char buf[16384];
};

/* Lines longer than this are logged in pieces of this size (as Docker does). */
#define LOG_LINE_MAX 16384

struct linebuf {
	size_t len;
	char buf[LOG_LINE_MAX];
};

int jlog_open(struct jlog *l);
/* Splits `data` at '\n' into `lb` and logs each complete line (or full piece). */
void jlog_lines(struct jlog *l, struct linebuf *lb, int stream, const char *data, size_t n, const struct timespec *ts);
/* Logs what is left in `lb` (a last line without '\n'). */
void jlog_rest(struct jlog *l, struct linebuf *lb, int stream, const struct timespec *ts);
void jlog_flush(struct jlog *l);
/* RFC 3339 with 9 fractional digits, UTC: 2026-11-22T19:40:00.123456789Z (30 bytes + NUL). */
#define TIME_LEN 96
void fmt_time(char out[TIME_LEN], const struct timespec *ts);

#endif
