/* Docker's json-file log driver, as the monitor writes it:
 *   {"log":"hello\n","stream":"stdout","time":"2026-11-22T19:40:00.123456789Z"}
 * one object per line. The string is escaped as moby's jsonlog does (jsonlogbytes.go,
 * after Go's encoding/json): '"' '\\' '\n' '\r' as two-character escapes, every other
 * byte below 0x20 and '<' '>' '&' as \u00XX, U+2028/U+2029 as \u2028/\u2029, and each
 * byte that does not start a valid UTF-8 sequence (as Go's utf8.DecodeRune decides:
 * no overlongs, no surrogates, nothing above U+10FFFF) as \ufffd. */
#include "monitor.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk loses log lines, never the container */
		p += w;
		n -= (size_t)w;
	}
}

int jlog_open(struct jlog *l)
{
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -1;
	struct stat st;
	l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
	l->len = 0;
	return 0;
}

void jlog_flush(struct jlog *l)
{
	if (l->len && l->fd >= 0)
		write_all(l->fd, l->buf, l->len);
	l->len = 0;
}

static void put(struct jlog *l, const char *p, size_t n)
{
	while (n > 0) {
		if (l->len == sizeof l->buf)
			jlog_flush(l);
		size_t k = sizeof l->buf - l->len;
		if (k > n)
			k = n;
		memcpy(l->buf + l->len, p, k);
		l->len += k;
		p += k;
		n -= k;
	}
}

/* Length of the valid UTF-8 sequence at p (2-4), or 0 if p[0] does not start one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned cp, min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Escapes data as a JSON string body; with l == NULL only counts the bytes. */
static size_t escape(struct jlog *l, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t out = 0, start = 0, i = 0;
#define FLUSH_PLAIN() do { if (l && i > start) put(l, (const char *)s + start, i - start); out += i - start; } while (0)
#define EMIT(str, len) do { if (l) put(l, str, len); out += len; } while (0)
	while (i < n) {
		unsigned char b = s[i];
		if (b < 0x80) {
			if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
				i++;
				continue;
			}
			FLUSH_PLAIN();
			char e[6];
			if (b == '\\' || b == '"') {
				e[0] = '\\', e[1] = (char)b;
				EMIT(e, 2);
			} else if (b == '\n') {
				EMIT("\\n", 2);
			} else if (b == '\r') {
				EMIT("\\r", 2);
			} else {
				e[0] = '\\', e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[b >> 4], e[5] = hex[b & 15];
				EMIT(e, 6);
			}
			start = ++i;
			continue;
		}
		size_t k = utf8_len(s + i, n - i);
		if (!k) {
			FLUSH_PLAIN();
			EMIT("\\ufffd", 6);
			start = ++i;
			continue;
		}
		/* U+2028 / U+2029: e2 80 a8 / e2 80 a9 */
		if (k == 3 && b == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			FLUSH_PLAIN();
			EMIT(s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 3;
			start = i;
			continue;
		}
		i += k;
	}
	FLUSH_PLAIN();
#undef FLUSH_PLAIN
#undef EMIT
	return out;
}

static void rotate(struct jlog *l)
{
	jlog_flush(l);
	char from[4096], to[4096];
	for (int i = l->max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "%s", l->path);
		else
			snprintf(from, sizeof from, "%s.%d", l->path, i - 1);
		snprintf(to, sizeof to, "%s.%d", l->path, i);
		rename(from, to); /* a missing FILE.k is fine */
	}
	int fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (fd >= 0) {
		close(l->fd);
		l->fd = fd;
		l->size = 0;
	} else if (l->max_files <= 1 && ftruncate(l->fd, 0) == 0) {
		l->size = 0;
	}
}

static void record(struct jlog *l, int stream, const char *data, size_t n, const struct timespec *ts)
{
	static const char head[] = "{\"log\":\"";
	const char *mid = stream == 2 ? "\",\"stream\":\"stderr\",\"time\":\"" : "\",\"stream\":\"stdout\",\"time\":\"";
	char t[TIME_LEN];
	fmt_time(t, ts);
	size_t midlen = strlen(mid), tlen = strlen(t);
	long long total = (long long)(sizeof head - 1 + escape(NULL, (const unsigned char *)data, n) + midlen + tlen + 3);
	if (l->max_size > 0 && l->size > 0 && l->size + total > l->max_size)
		rotate(l);
	put(l, head, sizeof head - 1);
	escape(l, (const unsigned char *)data, n);
	put(l, mid, midlen);
	put(l, t, tlen);
	put(l, "\"}\n", 3);
	l->size += total;
}

void jlog_lines(struct jlog *l, struct linebuf *lb, int stream, const char *data, size_t n, const struct timespec *ts)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) + 1 : n;
		while (take > 0) {
			size_t k = LOG_LINE_MAX - lb->len;
			if (k > take)
				k = take;
			memcpy(lb->buf + lb->len, data, k);
			lb->len += k;
			data += k;
			n -= k;
			take -= k;
			if (lb->len == LOG_LINE_MAX || (take == 0 && nl)) {
				record(l, stream, lb->buf, lb->len, ts);
				lb->len = 0;
			}
		}
	}
}

void jlog_rest(struct jlog *l, struct linebuf *lb, int stream, const struct timespec *ts)
{
	if (lb->len)
		record(l, stream, lb->buf, lb->len, ts);
	lb->len = 0;
}

void fmt_time(char out[TIME_LEN], const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
}
