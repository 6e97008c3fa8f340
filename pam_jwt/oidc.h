/* oidc.h: OpenID Connect discovery: the issuer's discovery document and the https endpoints it names. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_OIDC_H
#define PAM_JWT_OIDC_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "error.h"
#include "https.h"

#define OIDC_DISCOVERY_PATH "/.well-known/openid-configuration"

/* The discovery URL of issuer: issuer less one terminating '/' (OIDC Discovery 1.0 section 4), then
 * OIDC_DISCOVERY_PATH. *url is malloc'd. */
pj_status oidc_discovery_url(const char *issuer, char **url, struct pj_error *err);

/* GETs the discovery document of issuer with o and parses it strictly (json_strict: one JSON object); its
 * "issuer" must equal issuer byte for byte. *doc (json_object_put it) and *url (the URL it came from, for
 * messages; malloc'd) are set on success only. Failures: PJ_ERR_NO_KEYS with a reason, PJ_ERR_NOMEM. */
pj_status oidc_discover(const struct https_opts *o, const char *issuer, json_object **doc, char **url,
                        struct pj_error *err);

/* The member key of doc (a discovery document or another IdP answer) as a URL we may fetch from or show:
 * a string of 1..max printable ASCII bytes without spaces that passes https_url_check. Absent and not
 * required: *out = NULL and PJ_OK. what names the document in reasons. *out is malloc'd.
 * Failures: PJ_ERR_NO_KEYS ("no KEY string", "no usable KEY", "KEY is not an https URL: ..."),
 * PJ_ERR_NOMEM. */
pj_status oidc_url_member(json_object *doc, const char *what, const char *key, bool required, size_t max,
                          bool allow_http_loopback, char **out, struct pj_error *err);

/* Key fetching without a configured jwks_uri: discovery, then its "jwks_uri" (oidc_url_member, up to
 * o->max_body bytes). *jwks_uri is malloc'd. */
pj_status oidc_jwks_uri(const struct https_opts *o, const char *issuer, char **jwks_uri,
                        struct pj_error *err);

#endif
