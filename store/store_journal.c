/* store_journal.c: the journal of the user store and the view of base plus journal (libc only; see
 * store_journal.h). */
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
#include "store_journal.h"

#define LEVEL_SHIFT 32

/* A journal header naming a base of generation gen: 1, or 0 when it is not a journal header at all. */
static bool header_ok(const struct pj_journal_header *h)
{
	return memcmp(h->magic, PJ_JOURNAL_MAGIC, sizeof(h->magic)) == 0 &&
	       h->version == PJ_JOURNAL_VERSION && h->endian == PJ_STORE_ENDIAN_MARK &&
	       h->header_size == sizeof(*h) && h->reserved[0] == 0 && h->reserved[1] == 0;
}

/* Validates the records of a journal in data (len bytes, 8-aligned) against v's base: v->deltas gets each
 * valid record up to the first that is not. Returns 0 (also for a journal of an older generation, which is
 * ignored), -EAGAIN for a journal of a newer generation than the base (a fold in between: reopen both), or
 * -ENOMEM. */
static int parse_journal(struct pj_view *v, const unsigned char *data, size_t len)
{
	const struct pj_journal_header *h = (const void *)data;
	size_t off = sizeof(*h);

	if (v->base.hdr == NULL || len < sizeof(*h) || !header_ok(h))
		return 0;
	if (h->generation != v->base.hdr->generation)
		return h->generation > v->base.hdr->generation ? -EAGAIN : 0;
	if ((v->deltas = calloc(PJ_JOURNAL_MAX_RECORDS, sizeof(*v->deltas))) == NULL)
		return -ENOMEM;
	while (v->n_deltas < PJ_JOURNAL_MAX_RECORDS && len - off >= sizeof(struct pj_journal_record)) {
		const struct pj_journal_record *rec = (const void *)(data + off);
		size_t room = len - off - sizeof(*rec);
		if (rec->generation != h->generation || rec->reserved != 0 || rec->size % 8 != 0 ||
		    rec->size > room ||
		    store_check_buffer(data + off + sizeof(*rec), rec->size, &v->deltas[v->n_deltas]) != 0)
			break;
		v->n_deltas++;
		off += sizeof(*rec) + rec->size;
	}
	v->journal_valid = off;
	return 0;
}

static void journal_close(struct pj_view *v)
{
	free(v->deltas);
	if (v->jmap != NULL)
		munmap(v->jmap, v->jmap_len);
	v->deltas = NULL;
	v->n_deltas = 0;
	v->jmap = NULL;
	v->jmap_len = 0;
	v->journal_valid = 0;
	memset(&v->journal_file, 0, sizeof(v->journal_file));
}

/* Maps and parses dir's journal for v's base. No journal: 0 with none. */
static int journal_open(const char *dir, struct pj_view *v)
{
	struct stat sb;
	size_t len;
	void *map;
	int fd, r;

	if ((fd = store_open_file(dir, PJ_JOURNAL_FILE, O_RDONLY, &sb)) < 0)
		return fd == -ENOENT ? 0 : fd;
	v->journal_file = store_file_id_of(&sb);
	/* the writer keeps the file within PJ_JOURNAL_MAX_SIZE; anything past it is never a record */
	len = sb.st_size > (off_t)PJ_JOURNAL_MAX_SIZE ? PJ_JOURNAL_MAX_SIZE : (size_t)sb.st_size;
	if (len < sizeof(struct pj_journal_header)) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	r = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	v->jmap = map;
	v->jmap_len = len;
	return parse_journal(v, map, len);
}

int view_open(const char *dir, struct pj_view *v)
{
	int r = -EAGAIN;

	for (int attempt = 0; attempt < 8 && r == -EAGAIN; attempt++) {
		memset(v, 0, sizeof(*v));
		if ((r = store_open(dir, &v->base)) == -ENOENT)
			return 0; /* no store yet: empty */
		if (r == 0 && (r = journal_open(dir, v)) != 0)
			view_close(v);
	}
	return r;
}

int view_refresh(const char *dir, struct pj_view *v)
{
	char path[PATH_MAX];
	struct stat bsb, jsb;
	bool has_journal;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, PJ_STORE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &bsb) != 0) {
		r = -errno;
		view_close(v);
		return r == -ENOENT ? view_open(dir, v) : r;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, PJ_JOURNAL_FILE);
	has_journal = stat(path, &jsb) == 0;
	if (view_same_files(v, &bsb, has_journal ? &jsb : NULL))
		return 0;
	if (!store_same_file(&v->base, &bsb)) {
		view_close(v);
		return view_open(dir, v);
	}
	/* the same base, a longer or new journal: only the journal is read again */
	journal_close(v);
	if ((r = journal_open(dir, v)) == -EAGAIN) {
		view_close(v);
		return view_open(dir, v);
	}
	if (r < 0)
		view_close(v);
	return r;
}

int view_from_buffers(const void *base, size_t blen, const void *journal, size_t jlen, struct pj_view *v)
{
	memset(v, 0, sizeof(*v));
	if (store_check_buffer(base, blen, &v->base) != 0)
		return -EINVAL;
	if (jlen > 0 && (((uintptr_t)journal % 8) != 0 || parse_journal(v, journal, jlen) == -ENOMEM)) {
		view_close(v);
		return -EINVAL;
	}
	return 0;
}

void view_close(struct pj_view *v)
{
	journal_close(v);
	store_close(&v->base);
	memset(v, 0, sizeof(*v));
}

bool view_same_files(const struct pj_view *v, const struct stat *base_sb, const struct stat *journal_sb)
{
	const struct store_file_id *j = &v->journal_file;

	if (!store_same_file(&v->base, base_sb))
		return false;
	if (journal_sb == NULL)
		return j->ino == 0;
	return j->ino != 0 && store_file_id_same(j, journal_sb) && store_trusted_stat(journal_sb, S_IFREG);
}

/* Level k: 0 the base, k > 0 delta k - 1; NULL past the top or for a missing base. */
static const struct pj_store *level_store(const struct pj_view *v, uint32_t level)
{
	if (level == 0)
		return v->base.hdr != NULL ? &v->base : NULL;
	return level <= v->n_deltas ? &v->deltas[level - 1] : NULL;
}

const struct pj_store *view_top(const struct pj_view *v)
{
	return level_store(v, v->n_deltas);
}

bool view_shadowed(const struct pj_view *v, uint32_t level, const char *name)
{
	for (uint32_t k = level + 1; k <= v->n_deltas; k++) {
		const struct pj_store *st = &v->deltas[k - 1];
		if (store_user_by_name(st, name) != NULL || store_group_by_name(st, name) != NULL)
			return true;
	}
	return false;
}

bool view_user_by_name(const struct pj_view *v, const char *name, struct pj_user_ref *out)
{
	for (uint32_t k = v->n_deltas + 1; k-- > 0;) {
		const struct pj_store *st = level_store(v, k);
		const struct pj_store_user *u = st ? store_user_by_name(st, name) : NULL;
		if (u != NULL) {
			*out = (struct pj_user_ref){st, u, k};
			return true;
		}
	}
	return false;
}

bool view_user_by_uid(const struct pj_view *v, uint32_t uid, struct pj_user_ref *out)
{
	for (uint32_t k = v->n_deltas + 1; k-- > 0;) {
		const struct pj_store *st = level_store(v, k);
		const struct pj_store_user *u = st ? store_user_by_uid(st, uid) : NULL;
		if (u != NULL && !view_shadowed(v, k, store_str(st, u->name))) {
			*out = (struct pj_user_ref){st, u, k};
			return true;
		}
	}
	return false;
}

bool view_group_by_name(const struct pj_view *v, const char *name, struct pj_group_ref *out)
{
	for (uint32_t k = v->n_deltas + 1; k-- > 0;) {
		const struct pj_store *st = level_store(v, k);
		const struct pj_store_group *g = st ? store_group_by_name(st, name) : NULL;
		if (g != NULL) {
			*out = (struct pj_group_ref){st, g, k};
			return true;
		}
	}
	return false;
}

bool view_group_by_gid(const struct pj_view *v, uint32_t gid, struct pj_group_ref *out)
{
	for (uint32_t k = v->n_deltas + 1; k-- > 0;) {
		const struct pj_store *st = level_store(v, k);
		const struct pj_store_group *g = st ? store_group_by_gid(st, gid) : NULL;
		if (g != NULL && !view_shadowed(v, k, store_str(st, g->name))) {
			*out = (struct pj_group_ref){st, g, k};
			return true;
		}
	}
	return false;
}

bool view_id_taken(const struct pj_view *v, uint32_t id)
{
	for (uint32_t k = 0; k <= v->n_deltas; k++) {
		const struct pj_store *st = level_store(v, k);
		if (st != NULL && store_id_taken(st, id))
			return true;
	}
	return false;
}

static bool has_gid(const struct pj_store *st, const struct pj_store_user *u, uint32_t gid)
{
	size_t n, lo = 0, hi;
	const uint32_t *gids = store_user_gids(st, u, &n);

	for (hi = n; lo < hi;) { /* sorted by the writer; a damaged order only misses, never overruns */
		size_t mid = lo + (hi - lo) / 2;
		if (gids[mid] == gid)
			return true;
		if (gids[mid] < gid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool view_group_member(const struct pj_view *v, const struct pj_group_ref *g, uint64_t *cursor,
                       const char **name)
{
	uint32_t gid = g->g->gid;

	if (g->g->flags & PJ_STORE_G_PRIVATE)
		return false;
	for (;; (*cursor)++) {
		uint32_t level = (uint32_t)(*cursor >> LEVEL_SHIFT), i = (uint32_t)*cursor;
		const struct pj_store *st = level_store(v, level);
		const struct pj_store_user *u;
		if (level > v->n_deltas)
			return false;
		if (st == NULL || (level == 0 && g->level != 0) ||
		    i >= (level == 0 ? g->g->n_members : st->hdr->n_users)) {
			*cursor = (uint64_t)(level + 1) << LEVEL_SHIFT;
			(*cursor)--; /* the loop's increment */
			continue;
		}
		/* the base's member list for a base group; in a delta, its users that name the gid */
		u = level == 0 ? store_group_member(st, g->g, i) : &st->users[i];
		if (u != NULL && (level == 0 || has_gid(st, u, gid)) &&
		    !view_shadowed(v, level, store_str(st, u->name))) {
			*name = store_str(st, u->name);
			(*cursor)++;
			return true;
		}
	}
}

/* The next entry of an enumeration: users when users, else groups. */
static bool next_entry(const struct pj_view *v, uint64_t *cursor, bool users, const struct pj_store **st_out,
                       uint32_t *index, uint32_t *level_out)
{
	for (;; (*cursor)++) {
		uint32_t level = (uint32_t)(*cursor >> LEVEL_SHIFT), i = (uint32_t)*cursor;
		const struct pj_store *st = level_store(v, level);
		const char *name;
		if (level > v->n_deltas)
			return false;
		if (st == NULL || i >= (users ? st->hdr->n_users : st->hdr->n_groups)) {
			*cursor = ((uint64_t)(level + 1) << LEVEL_SHIFT) - 1;
			continue;
		}
		name = store_str(st, users ? st->users[i].name : st->groups[i].name);
		if (!view_shadowed(v, level, name)) {
			*st_out = st;
			*index = i;
			*level_out = level;
			(*cursor)++;
			return true;
		}
	}
}

bool view_user_next(const struct pj_view *v, uint64_t *cursor, struct pj_user_ref *out)
{
	const struct pj_store *st;
	uint32_t i, level;

	if (!next_entry(v, cursor, true, &st, &i, &level))
		return false;
	*out = (struct pj_user_ref){st, &st->users[i], level};
	return true;
}

bool view_group_next(const struct pj_view *v, uint64_t *cursor, struct pj_group_ref *out)
{
	const struct pj_store *st;
	uint32_t i, level;

	if (!next_entry(v, cursor, false, &st, &i, &level))
		return false;
	*out = (struct pj_group_ref){st, &st->groups[i], level};
	return true;
}

struct preauth_ctx {
	const struct pj_view *v;
	const struct idmap_local *local;
};

/* Local ids (the account files, subordinate ranges) are probed past, as the writer does; an id of the
 * store is final: another name's first login may take the slot between this answer and the login, and the
 * writer then refuses rather than probe (mapping.c), so the answer never probes past one either. */
static uint32_t preauth_taken(void *arg, uint32_t id)
{
	struct preauth_ctx *c = arg;
	uint32_t run = idmap_local_run(c->local, id);

	if (run > 0)
		return run;
	return view_id_taken(c->v, id) ? IDMAP_TAKEN_FINAL : 0;
}

int view_preauth(const struct pj_view *v, const char *name, const char *passwd_path, const char *group_path,
                 uint32_t *uid, char *home, size_t homelen)
{
	const struct pj_store *top = view_top(v);
	const struct pj_store_header *h = top ? top->hdr : NULL;
	struct idmap_local local;
	struct preauth_ctx c = {.v = v, .local = &local};
	struct pj_user_ref ur;
	struct pj_group_ref gr;
	uint32_t probes;
	int r;

	if (h == NULL || !(h->flags & PJ_STORE_F_PREAUTH) || (h->flags & PJ_STORE_F_UID_CLAIM) ||
	    !idmap_username_ok(name) || view_user_by_name(v, name, &ur) || view_group_by_name(v, name, &gr))
		return 1;
	if ((r = idmap_local_name(passwd_path, group_path, name)) != 0)
		return r < 0 ? r : 1;
	if ((r = idmap_local_load(passwd_path, group_path, h->uid_min, h->uid_max, &local)) < 0)
		return r;
	r = idmap_assign(store_str(top, h->id_salt), name, h->uid_min, h->uid_max, preauth_taken, &c, uid,
	                 &probes) == 0
	        ? 0
	        : 1;
	idmap_local_free(&local);
	if (r == 0 && idmap_home(store_str(top, h->home_template), name, home, homelen) != 0)
		r = 1;
	return r;
}

int store_preauth(const struct pj_store *st, const char *name, const char *passwd_path,
                  const char *group_path, uint32_t *uid, char *home, size_t homelen)
{
	struct pj_view v = {.base = *st};

	return view_preauth(&v, name, passwd_path, group_path, uid, home, homelen);
}
