/* mapping.h: a verified identity to a local user: binding, uid, groups, and the record in the user store. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_MAPPING_H
#define PAM_JWT_MAPPING_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config_file.h"
#include "error.h"
#include "log.h"
#include "userstore.h"
#include "verify.h"

#define PJ_GECOS_MAX 255 /* bytes kept of the "name" claim */

/* Where the local account files are. Production code passes NULL (meaning /etc/passwd and /etc/group);
 * only tests point elsewhere, and only through this argument (no environment variable). */
struct pj_local_files {
	const char *passwd; /* NULL: /etc/passwd */
	const char *group;  /* NULL: /etc/group */
};

/* After a successful authentication: maps id to a user and records it in the store (cfg->state_dir),
 * all under the store lock:
 *   - the username must pass the name rules and must not be a local account (/etc/passwd, /etc/group),
 *     ignoring case: sudo compares user and group names that way by default; nor may NSS resolve it to
 *     another uid (another source's account, LDAP, SSSD..., or a stale pre-auth answer) or to a group of
 *     another source (the private group has the name), at creation and at every login; nor may a new
 *     user's name equal a stored user's or managed group's, ignoring case;
 *   - a stored user bound to another (iss, sub) is refused and logged (account takeover through a renamed
 *     or re-created IdP account); an unbound stored user (pam-jwt user add / unbind) is bound now;
 *   - a new user gets the uid from uid_claim (within [uid_min, uid_max], not taken) or the hash of the
 *     name with a deterministic probe past collisions (logged); gid = uid (private group); home from
 *     home_template, shell default_shell; a stored user keeps its uid (a differing uid_claim is refused);
 *   - gecos from the "name" claim, sanitised (no ':', ',', control characters), refreshed every login;
 *   - groups: groups_allow-filtered, group_prefix'ed IdP groups become managed groups (gid = hash of the
 *     name, probed; never a name that equals, ignoring case, a local or another stored name, nor one
 *     another NSS source resolves); an IdP group named in group_map instead adds the local groups named
 *     there (never a gid-0 group; groups_allow does not apply to it); membership is replaced at every
 *     login; groups that cannot be used are skipped and logged;
 *   - last_login = now; the header parameters for the NSS module are refreshed from cfg;
 *   - the login record for the account step (login_record.h), when it changed.
 * Not root (a screen locker, su to oneself): only mapping_check_login(must_exist), nothing is written (the
 * store and its lock are root's).
 * Refusals: PJ_ERR_USER. Store trouble: PJ_ERR_SYSTEM / PJ_ERR_CONFIG. */
pj_status mapping_record_login(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                               const struct pj_log *log, struct pj_error *err);

/* The checks of mapping_record_login that need no write, on the store as it is on disk: the name rules, not
 * a local account, not another NSS source's account or group, and a stored user bound to the token's
 * identity (or unbound), with the same uid as a uid_claim. With must_exist the user must be stored and
 * bound already (a caller that cannot write: not root); without it a name the store does not have passes
 * when a first login could record it. pam-jwt verify and non-root PAM callers use it, so that their answer
 * is the module's. files as for mapping_record_login_files (NULL: /etc). */
pj_status mapping_check_login(const struct pj_config *cfg, const struct pj_identity *id, bool must_exist,
                              const struct pj_log *log, const struct pj_local_files *files,
                              struct pj_error *err);

/* The same with other local account files (tests). */
pj_status mapping_record_login_files(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                                     const struct pj_log *log, const struct pj_local_files *files,
                                     struct pj_error *err);

enum pj_acct {
	PJ_ACCT_OK,       /* a stored user whose last token login is within account_max_age (PAM_SUCCESS) */
	PJ_ACCT_EXPIRED,  /* a stored user whose last token login is older (PAM_ACCT_EXPIRED) */
	PJ_ACCT_NOT_OURS, /* not in the store, or no store at all (PAM_IGNORE) */
	PJ_ACCT_UID_MISMATCH, /* NSS in this process gives the user another uid than the store: a pre-auth
	                       * answer sshd got before the store changed, or another source (PAM_PERM_DENIED)
	                       */
};

/* For pam_sm_acct_mgmt: reads the store (no lock: it is replaced atomically) and sets *result.
 * account_max_age 0 means no limit. A user that never logged in with a token counts as last_login 0.
 * An untrusted or damaged store: PJ_ERR_CONFIG / PJ_ERR_SYSTEM and *result = PJ_ACCT_NOT_OURS. */
pj_status mapping_acct_check(const struct pj_config *cfg, const char *user, time_t now, enum pj_acct *result,
                             struct pj_error *err);

/* Adds an unbound user (pam-jwt user add): name rules, not a local account, not taken; uid 0 = computed
 * as a login would, else the given uid (within range, not taken). The first token login binds it. */
pj_status mapping_add_user(struct userstore *us, const char *name, uint32_t uid, const char *gecos,
                           time_t now, const struct pj_log *log, const struct pj_local_files *files,
                           struct us_user **out, struct pj_error *err);

/* Copies the "name" claim's value (inlen bytes, NULs included) into out (outlen bytes) without ':', ','
 * or control characters (C0, DEL and C1 U+0080..U+009F), at most PJ_GECOS_MAX bytes, never cutting a UTF-8
 * sequence. */
void mapping_sanitize_gecos(const char *in, size_t inlen, char *out, size_t outlen);

/* Releases the store view kept between logins (pam_jwt.so's unload: libpam unloads the module at pam_end,
 * and a long-running caller would otherwise lose the view's memory and mappings at every pam_start). */
void mapping_unload(void);

#endif
