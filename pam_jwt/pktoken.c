/* pktoken.c: an OpenPubkey PK Token: its parts, the OP's ID token, the client's CIC and the commitment. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* The format follows openpubkey's pktoken (compact form) and clientinstance (CIC claims, commitment)
 * packages, read and re-implemented here: the ID token's nonce is base64url(SHA3-256(json.Marshal(CIC
 * protected header as a map))), so the header is re-serialised exactly as Go does (json_go.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "json_go.h"
#include "json_strict.h"
#include "jwk.h"
#include "jws.h"
#include "jws_sig.h"
#include "pktoken.h"
#include "verify.h"

#define PKT_MAX_PARTS 7 /* payload + three (protected, signature) pairs */

enum sig_kind { SIG_OP, SIG_CIC, SIG_COS };

/* One (protected header, signature) pair of the compact form. */
struct pkt_sig {
	const char *prot, *sig;
	size_t prot_len, sig_len;
	json_object *header;
	enum sig_kind kind;
};

struct pkt {
	const char *payload;
	size_t payload_len;
	struct pkt_sig sigs[3];
	size_t n_sigs;
	struct pkt_sig *op, *cic;
};

static void pkt_free(struct pkt *p)
{
	for (size_t i = 0; i < p->n_sigs; i++)
		json_object_put(p->sigs[i].header);
}

/* typ says whose signature it is, as openpubkey's NewFromCompact decides (absent typ: the OP's). */
static pj_status classify(struct pkt_sig *s, size_t index, struct pj_error *err)
{
	const char *typ;

	switch (json_get_string(s->header, "typ", &typ, NULL)) {
	case JSON_GET_ABSENT: s->kind = SIG_OP; return PJ_OK;
	case JSON_GET_WRONG_TYPE:
		return pj_fail(err, PJ_ERR_TOKEN, "PK Token: signature %zu: typ is not a string", index);
	case JSON_GET_OK: break;
	}
	if (strcasecmp(typ, "JWT") == 0 || strcasecmp(typ, "at+jwt") == 0)
		s->kind = SIG_OP;
	else if (strcmp(typ, "CIC") == 0)
		s->kind = SIG_CIC;
	else if (strcmp(typ, "COS") == 0)
		s->kind = SIG_COS;
	else
		return pj_fail(err, PJ_ERR_TOKEN,
		               "PK Token: signature %zu has typ %.32s (neither JWT, CIC nor COS)", index,
		               typ);
	return PJ_OK;
}

/* Splits the compact form and classifies its signatures: exactly one OP, one CIC, at most one COS. */
static pj_status split(const char *pkt, size_t len, struct pkt *p, struct pj_error *err)
{
	const char *parts[PKT_MAX_PARTS + 1], *dot, *end;
	size_t lens[PKT_MAX_PARTS + 1], n = 0, counts[3] = {0, 0, 0};
	char what[64];
	pj_status r;

	/* ".": a refreshed ID token follows; it must look like one but nothing here relies on it */
	if ((dot = memchr(pkt, '.', len)) != NULL) {
		const char *fresh = dot + 1;
		size_t flen = len - (size_t)(fresh - pkt), dots = 0;

		for (size_t i = 0; i < flen; i++)
			dots += fresh[i] == '.';
		if (dots != 2 || memchr(fresh, ':', flen) != NULL)
			return pj_fail(err, PJ_ERR_TOKEN,
			               "PK Token: the refreshed ID token after \".\" is not a compact JWS");
		len = (size_t)(dot - pkt);
	}
	end = pkt + len;
	for (const char *s = pkt; n <= PKT_MAX_PARTS;) {
		const char *c = memchr(s, ':', (size_t)(end - s));

		parts[n] = s;
		lens[n++] = (size_t)((c ? c : end) - s);
		if (c == NULL)
			break;
		s = c + 1;
	}
	if (n != 5 && n != 7)
		return pj_fail(
		    err, PJ_ERR_TOKEN, "PK Token: %s%zu \":\"-separated parts; the compact form has 5 or 7",
		    n > PKT_MAX_PARTS ? "more than " : "", n > PKT_MAX_PARTS ? (size_t)PKT_MAX_PARTS : n);
	for (size_t i = 0; i < n; i++)
		if (lens[i] == 0 || !b64url_alphabet_only(parts[i], lens[i]))
			return pj_fail(err, PJ_ERR_TOKEN, "PK Token: part %zu is not base64url", i + 1);
	p->payload = parts[0];
	p->payload_len = lens[0];
	for (size_t i = 1; i < n; i += 2) {
		struct pkt_sig *s = &p->sigs[p->n_sigs];

		s->prot = parts[i];
		s->prot_len = lens[i];
		s->sig = parts[i + 1];
		s->sig_len = lens[i + 1];
		snprintf(what, sizeof(what), "PK Token: protected header %zu", p->n_sigs + 1);
		if ((r = jws_decode_json_segment(s->prot, s->prot_len, what, &s->header, err)) != PJ_OK)
			return r;
		p->n_sigs++;
		if ((r = classify(s, p->n_sigs, err)) != PJ_OK)
			return r;
		counts[s->kind]++;
		if (s->kind == SIG_OP)
			p->op = s;
		else if (s->kind == SIG_CIC)
			p->cic = s;
	}
	if (counts[SIG_OP] != 1)
		return pj_fail(err, PJ_ERR_TOKEN, "PK Token: %zu OP signatures; exactly one is allowed",
		               counts[SIG_OP]);
	/* at most three signatures (seven parts): with one OP and one CIC, at most one COS */
	if (counts[SIG_CIC] != 1)
		return pj_fail(err, PJ_ERR_TOKEN, "PK Token: %zu CIC signatures; exactly one is allowed",
		               counts[SIG_CIC]);
	return PJ_OK;
}

/* "prot.payload.sig" of one signature, for jws_parse. */
static char *compact_token(const struct pkt *p, const struct pkt_sig *s, size_t *len)
{
	char *t;

	*len = s->prot_len + 1 + p->payload_len + 1 + s->sig_len;
	if ((t = malloc(*len + 1)) == NULL)
		return NULL;
	memcpy(t, s->prot, s->prot_len);
	t[s->prot_len] = '.';
	memcpy(t + s->prot_len + 1, p->payload, p->payload_len);
	t[s->prot_len + 1 + p->payload_len] = '.';
	memcpy(t + s->prot_len + 2 + p->payload_len, s->sig, s->sig_len);
	t[*len] = '\0';
	return t;
}

/* The issuer whose PK Tokens these are: iss names a configured issuer (as for a token) that sets
 * opkssh_client_id. */
static pj_status find_issuer(const struct pj_config *cfg, json_object *payload, const struct pj_issuer **out,
                             struct pj_error *err)
{
	pj_status r;

	if ((r = pj_find_issuer(cfg, payload, out, err)) != PJ_OK)
		return r;
	if ((*out)->opkssh_client_id == NULL)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "issuer %s takes no opkssh certificates (no opkssh_client_id)", (*out)->name);
	return PJ_OK;
}

/* Another issuer whose opkssh_client_id is aud: named in the refusal (a PK Token made for another IdP's
 * client, e.g. one tenant's token at another's host). */
static const struct pj_issuer *client_of(const struct pj_config *cfg, const char *aud)
{
	for (size_t i = 0; i < cfg->n_issuers; i++)
		if (cfg->issuers[i].opkssh_client_id != NULL &&
		    strcmp(cfg->issuers[i].opkssh_client_id, aud) == 0)
			return &cfg->issuers[i];
	return NULL;
}

static pj_status check_aud(const struct pj_config *cfg, json_object *payload, const struct pj_issuer *issuer,
                           struct pj_error *err)
{
	const struct pj_issuer *other;
	json_object *aud, *e;
	const char *first = NULL;

	if (!json_object_object_get_ex(payload, "aud", &aud))
		return pj_fail(err, PJ_ERR_TOKEN, "no aud claim");
	if (json_object_is_type(aud, json_type_string)) {
		first = json_object_get_string(aud);
		if (strcmp(first, issuer->opkssh_client_id) == 0 &&
		    (size_t)json_object_get_string_len(aud) == strlen(first))
			return PJ_OK;
	} else if (json_object_is_type(aud, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(aud); i++) {
			e = json_object_array_get_idx(aud, i);
			if (!json_object_is_type(e, json_type_string))
				return pj_fail(err, PJ_ERR_TOKEN, "aud holds a value that is not a string");
			if (first == NULL)
				first = json_object_get_string(e);
			if (strcmp(json_object_get_string(e), issuer->opkssh_client_id) == 0)
				return PJ_OK;
		}
	} else {
		return pj_fail(err, PJ_ERR_TOKEN, "aud is neither a string nor an array of strings");
	}
	if (first != NULL && (other = client_of(cfg, first)) != NULL && other != issuer)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "aud is the opkssh_client_id of issuer %s, not of issuer %s", other->name,
		               issuer->name);
	return pj_fail(err, PJ_ERR_TOKEN, "aud is not opkssh_client_id of issuer %s", issuer->name);
}

/* opkssh_expiration: iat-based (opkssh's 12h/24h/48h/1week) or exp (oidc). *until: when it stops. The
 * leeway is moved to the side of now (as in claims.c), so no claim's value can overflow a comparison. */
static pj_status check_time(json_object *payload, const struct pj_issuer *issuer, time_t now, int64_t *until,
                            struct pj_error *err)
{
	int64_t iat, exp, nbf;

	if (json_object_object_get_ex(payload, "nbf", NULL)) {
		if (json_get_int64(payload, "nbf", &nbf) != JSON_GET_OK)
			return pj_fail(err, PJ_ERR_TOKEN, "nbf is not a number");
		if ((int64_t)now + issuer->leeway < nbf)
			return pj_fail(err, PJ_ERR_TOKEN, "not yet valid (nbf)");
	}
	if (issuer->opkssh_max_age == 0) {
		if (json_get_int64(payload, "exp", &exp) != JSON_GET_OK)
			return pj_fail(err, PJ_ERR_TOKEN,
			               "no exp claim (a number), which opkssh_expiration oidc needs");
		if ((int64_t)now - issuer->leeway >= exp)
			return pj_fail(err, PJ_ERR_TOKEN, "expired (exp, opkssh_expiration oidc)");
		*until = exp;
		return PJ_OK;
	}
	if (json_get_int64(payload, "iat", &iat) != JSON_GET_OK || iat <= 0)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "no iat claim (a positive number), which opkssh_expiration needs");
	if (iat > (int64_t)now + issuer->leeway)
		return pj_fail(err, PJ_ERR_TOKEN, "iat is in the future");
	if ((int64_t)now >= iat + issuer->opkssh_max_age)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "expired by opkssh_expiration: issued %llds ago, allowed %lds",
		               (long long)((int64_t)now - iat), issuer->opkssh_max_age);
	*until = iat + issuer->opkssh_max_age;
	return PJ_OK;
}

static pj_status check_claims(const struct pj_config *cfg, json_object *payload,
                              const struct pj_issuer *issuer, time_t now, int64_t *until,
                              struct pj_error *err)
{
	const char *sub;
	size_t sublen;
	pj_status r;

	if ((r = check_aud(cfg, payload, issuer, err)) != PJ_OK)
		return r;
	if (json_get_string(payload, "sub", &sub, &sublen) != JSON_GET_OK || sublen == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "sub is missing or not a non-empty string");
	return check_time(payload, issuer, now, until, err);
}

/* The ID token: GQ256 refused by name, then parsed and checked as a login token's JWS. */
static pj_status verify_op(const struct pj_config *cfg, const struct pj_log *log, const struct pkt *p,
                           time_t now, struct pj_identity *id, struct jws_token *jws, struct pj_error *err)
{
	const char *alg;
	char *token = NULL, inner[PJ_REASON_MAX];
	size_t len;
	pj_status r;

	if (json_get_string(p->op->header, "alg", &alg, NULL) == JSON_GET_OK) {
		snprintf(id->alg, sizeof(id->alg), "%s", alg);
		if (strcmp(alg, "GQ256") == 0)
			return pj_fail(
			    err, PJ_ERR_TOKEN,
			    "ID token: alg GQ256 (a GQ-signed PK Token, e.g. from GitHub Actions) is not "
			    "supported");
	}
	if ((token = compact_token(p, p->op, &len)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	r = jws_parse(token, len, cfg->max_token_size, jws, err);
	if (pj_note_claimed(jws, id) != PJ_OK)
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (r != PJ_OK) {
		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		r = pj_fail(err, r, "ID token: %s", inner);
		goto out;
	}
	if ((r = find_issuer(cfg, jws->payload, &id->issuer, err)) != PJ_OK)
		goto out;
	if ((r = pj_verify_signature(cfg, log, jws, id->issuer, now, err)) != PJ_OK) {
		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		r = pj_fail(err, r, "ID token: %s", inner);
		goto out;
	}
	r = check_claims(cfg, jws->payload, id->issuer, now, &id->exp, err);
out:
	free(token);
	return r;
}

/* The CIC header's rules (openpubkey's clientinstance.ParseClaims) and its key. */
static pj_status cic_key(json_object *h, struct jwk *upk, const struct jws_alg **alg, struct pj_error *err)
{
	const char *name, *rz, *upk_alg;
	size_t rzlen;
	json_object *jupk;
	char why[PJ_REASON_MAX];
	pj_status r;

	if (json_get_string(h, "alg", &name, NULL) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: alg is missing or not a string");
	if (strcmp(name, "ES256") != 0 && strcmp(name, "EdDSA") != 0 && strcmp(name, "RS256") != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: alg %.32s is not ES256, EdDSA or RS256", name);
	*alg = jws_alg_by_name(name);
	if (json_get_string(h, "rz", &rz, &rzlen) != JSON_GET_OK || rzlen == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: rz is missing or not a non-empty string");
	if (json_object_object_get_ex(h, "crit", NULL))
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: crit is not supported");
	if (json_get_object(h, "upk", &jupk) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: upk is missing or not an object");
	if (json_get_string(jupk, "alg", &upk_alg, NULL) != JSON_GET_OK || strcmp(upk_alg, name) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: upk.alg is not the CIC's alg %s", name);
	if ((r = jwk_parse_one(jupk, upk)) != PJ_OK)
		return pj_fail(err, r, "out of memory");
	if (!upk->usable)
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: upk: %s", upk->skip_reason);
	if (!jwk_fits_alg(upk, *alg, why, sizeof(why)))
		return pj_fail(err, PJ_ERR_TOKEN, "CIC: upk: %s", why);
	return PJ_OK;
}

/* nonce = base64url(SHA3-256(Go's json.Marshal of the CIC header)): the OP signed this key's commitment. */
static pj_status check_commitment(json_object *cic_header, json_object *payload, struct pj_error *err)
{
	unsigned char digest[32];
	unsigned int dlen = 0;
	char *json = NULL, *want = NULL;
	const char *nonce;
	size_t jlen, nlen;
	pj_status r;

	if (json_get_string(payload, "nonce", &nonce, &nlen) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "no nonce claim (the commitment to the CIC)");
	if ((r = json_go_marshal(cic_header, &json, &jlen, err)) != PJ_OK) {
		char inner[PJ_REASON_MAX];

		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		return pj_fail(err, r, "CIC: header cannot be re-serialised as Go does: %s", inner);
	}
	if (EVP_Digest(json, jlen, digest, &dlen, EVP_sha3_256(), NULL) != 1 || dlen != sizeof(digest)) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "SHA3-256 failed");
		goto out;
	}
	if ((want = b64url_encode(digest, sizeof(digest))) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (nlen != strlen(want) || memcmp(nonce, want, nlen) != 0)
		r = pj_fail(err, PJ_ERR_TOKEN,
		            "nonce is not the commitment to the CIC (SHA3-256 of its header)");
out:
	free(json);
	free(want);
	return r;
}

static pj_status verify_cic(const struct pkt *p, json_object *payload, EVP_PKEY *key, struct pj_error *err)
{
	const struct jws_alg *alg = NULL;
	struct jwk upk;
	unsigned char *sig = NULL;
	size_t siglen, len;
	char *token = NULL;
	pj_status r;

	memset(&upk, 0, sizeof(upk));
	if ((r = cic_key(p->cic->header, &upk, &alg, err)) != PJ_OK)
		goto out;
	if ((r = check_commitment(p->cic->header, payload, err)) != PJ_OK)
		goto out;
	if ((token = compact_token(p, p->cic, &len)) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = b64url_decode(p->cic->sig, p->cic->sig_len, &sig, &siglen, err)) != PJ_OK)
		goto out;
	/* signing input: protCIC.payload, the token without its last dot and signature */
	if ((r = jws_sig_verify(alg, upk.pkey, (const unsigned char *)token,
	                        p->cic->prot_len + 1 + p->payload_len, sig, siglen, err)) != PJ_OK) {
		char inner[PJ_REASON_MAX];

		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		r = pj_fail(err, r, "CIC signature: %s (not made by upk)", inner);
		goto out;
	}
	if (EVP_PKEY_eq(upk.pkey, key) != 1)
		r = pj_fail(err, PJ_ERR_TOKEN, "the certificate's key is not the PK Token's upk");
out:
	free(sig);
	free(token);
	jwk_clear(&upk);
	return r;
}

pj_status pktoken_verify(const struct pj_config *cfg, const struct pj_log *log, const char *pkt, size_t len,
                         EVP_PKEY *key, time_t now, struct pj_identity *id, struct pj_error *err)
{
	struct pkt p;
	struct jws_token jws;
	pj_status r;

	memset(id, 0, sizeof(*id));
	memset(&p, 0, sizeof(p));
	memset(&jws, 0, sizeof(jws));
	pj_error_clear(err);
	if (len > 2 * cfg->max_token_size) {
		r = pj_fail(err, PJ_ERR_TOKEN, "PK Token is %zu bytes, more than twice max_token_size", len);
		goto out;
	}
	if ((r = split(pkt, len, &p, err)) != PJ_OK)
		goto out;
	if ((r = verify_op(cfg, log, &p, now, id, &jws, err)) != PJ_OK)
		goto out;
	/* From here on the payload is the issuer's word; the CIC ties it to key. */
	if ((r = verify_cic(&p, jws.payload, key, err)) != PJ_OK)
		goto out;
	id->claims = json_object_get(jws.payload);
out:
	jws_token_free(&jws);
	pkt_free(&p);
	if (r == PJ_OK)
		pj_error_clear(err);
	return r;
}
