/* claims.c: the registered-claim rules, applied to a payload whose signature has been verified. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>

#include "claims.h"
#include "hostname.h"
#include "json_strict.h"
#include "replay.h"

pj_status claims_get_iss(json_object *payload, const char **iss, size_t *len, struct pj_error *err)
{
	switch (json_get_string(payload, "iss", iss, len)) {
	case JSON_GET_OK: return PJ_OK;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_TOKEN, "no iss claim");
	default: return pj_fail(err, PJ_ERR_TOKEN, "iss is not a string");
	}
}

static pj_status check_iss(json_object *payload, const struct pj_issuer *issuer, struct pj_error *err)
{
	const char *iss;
	size_t len;
	pj_status r;

	if ((r = claims_get_iss(payload, &iss, &len, err)) != PJ_OK)
		return r;
	if (len != strlen(issuer->issuer) || memcmp(iss, issuer->issuer, len) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "iss does not match issuer %s", issuer->name);
	return PJ_OK;
}

/* The aud claim's i-th value: the string itself, or the i-th element of the array. */
static json_object *aud_value(json_object *aud, size_t i)
{
	return json_object_is_type(aud, json_type_array) ? json_object_array_get_idx(aud, i) : aud;
}

/* aud: a string, or an array of strings (RFC 7519 4.1.3); one of them must be a configured audience, with
 * %h / %H expanded to this host's names. The audiences with a %H come last: a %H of a short host name asks
 * the resolver, which a token that matches another audience never waits for. */
static pj_status check_aud(json_object *payload, const struct pj_issuer *issuer, struct pj_error *err)
{
	char want[2 * PJ_HOST_MAX + 1024];
	struct pj_host_names names;
	bool names_known = false;
	json_object *aud;
	const char *w;
	pj_status r;
	size_t n = 1;

	if (!json_object_object_get_ex(payload, "aud", &aud))
		return pj_fail(err, PJ_ERR_TOKEN, "no aud claim");
	if (json_object_is_type(aud, json_type_array)) {
		n = json_object_array_length(aud);
		for (size_t j = 0; j < n; j++)
			if (!json_object_is_type(json_object_array_get_idx(aud, j), json_type_string))
				return pj_fail(err, PJ_ERR_TOKEN, "aud holds a value that is not a string");
	} else if (!json_object_is_type(aud, json_type_string)) {
		return pj_fail(err, PJ_ERR_TOKEN, "aud is neither a string nor an array of strings");
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < issuer->n_audiences; i++) {
			w = issuer->audiences[i];
			if ((strstr(w, "%H") != NULL) != (pass == 1))
				continue;
			if (strchr(w, '%') != NULL) {
				if ((r = pj_host_expand(w, &names, &names_known, want, sizeof(want), err)) !=
				    PJ_OK)
					return r;
				w = want;
			}
			for (size_t j = 0; j < n; j++) {
				json_object *v = aud_value(aud, j);

				if ((size_t)json_object_get_string_len(v) == strlen(w) &&
				    memcmp(json_object_get_string(v), w, strlen(w)) == 0)
					return PJ_OK;
			}
		}
	}
	return pj_fail(err, PJ_ERR_TOKEN, "aud does not name a configured audience%s",
	               names_known ? " (for this host)" : "");
}

/* A NumericDate claim: absent is allowed here (the caller decides), anything but a JSON number is refused. */
static pj_status get_time(json_object *payload, const char *name, int64_t *out, bool *present,
                          struct pj_error *err)
{
	switch (json_get_int64(payload, name, out)) {
	case JSON_GET_OK: *present = true; return PJ_OK;
	case JSON_GET_ABSENT: *present = false; return PJ_OK;
	default: return pj_fail(err, PJ_ERR_TOKEN, "%s is not a number", name);
	}
}

static pj_status check_times(json_object *payload, long leeway, time_t now, int64_t *exp_out,
                             struct pj_error *err)
{
	int64_t exp = 0, nbf = 0, iat = 0, t = (int64_t)now;
	bool has_exp = false, has_nbf = false, has_iat = false;
	pj_status r;

	if ((r = get_time(payload, "exp", &exp, &has_exp, err)) != PJ_OK ||
	    (r = get_time(payload, "nbf", &nbf, &has_nbf, err)) != PJ_OK ||
	    (r = get_time(payload, "iat", &iat, &has_iat, err)) != PJ_OK)
		return r;
	if (!has_exp)
		return pj_fail(err, PJ_ERR_TOKEN, "no exp claim");
	/* Move the leeway to the side of now, a sane value, so no token value can overflow the comparison. */
	if (t - leeway >= exp)
		return pj_fail(err, PJ_ERR_TOKEN, "token expired at %lld (now %lld, leeway %lds)",
		               (long long)exp, (long long)t, leeway);
	if (has_nbf && t + leeway < nbf)
		return pj_fail(err, PJ_ERR_TOKEN, "token not valid before %lld (now %lld, leeway %lds)",
		               (long long)nbf, (long long)t, leeway);
	if (has_iat && iat > t + leeway)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "token issued in the future (iat %lld, now %lld, leeway %lds)", (long long)iat,
		               (long long)t, leeway);
	if (exp_out != NULL)
		*exp_out = exp;
	return PJ_OK;
}

/* max_token_age: how long ago the token was issued, whatever its exp says; iat is then required. */
static pj_status check_age(json_object *payload, const struct pj_issuer *issuer, time_t now,
                           struct pj_error *err)
{
	int64_t iat = 0, t = (int64_t)now;
	bool has_iat = false;
	pj_status r;

	if (issuer->max_token_age == 0)
		return PJ_OK;
	if ((r = get_time(payload, "iat", &iat, &has_iat, err)) != PJ_OK)
		return r;
	if (!has_iat)
		return pj_fail(err, PJ_ERR_TOKEN, "no iat claim (max_token_age is set)");
	if (t - issuer->leeway - issuer->max_token_age > iat)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "token issued at %lld, more than max_token_age %lds ago (now %lld, leeway %lds)",
		    (long long)iat, issuer->max_token_age, (long long)t, issuer->leeway);
	return PJ_OK;
}

/* replay_protection = jti: a token must name itself (a non-empty string of bounded length). */
static pj_status check_jti(json_object *payload, const struct pj_issuer *issuer, struct pj_error *err)
{
	const char *jti;
	size_t len;

	if (!issuer->replay_jti)
		return PJ_OK;
	switch (json_get_string(payload, "jti", &jti, &len)) {
	case JSON_GET_OK: break;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_TOKEN, "no jti claim (replay_protection = jti)");
	default: return pj_fail(err, PJ_ERR_TOKEN, "jti is not a string");
	}
	if (len == 0 || len > PJ_REPLAY_JTI_MAX)
		return pj_fail(err, PJ_ERR_TOKEN, "jti is empty or longer than %d bytes", PJ_REPLAY_JTI_MAX);
	return PJ_OK;
}

static pj_status check_sub(json_object *payload, struct pj_error *err)
{
	const char *sub;
	size_t len;

	switch (json_get_string(payload, "sub", &sub, &len)) {
	case JSON_GET_OK: break;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_TOKEN, "no sub claim");
	default: return pj_fail(err, PJ_ERR_TOKEN, "sub is not a string");
	}
	if (len == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "sub is empty");
	return PJ_OK;
}

pj_status claims_check(json_object *payload, const struct pj_issuer *issuer, time_t now, int64_t *exp_out,
                       struct pj_error *err)
{
	pj_status r;

	if ((r = check_iss(payload, issuer, err)) != PJ_OK)
		return r;
	if ((r = check_aud(payload, issuer, err)) != PJ_OK)
		return r;
	if ((r = check_times(payload, issuer->leeway, now, exp_out, err)) != PJ_OK)
		return r;
	if ((r = check_age(payload, issuer, now, err)) != PJ_OK)
		return r;
	if ((r = check_jti(payload, issuer, err)) != PJ_OK)
		return r;
	return check_sub(payload, err);
}
