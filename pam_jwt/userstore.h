/* userstore.h: the writer side of the user store: load under a lock, change in memory, write atomically. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_USERSTORE_H
#define PAM_JWT_USERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config_file.h"
#include "store/store_journal.h"
#include "store/store_format.h"
#include "store/store_read.h"
#include "error.h"

/* A user as the writer holds it. Strings are malloc'd and owned by the store. */
struct us_user {
	char *name;
	char *gecos;
	char *home;
	char *shell;
	char *iss; /* "" = not bound: the next login binds whatever (iss, sub) it brings */
	char *sub;
	uint32_t uid;   /* gid = uid: the private group */
	uint32_t *gids; /* supplementary gids, sorted, unique */
	size_t n_gids;
	uint32_t slot; /* its record in the last-login file; 0 = none yet (given at the next write) */
	int64_t created;
	int64_t last_login; /* 0 = never; the later of the store's and the last-login file's */
};

/* A managed group (from the IdP). Private groups are implied by the users. */
struct us_group {
	char *name;
	uint32_t gid;
	bool stored; /* looked up in the store on disk (view mode): not written again */
};

/* The header parameters the NSS module needs, as the configuration gives them. */
struct us_params {
	uint32_t flags; /* PJ_STORE_F_* */
	uint32_t uid_min, uid_max;
	const char *home_template; /* owned by the configuration */
	const char *shell;
	const char *id_salt; /* "" = none */
	/* nss_preauth_programs, space-separated */
	char preauth_programs[PJ_STORE_PROGRAMS_MAX * (PJ_STORE_PROGRAM_LEN + 1)];
};

/* Two modes. Loaded (userstore_open): users and groups hold the whole store, and a commit writes a new
 * base (a fold, see store/store_journal.h). View (userstore_open_view, the login path): the store on disk
 * stays mapped (view); users and groups hold only what this run looked up or added, and a commit appends
 * them to the journal, or folds when the journal is full or the parameters changed. */
struct userstore {
	char *dir;
	int lock_fd; /* flock'd state_dir/users.lock, or -1 for a read-only load */
	bool view_mode;
	/* view mode: a lookup could not copy an entry of the view (out of memory) and answered "none": what
	 * was decided on that answer is wrong, so userstore_commit refuses */
	bool lookup_failed;
	struct pj_view view; /* view mode: the store on disk, as of taking the lock (unless borrowed) */
	struct pj_view *vp;  /* the view in use: &view, or the caller's (userstore_open_view) */
	uint32_t generation; /* the base's generation (0: none yet) */
	struct us_user *users;
	size_t n_users, cap_users;
	struct us_group *groups;
	size_t n_groups, cap_groups;
	/* the header parameters for the NSS module */
	uint32_t flags; /* PJ_STORE_F_* */
	uint32_t uid_min, uid_max;
	char *home_template;
	char *shell;
	char *id_salt; /* "" = none */
	char *preauth_programs;
	int64_t written;
	uint32_t next_slot; /* the next new user's last-login slot (1..) */
	size_t sync_end;    /* view mode: where the journal record just appended ends */
};

/* Opens the store in dir. With lock: creates dir (0755) if missing, checks it is trusted, takes an
 * exclusive flock on dir/users.lock (blocking: writers hold it only for a read-modify-write, no network)
 * and loads the store; the lock is held until userstore_close, so a read-modify-write never loses a
 * concurrent update. Without lock: loads only (for listing). A missing store is an empty one with the
 * default parameters. A damaged store is refused (PJ_ERR_SYSTEM) rather than overwritten, since starting
 * afresh would drop every (iss, sub) binding; an untrusted one is PJ_ERR_CONFIG. */
pj_status userstore_open(const char *dir, bool lock, struct userstore **out, struct pj_error *err);

/* Opens the store in dir for a login: takes the lock as userstore_open does, but maps the store (base and
 * journal) instead of loading it, so that the work of a change does not grow with the store. cache, when
 * not NULL, is a view the caller keeps between logins: it is brought up to date (view_refresh, which
 * validates only what changed) and used, and stays the caller's. */
pj_status userstore_open_view(const char *dir, struct pj_view *cache, struct userstore **out,
                              struct pj_error *err);

/* Releases the lock (if held) and frees everything. NULL is fine. */
void userstore_close(struct userstore *us);

/* The header parameters from the configuration: nss_preauth, whether any issuer has a uid_claim, uid range,
 * home template and shell (which are validated: PJ_ERR_CONFIG). */
pj_status userstore_params(const struct pj_config *cfg, struct us_params *p, struct pj_error *err);

/* Whether a store on disk already carries the parameters p. */
bool userstore_params_same(const struct pj_store *st, const struct us_params *p);

/* Refreshes the header parameters from the configuration (userstore_params). */
pj_status userstore_set_params(struct userstore *us, const struct pj_config *cfg, struct pj_error *err);

/* Serialises (see store_format.h) into a malloc'd buffer, validates the result with the reader's own
 * checks, and returns it. Refuses (PJ_ERR_SYSTEM) duplicate names or ids between users and groups. */
pj_status userstore_serialize(const struct userstore *us, int64_t now, unsigned char **data, size_t *len,
                              struct pj_error *err);

/* Writes the changes: loaded, a new base (dir/users.db, atomically, mode 0644: passwd data is public) and an
 * empty journal; view mode, one journal record, or the same fold when the journal is full, missing its base,
 * or the parameters changed. Requires the lock. A journal record is fdatasync'd after the lock is released
 * (group commit), so the userstore holds no lock afterwards. Returns only once the change is durable. */
pj_status userstore_commit(struct userstore *us, int64_t now, struct pj_error *err);

/* For a login that writes nothing because the entry found in view v (at level, see pj_user_ref) is current:
 * makes sure that entry is durable before the login succeeds, since it may be a record whose writer is
 * still syncing it (group commit, userstore.c). Usually one read of the durable mark; else a sync of the
 * journal and the directory. Errors: PJ_ERR_SYSTEM (the caller may take the writing path instead). */
pj_status userstore_durable(const char *dir, const struct pj_view *v, uint32_t level, struct pj_error *err);

/* Whether the durable mark alone says so (no sync): for tests and userstore_durable. */
bool userstore_known_durable(const char *dir, const struct pj_view *v, uint32_t level);

/* Lookups. In view mode what is found on disk is copied in (hence not const). */
struct us_user *userstore_user(struct userstore *us, const char *name);
struct us_user *userstore_user_by_uid(struct userstore *us, uint32_t uid);
struct us_group *userstore_group(struct userstore *us, const char *name);
struct us_group *userstore_group_by_gid(struct userstore *us, uint32_t gid);

/* Whether id is a stored user's uid (and so a private gid) or a managed group's gid. */
bool userstore_id_taken(const struct userstore *us, uint32_t id);

/* Whether a stored user or managed group has name, ignoring ASCII case. */
bool userstore_name_taken_nocase(const struct userstore *us, const char *name);

/* Adds a user with copies of the given strings (iss/sub NULL = unbound) and no groups. */
pj_status userstore_add_user(struct userstore *us, const char *name, uint32_t uid, const char *gecos,
                             const char *home, const char *shell, const char *iss, const char *sub,
                             int64_t created, struct us_user **out, struct pj_error *err);

/* Adds a managed group. */
pj_status userstore_add_group(struct userstore *us, const char *name, uint32_t gid, struct pj_error *err);

/* Removes a user; returns false when there is no such user. */
bool userstore_del_user(struct userstore *us, const char *name);

/* Replaces *field with a copy of value. */
pj_status userstore_set_string(char **field, const char *value, struct pj_error *err);

/* Sorts gids[0..n) and drops repeats; returns how many are left. */
size_t userstore_sort_gids(uint32_t *gids, size_t n);

/* Replaces the user's supplementary gids with gids[0..n) (sorted and deduplicated here). */
pj_status userstore_set_gids(struct us_user *u, const uint32_t *gids, size_t n, struct pj_error *err);

#endif
