/* last_login.h: the last-login file (state_dir/users.last), each user's last token login, updated in place.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_LAST_LOGIN_H
#define PAM_JWT_LAST_LOGIN_H

#include <stdint.h>

/* Why a side file: a returning login whose entry is unchanged must not rewrite the user store, yet
 * account_max_age needs its time. Each stored user owns a fixed 32-byte record at slot (pj_store_user.slot,
 * handed out once from the store header's next_slot and never reused), written in place with one pwrite and
 * no fsync: cheap and independent of the number of users (the utmp/lastlog way, with a checksum).
 *
 * Precision: the time of the last login to the second while the host runs. A crash or power loss can lose
 * the updates the kernel had not yet written back (vm.dirty_expire_centisecs, 30 s by default), so
 * account_max_age may then count from an earlier login: an account can expire at most that much early,
 * never late. The user store keeps its own last_login (the time of its last write for that user) as a floor.
 * A record whose uid, slot, creation time or checksum does not match is ignored (torn write, a slot of a
 * removed user, damage): the store's value is used then.
 *
 *   header  32 bytes: "PJWTLAST", version 1, PJ_STORE_ENDIAN_MARK, record size, zeros
 *   record  at 32 + slot * 32: uid, slot, created, last_login, FNV-1a 64 of the first 24 bytes
 *
 * The file is root-owned, not writable by group or others (checked after open, O_NOFOLLOW), in the trusted
 * state_dir, mode 0644. */

#define PJ_LAST_FILE "users.last"

/* Records when the user (slot, uid, created as in the store) last logged in. Creates the file if needed.
 * Returns 0, -EPERM (untrusted file or directory), or -errno. */
int last_login_put(const char *dir, uint32_t slot, uint32_t uid, int64_t created, int64_t when);

/* A reader of the last-login file: fd -1 when there is none (every lookup then says 0). */
struct pj_last {
	int fd;
};

/* Opens dir's last-login file for reading. Returns 0 (also when there is no file), -EPERM or -errno. */
int last_login_open(const char *dir, struct pj_last *lf);

/* The recorded last login of (slot, uid, created), or 0 when there is no valid record. */
int64_t last_login_get(const struct pj_last *lf, uint32_t slot, uint32_t uid, int64_t created);

void last_login_close(struct pj_last *lf);

#endif
