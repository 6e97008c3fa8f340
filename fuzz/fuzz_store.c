/* fuzz_store.c: libFuzzer target for the user store reader (the NSS module's parser of users.db). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_format.h"
#include "store/store_read.h"

static char dir[] = "/tmp/pam_jwt_fuzz_store.XXXXXX";
static char path[sizeof(dir) + sizeof("/" PJ_STORE_FILE)];
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
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	write_file(passwd, pw, strlen(pw));
	write_file(group, gr, strlen(gr));
	return 0;
}

/* FNV-1a 64 with the checksum field as zero, as the writer computes it (store_format.h). */
static uint64_t fnv(const unsigned char *p, size_t n)
{
	size_t at = offsetof(struct pj_store_header, checksum);
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= i >= at && i < at + 8 ? 0 : p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void touch_user(const struct pj_store *st, const struct pj_store_user *u)
{
	size_t n = 0;
	const uint32_t *gids;
	volatile size_t sink = 0;

	if (u == NULL)
		return;
	sink += strlen(store_str(st, u->name)) + strlen(store_str(st, u->gecos)) +
	        strlen(store_str(st, u->home)) + strlen(store_str(st, u->shell)) +
	        strlen(store_str(st, u->iss)) + strlen(store_str(st, u->sub));
	gids = store_user_gids(st, u, &n);
	for (size_t i = 0; i < n; i++)
		sink += store_group_by_gid(st, gids[i]) != NULL;
	if (store_user_by_name(st, store_str(st, u->name)) != u || store_user_by_uid(st, u->uid) != u)
		abort(); /* names and uids are unique and sorted: every user is found by both */
}

static void touch_group(const struct pj_store *st, const struct pj_store_group *g)
{
	volatile size_t sink = 0;

	if (g == NULL)
		return;
	sink += strlen(store_str(st, g->name));
	for (uint32_t i = 0; i < g->n_members; i++)
		sink += strlen(store_str(st, store_group_member(st, g, i)->name));
	if (store_group_by_name(st, store_str(st, g->name)) != g || store_group_by_gid(st, g->gid) != g)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"alice", "bob", "root", "", "Alice", "x-y_z.1"};
	static const uint32_t ids[] = {0, 999, 1000, 200000, 200001, 2000200000, UINT32_MAX};
	struct pj_store st = {0};
	unsigned char *buf;
	char home[256];
	uint32_t uid;

	if (size > PJ_STORE_MAX_SIZE || (buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	/* Fix file_size and the checksum so mutations reach the structural checks instead of dying on the
	 * checksum; a first byte of 'X' leaves them as given so that their own checks are fuzzed too. */
	if (size >= sizeof(struct pj_store_header) && buf[0] != 'X') {
		uint64_t fs = size, sum;

		memcpy(buf + offsetof(struct pj_store_header, file_size), &fs, sizeof(fs));
		sum = fnv(buf, size);
		memcpy(buf + offsetof(struct pj_store_header, checksum), &sum, sizeof(sum));
	}
	write_file(path, buf, size);
	free(buf);
	if (store_open(dir, &st) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		touch_user(&st, store_user_by_name(&st, names[i]));
		touch_group(&st, store_group_by_name(&st, names[i]));
		(void)store_preauth(&st, names[i], passwd, group, &uid, home, sizeof(home));
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		touch_user(&st, store_user_by_uid(&st, ids[i]));
		touch_group(&st, store_group_by_gid(&st, ids[i]));
		(void)store_id_taken(&st, ids[i]);
	}
	/* enumeration, as getpwent/getgrent walk it */
	for (uint32_t i = 0; i < st.hdr->n_users; i++)
		touch_user(&st, &st.users[i]);
	for (uint32_t i = 0; i < st.hdr->n_groups; i++)
		touch_group(&st, &st.groups[i]);
	store_close(&st);
	return 0;
}
