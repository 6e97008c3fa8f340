/* fuzz_store.c: libFuzzer target for the user store reader (the NSS module's parser of users.db and its
 * journal). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/idmap.h"
#include "store/store_format.h"
#include "store/store_journal.h"
#include "store/store_read.h"

static char dir[] = "/tmp/pam_jwt_fuzz_store.XXXXXX";
static char path[sizeof(dir) + sizeof("/" PJ_STORE_FILE)];
static char jpath[sizeof(dir) + sizeof("/" PJ_JOURNAL_FILE)];
static char passwd[sizeof(dir) + sizeof("/passwd")];
static char group[sizeof(dir) + sizeof("/group")];

static void write_file(const char *p, const void *data, size_t size)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
		perror(p);
		abort();
	}
}

/* The temp dir goes at exit (libFuzzer exits through exit() when a run ends or finds something). */
static void cleanup(void)
{
	char p[sizeof(dir) + 32];

	snprintf(p, sizeof(p), "%s/users.db", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/users.journal", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/passwd", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/group", dir);
	unlink(p);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char pw[] =
	    "root:x:0:0:root:/root:/bin/bash\nalice:x:200000:200000::/home/alice:/bin/sh\n";
	static const char gr[] = "root:x:0:\nusers:x:100:alice\n";

	(void)argc;
	(void)argv;
	/* mkdtemp makes it 0700 and root's: trusted, as store_open wants */
	if (mkdtemp(dir) == NULL || atexit(cleanup) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, PJ_STORE_FILE);
	snprintf(jpath, sizeof(jpath), "%s/%s", dir, PJ_JOURNAL_FILE);
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	write_file(passwd, pw, strlen(pw));
	write_file(group, gr, strlen(gr));
	return 0;
}

/* A found user: every string readable, its groups, and found again by name and uid (as the same entry: names
 * are unique in each image, and the newest image holding a name answers for it). */
static void touch_user(const struct pj_view *v, const struct pj_user_ref *r)
{
	const struct pj_store *st = r->st;
	const struct pj_store_user *u = r->u;
	struct pj_user_ref again;
	struct pj_group_ref g;
	volatile size_t sink = 0;
	const uint32_t *gids;
	size_t n = 0;

	sink += strlen(store_str(st, u->name)) + strlen(store_str(st, u->gecos)) +
	        strlen(store_str(st, u->home)) + strlen(store_str(st, u->shell)) +
	        strlen(store_str(st, u->iss)) + strlen(store_str(st, u->sub));
	gids = store_user_gids(st, u, &n);
	for (size_t i = 0; i < n; i++)
		sink += view_group_by_gid(v, gids[i], &g);
	if (!view_user_by_name(v, store_str(st, u->name), &again) || again.u != u)
		abort();
}

static void touch_group(const struct pj_view *v, const struct pj_group_ref *g)
{
	volatile size_t sink = 0;
	uint64_t cursor = 0;
	const char *name;
	struct pj_group_ref again;

	sink += strlen(store_str(g->st, g->g->name));
	while (view_group_member(v, g, &cursor, &name))
		sink += strlen(name);
	if (!view_group_by_name(v, store_str(g->st, g->g->name), &again) || again.g != g->g)
		abort();
}

/* Fixes file_size and the checksum of a store image so mutations reach the structural checks. */
static void fix_image(unsigned char *img, size_t size)
{
	uint64_t fs = size, sum;

	if (size < sizeof(struct pj_store_header))
		return;
	memcpy(img + offsetof(struct pj_store_header, file_size), &fs, sizeof(fs));
	sum = idmap_fnv1a64_zeroed(img, size, offsetof(struct pj_store_header, checksum)); /* as the reader */
	memcpy(img + offsetof(struct pj_store_header, checksum), &sum, sizeof(sum));
}

/* The same for each delta of a journal, as far as the record sizes lead. */
static void fix_journal(unsigned char *j, size_t size)
{
	size_t off = sizeof(struct pj_journal_header);

	while (off + sizeof(struct pj_journal_record) <= size) {
		struct pj_journal_record rec;
		memcpy(&rec, j + off, sizeof(rec));
		if (rec.size > size - off - sizeof(rec))
			break;
		fix_image(j + off + sizeof(rec), rec.size);
		off += sizeof(rec) + rec.size;
	}
}

/* The input: a 4-byte little-endian length, that many bytes of users.db, and the rest as users.journal.
 * Unless the base starts with 'X', file_size and the checksums of the base and of each journal record's
 * delta are fixed up first. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"alice",   "bob",   "root", "",    "Alice",
	                              "x-y_z.1", "carol", "dave", "erin"};
	static const uint32_t ids[] = {0,      999,    1000,   200000,     200001,
	                               300001, 300010, 300012, 2000200000, UINT32_MAX};
	struct pj_user_ref u;
	struct pj_group_ref g;
	struct pj_view v;
	unsigned char *buf;
	uint64_t cursor;
	size_t blen;
	char home[256];
	uint32_t uid;

	if (size < 4 || size > PJ_STORE_MAX_SIZE || (buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data, size);
	blen = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16 | (size_t)buf[3] << 24;
	if (blen > size - 4)
		blen = size - 4;
	if (blen > 0 && buf[4] != 'X') {
		fix_image(buf + 4, blen);
		fix_journal(buf + 4 + blen, size - 4 - blen);
	}
	write_file(path, buf + 4, blen);
	write_file(jpath, buf + 4 + blen, size - 4 - blen);
	free(buf);
	if (view_open(dir, &v) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (view_user_by_name(&v, names[i], &u))
			touch_user(&v, &u);
		if (view_group_by_name(&v, names[i], &g))
			touch_group(&v, &g);
		(void)view_preauth(&v, names[i], passwd, group, &uid, home, sizeof(home));
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (view_user_by_uid(&v, ids[i], &u))
			touch_user(&v, &u);
		if (view_group_by_gid(&v, ids[i], &g))
			touch_group(&v, &g);
		(void)view_id_taken(&v, ids[i]);
	}
	/* enumeration, as getpwent/getgrent walk it */
	for (cursor = 0; view_user_next(&v, &cursor, &u);)
		touch_user(&v, &u);
	for (cursor = 0; view_group_next(&v, &cursor, &g);)
		touch_group(&v, &g);
	view_close(&v);
	return 0;
}
