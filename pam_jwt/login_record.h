/* login_record.h: what a user's last token login said that [service] rules look at, for the account step. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_LOGIN_RECORD_H
#define PAM_JWT_LOGIN_RECORD_H

#include <stdbool.h>

#include "config_file.h"
#include "error.h"
#include "identity.h"

#define PJ_LOGIN_RECORD_DIR "logins"     /* under state_dir */
#define PJ_LOGIN_RECORD_MAX (256 * 1024) /* bytes of one record */

/* Service rules run when a token authenticates; a user who logs in another way (a key installed with ssh, a
 * password another module checks) would pass none of them. So every token login keeps, in
 * state_dir/logins/USER (root's, 0644, written atomically and only when it changed), the issuer section's
 * name, the user's IdP groups and the top-level claims that a require_claim of any [service] section names;
 * the account step applies the service's rules to that (login_record_get). A claim a rule names only after
 * the user's last token login is missing until the next one: such a rule then fails (closed). */
pj_status login_record_put(const struct pj_config *cfg, const struct pj_identity *id, struct pj_error *err);

/* Fills *id (zeroed; free with pj_identity_free) from user's record: verified, issuer (the section of that
 * name: PJ_ERR_USER when it is gone), username, groups and the recorded claims. No record (the user never
 * logged in with a token since records were kept): PJ_ERR_USER saying so. An untrusted or damaged record:
 * PJ_ERR_CONFIG / PJ_ERR_SYSTEM. */
pj_status login_record_get(const struct pj_config *cfg, const char *user, struct pj_identity *id,
                           struct pj_error *err);

/* Removes user's record from state_dir (pam-jwt user del and unbind: a later account of that name, or the
 * next identity bound to it, must not inherit the last one's groups and claims). A missing record is fine.
 * Returns PJ_OK or PJ_ERR_SYSTEM. */
pj_status login_record_remove(const char *state_dir, const char *user, struct pj_error *err);

#endif
