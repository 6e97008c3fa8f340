/* SPDX-License-Identifier: BSD-3-Clause */
/* store_format.h: the on-disk layout of the user store (state_dir/users.db), shared by writer and NSS reader.
 *
 * The base file, replaced as a whole (temp file, fsync, rename) under flock(state_dir/users.lock), read with
 * mmap, and extended by the journal (store_journal.h): changes are appended there and folded into a new base
 * when the journal passes its bound.
 * All integers are in host byte order (the file never leaves the host); the magic and version say so.
 *
 *   header   struct pj_store_header, at offset 0
 *   users    struct pj_store_user[n_users], sorted by name (strcmp), names unique
 *   uidx     uint32_t[n_users]: indexes into users, sorted by uid, uids unique
 *   groups   struct pj_store_group[n_groups], sorted by name, names unique: every user's private group
 *            (gid = uid, name = user name, no members) and the managed groups from the IdP
 *   gidx     uint32_t[n_groups]: indexes into groups, sorted by gid, gids unique
 *   ids      uint32_t[n_ids]: each user's supplementary gids (managed and mapped local groups) and each
 *            group's members (indexes into users), as slices (first, count)
 *   strings  NUL-terminated strings; a string is named by its byte offset into this area, and the area
 *            ends with a NUL so that every valid offset has a terminator
 *
 * Sections are 8-byte aligned and lie wholly inside the file. The checksum is FNV-1a 64 over the whole
 * file with the checksum field read as zero: it catches accidental damage (the file is root-owned and
 * replaced atomically, so damage means a disk or a human). The reader validates everything anyway, so a
 * damaged file is refused, never crashed on.
 *
 * Lookups are binary searches: by name in users/groups, by id through uidx/gidx: O(log n). */
#ifndef PAM_JWT_STORE_FORMAT_H
#define PAM_JWT_STORE_FORMAT_H

#include <stdint.h>

#define PJ_STORE_FILE        "users.db"
#define PJ_STORE_LOCK        "users.lock"
#define PJ_STORE_MAGIC       "PJWTUSR\n"
#define PJ_STORE_MAGIC_LEN   8
#define PJ_STORE_VERSION     3u /* 3: id_salt; 2: user slots for the last-login file; 1 and 2 still read */
#define PJ_STORE_VERSION_2   2u
#define PJ_STORE_VERSION_1   1u
#define PJ_STORE_ENDIAN_MARK 0x01020304u /* reads differently on a host of the other byte order */

#define PJ_STORE_MAX_SIZE   (256u * 1024 * 1024)
#define PJ_STORE_MAX_USERS  1000000u
#define PJ_STORE_MAX_GROUPS 2000000u /* private groups included */
#define PJ_STORE_MAX_STRING 4096u    /* longest string (iss, sub, gecos, home) */

/* header flags */
#define PJ_STORE_F_PREAUTH   0x1u /* nss_preauth = yes */
#define PJ_STORE_F_UID_CLAIM 0x2u /* some issuer takes uids from a claim: pre-auth could not predict them */

#define PJ_STORE_PREAUTH_PROGRAMS "sshd sshd-session" /* the default of nss_preauth_programs */
#define PJ_STORE_PROGRAMS_MAX     16                  /* at most 16 names... */
#define PJ_STORE_PROGRAM_LEN      15                  /* ...of at most 15 bytes (TASK_COMM_LEN - 1) */

/* users.checked: which version of users.db a root process of the library has validated whole. A reader whose
 * users.db is that very file (device, inode, size, mtime, ctime and the header's checksum all equal; the
 * file is root-owned and only ever replaced by rename, so any change moves its inode or ctime) skips the
 * whole-file validation, which grows with the number of users (45 ms at 100,000 in every fresh process,
 * so in every SSH connection), and keeps only the header's bounds checks. It is a cache, never a source of
 * trust: missing, damaged, untrusted or stale, the reader validates the whole file as before. */
#define PJ_STORE_CHECKED_FILE "users.checked"
#define PJ_STORE_CHECKED_MAGIC                                                                               \
	0x31444b4843574a50ULL /* "PJWCHKD1" read little-endian; struct pj_store_checked */

/* group flags */
#define PJ_STORE_G_PRIVATE 0x1u /* a user's private group */

struct pj_store_header {
	char magic[PJ_STORE_MAGIC_LEN];
	uint32_t version;
	uint32_t endian;      /* PJ_STORE_ENDIAN_MARK */
	uint32_t header_size; /* sizeof(struct pj_store_header) */
	uint32_t flags;
	uint64_t file_size; /* must equal the file's size */
	uint64_t checksum;
	int64_t written; /* time of the write, for pam-jwt user list */
	/* parameters the NSS module needs but cannot read from pam_jwt.conf (refreshed at every write) */
	uint32_t uid_min;
	uint32_t uid_max;
	uint32_t home_template; /* string */
	uint32_t shell;         /* string */
	/* sections: byte offsets from the start of the file, and counts */
	uint32_t users_off;
	uint32_t n_users;
	uint32_t uidx_off;
	uint32_t groups_off;
	uint32_t n_groups;
	uint32_t gidx_off;
	uint32_t ids_off;
	uint32_t n_ids;
	uint32_t strings_off;
	uint32_t strings_len;
	uint32_t next_slot;  /* the slot the next new user gets (last_login.h); 0 in version 1 */
	uint32_t id_salt;    /* string: the configuration's id_salt ("" = none; always "" before version 3) */
	uint32_t generation; /* counts the base files written (0 before version 3 and in journal deltas): the
	                      * journal names the base it extends (store_journal.h) */
	uint32_t preauth_programs; /* string: the programs (by /proc/self/comm) given pre-auth entries, space-
	                              separated; "" = sshd sshd-session (always "" before version 3) */
	uint32_t reserved[2];      /* zero */
};

struct pj_store_user {
	uint32_t name;  /* string: the username */
	uint32_t uid;   /* gid = uid (the private group) */
	uint32_t gecos; /* string, sanitised */
	uint32_t home;  /* string */
	uint32_t shell; /* string */
	uint32_t iss;   /* string: the bound identity's issuer; "" = not bound (pam-jwt user add/unbind) */
	uint32_t sub;   /* string: the bound identity's subject */
	uint32_t gids_first; /* supplementary gids: ids[gids_first .. gids_first + n_gids) */
	uint32_t n_gids;
	uint32_t slot; /* its record in the last-login file (last_login.h): 1.. < next_slot, 0 = none (v1) */
	int64_t created;
	int64_t last_login; /* last token login when the store was last written; 0 = never. The last-login
	                     * file holds later ones: see last_login.h */
};

struct pj_store_group {
	uint32_t name; /* string */
	uint32_t gid;
	uint32_t members_first; /* member users: ids[members_first .. + n_members) are indexes into users */
	uint32_t n_members;
	uint32_t flags; /* PJ_STORE_G_* */
	uint32_t reserved;
};

_Static_assert(sizeof(struct pj_store_header) == 128, "store header layout");
_Static_assert(sizeof(struct pj_store_user) == 56, "store user layout");
_Static_assert(sizeof(struct pj_store_group) == 24, "store group layout");

#endif
