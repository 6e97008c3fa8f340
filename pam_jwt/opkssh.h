/* opkssh.h: an opkssh certificate to a login decision: certificate rules, PK Token, identity, service rules.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_OPKSSH_H
#define PAM_JWT_OPKSSH_H

#include <stdbool.h>
#include <time.h>

#include "config_file.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "sshcert.h"

#define OPKSSH_PKT_EXTENSION "openpubkey-pkt"
/* The principal opkssh puts in certificates made without -i: OpenSSH 10.3 no longer takes a certificate
 * with no principals as valid for every user, so opkssh names this one and the AuthorizedKeysCommand's
 * principals="opkssh-wildcard" lets sshd match it. */
#define OPKSSH_WILDCARD "opkssh-wildcard"

/* What an accepted certificate stands for. */
struct opkssh_login {
	struct sshcert cert;
	struct pj_identity id;
	const char *principal; /* for principals="...": user or OPKSSH_WILDCARD; NULL: none (empty list) */
};

/* Decides whether the certificate sshd offers (type = %t, b64 = %k) logs user in, by pam_jwt's rules:
 *   - an ecdsa-sha2-nistp256, ssh-ed25519 or ssh-rsa user certificate (sshcert.h), self-signed by its own
 *     key as opkssh makes them, with an openpubkey-pkt extension (a host certificate, a CA-signed one or one
 *     without the extension is refused);
 *   - principals: user, or opkssh-wildcard, or none at all (valid for everyone before OpenSSH 10.3); a
 *     certificate restricted to other principals only is refused;
 *   - the PK Token verified for the certificate's key (pktoken.h);
 *   - the identity as for a token login: username claim and transforms equal to user, not root nor a
 *     system account (pj_map_identity) and the [service NAME] rules (NAME = service, may be NULL).
 * The account rules are the caller's, as for a token login (mapping.h): pam-jwt authorized-keys checks them
 * read-only (mapping_check_login), the PAM session step records the login (mapping_record_login).
 * On success out->id is verified. On refusal out->id holds what was seen (for the log).
 * Refusals: PJ_ERR_TOKEN (certificate or PK Token), PJ_ERR_USER (identity), others as for tokens. */
pj_status opkssh_check(const struct pj_config *cfg, const struct pj_log *log, const char *type,
                       const char *b64, const char *user, const char *service, time_t now,
                       struct opkssh_login *out, struct pj_error *err);

/* The authorized_keys line that lets sshd itself check the certificate's signature and the client's
 * possession of its key: cert-authority,principals="P" TYPE BASE64 (the certificate's own signature key).
 * malloc'd; NULL when out of memory. */
char *opkssh_authorized_keys_line(const struct opkssh_login *l);

void opkssh_login_free(struct opkssh_login *l);

#endif
