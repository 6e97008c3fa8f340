/* jws.c: splitting a compact JWS into header, payload and signature, and the header rules. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "json_strict.h"
#include "jws.h"

bool jws_looks_like_jwt(const char *input, size_t len)
{
	return len >= 4 && memcmp(input, "eyJ", 3) == 0 && memchr(input, '.', len) != NULL;
}

/* Segments up to this many decoded bytes (every usual header and payload) are decoded on the stack: a
 * login pays no allocation for them. */
#define SEGMENT_STACK_MAX 2048

pj_status jws_decode_json_segment(const char *seg, size_t len, const char *what, json_object **out,
                                  struct pj_error *err)
{
	unsigned char stack[SEGMENT_STACK_MAX], *raw = stack, *heap = NULL;
	size_t rawlen = 0;
	pj_status r;

	if (b64url_decoded_size(len) > sizeof(stack)) {
		r = b64url_decode(seg, len, &heap, &rawlen, err);
		raw = heap;
	} else {
		r = b64url_decode_buf(seg, len, stack, sizeof(stack), &rawlen, err);
	}
	if (r != PJ_OK) {
		char inner[PJ_REASON_MAX];
		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		r = pj_fail(err, r, "%s: %s", what, inner);
		goto out;
	}
	if ((r = json_strict_parse_object_ext((const char *)raw, rawlen, JSON_STRICT_DEFAULT_DEPTH,
	                                      JSON_STRICT_NAMES_IN_ROOT, out, err)) != PJ_OK) {
		char inner[PJ_REASON_MAX];
		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		r = pj_fail(err, r, "%s: %s", what, inner);
		goto out;
	}
out:
	/* the payload is the user's claims: none of it stays behind in freed memory or on the stack (a failed
	 * decode may have written part of the stack buffer) */
	if (raw == stack)
		explicit_bzero(stack, b64url_decoded_size(len));
	else if (heap != NULL)
		explicit_bzero(heap, rawlen);
	free(heap);
	return r;
}

/* typ values a login token may carry (RFC 7519 JWT, RFC 9068 access tokens); compared case-insensitively
 * because RFC 7515 section 4.1.9 makes media types case-insensitive. */
static bool typ_allowed(const char *typ)
{
	static const char *const allowed[] = {"JWT", "at+jwt", "application/at+jwt"};

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcasecmp(typ, allowed[i]) == 0)
			return true;
	return false;
}

static pj_status check_typ(const struct jws_token *t, enum jws_typ_rule rule, struct pj_error *err)
{
	enum json_get g;
	const char *s;

	g = json_get_string(t->header, "typ", &s, NULL);
	if (g == JSON_GET_WRONG_TYPE)
		return pj_fail(err, PJ_ERR_TOKEN, "header: typ is not a string");
	if (rule == JWS_TYP_DPOP) {
		if (g != JSON_GET_OK || strcasecmp(s, "dpop+jwt") != 0)
			return pj_fail(err, PJ_ERR_TOKEN, "header: typ is not dpop+jwt");
		return PJ_OK;
	}
	if (g == JSON_GET_OK && !typ_allowed(s))
		return pj_fail(err, PJ_ERR_TOKEN, "header: typ %.64s is not a login token type", s);
	return PJ_OK;
}

static pj_status check_header(struct jws_token *t, enum jws_typ_rule rule, struct pj_error *err)
{
	size_t slen;
	enum json_get g;

	g = json_get_string(t->header, "alg", &t->alg_name, NULL);
	if (g == JSON_GET_ABSENT)
		return pj_fail(err, PJ_ERR_TOKEN, "header: no alg");
	if (g != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "header: alg is not a string");
	if ((t->alg = jws_alg_by_name(t->alg_name)) == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "header: alg %.32s is not supported", t->alg_name);
	/* No extension is understood, so any critical one means the token cannot be processed (RFC
	 * 7515 4.1.11). */
	if (json_object_object_get_ex(t->header, "crit", NULL))
		return pj_fail(err, PJ_ERR_TOKEN, "header: crit is not supported");
	/* RFC 7797 unencoded payloads: refused even without crit. */
	if (json_object_object_get_ex(t->header, "b64", NULL))
		return pj_fail(err, PJ_ERR_TOKEN, "header: b64 (unencoded payload) is not supported");
	g = json_get_string(t->header, "kid", &t->kid, &slen);
	if (g == JSON_GET_WRONG_TYPE)
		return pj_fail(err, PJ_ERR_TOKEN, "header: kid is not a string");
	if (g == JSON_GET_OK && slen > JWK_KID_MAX)
		return pj_fail(err, PJ_ERR_TOKEN, "header: kid longer than %d bytes", JWK_KID_MAX);
	if (g != JSON_GET_OK)
		t->kid = NULL;
	return check_typ(t, rule, err);
}

pj_status jws_parse(const char *token, size_t len, size_t max_len, struct jws_token *out,
                    struct pj_error *err)
{
	return jws_parse_typed(token, len, max_len, JWS_TYP_LOGIN, out, err);
}

pj_status jws_parse_typed(const char *token, size_t len, size_t max_len, enum jws_typ_rule typ,
                          struct jws_token *out, struct pj_error *err)
{
	const char *dot1, *dot2, *sig;
	size_t dots = 0;
	pj_status r;

	memset(out, 0, sizeof(*out));
	/* max_len is max_token_size for tokens, a fixed bound for DPoP proofs: the reason names which */
	if (len > max_len)
		return pj_fail(err, jws_looks_like_jwt(token, len) ? PJ_ERR_TOKEN : PJ_ERR_NOT_JWT,
		               "%s is %zu bytes, more than %s %zu", typ == JWS_TYP_DPOP ? "it" : "token", len,
		               typ == JWS_TYP_DPOP ? "the proof limit of" : "max_token_size", max_len);
	if (!jws_looks_like_jwt(token, len))
		return pj_fail(err, PJ_ERR_NOT_JWT, "input is not a JWT");
	for (const char *p = token, *end = token + len; (p = memchr(p, '.', (size_t)(end - p))) != NULL; p++)
		dots++;
	if (dots == 4)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "token has five segments (JWE): only signed JWTs are accepted");
	if (dots != 2)
		return pj_fail(err, PJ_ERR_TOKEN, "token has %zu segments, a compact JWS has 3", dots + 1);
	dot1 = memchr(token, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	sig = dot2 + 1;

	if ((r = jws_decode_json_segment(token, (size_t)(dot1 - token), "header", &out->header, err)) !=
	    PJ_OK)
		return r;
	if ((r = check_header(out, typ, err)) != PJ_OK)
		return r;
	if ((r = jws_decode_json_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &out->payload,
	                                 err)) != PJ_OK)
		return r;
	if ((size_t)(token + len - sig) == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "signature segment is empty");
	if ((r = b64url_decode(sig, (size_t)(token + len - sig), &out->signature, &out->signature_len,
	                       err)) != PJ_OK) {
		char inner[PJ_REASON_MAX];
		snprintf(inner, sizeof(inner), "%s", err ? err->reason : "");
		return pj_fail(err, r, "signature: %s", inner);
	}
	out->signing_input = token;
	out->signing_input_len = (size_t)(dot2 - token);
	return PJ_OK;
}

void jws_token_free(struct jws_token *t)
{
	if (t == NULL)
		return;
	if (t->header != NULL)
		json_object_put(t->header);
	if (t->payload != NULL)
		json_object_put(t->payload);
	if (t->signature != NULL) {
		explicit_bzero(t->signature, t->signature_len);
		free(t->signature);
	}
	memset(t, 0, sizeof(*t));
}
