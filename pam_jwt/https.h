/* https.h: the one HTTPS client (GET and form POST) with libcurl, for key fetching, discovery, device flow.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
/* https only (https_url.h), verified TLS, no redirects, no proxy unless configured, bounded time and size. */
#ifndef PAM_JWT_HTTPS_H
#define PAM_JWT_HTTPS_H

#include <stdbool.h>
#include <stddef.h>

#include "config_file.h"
#include "error.h"

/* How to fetch: taken from an issuer section (https_opts_init). */
struct https_opts {
	const char *ca_file;      /* NULL: the system trust store */
	const char *proxy;        /* NULL: no proxy at all, environment variables ignored */
	long connect_timeout;     /* seconds */
	long timeout;             /* seconds, whole transfer */
	size_t max_body;          /* bytes; a longer body is aborted */
	bool allow_http_loopback; /* tests only: http://127.0.0.1 and http://[::1] */
	const char
	    *extra_header; /* a whole header line added to a POST (a DPoP proof: "DPoP: ..."), or NULL */
};

void https_opts_init(struct https_opts *o, const struct pj_issuer *iss);

/* A fetched body: NUL-terminated (not counted in len). max_age is the response's Cache-Control max-age in
 * seconds, 0 for no-cache / no-store, -1 when it has none. */
#define HTTPS_DPOP_NONCE_MAX 256

struct https_body {
	char *data;
	size_t len;
	long max_age;
	char dpop_nonce[HTTPS_DPOP_NONCE_MAX]; /* the answer's DPoP-Nonce header (RFC 9449 8), printable ASCII
	                                          without spaces; "" when none */
};

void https_body_free(struct https_body *b);

/* Whether url may be fetched: libcurl parses it as an absolute URL with a host, and it passes
 * https_url_allowed (https_url.h). Refused: PJ_ERR_NO_KEYS with a reason. */
pj_status https_url_check(const char *url, bool allow_http_loopback, struct pj_error *err);

/* GET url; only a 200 answer within the limits is a success. Every failure (URL refused, connection, TLS,
 * timeout, status, oversized body) is PJ_ERR_NO_KEYS with a reason; allocation failure PJ_ERR_NOMEM. */
pj_status https_get(const struct https_opts *o, const char *url, struct https_body *out,
                    struct pj_error *err);

/* POST form (already application/x-www-form-urlencoded) to url under the same rules as https_get;
 * authorization is a whole "Authorization: ..." header line, or NULL. OAuth 2.0 sends its error responses
 * with status 400 or 401 and a JSON body, so those are returned like a 200 answer, *status telling which;
 * every other status is a failure as in https_get. The body is never logged: it carries codes. */
pj_status https_post_form(const struct https_opts *o, const char *url, const char *form,
                          const char *authorization, long *status, struct https_body *out,
                          struct pj_error *err);

/* Folds one Cache-Control header value (RFC 9111 5.2) into *max_age (start with -1): the first max-age=N
 * wins (N capped at 10 years); no-cache and no-store make it 0. Malformed directives are ignored. HTTP
 * caching is the client's business: every body comes back with its max_age, the key cache uses it. */
void https_cache_control(const char *value, size_t len, long *max_age);

/* True once libcurl has been initialised in this process (tests: a fresh cache must not need it). */
bool https_curl_initialised(void);

#endif
