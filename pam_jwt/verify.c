/* verify.c: the verification path, in the one order data flows: token, JWS, issuer keys, signature, claims,
 * identity. The PAM module and `pam-jwt verify` both call pj_verify, so they can never disagree. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "claims.h"
#include "identity.h"
#include "json_strict.h"
#include "jwk.h"
#include "jws.h"
#include "jws_sig.h"
#include "ossl_nomem.h"
#include "keystore.h"
#include "verify.h"

/* Copies a string member of obj into *out (malloc'd) for logging; absent or not a string: left NULL. */
static pj_status note_string(json_object *obj, const char *key, char **out, struct pj_error *err)
{
	const char *s;
	size_t len;

	if (json_get_string(obj, key, &s, &len) != JSON_GET_OK)
		return PJ_OK;
	/* out of memory only: no test reaches the refusal without fault injection */
	if ((*out = strndup(s, len)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	return PJ_OK;
}

pj_status pj_note_claimed(const struct jws_token *jws, struct pj_identity *id)
{
	struct pj_error ignored;
	const char *alg;

	if (jws->header != NULL) {
		if (json_get_string(jws->header, "alg", &alg, NULL) == JSON_GET_OK)
			snprintf(id->alg, sizeof(id->alg), "%s", alg);
		/* note_string fails only when out of memory: no test gets here without fault injection */
		if (note_string(jws->header, "kid", &id->kid, &ignored) != PJ_OK)
			return PJ_ERR_NOMEM;
	}
	if (jws->payload != NULL && (note_string(jws->payload, "iss", &id->iss, &ignored) != PJ_OK ||
	                             note_string(jws->payload, "sub", &id->sub, &ignored) != PJ_OK))
		return PJ_ERR_NOMEM;
	return PJ_OK;
}

pj_status pj_find_issuer(const struct pj_config *cfg, json_object *payload, const struct pj_issuer **out,
                         struct pj_error *err)
{
	const char *iss;
	size_t len;
	pj_status r;

	if ((r = claims_get_iss(payload, &iss, &len, err)) != PJ_OK)
		return r;
	if ((*out = config_find_issuer(cfg, iss, len)) == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "iss is not a configured issuer");
	return PJ_OK;
}

pj_status pj_verify_signature(const struct pj_config *cfg, const struct pj_log *log,
                              const struct jws_token *jws, const struct pj_issuer *issuer, time_t now,
                              struct pj_error *err)
{
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;
	const struct jwk *key = NULL;
	pj_status r;

	if ((issuer->algorithms & JWS_ALG_BIT(jws->alg->id)) == 0) {
		r = pj_fail(err, PJ_ERR_TOKEN, "alg %s is not in the algorithms of issuer %s", jws->alg->name,
		            issuer->name);
		goto out;
	}
	if (!ossl_initialised()) {
		r = pj_fail(err, PJ_ERR_NOMEM, "OpenSSL could not initialise: out of memory");
		goto out;
	}
	if ((r = keystore_get(cfg, issuer, jws->kid, now, log, &set, &ref, err)) != PJ_OK)
		goto out;
	if ((r = jwk_set_select(set, jws->alg, jws->kid, &key, err)) != PJ_OK)
		goto out;
	/* the key jwk_set_select chose was built from its crv (jwk.c), which the check compares with the
	 * alg's */
	r = jws_sig_verify_crv(jws->alg, key->pkey, key->crv, (const unsigned char *)jws->signing_input,
	                       jws->signing_input_len, jws->signature, jws->signature_len, err);
out:
	keystore_release(ref);
	return r;
}

pj_status pj_verify_token(const struct pj_config *cfg, const struct pj_log *log, const char *token,
                          size_t len, time_t now, struct pj_identity *id, struct pj_error *err)
{
	struct jws_token jws;
	pj_status r;

	memset(id, 0, sizeof(*id));
	pj_error_clear(err);
	r = jws_parse(token, len, cfg->max_token_size, &jws, err);
	/* What the token claims, kept for the log line whatever happens next (even when parsing failed late).
	 * Noting it fails only when out of memory: no test reaches that refusal without fault injection. */
	if (pj_note_claimed(&jws, id) != PJ_OK && r == PJ_OK)
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (r != PJ_OK)
		goto out;
	if ((r = pj_find_issuer(cfg, jws.payload, &id->issuer, err)) != PJ_OK)
		goto out;
	if ((r = pj_verify_signature(cfg, log, &jws, id->issuer, now, err)) != PJ_OK)
		goto out;
	/* From here on the payload is the issuer's word. */
	if ((r = claims_check(jws.payload, id->issuer, now, &id->exp, err)) != PJ_OK)
		goto out;
	id->claims = json_object_get(jws.payload);
out:
	jws_token_free(&jws);
	if (r == PJ_OK)
		pj_error_clear(err);
	return r;
}

/* The identity step on a verified payload: username, who may log in, groups. */
pj_status pj_map_identity(struct pj_identity *id, const char *pam_user, struct pj_error *err)
{
	char username[PJ_USERNAME_MAX + 1];
	pj_status r;

	if ((r = identity_username(id->claims, id->issuer, username, sizeof(username), err)) != PJ_OK)
		return r;
	/* out of memory only: no test reaches the refusal without fault injection */
	if ((id->username = strdup(username)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if ((r = identity_check_user(username, pam_user, id, err)) != PJ_OK)
		return r;
	return identity_groups(id->claims, id->issuer, &id->groups, &id->n_groups, err);
}

pj_status pj_verify(const struct pj_config *cfg, const struct pj_log *log, const char *token, size_t len,
                    const char *pam_user, time_t now, struct pj_identity *id, struct pj_error *err)
{
	pj_status r;

	if ((r = pj_verify_token(cfg, log, token, len, now, id, err)) != PJ_OK)
		return r;
	if ((r = pj_map_identity(id, pam_user, err)) != PJ_OK)
		return r;
	id->verified = true;
	return PJ_OK;
}

void pj_log_outcome(const struct pj_log *log, const struct pj_identity *id, pj_status status,
                    const struct pj_error *err, const char *pam_user)
{
	const char *issuer = id->issuer ? id->issuer->name : "-";

	if (status == PJ_OK)
		pj_logf(log, LOG_INFO, "accepted token for %s: issuer=%s kid=%s alg=%s sub=%s", id->username,
		        issuer, id->kid ? id->kid : "-", id->alg[0] ? id->alg : "-", id->sub ? id->sub : "-");
	else
		pj_logf(log, status == PJ_ERR_NOT_JWT ? LOG_INFO : LOG_NOTICE,
		        "refused token for %s: %s (%s): issuer=%s iss=%.128s kid=%.128s alg=%s sub=%.128s",
		        pam_user ? pam_user : "-", err && err->reason[0] ? err->reason : "-",
		        pj_status_name(status), issuer, id->iss ? id->iss : "-", id->kid ? id->kid : "-",
		        id->alg[0] ? id->alg : "-", id->sub ? id->sub : "-");
}
