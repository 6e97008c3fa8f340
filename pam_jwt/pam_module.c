/* pam_module.c: pam_jwt.so, the PAM entry points; verification itself is pj_verify in the internal library. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "config_file.h"
#include "keystore.h"
#include "log.h"
#include "verify.h"

#define DEFAULT_PROMPT "JWT: "

struct module_args {
	const char *config;
	const char *prompt;
	bool debug;
	bool try_first_pass;
	bool use_first_pass;
	bool ignore_non_jwt;
};

enum arg_kind { ARG_FLAG, ARG_VALUE };

/* The module arguments, one row each: name, kind, where it goes. */
static const struct arg_spec {
	const char *name;
	enum arg_kind kind;
	size_t offset;
} arg_table[] = {
	{"config", ARG_VALUE, offsetof(struct module_args, config)},
	{"prompt", ARG_VALUE, offsetof(struct module_args, prompt)},
	{"debug", ARG_FLAG, offsetof(struct module_args, debug)},
	{"try_first_pass", ARG_FLAG, offsetof(struct module_args, try_first_pass)},
	{"use_first_pass", ARG_FLAG, offsetof(struct module_args, use_first_pass)},
	{"ignore_non_jwt", ARG_FLAG, offsetof(struct module_args, ignore_non_jwt)},
};

static void emit_syslog(void *arg, int priority, const char *message)
{
	pam_syslog((pam_handle_t *)arg, priority, "%s", message);
}

/* Returns false when an argument is unknown or malformed; every such argument is logged at LOG_ERR. */
static bool parse_args(pam_handle_t *pamh, int argc, const char **argv, struct module_args *args)
{
	bool good = true;

	memset(args, 0, sizeof(*args));
	args->config = PJ_DEFAULT_CONFIG;
	args->prompt = DEFAULT_PROMPT;
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t namelen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		const struct arg_spec *spec = NULL;

		for (size_t j = 0; j < sizeof(arg_table) / sizeof(arg_table[0]); j++)
			if (strlen(arg_table[j].name) == namelen && strncmp(argv[i], arg_table[j].name, namelen) == 0)
				spec = &arg_table[j];
		if (spec == NULL || (spec->kind == ARG_VALUE) != (eq != NULL)) {
			pam_syslog(pamh, LOG_ERR, "unknown or malformed module argument: %s", argv[i]);
			good = false;
			continue;
		}
		if (spec->kind == ARG_FLAG)
			*(bool *)((char *)args + spec->offset) = true;
		else
			*(const char **)((char *)args + spec->offset) = eq + 1;
	}
	return good;
}

static int pam_code(pj_status status, const struct module_args *args)
{
	switch (status) {
	case PJ_OK: return PAM_SUCCESS;
	case PJ_ERR_NOT_JWT: return args->ignore_non_jwt ? PAM_IGNORE : PAM_AUTH_ERR;
	case PJ_ERR_TOKEN:
	case PJ_ERR_USER: return PAM_AUTH_ERR;
	case PJ_ERR_NO_KEYS: return PAM_AUTHINFO_UNAVAIL;
	case PJ_ERR_CONFIG: return PAM_SERVICE_ERR;
	case PJ_ERR_NOMEM: return PAM_BUF_ERR;
	case PJ_ERR_SYSTEM: return PAM_SYSTEM_ERR;
	}
	return PAM_AUTH_ERR;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Gets the token: PAM_AUTHTOK under use_first_pass (required) or try_first_pass (if set), else a prompt
 * with echo off. A prompted answer is stored as PAM_AUTHTOK so a password typed here can pass on to
 * pam_unix with try_first_pass when ignore_non_jwt lets it through. */
static int get_token(pam_handle_t *pamh, const struct module_args *args, char **token)
{
	const void *item = NULL;
	char *resp = NULL;
	int rc;

	*token = NULL;
	if (args->use_first_pass || args->try_first_pass) {
		rc = pam_get_item(pamh, PAM_AUTHTOK, &item);
		if (rc == PAM_SUCCESS && item != NULL) {
			if ((*token = strdup(item)) == NULL)
				return PAM_BUF_ERR;
			return PAM_SUCCESS;
		}
		if (args->use_first_pass) {
			pam_syslog(pamh, LOG_NOTICE, "use_first_pass: no token from an earlier module");
			return PAM_AUTH_ERR;
		}
	}
	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", args->prompt);
	if (rc != PAM_SUCCESS)
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	if (resp == NULL)
		return PAM_AUTH_ERR;
	if ((rc = pam_set_item(pamh, PAM_AUTHTOK, resp)) != PAM_SUCCESS) {
		free_secret(resp);
		return rc;
	}
	*token = resp;
	return PAM_SUCCESS;
}

/* A refusal at exactly the length where a known client cuts answers short names the likely cause. */
static void hint_truncation(const struct pj_log *log, pj_status status, size_t len)
{
	if (status != PJ_ERR_TOKEN)
		return;
	if (len == 511)
		pj_logf(log, LOG_NOTICE, "the token is exactly 511 bytes: probably cut off by sudo's 512-byte reply "
					 "limit; use pam-jwt-askpass (SUDO_ASKPASS) to send it in parts");
	else if (len == 1023)
		pj_logf(log, LOG_NOTICE, "the token is exactly 1023 bytes: probably cut off by the OpenSSH client's "
					 "1024-byte buffer; use pam-jwt-askpass (SSH_ASKPASS) to send it in parts");
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module_args args;
	struct pj_log log = {.emit = emit_syslog, .arg = pamh};
	struct pj_config *cfg = NULL;
	struct pj_identity id;
	struct pj_error err;
	const char *user = NULL;
	char *token = NULL;
	pj_status status = PJ_ERR_SYSTEM;
	int rc;

	memset(&id, 0, sizeof(id));
	if (!parse_args(pamh, argc, argv, &args)) {
		rc = PAM_SERVICE_ERR;
		goto out;
	}
	log.debug = args.debug;
	if ((status = config_load(args.config, &cfg, &err)) != PJ_OK) {
		pam_syslog(pamh, LOG_ERR, "%s", err.reason);
		rc = pam_code(status, &args);
		goto out;
	}
	if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL || *user == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "cannot determine the user name");
		rc = (rc == PAM_SUCCESS) ? PAM_USER_UNKNOWN : rc;
		goto out;
	}
	if ((rc = get_token(pamh, &args, &token)) != PAM_SUCCESS)
		goto out;
	status = pj_verify(cfg, &log, token, strlen(token), user, time(NULL), &id, &err);
	pj_log_outcome(&log, &id, status, &err, user);
	hint_truncation(&log, status, strlen(token));
	rc = pam_code(status, &args);
out:
	free_secret(token);
	pj_identity_free(&id);
	config_free(cfg);
	/* Fail closed: nothing but an accepted token (or a documented PAM_IGNORE) may come out as success. */
	if (rc == PAM_SUCCESS && status != PJ_OK)
		rc = PAM_AUTH_ERR;
	return rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* Accounts are not managed yet: leave the decision to the other modules. */
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_SUCCESS;
}
