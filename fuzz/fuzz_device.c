/* fuzz_device.c: libFuzzer target for the device flow's handling of the IdP's answers (RFC 8628). */
/* SPDX-License-Identifier: BSD-3-Clause */
/* pj_device_obtain runs whole against answers taken from the input instead of the network: the HTTPS
 * client (https.c) is replaced here, so discovery, the device authorization answer and the token
 * endpoint's answers (authorization_pending, slow_down, errors, the token) are all fuzzer data. Input:
 * parts separated by NUL bytes: the discovery document, then per POST one byte choosing the status (its
 * value mod 4: 200, 400, 401, 503; the seeds use '0'..'3') followed by the body; at most MAX_ANSWERS. Waiting
 * between polls is skipped (clock_nanosleep is replaced too: the deadline stays the real clock's). Checked:
 * no crash, no leak, and a success only with a token that is one of the answers' id_token values. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/device_flow.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/error.h"
#include "pam_jwt/https.h"
#include "pam_jwt/https_url.h"
#include "pam_jwt/json_strict.h"
#include "pam_jwt/verify.h"

#define MAX_ANSWERS 8

static const char config_text[] = "[issuer idp]\n"
                                  "issuer = https://idp.example\n"
                                  "audience = pam-host\n"
                                  "jwks_file = /nonexistent/jwks.json\n"
                                  "device_client_id = pam-host\n"
                                  "device_timeout = 600\n";
static struct pj_config *cfg;

/* the answers of the current input */
static const uint8_t *parts[MAX_ANSWERS + 1];
static size_t part_len[MAX_ANSWERS + 1], n_parts, next_part;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pj_error err = {0};

	(void)argc;
	(void)argv;
	if (config_parse("fuzz.conf", config_text, sizeof(config_text) - 1, &cfg, &err) != PJ_OK) {
		fprintf(stderr, "fuzz_device: the configuration: %s\n", err.reason);
		abort();
	}
	return 0;
}

/* ---- the network, replaced ---- */

void https_opts_init(struct https_opts *o, const struct pj_issuer *iss)
{
	memset(o, 0, sizeof(*o));
	o->timeout = 5;
	o->max_body = 1024 * 1024;
	o->allow_http_loopback = iss->insecure_allow_http_loopback;
}

void https_body_free(struct https_body *b)
{
	free(b->data);
	b->data = NULL;
}

pj_status https_url_check(const char *url, bool allow_http_loopback, struct pj_error *err)
{
	if (!https_url_allowed(url, allow_http_loopback))
		return pj_fail(err, PJ_ERR_NO_KEYS, "URL refused");
	return PJ_OK;
}

/* The next part as a body, or a network failure when the input has no more. */
static pj_status answer(struct https_body *out, size_t skip, struct pj_error *err)
{
	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	if (next_part >= n_parts || part_len[next_part] < skip)
		return pj_fail(err, PJ_ERR_NO_KEYS, "connection refused (no more answers)");
	if ((out->data = malloc(part_len[next_part] - skip + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	memcpy(out->data, parts[next_part] + skip, part_len[next_part] - skip);
	out->len = part_len[next_part] - skip;
	out->data[out->len] = '\0';
	next_part++;
	return PJ_OK;
}

pj_status https_get(const struct https_opts *o, const char *url, struct https_body *out, struct pj_error *err)
{
	(void)o;
	(void)url;
	return answer(out, 0, err);
}

pj_status https_post_form(const struct https_opts *o, const char *url, const char *form,
                          const char *authorization, long *status, struct https_body *out,
                          struct pj_error *err)
{
	static const long statuses[] = {200, 400, 401, 503};

	(void)o;
	(void)url;
	(void)form;
	(void)authorization;
	if (next_part >= n_parts || part_len[next_part] < 1)
		return pj_fail(err, PJ_ERR_NO_KEYS, "connection refused (no more answers)");
	*status = statuses[parts[next_part][0] % 4];
	if (*status == 503) { /* https.c fails every status but 200, 400 and 401 */
		next_part++;
		return pj_fail(err, PJ_ERR_NO_KEYS, "HTTP 503");
	}
	return answer(out, 1, err);
}

/* never called: no DPoP key, and pj_device_login is not run */
pj_status dpop_proof_make(EVP_PKEY *key, const char *htm, const char *htu, const char *nonce,
                          const char *token, size_t token_len, time_t now, char **proof, struct pj_error *err)
{
	(void)key, (void)htm, (void)htu, (void)nonce, (void)token, (void)token_len, (void)now, (void)proof;
	(void)err;
	abort();
}

pj_status pj_verify(const struct pj_config *c, const struct pj_log *log, const char *token, size_t len,
                    const char *pam_user, time_t now, struct pj_identity *id, struct pj_error *err)
{
	(void)c, (void)token, (void)len, (void)pam_user, (void)now, (void)log, (void)id, (void)err;
	abort();
}

/* the polling interval is not waited for: the input decides how many polls there are */
int clock_nanosleep(clockid_t clock, int flags, const struct timespec *t, struct timespec *rem)
{
	(void)clock, (void)flags, (void)t, (void)rem;
	return 0;
}

/* ---- the person at the terminal ---- */

static int prompt(void *arg, bool echo, const char *text, char **answer_out)
{
	(void)arg, (void)echo, (void)text;
	return (*answer_out = strdup("")) != NULL ? 0 : -1;
}

static void info(void *arg, const char *text)
{
	(void)arg, (void)text;
}

/* Whether token is the id_token of one of the POST answers, as their JSON says it (escapes decoded). */
static bool token_answered(const char *token)
{
	bool found = false;

	for (size_t i = 1; i < n_parts && !found; i++) {
		struct pj_error err = {0};
		json_object *doc = NULL;
		const char *s;
		size_t len;

		if (part_len[i] < 1 ||
		    json_strict_parse_object((const char *)parts[i] + 1, part_len[i] - 1,
		                             JSON_STRICT_DEFAULT_DEPTH, &doc, &err) != PJ_OK)
			continue;
		found = json_get_string(doc, "id_token", &s, &len) == JSON_GET_OK && strcmp(s, token) == 0;
		json_object_put(doc);
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_conv conv = {prompt, info, NULL};
	struct pj_device_opts opts = {.ask_enter = true, .host = "host", .service = "sshd", .user = "alice"};
	struct pj_error err = {0};
	char *token = NULL;
	size_t start = 0;

	n_parts = next_part = 0;
	for (size_t i = 0; i <= size && n_parts <= MAX_ANSWERS; i++)
		if (i == size || data[i] == '\0') {
			parts[n_parts] = data + start;
			part_len[n_parts++] = i - start;
			start = i + 1;
		}
	if (pj_device_obtain(cfg, &cfg->issuers[0], &conv, &opts, NULL, &token, &err) == PJ_OK) {
		if (token == NULL || token[0] == '\0' || !token_answered(token))
			abort();
	} else if (token != NULL || err.reason[0] == '\0') {
		abort(); /* a failure hands out no token, and says why */
	}
	free(token);
	return 0;
}
