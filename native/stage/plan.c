/* Reads the launch plan: u32 total length, then records of
 * u32 field count, and per field u32 length + bytes (little endian). */
#include "stage.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail(r == 0 ? EPIPE : errno, "reading the launch plan");
		p += r;
		n -= (size_t)r;
	}
}

static uint32_t get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

struct plan *plan_read(int fd)
{
	unsigned char hdr[4];
	read_full(fd, hdr, 4);
	uint32_t total = get_u32(hdr);
	if (total > 64u << 20)
		fail(EINVAL, "launch plan too large (%u bytes)", total);
	unsigned char *buf = malloc(total + 1);
	if (!buf)
		fail(ENOMEM, "allocating the launch plan");
	read_full(fd, buf, total);

	struct plan *p = calloc(1, sizeof *p);
	size_t cap = 64, off = 0;
	p->recs = calloc(cap, sizeof *p->recs);
	while (off < total) {
		if (total - off < 4)
			fail(EINVAL, "truncated launch plan");
		uint32_t nf = get_u32(buf + off);
		off += 4;
		if (nf == 0 || nf > 1u << 20)
			fail(EINVAL, "bad record in launch plan");
		if ((size_t)p->nrecs == cap) {
			cap *= 2;
			p->recs = realloc(p->recs, cap * sizeof *p->recs);
		}
		struct rec *r = &p->recs[p->nrecs++];
		r->n = (int)nf;
		r->f = calloc(nf + 1, sizeof *r->f);
		r->len = calloc(nf, sizeof *r->len);
		for (uint32_t i = 0; i < nf; i++) {
			if (total - off < 4)
				fail(EINVAL, "truncated launch plan");
			uint32_t l = get_u32(buf + off);
			off += 4;
			if (total - off < l)
				fail(EINVAL, "truncated launch plan");
			r->f[i] = malloc(l + 1);
			memcpy(r->f[i], buf + off, l);
			r->f[i][l] = 0;
			r->len[i] = l;
			off += l;
		}
	}
	free(buf);
	return p;
}

const struct rec *plan_find(const struct plan *p, const char *kw)
{
	for (int i = 0; i < p->nrecs; i++)
		if (strcmp(p->recs[i].f[0], kw) == 0)
			return &p->recs[i];
	return NULL;
}

int rec_is(const struct rec *r, const char *kw)
{
	return strcmp(r->f[0], kw) == 0;
}

long long num(const char *s)
{
	return strtoll(s, NULL, 10);
}

unsigned long long unum(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* Appends the records of a second plan (the stage reads a small first part early). */
void plan_append(struct plan *p, struct plan *more)
{
	p->recs = realloc(p->recs, (size_t)(p->nrecs + more->nrecs) * sizeof *p->recs);
	memcpy(p->recs + p->nrecs, more->recs, (size_t)more->nrecs * sizeof *p->recs);
	p->nrecs += more->nrecs;
	free(more->recs);
	free(more);
}
