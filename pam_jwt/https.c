/* https.c: the HTTPS client (see https.h); libcurl is loaded by lazy_lib.c on the first fetch. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lazy_lib.h"
#include "https.h"
#include "https_url.h"
#include "ossl_nomem.h"

#define HTTPS_USER_AGENT  "pam_jwt/" PACKAGE_VERSION
#define HTTPS_MAX_AGE_CAP (10L * 365 * 86400)

/* libcurl is loaded and initialised only when a fetch is really needed: a login with a fresh cache never
 * pays for it (issue #6). */
bool https_curl_initialised(void)
{
	return lazy_lib_ready(LAZY_LIB_CURL);
}

void https_opts_init(struct https_opts *o, const struct pj_issuer *iss)
{
	o->ca_file = iss->tls_ca_file;
	o->proxy = iss->proxy;
	o->connect_timeout = iss->http_connect_timeout > 0 ? iss->http_connect_timeout : 2;
	o->timeout = iss->http_timeout > 0 ? iss->http_timeout : 5;
	o->max_body = iss->http_max_body > 0 ? iss->http_max_body : 1024 * 1024;
	o->allow_http_loopback = iss->insecure_allow_http_loopback;
	o->extra_header = NULL;
}

void https_body_free(struct https_body *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static bool token_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* One directive, already trimmed: "max-age=N", "no-cache", "no-store" or anything else (ignored). */
static void cache_directive(const char *s, size_t len, long *max_age)
{
	static const char prefix[] = "max-age=";
	const size_t plen = sizeof(prefix) - 1;
	long v = 0;

	if (token_is(s, len, "no-cache") || token_is(s, len, "no-store")) {
		*max_age = 0;
		return;
	}
	if (len <= plen || strncasecmp(s, prefix, plen) != 0 || *max_age != -1)
		return;
	for (size_t i = plen; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return;
		if (v < HTTPS_MAX_AGE_CAP)
			v = v * 10 + (s[i] - '0');
	}
	*max_age = v < HTTPS_MAX_AGE_CAP ? v : HTTPS_MAX_AGE_CAP;
}

void https_cache_control(const char *value, size_t len, long *max_age)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		start = i;
		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (end > start && isspace((unsigned char)value[end - 1]))
			end--;
		if (end > start)
			cache_directive(value + start, end - start, max_age);
	}
}

pj_status https_url_check(const char *url, bool allow_http_loopback, struct pj_error *err)
{
	const struct curl_api *c;
	const void *api;
	char *scheme = NULL, *host = NULL;
	CURLU *u;
	pj_status r = PJ_OK;

	if ((r = lazy_lib_get(LAZY_LIB_CURL, &api, err)) != PJ_OK)
		return r;
	c = api;
	if ((u = c->url()) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (c->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    c->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    c->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		r = pj_fail(err, PJ_ERR_NO_KEYS, "URL %s: not a valid absolute URL", url);
		goto out;
	}
	if (!https_url_allowed(url, allow_http_loopback))
		r = pj_fail(err, PJ_ERR_NO_KEYS, "URL %s: only https is allowed", url);
out:
	c->free(scheme);
	c->free(host);
	c->url_cleanup(u);
	return r;
}

/* Per-transfer state shared with the callbacks. */
struct fetch_state {
	char *buf;
	size_t len, cap, max;
	bool oversized;
	bool nomem;
	long max_age;
	char dpop_nonce[HTTPS_DPOP_NONCE_MAX];
};

/* DPoP-Nonce (RFC 9449 8.1): a server-chosen value; kept only when it is printable ASCII without spaces. */
static void take_dpop_nonce(struct fetch_state *st, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(st->dpop_nonce))
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return;
	memcpy(st->dpop_nonce, v, n);
	st->dpop_nonce[n] = '\0';
}

/* The body cap is enforced here: libcurl 7.88 does not enforce its own for bodies of unknown length. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_state *st = arg;
	size_t n = size * nmemb;

	if (n > st->max - st->len) {
		st->oversized = true;
		return 0;
	}
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 16384;
		char *p;

		while (cap < st->len + n + 1)
			cap *= 2;
		if (cap > st->max + 1)
			cap = st->max + 1;
		if ((p = realloc(st->buf, cap)) == NULL) {
			st->nomem = true;
			return 0;
		}
		st->buf = p;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, data, n);
	st->len += n;
	st->buf[st->len] = '\0';
	return n;
}

/* Collects Cache-Control; a new status line (after 1xx or a proxy CONNECT) starts over. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "cache-control:", nonce[] = "dpop-nonce:";
	const size_t nlen = sizeof(name) - 1, dlen = sizeof(nonce) - 1;
	struct fetch_state *st = arg;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		st->max_age = -1;
		st->dpop_nonce[0] = '\0';
	} else if (n > nlen && strncasecmp(data, name, nlen) == 0) {
		https_cache_control(data + nlen, n - nlen, &st->max_age);
	} else if (n > dlen && strncasecmp(data, nonce, dlen) == 0) {
		take_dpop_nonce(st, data + dlen, n - dlen);
	}
	return n;
}

/* Through the loaded table, curl_easy_setopt is a plain variadic call that <curl/typecheck-gcc.h> no longer
 * checks: every value here must already have the type its option takes (long, curl_off_t, a string, a
 * pointer, or a callback of curl's exact type). */
#define SETOPT(h, opt, val)                                                                                  \
	do {                                                                                                 \
		if (c->easy_setopt((h), (opt), (val)) != CURLE_OK)                                           \
			goto setopt_failed;                                                                  \
	} while (0)

/* Every option that makes the transfer safe; any that cannot be set aborts the fetch. form: NULL for a GET,
 * else the body of a POST (already form-encoded). */
static pj_status fetch_setup(const struct curl_api *c, CURL *h, const struct https_opts *o, const char *url,
                             const char *form, struct fetch_state *st, struct curl_slist *hdrs, char *errbuf,
                             struct pj_error *err)
{
	const char *protocols = o->allow_http_loopback ? "http,https" : "https";

	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, protocols);
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_MAXREDIRS, 0L);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* No TLS session cache: every fetch is one connection on a new handle, so resuming never happens, and
	 * libcurl 7.88's cache corrupts the heap when an allocation fails while it stores a session ticket
	 * (test_faults' full sweep: malloc 14,877 of 15,385 of a JWKS refresh, glibc's "unaligned fastbin
	 * chunk" abort a few allocations later, inside sshd or sudo had it been a login). */
	SETOPT(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (o->ca_file != NULL) {
		/* a private CA replaces the system store rather than adding to it */
		SETOPT(h, CURLOPT_CAINFO, o->ca_file);
		SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
	}
	if (o->proxy != NULL) {
		SETOPT(h, CURLOPT_PROXY, o->proxy);
		SETOPT(h, CURLOPT_NOPROXY, "");
	} else {
		/* "" disables proxies, including http_proxy/https_proxy/all_proxy from the environment */
		SETOPT(h, CURLOPT_PROXY, "");
		SETOPT(h, CURLOPT_NOPROXY, "*");
	}
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
	SETOPT(h, CURLOPT_TIMEOUT, o->timeout);
	SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	SETOPT(h, CURLOPT_USERAGENT, HTTPS_USER_AGENT);
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	if (form == NULL) {
		SETOPT(h, CURLOPT_HTTPGET, 1L);
	} else {
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
		SETOPT(h, CURLOPT_POSTFIELDS, form);
	}
	/* no CURLOPT_ACCEPT_ENCODING: an identity body cannot be a compression bomb */
	SETOPT(h, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(h, CURLOPT_WRITEDATA, st);
	SETOPT(h, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(h, CURLOPT_HEADERDATA, st);
	return PJ_OK;
setopt_failed:
	return pj_fail(err, PJ_ERR_NO_KEYS, "%s: libcurl refused an option", url);
}

/* oauth_errors: 400 and 401 answers are results too (OAuth 2.0 sends its error responses with them). */
static pj_status fetch_result(const struct curl_api *c, CURL *h, CURLcode rc, const struct https_opts *o,
                              const char *url, const struct fetch_state *st, const char *errbuf,
                              bool oauth_errors, long *status_out, struct pj_error *err)
{
	long status = 0;

	if (st->nomem)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (st->oversized || rc == CURLE_FILESIZE_EXCEEDED)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: response larger than %zu bytes", url, o->max_body);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: timed out", url);
	if (rc != CURLE_OK)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: %s", url, errbuf[0] ? errbuf : c->easy_strerror(rc));
	c->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*status_out = status;
	if (oauth_errors && (status == 400 || status == 401))
		return PJ_OK;
	if (status >= 300 && status < 400)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: HTTP status %ld (redirects are not followed)", url,
		               status);
	if (status != 200)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: HTTP status %ld", url, status);
	return PJ_OK;
}

/* The request headers: Accept, and for a POST its content type, an Authorization line when given, and no
 * "Expect: 100-continue" round trip. */
static struct curl_slist *request_headers(const struct curl_api *c, const char *form,
                                          const char *authorization, const char *extra)
{
	const char *lines[] = {"Accept: application/json, application/jwk-set+json",
	                       form != NULL ? "Content-Type: application/x-www-form-urlencoded" : NULL,
	                       form != NULL ? "Expect:" : NULL, form != NULL ? authorization : NULL,
	                       form != NULL ? extra : NULL};
	struct curl_slist *hdrs = NULL, *n;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i] == NULL)
			continue;
		if ((n = c->slist_append(hdrs, lines[i])) == NULL) {
			c->slist_free_all(hdrs);
			return NULL;
		}
		hdrs = n;
	}
	return hdrs;
}

/* One GET (form NULL) or POST; see https_get and https_post_form. */
static pj_status http_transfer(const struct https_opts *o, const char *url, const char *form,
                               const char *authorization, long *status, struct https_body *out,
                               struct pj_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fetch_state st = {.max = o->max_body, .max_age = -1};
	const struct curl_api *c = NULL;
	const void *api;
	struct curl_slist *hdrs = NULL;
	CURL *h = NULL;
	CURLcode rc;
	pj_status r;

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	*status = 0;
	if (!ossl_initialised()) /* libcurl's TLS is OpenSSL's */
		return pj_fail(err, PJ_ERR_NOMEM, "OpenSSL could not initialise: out of memory");
	if ((r = https_url_check(url, o->allow_http_loopback, err)) != PJ_OK ||
	    (r = lazy_lib_get(LAZY_LIB_CURL, &api, err)) != PJ_OK)
		return r;
	c = api;
	if ((hdrs = request_headers(c, form, authorization, o->extra_header)) == NULL ||
	    (h = c->easy_init()) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = fetch_setup(c, h, o, url, form, &st, hdrs, errbuf, err)) != PJ_OK)
		goto out;
	rc = c->easy_perform(h);
	if ((r = fetch_result(c, h, rc, o, url, &st, errbuf, form != NULL, status, err)) != PJ_OK)
		goto out;
	if (st.buf == NULL && (st.buf = strdup("")) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	out->data = st.buf;
	out->len = st.len;
	out->max_age = st.max_age;
	memcpy(out->dpop_nonce, st.dpop_nonce, sizeof(out->dpop_nonce));
	st.buf = NULL;
out:
	free(st.buf);
	c->easy_cleanup(h);
	c->slist_free_all(hdrs);
	return r;
}

pj_status https_get(const struct https_opts *o, const char *url, struct https_body *out, struct pj_error *err)
{
	long status;

	return http_transfer(o, url, NULL, NULL, &status, out, err);
}

pj_status https_post_form(const struct https_opts *o, const char *url, const char *form,
                          const char *authorization, long *status, struct https_body *out,
                          struct pj_error *err)
{
	return http_transfer(o, url, form, authorization, status, out, err);
}
