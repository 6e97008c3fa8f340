/* dpop.c: DPoP proofs (RFC 9449) for logins: parse, key and thumbprint, signature, htm/htu/iat/ath/nonce. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "b64url.h"
#include "dpop.h"
#include "hostname.h"
#include "json_strict.h"
#include "jwk.h"
#include "jws.h"
#include "jws_sig.h"
#include "log.h"
#include "verify.h"

#define SHOW 80 /* bytes of an untrusted value quoted (escaped) in a reason */

pj_status dpop_nonce_new(char out[PJ_DPOP_NONCE_LEN + 1], struct pj_error *err)
{
	unsigned char raw[16];
	char *enc;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return pj_fail(err, PJ_ERR_SYSTEM, "cannot make a DPoP nonce: no random bytes");
	enc = b64url_encode(raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	if (enc == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	snprintf(out, PJ_DPOP_NONCE_LEN + 1, "%s", enc);
	free(enc);
	return PJ_OK;
}

void dpop_split_answer(char *answer, char **proof)
{
	char *sep = strchr(answer, PJ_DPOP_SEP);

	*proof = NULL;
	if (sep != NULL) {
		*sep = '\0';
		*proof = sep + 1;
	}
}

pj_status dpop_sha256_b64(const void *data, size_t len, char *out, size_t outlen, struct pj_error *err)
{
	unsigned char md[32];
	unsigned int n = 0;
	char *enc;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof(md))
		return pj_fail(err, PJ_ERR_SYSTEM, "SHA-256 failed");
	if ((enc = b64url_encode(md, sizeof(md))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	snprintf(out, outlen, "%s", enc);
	free(enc);
	return PJ_OK;
}

/* A required member of a JWK for the thumbprint: a base64url string (or a known crv name), so that it can
 * stand in the canonical JSON without escaping. */
static const char *thumb_member(json_object *jwk, const char *name)
{
	const char *s;
	size_t len;

	if (json_get_string(jwk, name, &s, &len) != JSON_GET_OK || len == 0 || len > 2048 ||
	    !b64url_alphabet_only(s, len))
		return NULL;
	return s;
}

pj_status dpop_jwk_thumbprint(json_object *jwk, char *out, size_t outlen, struct pj_error *err)
{
	const char *kty = NULL, *a, *b, *c;
	char *canon = NULL;
	pj_status r;
	int n = -1;

	if (json_get_string(jwk, "kty", &kty, NULL) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: jwk has no kty");
	/* RFC 7638 3.2: the required members only, in lexicographic order, no whitespace */
	if (strcmp(kty, "RSA") == 0 && (a = thumb_member(jwk, "e")) != NULL &&
	    (b = thumb_member(jwk, "n")) != NULL)
		n = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
	else if (strcmp(kty, "EC") == 0 && (a = thumb_member(jwk, "crv")) != NULL &&
	         (b = thumb_member(jwk, "x")) != NULL && (c = thumb_member(jwk, "y")) != NULL)
		n = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", a, b, c);
	else if (strcmp(kty, "OKP") == 0 && (a = thumb_member(jwk, "crv")) != NULL &&
	         (b = thumb_member(jwk, "x")) != NULL)
		n = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", a, b);
	else
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: jwk lacks the members of a %.16s public key",
		               kty);
	if (n < 0)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	r = dpop_sha256_b64(canon, strlen(canon), out, outlen, err);
	free(canon);
	return r;
}

/* The header's jwk: a public asymmetric key that fits the proof's alg, whose thumbprint is jkt. */
static pj_status proof_key(const struct jws_token *jws, const char *jkt, struct jwk *key,
                           struct pj_error *err)
{
	char thumb[PJ_DPOP_THUMBPRINT_LEN + 8], why[256];
	const char *secret;
	json_object *jwk;
	pj_status r;

	if (json_get_object(jws->header, "jwk", &jwk) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: no jwk object in its header");
	/* jwk_parse_one refuses such a key as well; this names the member (RFC 7518 6.4.1: "k", symmetric) */
	if ((secret = jwk_private_member(jwk)) == NULL && json_object_object_get_ex(jwk, "k", NULL))
		secret = "k";
	if (secret != NULL)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "DPoP proof: header jwk holds private or symmetric key material (\"%s\")",
		               secret);
	if ((r = jwk_parse_one(jwk, key)) != PJ_OK)
		return pj_fail(err, r, "out of memory");
	if (!jwk_fits_alg(key, jws->alg, why, sizeof(why)))
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: header jwk: %s", why);
	if ((r = dpop_jwk_thumbprint(jwk, thumb, sizeof(thumb), err)) != PJ_OK)
		return r;
	if (strcmp(thumb, jkt) != 0)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "DPoP proof: its key is not the one the token is bound to (thumbprint is not "
		               "cnf.jkt)");
	return PJ_OK;
}

/* A string claim of the proof, required. */
static pj_status proof_string(json_object *pl, const char *name, const char **out, size_t *len,
                              struct pj_error *err)
{
	switch (json_get_string(pl, name, out, len)) {
	case JSON_GET_OK: return PJ_OK;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: no %s claim", name);
	default: return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: %s is not a string", name);
	}
}

static bool host_matches(const struct pj_config *cfg, const struct pj_host_names *names, const char *host,
                         size_t len)
{
	if ((strlen(names->shortname) == len && strncasecmp(host, names->shortname, len) == 0) ||
	    (strlen(names->fqdn) == len && strncasecmp(host, names->fqdn, len) == 0))
		return true;
	for (size_t i = 0; i < cfg->n_dpop_host_names; i++)
		if (strlen(cfg->dpop_host_names[i]) == len &&
		    strncasecmp(host, cfg->dpop_host_names[i], len) == 0)
			return true;
	return false;
}

/* Whether host (len bytes) names this host: %h, %H or one of dpop_host_names, ignoring case. The resolver
 * (for %H of a short host name) is asked only when nothing else matched. */
static pj_status host_is_here(const struct pj_config *cfg, const char *host, size_t len, bool *here,
                              struct pj_error *err)
{
	struct pj_host_names names;
	pj_status r;

	if ((r = pj_host_names_local(&names, err)) != PJ_OK)
		return r;
	if (!(*here = host_matches(cfg, &names, host, len)) && memchr(host, '.', len) != NULL) {
		pj_host_names_resolve(&names);
		*here = host_matches(cfg, &names, host, len);
	}
	return PJ_OK;
}

/* htm "PAM", htu "pam://HOST/SERVICE" for this host and x->service. */
static pj_status check_request(const struct pj_config *cfg, json_object *pl, const struct pj_dpop_expect *x,
                               struct pj_error *err)
{
	const char *htm, *htu, *host, *slash;
	char q[SHOW];
	size_t len;
	bool here;
	pj_status r;

	if ((r = proof_string(pl, "htm", &htm, &len, err)) != PJ_OK)
		return r;
	if (strcmp(htm, PJ_DPOP_HTM) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: htm is \"%s\", not " PJ_DPOP_HTM,
		               pj_escape(q, sizeof(q), htm, len));
	if ((r = proof_string(pl, "htu", &htu, &len, err)) != PJ_OK)
		return r;
	if (strncmp(htu, "pam://", 6) != 0 || (slash = strchr(htu + 6, '/')) == NULL || slash == htu + 6)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: htu \"%s\" is not pam://HOST/SERVICE",
		               pj_escape(q, sizeof(q), htu, len));
	host = htu + 6;
	if ((r = host_is_here(cfg, host, (size_t)(slash - host), &here, err)) != PJ_OK)
		return r;
	if (!here)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "DPoP proof: htu names host \"%s\", not this host (dpop_host_names adds names)",
		    pj_escape(q, sizeof(q), host, (size_t)(slash - host)));
	if (strcmp(slash + 1, x->service) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: htu names service \"%s\", not %s",
		               pj_escape(q, sizeof(q), slash + 1, strlen(slash + 1)), x->service);
	return PJ_OK;
}

/* iat within dpop_proof_max_age of now, jti present. */
static pj_status check_fresh(const struct pj_config *cfg, json_object *pl, const struct pj_dpop_expect *x,
                             struct pj_error *err)
{
	int64_t iat, t = (int64_t)x->now;
	const char *jti;
	size_t len;
	pj_status r;

	switch (json_get_int64(pl, "iat", &iat)) {
	case JSON_GET_OK: break;
	case JSON_GET_ABSENT: return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: no iat claim");
	default: return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: iat is not a number");
	}
	if (iat < t - cfg->dpop_proof_max_age || iat > t + cfg->dpop_proof_max_age)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "DPoP proof: iat %lld is not within dpop_proof_max_age %lds of now %lld",
		               (long long)iat, cfg->dpop_proof_max_age, (long long)t);
	if ((r = proof_string(pl, "jti", &jti, &len, err)) != PJ_OK)
		return r;
	if (len == 0 || len > PJ_DPOP_JTI_MAX)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: jti is empty or longer than %d bytes",
		               PJ_DPOP_JTI_MAX);
	return PJ_OK;
}

/* ath = base64url(SHA-256(token)); nonce = the one issued, not expired. */
static pj_status check_binding(const struct pj_config *cfg, json_object *pl, const char *token,
                               size_t token_len, const struct pj_dpop_expect *x, struct pj_error *err)
{
	char want[PJ_DPOP_THUMBPRINT_LEN + 8];
	const char *ath, *nonce;
	size_t len;
	pj_status r;

	if ((r = proof_string(pl, "ath", &ath, &len, err)) != PJ_OK)
		return r;
	if ((r = dpop_sha256_b64(token, token_len, want, sizeof(want), err)) != PJ_OK)
		return r;
	if (strcmp(ath, want) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "DPoP proof: ath is not the hash of this token");
	if ((r = proof_string(pl, "nonce", &nonce, &len, err)) != PJ_OK)
		return r;
	if (x->nonce == NULL && x->by_hand)
		return PJ_OK;
	if (x->nonce == NULL)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "DPoP proof: no nonce was offered for this login (set dpop = yes in [global])");
	if (strcmp(nonce, x->nonce) != 0)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "DPoP proof: nonce is not the one issued for this login (replayed or made for "
		               "another)");
	if (x->now - x->nonce_issued > cfg->dpop_nonce_lifetime)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "DPoP proof: nonce expired (issued %llds ago, dpop_nonce_lifetime %lds)",
		               (long long)(x->now - x->nonce_issued), cfg->dpop_nonce_lifetime);
	return PJ_OK;
}

/* Prefixes a jws_parse reason with "DPoP proof: ". */
static pj_status proof_reason(pj_status r, struct pj_error *err)
{
	char inner[PJ_REASON_MAX];

	snprintf(inner, sizeof(inner), "%s", err->reason);
	return pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_TOKEN, "DPoP proof: %.400s", inner);
}

pj_status dpop_check_proof(const struct pj_config *cfg, const char *proof, size_t len, const char *jkt,
                           const char *token, size_t token_len, const struct pj_dpop_expect *x,
                           struct pj_error *err)
{
	struct jws_token jws;
	struct jwk key;
	pj_status r;

	memset(&key, 0, sizeof(key));
	if ((r = jws_parse_typed(proof, len, PJ_DPOP_PROOF_MAX, JWS_TYP_DPOP, &jws, err)) != PJ_OK) {
		r = proof_reason(r, err);
		goto out;
	}
	if ((r = proof_key(&jws, jkt, &key, err)) != PJ_OK)
		goto out;
	if ((r = jws_sig_verify(jws.alg, key.pkey, (const unsigned char *)jws.signing_input,
	                        jws.signing_input_len, jws.signature, jws.signature_len, err)) != PJ_OK) {
		r = proof_reason(r, err);
		goto out;
	}
	if ((r = check_request(cfg, jws.payload, x, err)) != PJ_OK ||
	    (r = check_fresh(cfg, jws.payload, x, err)) != PJ_OK ||
	    (r = check_binding(cfg, jws.payload, token, token_len, x, err)) != PJ_OK)
		goto out;
out:
	jwk_clear(&key);
	jws_token_free(&jws);
	return r;
}

/* The token's cnf.jkt: *jkt NULL when the token has no cnf. */
static pj_status token_jkt(json_object *claims, const char **jkt, struct pj_error *err)
{
	json_object *cnf;
	size_t len;

	*jkt = NULL;
	switch (json_get_object(claims, "cnf", &cnf)) {
	case JSON_GET_ABSENT: return PJ_OK;
	case JSON_GET_WRONG_TYPE: return pj_fail(err, PJ_ERR_TOKEN, "cnf is not an object");
	case JSON_GET_OK: break;
	}
	if (json_get_string(cnf, "jkt", jkt, &len) != JSON_GET_OK || len != PJ_DPOP_THUMBPRINT_LEN)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "cnf binds the token to something other than a DPoP key (no 43-character jkt)");
	return PJ_OK;
}

pj_status dpop_check_login(const struct pj_config *cfg, const struct pj_service *svc,
                           const struct pj_identity *id, const char *token, size_t token_len,
                           const char *proof, const struct pj_dpop_expect *x, struct pj_error *err)
{
	bool required =
	    (id->issuer != NULL && id->issuer->require_dpop) || (svc != NULL && svc->require_dpop);
	const char *jkt;
	pj_status r;

	if ((r = token_jkt(id->claims, &jkt, err)) != PJ_OK)
		return r;
	if (jkt == NULL && required)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "require_dpop (%s): the token is not DPoP-bound (no cnf.jkt)",
		               svc != NULL && svc->require_dpop ? "service" : "issuer");
	if (jkt == NULL && proof != NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "a DPoP proof came with a token that is not DPoP-bound");
	if (jkt == NULL)
		return PJ_OK;
	if (proof == NULL)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "the token is DPoP-bound (cnf.jkt) but no DPoP proof came with it");
	return dpop_check_proof(cfg, proof, strlen(proof), jkt, token, token_len, x, err);
}
