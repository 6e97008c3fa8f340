/* pam_opkssh.c: pam_jwt's session step for opkssh certificates: verify again as root, record the login. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Why the session step. sshd runs AuthorizedKeysCommand unprivileged, so `pam-jwt authorized-keys` can
 * decide but not write the user store; a never-seen user resolves before that through nss_preauth (the
 * same uid the store will give). Public-key logins never reach PAM's auth step. The account step runs as
 * root after sshd checked the key, but OpenSSH (9.2, sshd's monitor_child_preauth) calls it before it
 * records which key authenticated the user: SSH_AUTH_INFO_0 is still empty there (tested). sshd's
 * expose_authinfo fills it again before pam_open_session, in the root monitor, with one
 * "publickey TYPE BASE64" line per key that authenticated the user (ExposeAuthInfo only controls the
 * session's own SSH_USER_AUTH file), and the session's initgroups runs later in the child, so groups
 * recorded here are the ones the shell gets.
 * What this cannot close: sshd 9.2 does not end a connection whose PAM session fails; it only restricts
 * the session (no pty, no forwarding) and still runs the command. So everything that can refuse is checked
 * first by pam-jwt authorized-keys (the same opkssh_check, and mapping_record_login's checks read-only),
 * and a refusal here is left to the short time between the two checks: the PK Token running out, or a
 * concurrent first login of the same name by another (iss, sub); both are logged. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_ext.h>

#include "pam_jwt/mapping.h"
#include "pam_jwt/opkssh.h"
#include "pam_jwt/verify.h"
#include "pam_opkssh.h"

#define AUTH_INFO_MAX (256 * 1024) /* bytes of SSH_AUTH_INFO_0 looked at */

/* The next "publickey TYPE BASE64" line whose TYPE is a certificate; *type and *b64 point into line (cut
 * in place). NULL when none is left. */
static char *next_cert_line(char **cursor, char **type, char **b64)
{
	char *line, *sp;

	while ((line = strsep(cursor, "\n")) != NULL) {
		if (strncmp(line, "publickey ", 10) != 0)
			continue;
		*type = line + 10;
		if ((sp = strchr(*type, ' ')) == NULL)
			continue;
		*sp = '\0';
		*b64 = sp + 1;
		if ((sp = strchr(*b64, ' ')) != NULL)
			*sp = '\0';
		if (strstr(*type, "-cert-v01@openssh.com") != NULL)
			return line;
	}
	return NULL;
}

/* Only certificates that carry a PK Token are ours: a CA-signed certificate is left to sshd and the other
 * modules. */
static bool carries_pkt(const char *type, const char *b64)
{
	struct sshcert c;
	struct pj_error e;
	bool yes;

	yes = sshcert_parse_text(type, b64, &c, &e) == PJ_OK &&
	      sshcert_extension(&c, OPKSSH_PKT_EXTENSION) != NULL;
	sshcert_free(&c);
	return yes;
}

int pam_opkssh_session(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *log,
                       const char *user, const char *service, bool *handled, struct pj_identity *accepted)
{
	const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	struct opkssh_login login;
	struct pj_error err;
	char *copy = NULL, *cursor, *type, *b64;
	pj_status status = PJ_ERR_SYSTEM;
	time_t now = time(NULL);
	int rc = PAM_SUCCESS;

	*handled = false;
	memset(&login, 0, sizeof(login));
	if (info == NULL)
		return PAM_SUCCESS;
	/* the caller saw a certificate in it: one that is not read is not let through unchecked */
	if (strnlen(info, AUTH_INFO_MAX + 1) > AUTH_INFO_MAX) {
		*handled = true;
		pj_logf(
		    log, LOG_NOTICE,
		    "opkssh certificate for %s at the session step: refused: SSH_AUTH_INFO_0 is longer than "
		    "%d bytes",
		    user, AUTH_INFO_MAX);
		return PAM_SESSION_ERR;
	}
	if ((cursor = copy = strdup(info)) == NULL)
		return PAM_BUF_ERR;
	while (next_cert_line(&cursor, &type, &b64) != NULL) {
		if (!carries_pkt(type, b64))
			continue;
		/* Every opkssh certificate that authenticated the user must pass; fail closed on the first
		 * refusal. */
		*handled = true;
		status = opkssh_check(cfg, log, type, b64, user, service, now, &login, &err);
		if (status == PJ_OK)
			status = mapping_record_login(cfg, &login.id, now, log, &err);
		pj_logf(log, status == PJ_OK ? LOG_INFO : LOG_NOTICE,
		        "opkssh certificate for %s at the session step: %s", user,
		        status == PJ_OK ? "accepted, login recorded" : "refused");
		pj_log_outcome(log, &login.id, status, &err, user);
		if (status == PJ_OK) {
			pj_identity_free(accepted);
			*accepted = login.id;
			memset(&login.id, 0, sizeof(login.id));
		}
		opkssh_login_free(&login);
		if (status != PJ_OK) {
			rc = status == PJ_ERR_NOMEM ? PAM_BUF_ERR : PAM_SESSION_ERR;
			break;
		}
	}
	free(copy);
	return rc;
}
