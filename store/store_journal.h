/* store_journal.h: the user store's journal and the view of base file plus journal that readers search. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_STORE_JOURNAL_H
#define PAM_JWT_STORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "store_read.h"

/* The design is LevelDB's log + table (an LSM tree of two levels): the sorted base file (users.db, see
 * store_format.h) is the table, state_dir/users.journal the log. A change (a new user, a changed entry, a
 * new managed group) appends one record to the journal, under the store lock, and fdatasyncs it after
 * releasing the lock (group commit: one writer's flush covers every record appended before it; the
 * reasoning is in pam_jwt/userstore.c): work that does not grow with the store. Past PJ_JOURNAL_MAX_RECORDS
 * records or PJ_JOURNAL_MAX_SIZE bytes the next writer folds base and journal into a new base (generation +
 * 1, written atomically) and starts an empty journal for it: amortized O(n / bound) per change. Removing a
 * user or changing the header parameters is always a fold.
 *
 *   header  struct pj_journal_header: magic, version, byte order, the generation of the base it extends
 *   record  struct pj_journal_record, then a delta: a complete store image (store_format.h, 8-aligned)
 *           holding only the changed users (with their private groups) and the new managed groups, and
 *           the header parameters (next_slot included) as of this record
 *
 * A record counts only when it lies wholly in the file and its delta passes store_check_buffer (checksum
 * and every structural rule): a torn tail (a writer killed in its write, a full file system) is ignored
 * by readers and cut off by the next writer. A journal whose generation is not its base's is ignored: it
 * is either already folded into that base (a writer died between writing the new base and the new
 * journal) or belongs to a base a reader has not opened yet (it reopens both).
 *
 * Lookups search the deltas newest first, then the base: O(records * log + log n), with the records
 * bounded. A user in a delta shadows the same name in older deltas and in the base (uids never change
 * for a name, and a removal folds); group members are the base's members not shadowed plus the delta
 * users that name the gid. */

#define PJ_JOURNAL_FILE        "users.journal"
#define PJ_JOURNAL_MAGIC       "PJWTJRNL"
#define PJ_JOURNAL_VERSION     1u
#define PJ_JOURNAL_MAX_RECORDS 128u
#define PJ_JOURNAL_MAX_SIZE    (1u << 20)

struct pj_journal_header {
	char magic[8];
	uint32_t version;
	uint32_t endian; /* PJ_STORE_ENDIAN_MARK */
	uint32_t generation;
	uint32_t header_size; /* sizeof(struct pj_journal_header) */
	uint32_t reserved[2]; /* zero */
};

struct pj_journal_record {
	uint32_t size; /* bytes of the delta that follows: a multiple of 8 */
	uint32_t
	    generation;    /* the header's, again: a record of an older journal never passes for a new one */
	uint64_t reserved; /* zero */
};

_Static_assert(sizeof(struct pj_journal_header) == 32, "journal header layout");
_Static_assert(sizeof(struct pj_journal_record) == 16, "journal record layout");

/* The base and its journal's deltas (oldest first), all validated. */
struct pj_view {
	struct pj_store base; /* hdr NULL when there is no base file yet */
	struct pj_store *deltas;
	uint32_t n_deltas;
	size_t journal_valid; /* bytes of the journal up to the end of its last valid record; 0 = none used */
	void *jmap;           /* the journal's mapping */
	size_t jmap_len;
	struct store_file_id journal_file; /* the journal file as opened (ino 0: none) */
};

/* A user or group as found, with the store image its strings are in. */
struct pj_user_ref {
	const struct pj_store *st;
	const struct pj_store_user *u;
	uint32_t level; /* 0 = base, k = delta k - 1 */
};

struct pj_group_ref {
	const struct pj_store *st;
	const struct pj_store_group *g;
	uint32_t level;
};

/* Opens dir's base file (store_open) and its journal (same trust rules). No base: an empty view (0).
 * Returns 0, or store_open's errors. */
int view_open(const char *dir, struct pj_view *v);

/* Validates base (blen bytes) and journal (jlen bytes, may be 0) given in memory (tests, fuzzing): the view
 * points into them. Returns 0 or -EINVAL (a bad base; a bad journal tail is only cut). */
int view_from_buffers(const void *base, size_t blen, const void *journal, size_t jlen, struct pj_view *v);

/* Brings a view (zeroed, or opened before) up to date with the files: nothing when they are unchanged, the
 * journal alone when only it changed, else everything. Returns as view_open. */
int view_refresh(const char *dir, struct pj_view *v);

void view_close(struct pj_view *v);

/* Whether the files on disk are still those v was opened from (for a cached view): base_sb a stat of the
 * base, journal_sb of the journal or NULL when it is missing. */
bool view_same_files(const struct pj_view *v, const struct stat *base_sb, const struct stat *journal_sb);

/* The newest image: its header has the current parameters and next_slot. NULL for an empty view. */
const struct pj_store *view_top(const struct pj_view *v);

bool view_user_by_name(const struct pj_view *v, const char *name, struct pj_user_ref *out);
bool view_user_by_uid(const struct pj_view *v, uint32_t uid, struct pj_user_ref *out);
bool view_group_by_name(const struct pj_view *v, const char *name, struct pj_group_ref *out);
bool view_group_by_gid(const struct pj_view *v, uint32_t gid, struct pj_group_ref *out);
bool view_id_taken(const struct pj_view *v, uint32_t id);

/* Whether a user or group called name at level is replaced by a newer delta. */
bool view_shadowed(const struct pj_view *v, uint32_t level, const char *name);

/* Group members, in turn: *cursor starts at 0; returns false at the end. */
bool view_group_member(const struct pj_view *v, const struct pj_group_ref *g, uint64_t *cursor,
                       const char **name);

/* Enumeration, in turn (each name once): *cursor starts at 0; returns false at the end. */
bool view_user_next(const struct pj_view *v, uint64_t *cursor, struct pj_user_ref *out);
bool view_group_next(const struct pj_view *v, uint64_t *cursor, struct pj_group_ref *out);

/* store_preauth over the view. */
int view_preauth(const struct pj_view *v, const char *name, const char *passwd_path, const char *group_path,
                 uint32_t *uid, char *home, size_t homelen);

#endif
