/* test_keystore.c: the key store without a server: files, cache, outages, rate limits, unprivileged use. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Fetches fail fast on a closed loopback port; the HTTPS scenarios are in jwks_net.c (test_jwks_fetch.sh). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pam_jwt/https.h"
#include "pam_jwt/https_url.h"
#include "pam_jwt/jwks_cache.h"
#include "pam_jwt/keystore.h"
#include "pam_jwt/oidc.h"
#include "tap.h"
#include "testkit.h"

static char scratch[] = "/tmp/pam_jwt_ks.XXXXXX";

static const struct pj_log cap_log = {.emit = tk_log_emit, .arg = NULL, .debug = true};

static void issuer_init(struct pj_issuer *iss, const char *name)
{
	memset(iss, 0, sizeof(*iss));
	iss->name = (char *)name;
	iss->issuer = (char *)"https://idp.test";
	iss->http_connect_timeout = 2;
	iss->http_timeout = 5;
	iss->http_max_body = 1024 * 1024;
	iss->jwks_min_ttl = 300;
	iss->jwks_max_ttl = 86400;
	iss->jwks_refresh_interval = 60;
	iss->jwks_max_stale = 604800;
	iss->algorithms = JWS_ALG_BIT(JWS_ES256);
}

static char *path_in(const char *name)
{
	return tk_strf("%s/%s", scratch, name);
}

static char *read_all(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A JWKS text with one ES256 key per kid. */
static char *jwks_of(EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
	char *out = tk_strf("{\"keys\":[");

	for (size_t i = 0; i < n; i++) {
		char *jwk = tk_jwk_json(keys[i], kids[i], "ES256", NULL);
		char *next = tk_strf("%s%s%s", out, i ? "," : "", jwk);

		free(jwk);
		free(out);
		out = next;
	}
	char *done = tk_strf("%s]}", out);
	free(out);
	return done;
}

static EVP_PKEY *key_a, *key_b;

static void test_file_source(void)
{
	struct pj_issuer iss;
	const struct jwk_set *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct keystore_ref *r1 = NULL, *r2 = NULL, *r3 = NULL;
	struct pj_error err = {0};
	char *path = path_in("jwks.json");
	EVP_PKEY *ka[] = {key_a}, *kab[] = {key_a, key_b};
	const char *kida[] = {"a"}, *kidab[] = {"a", "b"};
	char *one = jwks_of(ka, kida, 1), *two = jwks_of(kab, kidab, 2);
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1000000, 0}};

	issuer_init(&iss, "file");
	iss.jwks_file = path;
	tk_write_file(path, one, 0644);
	ok(keystore_get(NULL, &iss, "a", time(NULL), &cap_log, &s1, &r1, &err) == PJ_OK && s1 != NULL &&
	       s1->n_keys == 1,
	   "jwks_file: loaded (%s)", err.reason);
	ok(keystore_get(NULL, &iss, "a", time(NULL), &cap_log, &s2, &r2, &err) == PJ_OK && s2 == s1,
	   "jwks_file: an unchanged file is parsed once (same set)");
	keystore_release(r2);

	tk_write_file(path, two, 0644);
	ok(keystore_get(NULL, &iss, "b", time(NULL), &cap_log, &s2, &r2, &err) == PJ_OK && s2 != s1 &&
	       s2->n_keys == 2,
	   "jwks_file: an edited file is reloaded");
	ok(s1->n_keys == 1 && strcmp(s1->keys[0].kid, "a") == 0, "a replaced set stays alive for its holder");
	keystore_flush();
	ok(s2->n_keys == 2 && jwk_set_has_kid(s2, "b") && s2->keys[1].usable,
	   "a flushed set stays alive for its holder");
	keystore_release(r1);
	keystore_release(r2);

	/* same size, same inode, only the mtime moves: still noticed */
	ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s1, &r1, &err) == PJ_OK, "loaded again");
	utimensat(AT_FDCWD, path, ts, 0);
	ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s3, &r3, &err) == PJ_OK && s3 != s1,
	   "jwks_file: a changed mtime alone causes a reload");
	keystore_release(r1);
	keystore_release(r3);

	chmod(path, 0666);
	ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s1, &r1, &err) == PJ_ERR_NO_KEYS &&
	       r1 == NULL && strstr(err.reason, "writable") != NULL,
	   "jwks_file writable by others: no keys (%s)", err.reason);
	unlink(path);
	ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s1, &r1, &err) == PJ_ERR_NO_KEYS,
	   "jwks_file missing: no keys (%s)", err.reason);
	tk_write_file(path, "{\"keys\":[", 0644);
	ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s1, &r1, &err) == PJ_ERR_NO_KEYS,
	   "jwks_file not JSON: no keys (%s)", err.reason);
	{
		EVP_PKEY *small = tk_keygen_rsa(1024);
		char *jwk = tk_jwk_json(small, "small", NULL, NULL);
		char *doc = tk_strf("{\"keys\":[%s]}", jwk);

		tk_write_file(path, doc, 0644);
		ok(keystore_get(NULL, &iss, NULL, time(NULL), &cap_log, &s1, &r1, &err) == PJ_ERR_NO_KEYS &&
		       strstr(err.reason, "no usable key") != NULL,
		   "jwks_file with only an unusable key: no keys (%s)", err.reason);
		free(doc);
		free(jwk);
		EVP_PKEY_free(small);
	}
	keystore_flush();
	free(one);
	free(two);
	free(path);
}

static long max_age_of(const char *v)
{
	long m = -1;

	https_cache_control(v, strlen(v), &m);
	return m;
}

static void test_cache_control(void)
{
	ok(max_age_of(" max-age=600") == 600, "Cache-Control max-age=600");
	ok(max_age_of(" public, max-age=3600, must-revalidate\r\n") == 3600,
	   "max-age among other directives");
	ok(max_age_of(" MAX-AGE=42") == 42, "directive names are case-insensitive");
	ok(max_age_of(" no-cache, max-age=600") == 0 && max_age_of(" max-age=600, no-store") == 0,
	   "no-cache / no-store mean 0");
	ok(max_age_of(" max-age=abc") == -1 && max_age_of(" max-age=") == -1 &&
	       max_age_of(" max-age=-5") == -1,
	   "malformed max-age is ignored");
	ok(max_age_of(" max-age=99999999999999999999999999") == 10L * 365 * 86400, "huge max-age is capped");
	ok(max_age_of(" private") == -1, "no max-age: -1");
}

static void test_url_check(void)
{
	struct pj_error err = {0};

	ok(https_url_check("https://idp.example.com/jwks", false, &err) == PJ_OK, "https URL allowed");
	ok(https_url_check("http://idp.example.com/jwks", false, &err) == PJ_ERR_NO_KEYS, "http URL refused");
	ok(https_url_check("http://127.0.0.1:8080/jwks", false, &err) == PJ_ERR_NO_KEYS,
	   "http loopback refused without the insecure option");
	ok(https_url_check("http://127.0.0.1:8080/jwks", true, &err) == PJ_OK &&
	       https_url_check("http://[::1]:8080/jwks", true, &err) == PJ_OK,
	   "http to 127.0.0.1 and [::1] allowed with the insecure option");
	ok(https_url_check("http://localhost/jwks", true, &err) == PJ_ERR_NO_KEYS &&
	       https_url_check("http://127.0.0.2/jwks", true, &err) == PJ_ERR_NO_KEYS &&
	       https_url_check("http://example.com/jwks", true, &err) == PJ_ERR_NO_KEYS,
	   "other http hosts refused even with the insecure option");
	ok(https_url_check("ftp://idp.example.com/jwks", true, &err) == PJ_ERR_NO_KEYS &&
	       https_url_check("file:///etc/passwd", true, &err) == PJ_ERR_NO_KEYS,
	   "other schemes refused");
	ok(https_url_check("not a url", false, &err) == PJ_ERR_NO_KEYS &&
	       https_url_check("", false, &err) != PJ_OK,
	   "garbage refused");
}

/* The one string rule the configuration and the client share (https_url.h): no libcurl needed. */
static void test_url_rule(void)
{
	ok(https_url_allowed("https://idp.example.com", false) && https_url_allowed("HTTPS://idp", false),
	   "rule: https with a host (scheme without case)");
	ok(!https_url_allowed("https://", false) && !https_url_allowed("https:///path", false),
	   "rule: https without a host refused");
	ok(https_url_allowed("http://127.0.0.1", true) &&
	       https_url_allowed("http://127.0.0.1:8443/x", true) &&
	       https_url_allowed("http://[::1]/x", true),
	   "rule: loopback http with the insecure option");
	ok(!https_url_allowed("http://127.0.0.1/x", false) &&
	       !https_url_allowed("http://127.0.0.1.evil/", true) &&
	       !https_url_allowed("http://127.0.0.1@evil/", true) &&
	       !https_url_allowed("http://127.0.0.1:/", true),
	   "rule: loopback look-alikes refused");
}

static void test_discovery_url(void)
{
	struct pj_error err = {0};
	char *a = NULL, *b = NULL;

	ok(oidc_discovery_url("https://idp.example.com/realm", &a, &err) == PJ_OK &&
	       oidc_discovery_url("https://idp.example.com/realm/", &b, &err) == PJ_OK &&
	       strcmp(a, "https://idp.example.com/realm/.well-known/openid-configuration") == 0 &&
	       strcmp(a, b) == 0,
	   "discovery URL: issuer less one trailing '/', then the well-known path");
	free(a);
	free(b);
}

static void test_cache_file(void)
{
	char buf[4096];
	struct pj_error err = {0};
	struct jwks_cache c = {0}, in = {
	                               .source = (char *)"uri:https://idp.test/jwks",
	                               .url = (char *)"https://idp.test/jwks",
	                               .jwks = (char *)"{\"keys\":[]}\n\t\"\\",
	                               .jwks_len = 15,
	                               .fetched_at = 100,
	                               .fresh_until = 400,
	                               .last_attempt = 100,
	                               .last_error = NULL,
	                           };
	char *path = path_in("c.json");
	bool missing = false;

	ok(jwks_cache_path("/d", "corp-idp_1.x", "json", buf, sizeof(buf), &err) == PJ_OK &&
	       strcmp(buf, "/d/corp-idp_1.x.json") == 0,
	   "cache file named after the issuer section");
	ok(jwks_cache_path("/d", "a/b", "json", buf, sizeof(buf), &err) != PJ_OK &&
	       jwks_cache_path("/d", "..", "json", buf, sizeof(buf), &err) != PJ_OK &&
	       jwks_cache_path("/d", ".hidden", "json", buf, sizeof(buf), &err) != PJ_OK &&
	       jwks_cache_path("/d", "", "json", buf, sizeof(buf), &err) != PJ_OK &&
	       jwks_cache_path("/d", "a b", "json", buf, sizeof(buf), &err) != PJ_OK,
	   "unsafe issuer names cannot name a cache file");

	ok(jwks_cache_write(path, &in, &err) == PJ_OK, "cache written (%s)", err.reason);
	{
		struct stat st;

		ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "cache file mode 0644");
	}
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_OK && c.jwks_len == in.jwks_len &&
	       memcmp(c.jwks, in.jwks, in.jwks_len) == 0 && c.fetched_at == 100 && c.fresh_until == 400 &&
	       strcmp(c.url, in.url) == 0 && strcmp(c.source, in.source) == 0 && c.last_error == NULL,
	   "cache read back byte for byte (%s)", err.reason);
	jwks_cache_clear(&c);
	ok(jwks_cache_read(path, 16, &c, &missing, &err) == PJ_ERR_NO_KEYS,
	   "cache file over the size bound refused");
	chmod(path, 0666);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS && !missing &&
	       strstr(err.reason, "writable") != NULL,
	   "cache file writable by others refused (%s)", err.reason);
	chmod(path, 0644);
	if (chown(path, 1, 1) != 0) /* checked: _FORTIFY_SOURCE marks it warn_unused_result */
		tap_diag("chown failed");
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS &&
	       strstr(err.reason, "root") != NULL,
	   "cache file not owned by root refused (%s)", err.reason);
	if (chown(path, 0, 0) != 0) /* checked: _FORTIFY_SOURCE marks it warn_unused_result */
		tap_diag("chown failed");
	chmod(scratch, 0777);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS,
	   "cache file in a world-writable directory refused (%s)", err.reason);
	ok(jwks_cache_write(path, &in, &err) != PJ_OK, "and never written there");
	chmod(scratch, 0755);
	tk_write_file(path, "{\"version\":1,\"source\":\"x\",\"last_attempt\":1,\"jwks\":\"{}\"}", 0644);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS,
	   "a cached key set without url and times refused (%s)", err.reason);
	tk_write_file(path, "{\"version\":2,\"source\":\"x\",\"last_attempt\":1}", 0644);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS,
	   "unknown cache version refused");
	tk_write_file(path, "{\"version\":1,\"source\":\"x\",\"last_attempt\":1,\"last_attempt\":2}", 0644);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS,
	   "cache parsed with json_strict");
	unlink(path);
	ok(jwks_cache_read(path, 65536, &c, &missing, &err) == PJ_ERR_NO_KEYS && missing,
	   "missing cache noticed");
	free(path);
}

/* A loopback port nothing listens on: fetches fail at once with "connection refused". */
static int closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

static struct pj_config cfg;
static struct pj_issuer down;
static char *down_url, *down_source, *cache_path;
static char *jwks_a;

/* Writes a cache file for the "down" issuer holding jwks, as a past fetch would have left it. */
static pj_status write_cache(const char *jwks, time_t fetched, time_t fresh_until, time_t last_attempt,
                             struct pj_error *err)
{
	struct jwks_cache c = {
	    .source = down_source,
	    .url = down_url,
	    .jwks = (char *)jwks,
	    .jwks_len = strlen(jwks),
	    .fetched_at = fetched,
	    .fresh_until = fresh_until,
	    .last_attempt = last_attempt,
	};

	return jwks_cache_write(cache_path, &c, err);
}

/* Empties memory and plants a cache file holding jwks with the given times and mode. */
static void plant_cache_of(const char *jwks, time_t fetched, time_t fresh_until, time_t last_attempt,
                           mode_t mode)
{
	struct pj_error err = {0};

	keystore_flush();
	if (write_cache(jwks, fetched, fresh_until, last_attempt, &err) != PJ_OK)
		tap_diag("plant_cache: %s", err.reason);
	chmod(cache_path, mode);
}

static void plant_cache(time_t fetched, time_t fresh_until, time_t last_attempt, mode_t mode)
{
	plant_cache_of(jwks_a, fetched, fresh_until, last_attempt, mode);
}

static pj_status get_down(const char *kid, time_t now, struct pj_error *err)
{
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;
	pj_status r;

	r = keystore_get(&cfg, &down, kid, now, &cap_log, &set, &ref, err);
	if (r == PJ_OK && (set == NULL || ref == NULL))
		r = PJ_ERR_SYSTEM;
	keystore_release(ref);
	return r;
}

static int64_t cached_last_attempt(void)
{
	struct jwks_cache c;
	struct pj_error err = {0};
	bool missing;
	int64_t t = -1;

	if (jwks_cache_read(cache_path, 1 << 22, &c, &missing, &err) == PJ_OK)
		t = c.last_attempt;
	jwks_cache_clear(&c);
	return t;
}

static bool cache_has_keys(void)
{
	struct jwks_cache c;
	struct pj_error err = {0};
	bool missing, has;

	has = jwks_cache_read(cache_path, 1 << 22, &c, &missing, &err) == PJ_OK && c.jwks != NULL &&
	      strcmp(c.jwks, jwks_a) == 0;
	jwks_cache_clear(&c);
	return has;
}

static void test_warm_cache(time_t t0)
{
	struct pj_error err = {0};

	plant_cache(t0 - 10, t0 + 1000, t0 - 10, 0644);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_OK, "fresh cache, IdP down: keys served (%s)", err.reason);
	ok(!https_curl_initialised(), "fresh cache: libcurl not even initialised");
	ok(!tk_logged("refresh failed"), "fresh cache: no fetch attempted");
	unlink(cache_path);
	ok(get_down("a", t0 + 1, &err) == PJ_OK, "fresh keys in memory need no file at all");
	ok(!https_curl_initialised(), "still no libcurl");
}

static void test_stale_cache(time_t t0)
{
	struct pj_error err = {0};

	/* expired 100 s ago, last attempt long ago: one refresh, it fails, stale keys serve with a warning */
	plant_cache(t0 - 1000, t0 - 100, t0 - 1000, 0644);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_OK, "stale cache within jwks_max_stale, IdP down: served (%s)",
	   err.reason);
	ok(tk_logged("refresh failed") && tk_logged("4:issuer down: using stale keys"),
	   "a failed refresh and the stale keys are logged as warnings");
	ok(https_curl_initialised(), "a stale cache does fetch");
	ok(cached_last_attempt() == t0, "the attempt is recorded in the cache file");
	ok(cache_has_keys(), "a failed refresh keeps the last good keys in the cache file");

	tk_log_clear();
	ok(get_down("a", t0 + 10, &err) == PJ_OK && !tk_logged("refresh failed"),
	   "within jwks_refresh_interval: no new attempt");
	keystore_flush();
	tk_log_clear();
	ok(get_down("a", t0 + 20, &err) == PJ_OK && !tk_logged("refresh failed"),
	   "another process (empty memory) honours the attempt recorded on disk");
	tk_log_clear();
	ok(get_down("a", t0 + 61, &err) == PJ_OK && tk_logged("refresh failed") &&
	       cached_last_attempt() == t0 + 61,
	   "after jwks_refresh_interval: one new attempt");

	plant_cache(t0 - 1000, t0 - down.jwks_max_stale - 1, t0 - 1000, 0644);
	ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS, "cache older than jwks_max_stale: refused (%s)",
	   err.reason);
	ok(cache_has_keys(), "the refused old keys stay on disk for status output");
}

static void test_unknown_kid(time_t t0)
{
	struct pj_error err = {0};

	plant_cache(t0 - 10, t0 + 1000, t0 - 1000, 0644);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_OK && !tk_logged("refresh failed"), "known kid: no fetch");
	ok(get_down("zzz", t0, &err) == PJ_OK && tk_logged("refresh failed") && cached_last_attempt() == t0,
	   "unknown kid: one refresh attempt, then the set is answered (the kid check refuses later)");
	tk_log_clear();
	for (int i = 0; i < 1000; i++) {
		char kid[32];

		snprintf(kid, sizeof(kid), "random-%d-%ld", i, random());
		get_down(kid, t0 + i % 50, &err);
	}
	ok(!tk_logged("refresh failed") && cached_last_attempt() == t0,
	   "1000 unknown kids inside one interval: no further attempt");
}

static void test_outages(time_t t0)
{
	struct pj_error err = {0};

	keystore_flush();
	unlink(cache_path);
	ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS && strstr(err.reason, "no keys") != NULL,
	   "IdP down, no cache: no keys (%s)", err.reason);
	ok(cached_last_attempt() == t0, "the failed cold attempt is recorded (rate limit across processes)");

	plant_cache(t0 - 10, t0 + 1000, t0 - 10, 0666);
	tk_log_clear();
	ok(get_down("a", t0 + 100, &err) == PJ_ERR_NO_KEYS, "cache writable by others: ignored, no keys (%s)",
	   err.reason);
	ok(tk_logged("ignoring cache"), "the ignored cache file is logged");
	{
		/* a file the process did not read may hold keys (refused, or its reading ran out of memory):
		 * the failed attempt does not replace it with a record without keys */
		char text[8192];
		size_t len = 0;
		FILE *f = fopen(cache_path, "re");

		if (f != NULL) {
			len = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
		}
		text[len] = '\0';
		ok(strstr(text, "\"jwks\"") != NULL,
		   "and not replaced by the failed attempt's record: its keys are still there");
	}

	plant_cache(t0 - 10, t0 + 1000, t0 - 10, 0644);
	if (chown(cache_path, 1, 0) != 0) /* checked: _FORTIFY_SOURCE marks it warn_unused_result */
		tap_diag("chown failed");
	ok(get_down("a", t0 + 200, &err) == PJ_ERR_NO_KEYS, "cache not owned by root: ignored");

	{
		/* the same file content, written for another source: a changed jwks_uri never uses it */
		struct pj_issuer other = down;
		const struct jwk_set *set;
		struct keystore_ref *ref = NULL;

		plant_cache(t0 - 10, t0 + 1000, t0 - 10, 0644);
		other.jwks_uri = tk_strf("%s?v=2", down_url);
		ok(keystore_get(&cfg, &other, "a", t0 + 300, &cap_log, &set, &ref, &err) == PJ_ERR_NO_KEYS,
		   "cache of another source: ignored");
		keystore_release(ref);
		free(other.jwks_uri);
	}
}

/* Unprivileged (a screen locker): reads the cache, fetches into memory only, never writes or locks. */
static void test_unprivileged(time_t t0)
{
	char *lock = path_in("down.lock");
	char *before;
	pid_t pid;
	int status = -1;

	plant_cache(t0 - 1000, t0 - 100, t0 - 1000, 0644);
	unlink(lock);
	before = strdup(read_all(cache_path));
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct pj_error err = {0};
		int fails = 0;

		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(10);
		fails += get_down("a", t0, &err) != PJ_OK;      /* stale, refresh fails: served */
		fails += get_down("a", t0 + 61, &err) != PJ_OK; /* rate-limited in memory */
		free(before);
		free(lock);
		_exit(fails);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "unprivileged: stale cache read and served (status %d)", status);
	ok(strcmp(before, read_all(cache_path)) == 0, "unprivileged: cache file left untouched");
	ok(access(lock, F_OK) != 0, "unprivileged: no lock file made");
	free(before);
	free(lock);
}

/* Callers with nothing to load from: refused with the reason, no set handed out. */
static void test_no_source(void)
{
	struct pj_issuer iss;
	struct keystore_info info;
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;
	struct pj_error err = {0};

	ok(keystore_get(&cfg, NULL, NULL, time(NULL), &cap_log, &set, &ref, &err) == PJ_ERR_CONFIG &&
	       set == NULL && ref == NULL && strcmp(err.reason, "no issuer") == 0,
	   "no issuer: refused (%s)", err.reason);
	ok(keystore_info_get(&cfg, NULL, time(NULL), &cap_log, &info, &err) == PJ_ERR_CONFIG &&
	       info.source == NULL && info.set == NULL && strcmp(err.reason, "no issuer") == 0,
	   "no issuer: status refused too (%s)", err.reason);
	keystore_info_free(&info);
	issuer_init(&iss, "nosource");
	iss.issuer = NULL;
	ok(keystore_get(&cfg, &iss, NULL, time(NULL), &cap_log, &set, &ref, &err) == PJ_ERR_CONFIG &&
	       set == NULL && strcmp(err.reason, "issuer nosource: no key source") == 0,
	   "an issuer without jwks_file, jwks_uri or issuer URL: refused (%s)", err.reason);
	ok(keystore_refresh(&cfg, &iss, time(NULL), &cap_log, &err) == PJ_ERR_CONFIG &&
	       strstr(err.reason, "no key source") != NULL,
	   "and refreshing it is refused the same way");
	keystore_flush();
}

/* pam-jwt jwks refresh re-reads a jwks_file even unchanged; status of a file that went away says why. */
static void test_file_refresh_and_status(void)
{
	struct pj_issuer iss;
	struct keystore_info info;
	const struct jwk_set *s1 = NULL, *s2 = NULL;
	struct keystore_ref *r1 = NULL, *r2 = NULL;
	struct pj_error err = {0};
	char *path = path_in("refresh.json");

	issuer_init(&iss, "refresh");
	iss.jwks_file = path;
	tk_write_file(path, jwks_a, 0644);
	ok(keystore_get(NULL, &iss, "a", time(NULL), &cap_log, &s1, &r1, &err) == PJ_OK, "jwks_file loaded");
	ok(keystore_refresh(NULL, &iss, time(NULL), &cap_log, &err) == PJ_OK &&
	       keystore_get(NULL, &iss, "a", time(NULL), &cap_log, &s2, &r2, &err) == PJ_OK && s2 != s1 &&
	       jwk_set_has_kid(s2, "a"),
	   "refresh of a jwks_file re-reads it even when unchanged (a new set)");
	ok(keystore_info_get(NULL, &iss, time(NULL), &cap_log, &info, &err) == PJ_OK && info.set == s2 &&
	       strncmp(info.source, "file:", 5) == 0 && info.fetched_at > 0 && info.last_error == NULL,
	   "status of a jwks_file: its keys, source and mtime");
	keystore_info_free(&info);
	unlink(path);
	ok(keystore_info_get(NULL, &iss, time(NULL), &cap_log, &info, &err) == PJ_ERR_NO_KEYS &&
	       info.set == NULL && info.last_error != NULL && strstr(info.last_error, "jwks_file") != NULL &&
	       strstr(info.last_error, strerror(ENOENT)) != NULL,
	   "status of a jwks_file gone: no keys, and why (%s)", info.last_error ? info.last_error : "-");
	keystore_info_free(&info);
	keystore_release(r1);
	keystore_release(r2);
	keystore_flush();
	free(path);
}

/* A cache path that cannot be made (too long): keys kept in memory, the rate limit kept there too. */
static void test_memory_only(time_t t0)
{
	struct pj_config longcfg = cfg;
	struct pj_error err = {0};
	char *dir = malloc(PATH_MAX);
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;

	memset(dir, 'd', PATH_MAX);
	dir[0] = '/';
	dir[PATH_MAX - 8] = '\0'; /* "DIR/down.json" is one byte over PATH_MAX */
	longcfg.cache_dir = dir;
	keystore_flush();
	tk_log_clear();
	ok(keystore_get(&longcfg, &down, "a", t0, &cap_log, &set, &ref, &err) == PJ_ERR_NO_KEYS &&
	       strstr(err.reason, "no keys") != NULL,
	   "cache path too long, IdP down: no keys (%s)", err.reason);
	ok(tk_logged("keys kept in memory only") && tk_logged("cache path under") &&
	       tk_logged("refresh failed"),
	   "the memory-only keys and the failed fetch are logged");
	tk_log_clear();
	ok(keystore_get(&longcfg, &down, "a", t0 + 10, &cap_log, &set, &ref, &err) == PJ_ERR_NO_KEYS &&
	       !tk_logged("refresh failed"),
	   "memory only: the attempt still counts for jwks_refresh_interval");
	keystore_flush();
	free(dir);
}

/* A cache file whose key set cannot serve (not JSON, no usable key, over http_max_body): ignored, logged. */
static void test_bad_cached_set(time_t t0)
{
	struct pj_error err = {0};

	/* fresh by its times and the last attempt just made: only the set itself can make it refused */
	plant_cache_of("{\"keys\":[", t0 - 10, t0 + 1000, t0 - 10, 0644);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS && tk_logged("ignoring cache file") &&
	       !tk_logged("refresh failed"),
	   "cached key set not JSON: ignored, no keys, no fetch inside the interval (%s)", err.reason);
	{
		EVP_PKEY *small = tk_keygen_rsa(1024);
		char *jwk = tk_jwk_json(small, "small", NULL, NULL);
		char *doc = tk_strf("{\"keys\":[%s]}", jwk);

		plant_cache_of(doc, t0 - 10, t0 + 1000, t0 - 10, 0644);
		tk_log_clear();
		ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS && tk_logged("ignoring cache file") &&
		       tk_logged("no usable key"),
		   "cached key set with no usable key: ignored, and why");
		free(doc);
		free(jwk);
		EVP_PKEY_free(small);
	}
	plant_cache(t0 - 10, t0 + 1000, t0 - 10, 0644);
	down.http_max_body = 16;
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS && tk_logged("key set too large"),
	   "cached key set larger than http_max_body: ignored (a fetch could not have brought it)");
	down.http_max_body = 1024 * 1024;
	ok(get_down("a", t0, &err) == PJ_OK, "the same cache within the bound: served");
	keystore_flush();
}

/* The cache file cannot be read or replaced (a directory stands there): the fetch outcome is kept in memory,
 * and what stands there is not replaced by the record of a failed attempt. */
static void test_cache_unwritable(time_t t0)
{
	struct pj_error err = {0};
	struct stat st;

	keystore_flush();
	unlink(cache_path);
	mkdir(cache_path, 0755);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_ERR_NO_KEYS && tk_logged("refresh failed") &&
	       tk_logged("left as it is: it was not read, and no keys replace it"),
	   "cache file not writable: the failure logged, no keys (%s)", err.reason);
	ok(stat(cache_path, &st) == 0 && S_ISDIR(st.st_mode), "what stood there is left alone");
	tk_log_clear();
	ok(get_down("a", t0 + 10, &err) == PJ_ERR_NO_KEYS && !tk_logged("refresh failed"),
	   "the attempt still counts in memory for jwks_refresh_interval");
	rmdir(cache_path);
	keystore_flush();
}

/* A cache directory that cannot be trusted or made: never written, keys kept in memory. */
static void test_cache_dir_unusable(time_t t0)
{
	struct pj_config other = cfg;
	struct pj_error err = {0};
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;
	char *missing = path_in("missing/cache"), *open_dir = path_in("open"),
	     *lock = path_in("open/down.lock");

	other.cache_dir = missing;
	keystore_flush();
	tk_log_clear();
	ok(keystore_get(&other, &down, "a", t0, &cap_log, &set, &ref, &err) == PJ_ERR_NO_KEYS &&
	       tk_logged("cannot create") && tk_logged("cache not usable, keys kept in memory") &&
	       tk_logged("refresh failed"),
	   "cache_dir whose parent is missing: not made, keys kept in memory (%s)", err.reason);
	ok(access(missing, F_OK) != 0, "and nothing made there");

	mkdir(open_dir, 0777);
	chmod(open_dir, 0777);
	other.cache_dir = open_dir;
	keystore_flush();
	tk_log_clear();
	ok(keystore_get(&other, &down, "a", t0, &cap_log, &set, &ref, &err) == PJ_ERR_NO_KEYS &&
	       tk_logged("cache not usable, keys kept in memory") && tk_logged("writable"),
	   "cache_dir writable by others: refused, keys kept in memory");
	ok(access(lock, F_OK) != 0, "no lock file made in it");
	rmdir(open_dir);
	keystore_flush();
	free(missing);
	free(open_dir);
	free(lock);
}

/* Another process holds the lock (fetching) past the wait: stale keys serve, no second fetch. */
static void test_lock_held(time_t t0)
{
	struct pj_error err = {0};
	char *lock = path_in("down.lock");
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	/* the wait is 2 * http_timeout + 1 s: 3 s with the smallest timeout */
	down.http_timeout = 1;
	plant_cache(t0 - 1000, t0 - 100, t0 - 1000, 0644);
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "the lock taken as another process would");
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_OK && tk_logged("not refreshing") &&
	       tk_logged("held by another process") && !tk_logged("refresh failed") &&
	       tk_logged("using stale keys"),
	   "lock held past the wait: no fetch, the stale keys serve (%s)", err.reason);
	ok(cached_last_attempt() == t0 - 1000, "the holder's attempt is not recorded over");
	keystore_flush();
	ok(keystore_refresh(&cfg, &down, t0, &cap_log, &err) == PJ_ERR_NO_KEYS &&
	       strstr(err.reason, "held by another process") != NULL,
	   "pam-jwt jwks refresh while the lock is held: fails and says why (%s)", err.reason);
	close(fd);
	down.http_timeout = 5;
	keystore_flush();
	free(lock);
}

/* Whether process pid has path open (it is waiting for the lock on it). */
static bool has_open(pid_t pid, const char *path)
{
	char dir[64], link[PATH_MAX + 64], target[PATH_MAX];
	struct dirent *d;
	bool found = false;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((dp = opendir(dir)) == NULL)
		return false;
	while (!found && (d = readdir(dp)) != NULL) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			found = strcmp(target, path) == 0;
		}
	}
	closedir(dp);
	return found;
}

/* The other process of test_refreshed_while_waiting: takes the lock, says so on ready, waits until the
 * parent has the lock file open, writes a fresh cache and returns its exit status (the lock goes with it). */
static int refresh_under_lock(const char *lock, int ready, time_t t0)
{
	const struct timespec poll = {0, 10000000L};
	struct pj_error err = {0};
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int i;

	if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready, "L", 1) != 1)
		return 10;
	for (i = 0; i < 6000 && !has_open(getppid(), lock); i++) /* bounded: 60 s, never a hang */
		nanosleep(&poll, NULL);
	if (i == 6000)
		return 11;
	return write_cache(jwks_a, t0 - 5, t0 + 1000, t0 - 5, &err) == PJ_OK ? 0 : 12;
}

/* Another process refreshes while this one waits for the lock: once it holds the lock it finds the fresh
 * cache and fetches nothing. The other process writes the cache only when this one has the lock file open,
 * i.e. after its own first look at the cache, so the order does not depend on timing. */
static void test_refreshed_while_waiting(time_t t0)
{
	struct pj_error err = {0};
	char *lock, *real;
	int ready[2], status = -1;
	pid_t pid;
	char c = 0;

	plant_cache(t0 - 1000, t0 - 100, t0 - 1000, 0644);
	/* /proc shows the resolved path */
	if ((real = realpath(scratch, NULL)) == NULL || pipe(ready) != 0) {
		ok(0, "refreshed while waiting: realpath or pipe: %s", strerror(errno));
		free(real);
		return;
	}
	lock = tk_strf("%s/down.lock", real);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		int code = refresh_under_lock(lock, ready[1], t0);

		free(lock);
		free(real);
		_exit(code);
	}
	close(ready[1]);
	ok(read(ready[0], &c, 1) == 1 && c == 'L', "the other process holds the lock");
	close(ready[0]);
	tk_log_clear();
	ok(get_down("a", t0, &err) == PJ_OK && !tk_logged("refresh failed") && !tk_logged("using stale keys"),
	   "refreshed by another process while waiting: its fresh keys serve, no fetch (%s)", err.reason);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process wrote the cache (status %d)",
	   status);
	ok(cached_last_attempt() == t0 - 5, "its attempt stays the last one on record");
	keystore_flush();
	free(lock);
	free(real);
}

int main(void)
{
	time_t t0 = 1700000000;
	EVP_PKEY *ka[1];
	const char *kida[] = {"a"};

	if (geteuid() != 0)
		tap_skip_all("needs root (trusted files must be root-owned)");
	if (mkdtemp(scratch) == NULL || chmod(scratch, 0755) != 0)
		tap_skip_all("no scratch directory");
	key_a = tk_keygen(JWS_ES256);
	key_b = tk_keygen(JWS_ES256);
	ka[0] = key_a;
	jwks_a = jwks_of(ka, kida, 1);

	cfg.cache_dir = scratch;
	issuer_init(&down, "down");
	down.insecure_allow_http_loopback = true;
	down_url = tk_strf("http://127.0.0.1:%d/jwks.json", closed_port());
	down.jwks_uri = down_url;
	down_source = tk_strf("uri:%s", down_url);
	cache_path = path_in("down.json");

	/* first: nothing may have initialised libcurl yet */
	test_warm_cache(t0);
	test_file_source();
	test_cache_control();
	test_url_check();
	test_url_rule();
	test_discovery_url();
	test_cache_file();
	test_stale_cache(t0);
	test_unknown_kid(t0 + 100000);
	test_outages(t0 + 200000);
	test_unprivileged(t0 + 300000);
	test_no_source();
	test_file_refresh_and_status();
	test_memory_only(t0 + 400000);
	test_bad_cached_set(t0 + 500000);
	test_cache_unwritable(t0 + 600000);
	test_cache_dir_unusable(t0 + 700000);
	test_lock_held(t0 + 800000);
	test_refreshed_while_waiting(t0 + 900000);

	keystore_flush();
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	free(jwks_a);
	free(down_url);
	free(down_source);
	free(cache_path);
	{
		char *cmd = tk_strf("rm -rf '%s'", scratch);

		if (system(cmd) != 0)
			tap_diag("cannot remove %s", scratch);
		free(cmd);
	}
	return tap_done();
}
