/* device_flow.c: the OAuth 2.0 device authorization grant (RFC 8628) client (see device_flow.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "device_flow.h"
#include "dpop_client.h"
#include "hostname.h"
#include "https.h"
#include "json_strict.h"
#include "oidc.h"
#include "qr_render.h"
#include "secret.h"
#include "trusted_file.h"

#define GRANT_TYPE     "urn:ietf:params:oauth:grant-type:device_code"
#define EXPIRES_MAX    86400 /* expires_in beyond a day is nonsense; device_timeout caps it anyway */
#define INTERVAL_MAX   600
#define ERROR_CODE_MAX 64 /* bytes of an OAuth "error" value quoted in logs */

/* What one flow knows; freed (and the secrets wiped) by flow_free. */
struct flow {
	const struct pj_config *cfg;
	const struct pj_issuer *iss;
	const struct pj_log *log;
	struct https_opts http;
	char *device_endpoint;
	char *token_endpoint;
	char *authorization; /* "Authorization: Basic ..." for a confidential client, else NULL */
	char *device_code;
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete;
	long expires_in;
	long interval;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	struct timespec next_poll;
	EVP_PKEY *dpop_key;                    /* NULL: no DPoP */
	char dpop_nonce[HTTPS_DPOP_NONCE_MAX]; /* the token endpoint's last DPoP-Nonce */
	int nonce_retries;                     /* use_dpop_nonce answers in a row */
};

/* ---- small helpers ---- */

static void flow_free(struct flow *f)
{
	free(f->device_endpoint);
	free(f->token_endpoint);
	pj_free_secret(f->authorization);
	pj_free_secret(f->device_code);
	free(f->user_code);
	free(f->verification_uri);
	free(f->verification_uri_complete);
}

static void tell(const struct pj_conv *conv, const char *text)
{
	if (conv != NULL && conv->info != NULL)
		conv->info(conv->arg, text);
}

static struct timespec mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static struct timespec ts_add(struct timespec t, long secs)
{
	t.tv_sec += secs;
	return t;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

/* Sleeps until the monotonic time t, whatever signals arrive. */
static void sleep_until(struct timespec t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/* Printable ASCII without spaces (quote: with spaces), 1..max bytes: what may be shown or sent back. */
static bool printable(const char *s, size_t len, size_t max, bool spaces)
{
	if (len == 0 || len > max || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < (spaces ? 0x20 : 0x21) || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* ---- form encoding and client authentication ---- */

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

/* RFC 6749 appendix B: unreserved kept, space as '+', every other byte %XX. */
static char *form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (unreserved(*p)) {
			*o++ = (char)*p;
		} else if (*p == ' ') {
			*o++ = '+';
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

pj_status pj_form_append(char **buf, const char *name, const char *value, struct pj_error *err)
{
	char *v = form_encode(value), *joined = NULL;
	int n;

	if (v == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	n = asprintf(&joined, "%s%s%s=%s", *buf ? *buf : "", *buf ? "&" : "", name, v);
	pj_free_secret(v);
	if (n < 0)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	pj_free_secret(*buf);
	*buf = joined;
	return PJ_OK;
}

/* The client secret: a root-owned file that nobody else may read or write, its first line. */
static pj_status read_secret(const char *path, char **secret, struct pj_error *err)
{
	char buf[DEVICE_SECRET_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	pj_status r;
	int fd;

	*secret = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return pj_fail(err, PJ_ERR_CONFIG, "device_client_secret_file %s: %s", path,
		               errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if ((r = trusted_file_check_fd(fd, path, err)) != PJ_OK)
		goto out;
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = pj_fail(err, PJ_ERR_CONFIG,
		            "device_client_secret_file %s: readable by group or others (mode %04o)", path,
		            (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = pj_fail(err, PJ_ERR_SYSTEM, "device_client_secret_file %s: %s", path,
			            strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (!printable(buf, len, DEVICE_SECRET_MAX, true))
		r = pj_fail(err, PJ_ERR_CONFIG,
		            "device_client_secret_file %s: not one line of 1..%d printable characters", path,
		            DEVICE_SECRET_MAX);
	else if ((*secret = strdup(buf)) == NULL)
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* RFC 6749 section 2.3.1: HTTP Basic with the form-encoded client id and secret. */
static pj_status basic_auth(const char *client_id, const char *secret, char **header, struct pj_error *err)
{
	static const char prefix[] = "Authorization: Basic ";
	char *id = form_encode(client_id), *pw = form_encode(secret), *plain = NULL;
	size_t plen;
	pj_status r = PJ_OK;
	int n;

	*header = NULL;
	if (id == NULL || pw == NULL || (n = asprintf(&plain, "%s:%s", id, pw)) < 0) {
		plain = NULL;
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	plen = (size_t)n;
	if ((*header = malloc(sizeof(prefix) + 4 * ((plen + 2) / 3) + 1)) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*header, prefix, sizeof(prefix) - 1);
	EVP_EncodeBlock((unsigned char *)*header + sizeof(prefix) - 1, (const unsigned char *)plain,
	                (int)plen);
out:
	pj_free_secret(id);
	pj_free_secret(pw);
	pj_free_secret(plain);
	return r;
}

/* ---- talking to the IdP ---- */

/* A JSON object answer; anything else is the IdP failing. */
static pj_status parse_answer(const char *what, const struct https_body *body, json_object **doc,
                              struct pj_error *err)
{
	struct pj_error jerr;
	pj_status r;

	if ((r = json_strict_parse_object(body->data, body->len, JSON_STRICT_DEFAULT_DEPTH, doc, &jerr)) !=
	    PJ_OK)
		return pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "%s: bad answer: %s", what,
		               jerr.reason);
	return PJ_OK;
}

/* A member that must be an https URL (or loopback http when the issuer allows it). */
static pj_status get_url(json_object *doc, const struct flow *f, const char *what, const char *key,
                         bool required, char **out, struct pj_error *err)
{
	return oidc_url_member(doc, what, key, required, DEVICE_URI_MAX, f->http.allow_http_loopback, out,
	                       err);
}

/* OIDC discovery at the issuer URL: the two endpoints of the flow. */
static pj_status discover(struct flow *f, struct pj_error *err)
{
	json_object *doc = NULL;
	char *url = NULL;
	pj_status r;

	if ((r = oidc_discover(&f->http, f->iss->issuer, &doc, &url, err)) != PJ_OK)
		return r;
	if ((r = get_url(doc, f, url, "device_authorization_endpoint", true, &f->device_endpoint, err)) ==
	    PJ_OK)
		r = get_url(doc, f, url, "token_endpoint", true, &f->token_endpoint, err);
	json_object_put(doc);
	free(url);
	return r;
}

/* The "error" of an OAuth error answer, or "" when it has none usable. */
static const char *oauth_error(json_object *doc)
{
	const char *s;
	size_t len;

	if (doc == NULL || json_get_string(doc, "error", &s, &len) != JSON_GET_OK ||
	    !printable(s, len, ERROR_CODE_MAX, false))
		return "";
	return s;
}

/* What an OAuth error means for the login (RFC 6749 5.2, RFC 8628 3.5). */
static pj_status oauth_failure(const char *what, const char *code, long status, struct pj_error *err)
{
	if (strcmp(code, "invalid_client") == 0 || strcmp(code, "unauthorized_client") == 0 ||
	    strcmp(code, "invalid_scope") == 0 || strcmp(code, "invalid_target") == 0)
		return pj_fail(err, PJ_ERR_CONFIG, "%s: the IdP refuses this client: %s (HTTP %ld)", what,
		               code, status);
	if (strcmp(code, "access_denied") == 0)
		return pj_fail(err, PJ_ERR_USER, "the sign-in was denied at the IdP");
	if (strcmp(code, "expired_token") == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "the sign-in request expired at the IdP");
	if (strcmp(code, "invalid_grant") == 0)
		return pj_fail(err, PJ_ERR_TOKEN, "%s: the IdP no longer knows this sign-in request", what);
	return pj_fail(err, PJ_ERR_NO_KEYS, "%s: the IdP answered HTTP %ld, error \"%s\"", what, status,
	               code[0] ? code : "(none)");
}

/* POSTs form to url; on PJ_OK *doc is the JSON answer of a 200 (*status 200) or an OAuth error (400/401).
 * A DPoP-Nonce in the answer is kept in f. */
static pj_status post(struct flow *f, const struct https_opts *http, const char *url, const char *form,
                      long *status, json_object **doc, struct pj_error *err)
{
	struct https_body body = {0};
	pj_status r;

	*doc = NULL;
	if ((r = https_post_form(http, url, form, f->authorization, status, &body, err)) != PJ_OK)
		goto out;
	if (body.dpop_nonce[0] != '\0')
		memcpy(f->dpop_nonce, body.dpop_nonce, sizeof(f->dpop_nonce));
	if ((r = parse_answer(url, &body, doc, err)) != PJ_OK && *status != 200)
		r = oauth_failure(url, "", *status, err);
out:
	if (body.data != NULL)
		explicit_bzero(body.data, body.len);
	https_body_free(&body);
	return r;
}

static bool id_token_mode(const struct pj_issuer *iss)
{
	return iss->device_resource == NULL && iss->device_audience == NULL;
}

static pj_status authorization_form(const struct pj_issuer *iss, char **form, struct pj_error *err)
{
	char scope[4096] = "", resource[1024], audience[1024];
	struct pj_host_names names;
	bool names_known = false;
	size_t used = 0;
	pj_status r;

	for (size_t i = 0; i < iss->n_device_scopes; i++) {
		int n =
		    snprintf(scope + used, sizeof(scope) - used, "%s%s", i ? " " : "", iss->device_scopes[i]);

		if (n < 0 || (size_t)n >= sizeof(scope) - used)
			return pj_fail(err, PJ_ERR_CONFIG, "device_scopes: too long");
		used += (size_t)n;
	}
	*form = NULL;
	/* %h / %H: a token minted for this host alone (RFC 8707 resource indicator, or "audience") */
	if ((iss->device_resource && (r = pj_host_expand(iss->device_resource, &names, &names_known, resource,
	                                                 sizeof(resource), err)) != PJ_OK) ||
	    (iss->device_audience && (r = pj_host_expand(iss->device_audience, &names, &names_known, audience,
	                                                 sizeof(audience), err)) != PJ_OK))
		return r;
	if ((r = pj_form_append(form, "client_id", iss->device_client_id, err)) != PJ_OK ||
	    (r = pj_form_append(form, "scope", scope, err)) != PJ_OK ||
	    (iss->device_resource && (r = pj_form_append(form, "resource", resource, err)) != PJ_OK) ||
	    (iss->device_audience && (r = pj_form_append(form, "audience", audience, err)) != PJ_OK))
		return r;
	return PJ_OK;
}

/* A string member that is shown or sent back: printable ASCII, bounded. */
static pj_status get_code(json_object *doc, const char *what, const char *key, size_t max, char **out,
                          struct pj_error *err)
{
	const char *s;
	size_t len;

	if (json_get_string(doc, key, &s, &len) != JSON_GET_OK || !printable(s, len, max, false))
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: no usable %s", what, key);
	if ((*out = strdup(s)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	return PJ_OK;
}

static pj_status parse_authorization(struct flow *f, json_object *doc, struct pj_error *err)
{
	const char *what = f->device_endpoint;
	int64_t v;
	enum json_get g;
	pj_status r;

	if ((r = get_code(doc, what, "device_code", DEVICE_CODE_MAX, &f->device_code, err)) != PJ_OK ||
	    (r = get_code(doc, what, "user_code", DEVICE_USER_CODE_MAX, &f->user_code, err)) != PJ_OK ||
	    (r = get_url(doc, f, what, "verification_uri", true, &f->verification_uri, err)) != PJ_OK ||
	    (r = get_url(doc, f, what, "verification_uri_complete", false, &f->verification_uri_complete,
	                 err)) != PJ_OK)
		return r;
	if (json_get_int64(doc, "expires_in", &v) != JSON_GET_OK || v < 1)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: no usable expires_in", what);
	f->expires_in = v > EXPIRES_MAX ? EXPIRES_MAX : (long)v;
	g = json_get_int64(doc, "interval", &v);
	if (g == JSON_GET_ABSENT)
		v = DEVICE_INTERVAL_DEFAULT;
	else if (g != JSON_GET_OK || v < 0)
		return pj_fail(err, PJ_ERR_NO_KEYS, "%s: no usable interval", what);
	/* never faster than once a second, even if the IdP says 0 */
	f->interval = v < 1 ? 1 : v > INTERVAL_MAX ? INTERVAL_MAX : (long)v;
	return PJ_OK;
}

/* The device authorization request (RFC 8628 3.1, 3.2); the clock starts when it is answered. */
static pj_status authorize(struct flow *f, struct pj_error *err)
{
	json_object *doc = NULL;
	char *form = NULL;
	long status = 0, limit;
	struct timespec now;
	pj_status r;

	if ((r = authorization_form(f->iss, &form, err)) != PJ_OK ||
	    (r = post(f, &f->http, f->device_endpoint, form, &status, &doc, err)) != PJ_OK)
		goto out;
	if (status != 200) {
		r = oauth_failure(f->device_endpoint, oauth_error(doc), status, err);
		goto out;
	}
	if ((r = parse_authorization(f, doc, err)) != PJ_OK)
		goto out;
	now = mono_now();
	limit = f->expires_in < f->iss->device_timeout ? f->expires_in : f->iss->device_timeout;
	f->deadline = ts_add(now, limit);
	f->next_poll = ts_add(now, f->interval);
out:
	if (doc != NULL)
		json_object_put(doc);
	pj_free_secret(form);
	return r;
}

/* ---- what the person sees ---- */

/* "Approve only if...": what the sign-in is for, so that a person sent a code by someone else (a phishing
 * relay, RFC 8628 5.4) sees it is not their own login. Control characters of the names are escaped. */
static char *purpose(const struct pj_device_opts *opts)
{
	char host[PJ_HOST_MAX * 4], svc[256] = "", user[256] = "", *text = NULL;
	struct pj_host_names names;
	struct pj_error herr;
	const char *h = opts->host;

	if (h == NULL && pj_host_names_get(&names, &herr) == PJ_OK)
		h = names.fqdn;
	if (h == NULL)
		h = "this host";
	pj_escape(host, sizeof(host), h, strlen(h));
	if (opts->service != NULL)
		pj_escape(svc, sizeof(svc), opts->service, strlen(opts->service));
	if (opts->user != NULL)
		pj_escape(user, sizeof(user), opts->user, strlen(opts->user));
	if (asprintf(&text,
	             "Sign-in%s%s on %s%s%s%s.\nApprove it only if you are signing in to %s%s%s yourself.\n",
	             user[0] ? " for " : "", user, host, svc[0] ? " (" : "", svc, svc[0] ? ")" : "", host,
	             user[0] ? " as " : "", user) < 0)
		return NULL;
	return text;
}

static pj_status instructions(const struct flow *f, const struct pj_device_opts *opts, char **text,
                              struct pj_error *err)
{
	const char *complete =
	    f->verification_uri_complete ? f->verification_uri_complete : f->verification_uri;
	bool ask_enter = opts->ask_enter;
	char *qr = NULL, *why;
	size_t cols;
	struct pj_error qerr;
	int n;

	/* no QR code is no failure: the URL is there in plain text */
	if (qr_render(complete, &qr, &cols, &qerr) == PJ_ERR_NOMEM || (why = purpose(opts)) == NULL) {
		free(qr);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	n = asprintf(text, "%sTo sign in, open %s\nand enter the code %s\n%s%s%s%s\n%s", why,
	             f->verification_uri, f->user_code, qr ? "or scan this QR code:\n" : "", qr ? qr : "",
	             f->verification_uri_complete ? "or open " : "",
	             f->verification_uri_complete ? f->verification_uri_complete : "",
	             ask_enter ? "Press Enter when you have approved the sign-in: "
	                       : "Waiting for the sign-in to be approved...");
	free(qr);
	free(why);
	if (n < 0) {
		*text = NULL;
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	return PJ_OK;
}

/* Shows the instructions; with ask_enter they are the text of a prompt whose answer is waited for. */
static pj_status show(const struct flow *f, const struct pj_conv *conv, const struct pj_device_opts *opts,
                      struct pj_error *err)
{
	char *text = NULL, *answer = NULL;
	pj_status r;

	if ((r = instructions(f, opts, &text, err)) != PJ_OK)
		return r;
	if (!opts->ask_enter) {
		tell(conv, text);
	} else if (conv == NULL || conv->prompt == NULL ||
	           conv->prompt(conv->arg, true, text, &answer) != 0) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "the conversation failed while waiting for the approval");
	}
	pj_free_secret(answer);
	free(text);
	return r;
}

/* ---- polling ---- */

/* The credential from a token answer. */
static pj_status take_token(const struct flow *f, json_object *doc, char **token, struct pj_error *err)
{
	const char *key = id_token_mode(f->iss) ? "id_token" : "access_token", *s;
	size_t len;

	if (json_get_string(doc, key, &s, &len) != JSON_GET_OK || len == 0 || strlen(s) != len)
		return pj_fail(err, PJ_ERR_TOKEN, "%s: the answer has no %s", f->token_endpoint, key);
	if (len > f->cfg->max_token_size)
		return pj_fail(err, PJ_ERR_TOKEN, "%s: the %s is larger than max_token_size (%zu bytes)",
		               f->token_endpoint, key, f->cfg->max_token_size);
	if ((*token = strdup(s)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	return PJ_OK;
}

static pj_status token_form(const struct flow *f, char **form, struct pj_error *err)
{
	pj_status r;

	*form = NULL;
	if ((r = pj_form_append(form, "grant_type", GRANT_TYPE, err)) != PJ_OK ||
	    (r = pj_form_append(form, "device_code", f->device_code, err)) != PJ_OK ||
	    (r = pj_form_append(form, "client_id", f->iss->device_client_id, err)) != PJ_OK)
		return r;
	return PJ_OK;
}

/* "DPoP: PROOF" for a token request (htm POST, htu the token endpoint, the last DPoP-Nonce if any). */
static pj_status dpop_header(const struct flow *f, char **line, struct pj_error *err)
{
	char *proof = NULL;
	pj_status r;

	*line = NULL;
	if ((r = dpop_proof_make(f->dpop_key, "POST", f->token_endpoint,
	                         f->dpop_nonce[0] ? f->dpop_nonce : NULL, NULL, 0, time(NULL), &proof,
	                         err)) != PJ_OK)
		return r;
	if (asprintf(line, "DPoP: %s", proof) < 0) {
		*line = NULL;
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	free(proof);
	return r;
}

/* One token request. *done false: keep polling (authorization_pending, slow_down, use_dpop_nonce). */
static pj_status poll_once(struct flow *f, const char *form, long timeout, bool *done, char **token,
                           struct pj_error *err)
{
	struct https_opts http = f->http;
	json_object *doc = NULL;
	const char *code;
	char *dpop = NULL;
	long status = 0;
	pj_status r;

	*done = true;
	http.timeout = timeout < http.timeout ? timeout : http.timeout;
	if (f->dpop_key != NULL && (r = dpop_header(f, &dpop, err)) != PJ_OK)
		return r;
	http.extra_header = dpop;
	r = post(f, &http, f->token_endpoint, form, &status, &doc, err);
	free(dpop);
	/* the interval counts from the end of this request, so a slow answer never shortens it */
	f->next_poll = ts_add(mono_now(), f->interval);
	if (r != PJ_OK)
		goto out;
	if (status == 200) {
		r = take_token(f, doc, token, err);
		goto out;
	}
	code = oauth_error(doc);
	/* RFC 9449 8: the IdP wants its nonce in the proof; again at once, with the nonce it just named */
	if (strcmp(code, "use_dpop_nonce") == 0 && f->dpop_key != NULL && f->dpop_nonce[0] != '\0' &&
	    f->nonce_retries++ < PJ_DEVICE_DPOP_RETRIES) {
		f->next_poll = mono_now();
		*done = false;
		goto out;
	}
	f->nonce_retries = 0;
	if (strcmp(code, "authorization_pending") == 0 || strcmp(code, "slow_down") == 0) {
		if (code[0] == 's') {
			f->interval = f->interval + DEVICE_SLOW_DOWN > INTERVAL_MAX
			                  ? INTERVAL_MAX
			                  : f->interval + DEVICE_SLOW_DOWN;
			f->next_poll = ts_add(mono_now(), f->interval);
			pj_logf(f->log, LOG_DEBUG,
			        "device flow: issuer %s asks to slow down: polling every %ld s", f->iss->name,
			        f->interval);
		}
		*done = false;
		goto out;
	}
	r = oauth_failure(f->token_endpoint, code, status, err);
out:
	if (doc != NULL)
		json_object_put(doc);
	return r;
}

static pj_status poll_token(struct flow *f, char **token, struct pj_error *err)
{
	char *form = NULL;
	bool done = false;
	pj_status r;

	if ((r = token_form(f, &form, err)) != PJ_OK)
		return r;
	while (!done) {
		struct timespec now = mono_now();

		if (ts_cmp(now, f->deadline) >= 0 || ts_cmp(f->next_poll, f->deadline) >= 0) {
			r = pj_fail(err, PJ_ERR_TOKEN,
			            "no approval within %ld s (expires_in %ld, device_timeout %ld)",
			            f->expires_in < f->iss->device_timeout ? f->expires_in
			                                                   : f->iss->device_timeout,
			            f->expires_in, f->iss->device_timeout);
			break;
		}
		if (ts_cmp(now, f->next_poll) < 0)
			sleep_until(f->next_poll);
		now = mono_now();
		r = poll_once(f, form,
		              f->deadline.tv_sec - now.tv_sec > 1 ? f->deadline.tv_sec - now.tv_sec : 1,
		              &done, token, err);
	}
	pj_free_secret(form);
	return r;
}

/* ---- the flow ---- */

const struct pj_issuer *pj_device_issuer(const struct pj_config *cfg)
{
	for (size_t i = 0; cfg != NULL && i < cfg->n_issuers; i++)
		if (cfg->issuers[i].device_client_id != NULL)
			return &cfg->issuers[i];
	return NULL;
}

/* A short line for the person, in words, for each way the flow can end without a token. */
static const char *failure_text(pj_status status)
{
	switch (status) {
	case PJ_ERR_USER: return "The sign-in was denied.";
	case PJ_ERR_TOKEN:
		return "The sign-in was not completed in time, or the identity provider's answer was not "
		       "usable.";
	case PJ_ERR_NO_KEYS:
		return "The identity provider cannot be reached or does not offer device sign-in.";
	case PJ_ERR_CONFIG: return "Device sign-in is not configured correctly on this host.";
	default: return "Device sign-in failed.";
	}
}

pj_status pj_device_obtain(const struct pj_config *cfg, const struct pj_issuer *iss,
                           const struct pj_conv *conv, const struct pj_device_opts *opts,
                           const struct pj_log *log, char **token, struct pj_error *err)
{
	struct flow f = {.cfg = cfg, .iss = iss, .log = log, .dpop_key = opts->dpop_key};
	char *secret = NULL;
	pj_status r;

	*token = NULL;
	pj_error_clear(err);
	if (iss == NULL || iss->device_client_id == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "no issuer with device_client_id");
	https_opts_init(&f.http, iss);
	if (iss->device_client_secret_file != NULL &&
	    ((r = read_secret(iss->device_client_secret_file, &secret, err)) != PJ_OK ||
	     (r = basic_auth(iss->device_client_id, secret, &f.authorization, err)) != PJ_OK))
		goto out;
	if ((r = discover(&f, err)) != PJ_OK || (r = authorize(&f, err)) != PJ_OK)
		goto out;
	pj_logf(log, LOG_INFO, "device flow: issuer %s: waiting up to %ld s for the sign-in to be approved",
	        iss->name, f.deadline.tv_sec - mono_now().tv_sec);
	if ((r = show(&f, conv, opts, err)) != PJ_OK)
		goto out;
	r = poll_token(&f, token, err);
out:
	if (r != PJ_OK && r != PJ_ERR_NOMEM)
		tell(conv, failure_text(r));
	pj_free_secret(secret);
	flow_free(&f);
	return r;
}

/* Whether aud (a string or an array of strings) holds value; *n receives the number of values. */
static bool aud_has(json_object *aud, const char *value, size_t *n)
{
	bool found = false;

	*n = 0;
	if (json_object_is_type(aud, json_type_string)) {
		*n = 1;
		return strcmp(json_object_get_string(aud), value) == 0;
	}
	if (!json_object_is_type(aud, json_type_array))
		return false;
	*n = json_object_array_length(aud);
	for (size_t i = 0; i < *n; i++) {
		json_object *e = json_object_array_get_idx(aud, i);

		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), value) == 0)
			found = true;
	}
	return found;
}

pj_status pj_device_check(const struct pj_issuer *iss, const struct pj_identity *id, struct pj_error *err)
{
	json_object *aud = NULL;
	const char *azp;
	size_t n, len;
	enum json_get g;

	if (!id->verified || id->issuer != iss)
		return pj_fail(err, PJ_ERR_TOKEN, "the device flow's token is not from issuer %s", iss->name);
	if (!id_token_mode(iss))
		return PJ_OK;
	if (!json_object_object_get_ex(id->claims, "aud", &aud) || !aud_has(aud, iss->device_client_id, &n))
		return pj_fail(err, PJ_ERR_TOKEN, "the ID token's aud does not hold device_client_id %s",
		               iss->device_client_id);
	/* OIDC Core 3.1.3.7: with several audiences azp must be present; when present it is the client */
	g = json_get_string(id->claims, "azp", &azp, &len);
	if ((n > 1 && g != JSON_GET_OK) ||
	    (g != JSON_GET_ABSENT && (g != JSON_GET_OK || strlen(iss->device_client_id) != len ||
	                              memcmp(azp, iss->device_client_id, len) != 0)))
		return pj_fail(err, PJ_ERR_TOKEN, "the ID token's azp is not device_client_id %s",
		               iss->device_client_id);
	return PJ_OK;
}

/* Someone approved with another account than the one logging in: the terminal hears that, but not which
 * account approved (it is not authenticated, and may be a relay collecting account names); the log names it.
 */
static bool tell_wrong_account(const struct pj_conv *conv, const struct pj_log *log,
                               const struct pj_identity *id, const char *pam_user)
{
	char *text = NULL;

	if (id->username == NULL || pam_user == NULL || strcmp(id->username, pam_user) == 0)
		return false;
	pj_logf(log, LOG_WARNING,
	        "device flow: the sign-in for %s was approved by %s (iss=%.200s sub=%.200s): refused",
	        pam_user, id->username, id->iss ? id->iss : "", id->sub ? id->sub : "");
	if (asprintf(&text, "This sign-in was approved with another account than %s: refused. Sign in as %s.",
	             pam_user, pam_user) >= 0)
		tell(conv, text);
	free(text);
	return true;
}

pj_status pj_device_login(const struct pj_config *cfg, const struct pj_issuer *iss,
                          const struct pj_conv *conv, const struct pj_device_opts *opts,
                          const struct pj_log *log, const char *pam_user, struct pj_identity *id,
                          char **token_out, struct pj_error *err)
{
	char *token = NULL;
	pj_status r;

	memset(id, 0, sizeof(*id));
	if (token_out != NULL)
		*token_out = NULL;
	if ((r = pj_device_obtain(cfg, iss, conv, opts, log, &token, err)) != PJ_OK)
		return r;
	/* exactly the verification of a pasted token */
	r = pj_verify(cfg, log, token, strlen(token), pam_user, time(NULL), id, err);
	if (r == PJ_ERR_USER && !tell_wrong_account(conv, log, id, pam_user))
		tell(conv, "This account may not log in here.");
	if (r == PJ_OK && (r = pj_device_check(iss, id, err)) != PJ_OK)
		id->verified = false;
	if (r != PJ_OK && r != PJ_ERR_USER)
		tell(conv, "The identity provider's token was refused.");
	if (r == PJ_OK && token_out != NULL) {
		*token_out = token;
		token = NULL;
	}
	pj_free_secret(token);
	return r;
}
