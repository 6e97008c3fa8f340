/* oidc.c: OpenID Connect discovery, used by key fetching and by the device flow (see oidc.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "oidc.h"

pj_status oidc_discovery_url(const char *issuer, char **url, struct pj_error *err)
{
	size_t len = strlen(issuer);

	if (len > 0 && issuer[len - 1] == '/')
		len--;
	if (asprintf(url, "%.*s%s", (int)len, issuer, OIDC_DISCOVERY_PATH) < 0) {
		*url = NULL;
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	return PJ_OK;
}

/* One JSON object, strictly; the issuer it names equals issuer byte for byte. */
static pj_status parse_document(const char *issuer, const char *url, const struct https_body *body,
                                json_object **doc, struct pj_error *err)
{
	struct pj_error jerr;
	const char *s = NULL;
	size_t slen = 0;
	pj_status r;

	pj_error_clear(&jerr);
	if ((r = json_strict_parse_object(body->data, body->len, JSON_STRICT_DEFAULT_DEPTH, doc, &jerr)) !=
	    PJ_OK)
		return pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "%s: bad discovery document: %s",
		               url, jerr.reason);
	if (json_get_string(*doc, "issuer", &s, &slen) != JSON_GET_OK || slen != strlen(issuer) ||
	    memcmp(s, issuer, slen) != 0) {
		json_object_put(*doc);
		*doc = NULL;
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: discovery document is for another issuer", url);
	}
	return PJ_OK;
}

pj_status oidc_discover(const struct https_opts *o, const char *issuer, json_object **doc, char **url,
                        struct pj_error *err)
{
	struct https_body body = {0};
	char *u = NULL;
	pj_status r;

	*doc = NULL;
	*url = NULL;
	if ((r = oidc_discovery_url(issuer, &u, err)) != PJ_OK)
		return r;
	if ((r = https_get(o, u, &body, err)) != PJ_OK ||
	    (r = parse_document(issuer, u, &body, doc, err)) != PJ_OK)
		goto out;
	*url = u;
	u = NULL;
out:
	https_body_free(&body);
	free(u);
	return r;
}

/* Printable ASCII without spaces, 1..max bytes, no NUL inside. */
static bool url_text(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

pj_status oidc_url_member(json_object *doc, const char *what, const char *key, bool required, size_t max,
                          bool allow_http_loopback, char **out, struct pj_error *err)
{
	struct pj_error uerr;
	const char *s;
	size_t len;
	enum json_get g = json_get_string(doc, key, &s, &len);

	*out = NULL;
	if (g == JSON_GET_ABSENT && !required)
		return PJ_OK;
	if (g != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: no %s string", what, key);
	if (!url_text(s, len, max))
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: no usable %s (printable ASCII, at most %zu bytes)",
		               what, key, max);
	pj_error_clear(&uerr);
	if (https_url_check(s, allow_http_loopback, &uerr) != PJ_OK)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: %s is not an https URL: %s", what, key, uerr.reason);
	if ((*out = strdup(s)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	return PJ_OK;
}

pj_status oidc_jwks_uri(const struct https_opts *o, const char *issuer, char **jwks_uri, struct pj_error *err)
{
	json_object *doc = NULL;
	char *url = NULL;
	pj_status r;

	*jwks_uri = NULL;
	if ((r = oidc_discover(o, issuer, &doc, &url, err)) != PJ_OK)
		return r;
	r = oidc_url_member(doc, url, "jwks_uri", true, o->max_body, o->allow_http_loopback, jwks_uri, err);
	json_object_put(doc);
	free(url);
	return r;
}
