/* device_flow.h: logging in without a token at hand: the OAuth 2.0 device authorization grant (RFC 8628). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_DEVICE_FLOW_H
#define PAM_JWT_DEVICE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "config_file.h"
#include "error.h"
#include "log.h"
#include "verify.h"

#define DEVICE_CODE_MAX         1024 /* bytes of device_code accepted from the IdP */
#define DEVICE_USER_CODE_MAX    64
#define DEVICE_URI_MAX          512 /* verification_uri(_complete) */
#define DEVICE_SECRET_MAX       1024
#define DEVICE_INTERVAL_DEFAULT 5 /* RFC 8628 section 3.2: when the IdP names none */
#define DEVICE_SLOW_DOWN        5 /* RFC 8628 section 3.5: added to the interval on slow_down */

/* How the flow talks to the person: the PAM conversation in the module, the terminal in pam-jwt login. */
struct pj_conv {
	/* Asks text and waits for an answer (*answer malloc'd, may be empty). Returns 0, or -1 when the
	 * conversation failed (no answer, hang-up). */
	int (*prompt)(void *arg, bool echo, const char *text, char **answer);
	/* Shows text (no answer). */
	void (*info)(void *arg, const char *text);
	void *arg;
};

struct pj_device_opts {
	/* true: the instructions are the text of a "press Enter when you have approved" prompt, polling
	 * starts after the answer (OpenSSH shows informational messages only together with a prompt); false:
	 * they are shown with info and polling starts at once (pam-jwt login). */
	bool ask_enter;
	/* A DPoP key (RFC 9449): every token request carries a proof signed with it (htm POST, htu the token
	 * endpoint, the server's DPoP-Nonce once it names one: a use_dpop_nonce answer is retried at once, at
	 * most PJ_DEVICE_DPOP_RETRIES times in a row), so the IdP binds the token to it (cnf.jkt). NULL:
	 * none. */
	EVP_PKEY *dpop_key;
	/* What the sign-in is for, named in the instructions so that whoever approves it can tell a phishing
	 * relay from their own login (RFC 8628 5.4): this host, the PAM service (or program) and the user
	 * logging in. NULL: not named (host: this host's name is looked up). */
	const char *host;
	const char *service;
	const char *user;
};

#define PJ_DEVICE_DPOP_RETRIES 3

/* The issuer the module uses for the device flow: the first with device_client_id, or NULL. */
const struct pj_issuer *pj_device_issuer(const struct pj_config *cfg);

/* Runs the flow for issuer iss: discovery (device_authorization_endpoint and token_endpoint, https, the
 * issuer's TLS rules and limits), the device authorization request (client_id, scope, resource, audience;
 * the client secret from device_client_secret_file, a root-owned file readable by root only, as HTTP Basic
 * authentication), the instructions with the verification URI, the user code and a QR code of
 * verification_uri_complete, then polling of the token endpoint: never sooner than the interval after the
 * previous request, slow_down adding 5 s, authorization_pending waiting, access_denied and expired_token
 * ending it, and nothing later than expires_in or device_timeout after the start, whichever comes first.
 * *token (malloc'd) is the ID token, or the access token when device_resource or device_audience is set.
 * Neither code is ever logged. Refusals: PJ_ERR_USER (denied), PJ_ERR_TOKEN (expired, timed out, bad
 * answer), PJ_ERR_NO_KEYS (IdP unreachable or failing), PJ_ERR_CONFIG (client refused, bad secret file). */
pj_status pj_device_obtain(const struct pj_config *cfg, const struct pj_issuer *iss,
                           const struct pj_conv *conv, const struct pj_device_opts *opts,
                           const struct pj_log *log, char **token, struct pj_error *err);

/* The checks the device flow adds after pj_verify on its own token: an ID token's aud holds the
 * device_client_id and, when aud has several values, azp equals it (OIDC Core 3.1.3.7); the token's issuer
 * is iss. For an access token nothing beyond pj_verify. Refusals: PJ_ERR_TOKEN. */
pj_status pj_device_check(const struct pj_issuer *iss, const struct pj_identity *id, struct pj_error *err);

/* pj_device_obtain, then pj_verify (exactly as for a pasted token, with pam_user) and pj_device_check.
 * When the person approved as another account than pam_user, conv->info says the sign-in was for another
 * account without naming the one that approved (the terminal is not authenticated: it could be a relay
 * fishing for account names), the log names it, and the result is PJ_ERR_USER. *token_out (may be NULL)
 * receives the verified token for the caller to keep (malloc'd). */
pj_status pj_device_login(const struct pj_config *cfg, const struct pj_issuer *iss,
                          const struct pj_conv *conv, const struct pj_device_opts *opts,
                          const struct pj_log *log, const char *pam_user, struct pj_identity *id,
                          char **token_out, struct pj_error *err);

/* application/x-www-form-urlencoded value encoding (unreserved characters kept, the rest %XX) appended to
 * *buf (malloc'd, grown). Exposed for the tests. */
pj_status pj_form_append(char **buf, const char *name, const char *value, struct pj_error *err);

#endif
