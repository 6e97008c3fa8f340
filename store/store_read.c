/* store_read.c: opening, validating and searching the user store (libc only; see store_read.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "idmap.h"
#include "store_read.h"

/* A section of count elements of elsize bytes at off: aligned, after the header, inside the file. */
static bool section_ok(size_t size, uint32_t off, uint64_t count, size_t elsize)
{
	return off % 8 == 0 && off >= sizeof(struct pj_store_header) &&
	       (uint64_t)off + count * elsize <= size;
}

static bool str_ok(const struct pj_store *st, uint32_t ref)
{
	return ref < st->hdr->strings_len &&
	       strnlen(st->strings + ref, PJ_STORE_MAX_STRING + 1) <= PJ_STORE_MAX_STRING;
}

/* A passwd/group field: no control characters, no ':' (field separator); gecos also no ','. */
static bool field_ok(const char *s, bool gecos)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == ':' || (gecos && c == ','))
			return false;
	}
	return true;
}

static bool slice_ok(const struct pj_store *st, uint32_t first, uint32_t n)
{
	return (uint64_t)first + n <= st->hdr->n_ids;
}

static bool check_header(const struct pj_store_header *h, size_t size)
{
	if (memcmp(h->magic, PJ_STORE_MAGIC, PJ_STORE_MAGIC_LEN) != 0 ||
	    (h->version != PJ_STORE_VERSION && h->version != PJ_STORE_VERSION_2 &&
	     h->version != PJ_STORE_VERSION_1) ||
	    (h->version == PJ_STORE_VERSION_1 && h->next_slot != 0) ||
	    (h->version != PJ_STORE_VERSION &&
	     (h->id_salt != 0 || h->generation != 0 || h->preauth_programs != 0)) ||
	    h->endian != PJ_STORE_ENDIAN_MARK || h->header_size != sizeof(*h) || h->file_size != size)
		return false;
	for (size_t i = 0; i < sizeof(h->reserved) / sizeof(h->reserved[0]); i++) {
		if (h->reserved[i] != 0)
			return false;
	}
	if (h->n_users > PJ_STORE_MAX_USERS || h->n_groups > PJ_STORE_MAX_GROUPS ||
	    h->uid_min < PJ_STORE_MIN_ID || h->uid_min > h->uid_max || h->uid_max == UINT32_MAX)
		return false;
	return section_ok(size, h->users_off, h->n_users, sizeof(struct pj_store_user)) &&
	       section_ok(size, h->uidx_off, h->n_users, sizeof(uint32_t)) &&
	       section_ok(size, h->groups_off, h->n_groups, sizeof(struct pj_store_group)) &&
	       section_ok(size, h->gidx_off, h->n_groups, sizeof(uint32_t)) &&
	       section_ok(size, h->ids_off, h->n_ids, sizeof(uint32_t)) &&
	       section_ok(size, h->strings_off, h->strings_len, 1) && h->strings_len >= 1;
}

static bool check_user(const struct pj_store *st, const struct pj_store_user *u)
{
	const uint32_t *gids;

	if (!str_ok(st, u->name) || !str_ok(st, u->gecos) || !str_ok(st, u->home) || !str_ok(st, u->shell) ||
	    !str_ok(st, u->iss) || !str_ok(st, u->sub) || !slice_ok(st, u->gids_first, u->n_gids) ||
	    (u->slot != 0 && u->slot >= st->hdr->next_slot))
		return false;
	if (!idmap_username_ok(store_str(st, u->name)) || !field_ok(store_str(st, u->gecos), true) ||
	    !field_ok(store_str(st, u->home), false) || !field_ok(store_str(st, u->shell), false))
		return false;
	if (u->uid < PJ_STORE_MIN_ID || u->uid == UINT32_MAX)
		return false;
	gids = st->ids + u->gids_first;
	for (uint32_t i = 0; i < u->n_gids; i++) {
		if (gids[i] == 0 || gids[i] == UINT32_MAX)
			return false;
	}
	return true;
}

static bool check_group(const struct pj_store *st, const struct pj_store_group *g)
{
	const uint32_t *mem;

	if (!str_ok(st, g->name) || !idmap_groupname_ok(store_str(st, g->name)) ||
	    !slice_ok(st, g->members_first, g->n_members) || (g->flags & ~PJ_STORE_G_PRIVATE) != 0 ||
	    g->reserved != 0 || g->gid < PJ_STORE_MIN_ID || g->gid == UINT32_MAX)
		return false;
	mem = st->ids + g->members_first;
	for (uint32_t i = 0; i < g->n_members; i++) {
		if (mem[i] >= st->hdr->n_users)
			return false;
	}
	return true;
}

/* Names strictly increasing (so unique and binary-searchable); index arrays strictly increasing in id. */
static bool check_order(const struct pj_store *st)
{
	const struct pj_store_header *h = st->hdr;

	for (uint32_t i = 1; i < h->n_users; i++) {
		if (strcmp(store_str(st, st->users[i - 1].name), store_str(st, st->users[i].name)) >= 0)
			return false;
	}
	for (uint32_t i = 1; i < h->n_groups; i++) {
		if (strcmp(store_str(st, st->groups[i - 1].name), store_str(st, st->groups[i].name)) >= 0)
			return false;
	}
	for (uint32_t i = 0; i < h->n_users; i++) {
		if (st->uidx[i] >= h->n_users ||
		    (i > 0 && st->users[st->uidx[i - 1]].uid >= st->users[st->uidx[i]].uid))
			return false;
	}
	for (uint32_t i = 0; i < h->n_groups; i++) {
		if (st->gidx[i] >= h->n_groups ||
		    (i > 0 && st->groups[st->gidx[i - 1]].gid >= st->groups[st->gidx[i]].gid))
			return false;
	}
	return true;
}

/* The O(1) part of the validation: the header, its sections inside the file, the string table's end, the
 * header's own strings; st points into data afterwards. Every lookup stays inside the file from here on. */
static int store_attach(const void *data, size_t len, struct pj_store *st)
{
	const struct pj_store_header *h = data;

	memset(st, 0, sizeof(*st));
	if (len < sizeof(*h) || len > PJ_STORE_MAX_SIZE || ((uintptr_t)data % 8) != 0 ||
	    !check_header(h, len))
		goto bad;
	st->size = len;
	st->base = data;
	st->hdr = h;
	st->users = (const void *)(st->base + h->users_off);
	st->uidx = (const void *)(st->base + h->uidx_off);
	st->groups = (const void *)(st->base + h->groups_off);
	st->gidx = (const void *)(st->base + h->gidx_off);
	st->ids = (const void *)(st->base + h->ids_off);
	st->strings = (const char *)st->base + h->strings_off;
	if (st->strings[h->strings_len - 1] != '\0' || !str_ok(st, h->home_template) ||
	    !str_ok(st, h->shell) || !str_ok(st, h->id_salt) || !str_ok(st, h->preauth_programs) ||
	    !store_programs_ok(store_str(st, h->preauth_programs)) ||
	    (h->id_salt != 0 && !idmap_salt_ok(store_str(st, h->id_salt))) ||
	    !idmap_home_template_ok(store_str(st, h->home_template)) ||
	    !idmap_shell_ok(store_str(st, h->shell)))
		goto bad;
	return 0;
bad:
	memset(st, 0, sizeof(*st));
	return -EINVAL;
}

int store_check_buffer(const void *data, size_t len, struct pj_store *st)
{
	const struct pj_store_header *h = data;

	if (store_attach(data, len, st) != 0 ||
	    h->checksum != idmap_fnv1a64_zeroed(data, len, offsetof(struct pj_store_header, checksum)))
		goto bad;
	for (uint32_t i = 0; i < h->n_users; i++) {
		if (!check_user(st, &st->users[i]))
			goto bad;
	}
	for (uint32_t i = 0; i < h->n_groups; i++) {
		if (!check_group(st, &st->groups[i]))
			goto bad;
	}
	if (!check_order(st))
		goto bad;
	return 0;
bad:
	memset(st, 0, sizeof(*st));
	return -EINVAL;
}

enum store_trust store_stat_trust(const struct stat *sb, mode_t type)
{
	if ((sb->st_mode & S_IFMT) != type)
		return STORE_UNTRUSTED_TYPE;
	if (sb->st_uid != 0)
		return STORE_UNTRUSTED_OWNER;
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return STORE_UNTRUSTED_MODE;
	return STORE_TRUSTED;
}

bool store_trusted_stat(const struct stat *sb, mode_t type)
{
	return store_stat_trust(sb, type) == STORE_TRUSTED;
}

int store_open_file(const char *dir, const char *name, int flags, struct stat *sb)
{
	char path[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(dir, sb) != 0)
		return -errno;
	if (!store_trusted_stat(sb, S_IFDIR))
		return -EPERM;
	if ((fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644)) < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, sb) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!store_trusted_stat(sb, S_IFREG)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static uint64_t checked_sum(const struct pj_store_checked *rec)
{
	return idmap_fnv1a64(rec, offsetof(struct pj_store_checked, checksum));
}

void store_checked_record(const struct pj_store *st, struct pj_store_checked *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->magic = PJ_STORE_CHECKED_MAGIC;
	rec->file = st->file;
	rec->store_checksum = st->hdr->checksum;
	rec->checksum = checked_sum(rec);
}

/* Whether a trusted dir/users.checked records the file of sb, whose header is h, as validated whole. */
static bool checked_before(const char *dir, const struct stat *sb, const struct pj_store_header *h)
{
	struct pj_store_checked rec;
	struct stat msb;
	ssize_t n;
	int fd;

	if ((fd = store_open_file(dir, PJ_STORE_CHECKED_FILE, O_RDONLY, &msb)) < 0)
		return false;
	n = msb.st_size == (off_t)sizeof(rec) ? read(fd, &rec, sizeof(rec)) : -1;
	close(fd);
	return n == (ssize_t)sizeof(rec) && rec.magic == PJ_STORE_CHECKED_MAGIC &&
	       rec.checksum == checked_sum(&rec) && store_file_id_same(&rec.file, sb) &&
	       rec.store_checksum == h->checksum;
}

int store_open(const char *dir, struct pj_store *st)
{
	struct stat sb;
	void *map;
	int fd, r;

	memset(st, 0, sizeof(*st));
	if ((fd = store_open_file(dir, PJ_STORE_FILE, O_RDONLY, &sb)) < 0)
		return fd;
	if (sb.st_size < (off_t)sizeof(struct pj_store_header) || sb.st_size > (off_t)PJ_STORE_MAX_SIZE) {
		close(fd);
		return -EINVAL;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	r = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if (store_attach(map, (size_t)sb.st_size, st) == 0 && checked_before(dir, &sb, st->hdr))
		r = 0;
	else if ((r = store_check_buffer(map, (size_t)sb.st_size, st)) == 0)
		st->checked_whole = true;
	if (r < 0) {
		munmap(map, (size_t)sb.st_size);
		return r;
	}
	st->map = map;
	st->file = store_file_id_of(&sb);
	return 0;
}

void store_close(struct pj_store *st)
{
	if (st->map != NULL)
		munmap(st->map, st->size);
	memset(st, 0, sizeof(*st));
}

struct store_file_id store_file_id_of(const struct stat *sb)
{
	return (struct store_file_id){.dev = sb->st_dev,
	                              .ino = sb->st_ino,
	                              .size = (uint64_t)sb->st_size,
	                              .mtime_sec = sb->st_mtim.tv_sec,
	                              .mtime_nsec = sb->st_mtim.tv_nsec,
	                              .ctime_sec = sb->st_ctim.tv_sec,
	                              .ctime_nsec = sb->st_ctim.tv_nsec};
}

bool store_file_id_same(const struct store_file_id *id, const struct stat *sb)
{
	struct store_file_id now = store_file_id_of(sb);

	return memcmp(id, &now, sizeof(now)) == 0;
}

bool store_same_file(const struct pj_store *st, const struct stat *sb)
{
	return st->map != NULL && store_file_id_same(&st->file, sb) && store_trusted_stat(sb, S_IFREG);
}

/* The lookups below check every index they follow even though store_check_buffer validated them: a store
 * opened through users.checked was validated by another process, and a disk that damages it afterwards
 * must cost a wrong answer at most, never a read outside the file (the string table ends in a NUL). */
const char *store_str(const struct pj_store *st, uint32_t ref)
{
	return ref < st->hdr->strings_len ? st->strings + ref : "";
}

const struct pj_store_user *store_user_by_name(const struct pj_store *st, const char *name)
{
	size_t lo = 0, hi = st->hdr ? st->hdr->n_users : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, store_str(st, st->users[mid].name));
		if (c == 0)
			return &st->users[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pj_store_user *store_user_by_uid(const struct pj_store *st, uint32_t uid)
{
	size_t lo = 0, hi = st->hdr ? st->hdr->n_users : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pj_store_user *u;
		if (st->uidx[mid] >= st->hdr->n_users)
			return NULL;
		u = &st->users[st->uidx[mid]];
		if (u->uid == uid)
			return u;
		if (uid < u->uid)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pj_store_group *store_group_by_name(const struct pj_store *st, const char *name)
{
	size_t lo = 0, hi = st->hdr ? st->hdr->n_groups : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, store_str(st, st->groups[mid].name));
		if (c == 0)
			return &st->groups[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pj_store_group *store_group_by_gid(const struct pj_store *st, uint32_t gid)
{
	size_t lo = 0, hi = st->hdr ? st->hdr->n_groups : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pj_store_group *g;
		if (st->gidx[mid] >= st->hdr->n_groups)
			return NULL;
		g = &st->groups[st->gidx[mid]];
		if (g->gid == gid)
			return g;
		if (gid < g->gid)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const uint32_t *store_user_gids(const struct pj_store *st, const struct pj_store_user *u, size_t *n)
{
	*n = slice_ok(st, u->gids_first, u->n_gids) ? u->n_gids : 0;
	return *n > 0 ? st->ids + u->gids_first : st->ids;
}

const struct pj_store_user *store_group_member(const struct pj_store *st, const struct pj_store_group *g,
                                               uint32_t i)
{
	uint64_t at = (uint64_t)g->members_first + i;

	return at < st->hdr->n_ids && st->ids[at] < st->hdr->n_users ? &st->users[st->ids[at]] : NULL;
}

bool store_id_taken(const struct pj_store *st, uint32_t id)
{
	return store_user_by_uid(st, id) != NULL || store_group_by_gid(st, id) != NULL;
}

bool store_programs_ok(const char *list)
{
	size_t words = 0, len = 0;

	for (const char *p = list;; p++) {
		if (*p == ' ' || *p == '\0') {
			if (len == 0 &&
			    (*p == ' ' || words > 0)) /* empty word (only "" as a whole is fine) */
				return false;
			words += len > 0;
			len = 0;
			if (*p == '\0')
				return words <= PJ_STORE_PROGRAMS_MAX;
			continue;
		}
		if (*p < 0x21 || *p > 0x7e || *p == '/' || *p == ':' || ++len > PJ_STORE_PROGRAM_LEN)
			return false;
	}
}

bool store_preauth_caller(const struct pj_store *st, const char *comm)
{
	const char *list = store_str(st, st->hdr->preauth_programs), *p;
	size_t n = strlen(comm);

	if (list[0] == '\0')
		list = PJ_STORE_PREAUTH_PROGRAMS;
	for (p = list; *p != '\0'; p += strcspn(p, " "), p += *p == ' ') {
		if (strncmp(p, comm, n) == 0 && (p[n] == ' ' || p[n] == '\0') && n > 0)
			return true;
	}
	return false;
}
