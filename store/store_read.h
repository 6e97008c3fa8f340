/* store_read.h: opening, validating and searching the user store (libc only: NSS module and library share
 * it). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_STORE_READ_H
#define PAM_JWT_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "store_format.h"

#define PJ_STORE_MIN_ID 1000u /* no stored user or managed group id is ever below this */

/* A file's identity: what changes when it is replaced (device, inode) or written in place (size, mtime, and
 * ctime, which also moves on chmod and chown and cannot be set back), as git's index keeps it. A cached copy
 * of a file (a mapping, parsed keys, an index of names) is used again only while its file's identity is
 * unchanged. Fixed-width and without padding, so that a cache file can hold it (local_index.c). All zero:
 * no file. */
struct store_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

_Static_assert(sizeof(struct store_file_id) == 56, "file identity layout (kept in local.cache)");

/* The identity of the file sb describes. */
struct store_file_id store_file_id_of(const struct stat *sb);

/* Whether sb describes the file id was taken of, unchanged. */
bool store_file_id_same(const struct store_file_id *id, const struct stat *sb);

/* users.checked (see store_format.h): which users.db a root process validated whole. */
struct pj_store_checked {
	uint64_t magic; /* PJ_STORE_CHECKED_MAGIC */
	struct store_file_id file;
	uint64_t store_checksum; /* the checksum field of that users.db's header */
	uint64_t checksum;       /* FNV-1a 64 of the fields above */
};

/* A validated store: either an mmap of the file (store_open) or a caller's buffer (store_check_buffer).
 * Every pointer below points into that memory and every offset in it has been checked. */
struct pj_store {
	void *map; /* the mapping to unmap, NULL for a caller's buffer */
	size_t size;
	const unsigned char *base;
	const struct pj_store_header *hdr;
	const struct pj_store_user *users;
	const uint32_t *uidx;
	const struct pj_store_group *groups;
	const uint32_t *gidx;
	const uint32_t *ids;
	const char *strings;
	struct store_file_id
	    file; /* which file this is, so that a cached mapping notices it being replaced */
	/* store_open validated the whole file (no users.checked matched it): a root process of the library
	 * may record that with store_checked_record + an atomic write of users.checked */
	bool checked_whole;
};

/* What makes a file that carries trust (config, key cache, user store) untrusted, in the order checked. */
enum store_trust {
	STORE_TRUSTED = 0,
	STORE_UNTRUSTED_TYPE,  /* not of the type asked for (S_IFREG, S_IFDIR) */
	STORE_UNTRUSTED_OWNER, /* not owned by root */
	STORE_UNTRUSTED_MODE,  /* writable by group or others */
};

/* The one trust rule, in libc only: of type (S_IFREG, S_IFDIR), owned by root, not writable by group or
 * others. trusted_file.c (the library's reader) turns the answer into a reason; the NSS side uses
 * store_trusted_stat. */
enum store_trust store_stat_trust(const struct stat *sb, mode_t type);

/* store_stat_trust(sb, type) == STORE_TRUSTED. */
bool store_trusted_stat(const struct stat *sb, mode_t type);

/* Opens dir/name with flags (O_RDONLY, or O_RDWR|O_CREAT making it 0644) and O_NOFOLLOW|O_CLOEXEC, after
 * checking dir and then the open file (fstat into sb) with store_trusted_stat. Returns the descriptor,
 * -EPERM (untrusted, or a symbolic link) or -errno. */
int store_open_file(const char *dir, const char *name, int flags, struct stat *sb);

/* Opens dir/users.db: checks dir (a directory owned by root, not writable by group or others), opens the
 * file O_RDONLY|O_NOFOLLOW|O_CLOEXEC, checks it after open with fstat (regular, root-owned, not writable
 * by group or others), maps it read-only and validates it: the whole file, unless a trusted users.checked
 * records this very file as validated (then the header and its bounds only; see store_format.h). The file
 * descriptor is closed again.
 * Returns 0, -ENOENT (no store), -EPERM (untrusted), -EINVAL (damaged: bad magic, version, size,
 * checksum, offset, order...), or another -errno. st is zeroed on failure. */
int store_open(const char *dir, struct pj_store *st);

/* The users.checked record for st, which store_open validated whole (st->checked_whole). */
void store_checked_record(const struct pj_store *st, struct pj_store_checked *rec);

/* Validates len bytes at data as a store, without copying: st points into data afterwards.
 * Returns 0 or -EINVAL. */
int store_check_buffer(const void *data, size_t len, struct pj_store *st);

/* Unmaps (if mapped) and zeroes st. Safe on a zeroed st. */
void store_close(struct pj_store *st);

/* Whether sb (a stat of the store path) describes the very file st was opened from, unchanged (inode,
 * size, mtime and ctime) and still trusted: the mapping is shared with the file, so a file written in place
 * or made writable by others since it was validated must be opened and validated again. */
bool store_same_file(const struct pj_store *st, const struct stat *sb);

/* The string at offset ref; "" for an offset outside the string table. */
const char *store_str(const struct pj_store *st, uint32_t ref);

const struct pj_store_user *store_user_by_name(const struct pj_store *st, const char *name);
const struct pj_store_user *store_user_by_uid(const struct pj_store *st, uint32_t uid);
const struct pj_store_group *store_group_by_name(const struct pj_store *st, const char *name);
const struct pj_store_group *store_group_by_gid(const struct pj_store *st, uint32_t gid);

/* A user's supplementary gids (*n of them). */
const uint32_t *store_user_gids(const struct pj_store *st, const struct pj_store_user *u, size_t *n);

/* The i-th member of g (i < g->n_members); NULL where the member list points outside the store. */
const struct pj_store_user *store_group_member(const struct pj_store *st, const struct pj_store_group *g,
                                               uint32_t i);

/* Whether id is the uid of a stored user or the gid of a stored group. */
bool store_id_taken(const struct pj_store *st, uint32_t id);

/* Whether list (the header's preauth_programs) is "" or up to PJ_STORE_PROGRAMS_MAX space-separated names
 * of 1..PJ_STORE_PROGRAM_LEN printable bytes without '/' or ':', single spaces between. */
bool store_programs_ok(const char *list);

/* Whether the program called comm (/proc/self/comm) is one pre-auth entries are given to: a name of the
 * header's preauth_programs, or of PJ_STORE_PREAUTH_PROGRAMS when that is "". Only sshd needs an entry for
 * a user who has never logged in; to everyone else (useradd, adduser --system, package scripts, any
 * enumeration) an unused name must look unused. */
bool store_preauth_caller(const struct pj_store *st, const char *comm);

/* The passwd entry the first login of name would create, for nss_preauth: computed from the store's
 * parameters, its ids and the local account files exactly as the writer computes it (see mapping.c).
 * passwd_path/group_path NULL mean /etc/passwd and /etc/group. Returns 0 with *uid and home filled,
 * 1 when name gets no pre-auth entry (preauth off, uid_claim in use, bad or taken name, or its id -- after
 * local ids -- is a stored user's or group's: never probed past, see mapping.c), or -errno. */
int store_preauth(const struct pj_store *st, const char *name, const char *passwd_path,
                  const char *group_path, uint32_t *uid, char *home, size_t homelen);

#endif
