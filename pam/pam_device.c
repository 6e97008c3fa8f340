/* pam_device.c: the device flow in pam_jwt.so: mode=, and struct pj_conv over the PAM conversation. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>

#include <security/pam_ext.h>

#include "pam_jwt/device_flow.h"
#include "pam_device.h"

bool pam_device_mode(const char *value, enum pam_jwt_mode *mode)
{
	if (value == NULL || strcmp(value, "token") == 0)
		*mode = PAM_JWT_MODE_TOKEN;
	else if (strcmp(value, "device") == 0)
		*mode = PAM_JWT_MODE_DEVICE;
	else if (strcmp(value, "auto") == 0)
		*mode = PAM_JWT_MODE_AUTO;
	else
		return false;
	return true;
}

const char *pam_device_prompt(enum pam_jwt_mode mode, const char *prompt, const char *default_prompt)
{
	if (mode == PAM_JWT_MODE_AUTO && strcmp(prompt, default_prompt) == 0)
		return PAM_JWT_AUTO_PROMPT;
	return prompt;
}

static int conv_prompt(void *arg, bool echo, const char *text, char **answer)
{
	*answer = NULL;
	if (pam_prompt((pam_handle_t *)arg, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, answer, "%s",
	               text) != PAM_SUCCESS)
		return -1;
	return *answer != NULL ? 0 : -1;
}

static void conv_info(void *arg, const char *text)
{
	pam_info((pam_handle_t *)arg, "%s", text);
}

pj_status pam_device_login(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *log,
                           const char *user, struct pj_identity *id, struct pj_error *err)
{
	struct pj_conv conv = {.prompt = conv_prompt, .info = conv_info, .arg = pamh};
	struct pj_device_opts opts = {.ask_enter = true, .user = user};
	const struct pj_issuer *iss = pj_device_issuer(cfg);
	const void *service = NULL;
	pj_status r;

	if (pam_get_item(pamh, PAM_SERVICE, &service) == PAM_SUCCESS)
		opts.service = service;
	memset(id, 0, sizeof(*id));
	if (iss == NULL)
		return pj_fail(err, PJ_ERR_CONFIG,
		               "%s: mode=device|auto needs an issuer with device_client_id", cfg->path);
	pj_logf(log, LOG_INFO, "device flow sign-in for %s with issuer %s", user, iss->name);
	r = pj_device_login(cfg, iss, &conv, &opts, log, user, id, NULL, err);
	/* ignore_non_jwt passes on what the person typed (a password) with PAM_IGNORE; an IdP's answer that
	 * is not a JWT is no such thing, but a failed sign-in */
	return r == PJ_ERR_NOT_JWT ? PJ_ERR_TOKEN : r;
}
