/* jwks_fetch.h: locked-down HTTPS GET of a JWKS or OIDC discovery document with libcurl. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* https only, verified TLS, no redirects, no proxy unless configured, bounded time and size. */
#ifndef PAM_JWT_JWKS_FETCH_H
#define PAM_JWT_JWKS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "config_file.h"
#include "error.h"

#define JWKS_DISCOVERY_PATH "/.well-known/openid-configuration"

/* How to fetch: taken from an issuer section (jwks_http_opts_init). */
struct jwks_http_opts {
	const char *ca_file;      /* NULL: the system trust store */
	const char *proxy;        /* NULL: no proxy at all, environment variables ignored */
	long connect_timeout;     /* seconds */
	long timeout;             /* seconds, whole transfer */
	size_t max_body;          /* bytes; a longer body is aborted */
	bool allow_http_loopback; /* tests only: http://127.0.0.1 and http://[::1] */
};

void jwks_http_opts_init(struct jwks_http_opts *o, const struct pj_issuer *iss);

/* A fetched body: NUL-terminated (not counted in len). max_age is the response's Cache-Control max-age in
 * seconds, 0 for no-cache / no-store, -1 when it has none. */
struct jwks_http_body {
	char *data;
	size_t len;
	long max_age;
};

void jwks_http_body_free(struct jwks_http_body *b);

/* Whether url may be fetched: an https URL with a host, or with allow_http_loopback an http URL whose host is
 * exactly 127.0.0.1 or [::1]. Refused: PJ_ERR_NO_KEYS with a reason. */
pj_status jwks_url_check(const char *url, bool allow_http_loopback, struct pj_error *err);

/* GET url; only a 200 answer within the limits is a success. Every failure (URL refused, connection, TLS,
 * timeout, status, oversized body) is PJ_ERR_NO_KEYS with a reason; allocation failure PJ_ERR_NOMEM. */
pj_status jwks_http_get(const struct jwks_http_opts *o, const char *url, struct jwks_http_body *out,
                        struct pj_error *err);

/* POST form (already application/x-www-form-urlencoded) to url under the same rules as jwks_http_get;
 * authorization is a whole "Authorization: ..." header line, or NULL. OAuth 2.0 sends its error responses
 * with status 400 or 401 and a JSON body, so those are returned like a 200 answer, *status telling which;
 * every other status is a failure as in jwks_http_get. The body is never logged: it carries codes. */
pj_status jwks_http_post_form(const struct jwks_http_opts *o, const char *url, const char *form,
                              const char *authorization, long *status, struct jwks_http_body *out,
                              struct pj_error *err);

/* OIDC discovery: GET issuer (less a trailing '/') + JWKS_DISCOVERY_PATH. The document's "issuer" must equal
 * issuer byte for byte and its "jwks_uri" pass jwks_url_check. *jwks_uri is malloc'd. */
pj_status jwks_discover(const struct jwks_http_opts *o, const char *issuer, char **jwks_uri,
                        struct pj_error *err);

/* Folds one Cache-Control header value into *max_age (start with -1): the first max-age=N wins (N capped at
 * 10 years); no-cache and no-store make it 0. Malformed directives are ignored. */
void jwks_cache_control(const char *value, size_t len, long *max_age);

/* True once libcurl has been initialised in this process (tests: a fresh cache must not need it). */
bool jwks_fetch_curl_initialised(void);

#endif
