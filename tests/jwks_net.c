/* jwks_net.c: key fetching against the real HTTPS test IdP that test_jwks_fetch.sh starts. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Discovery, TLS and URL rules, redirects, timeouts, bad answers, size cap, TTL, rotation, rate limits across
 * processes, outages, removed keys, the jwks CLI. Each scenario has its own issuer path. */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_jwks.h"
#include "pam_jwt/jwks_cache.h"
#include "pam_jwt/https.h"
#include "pam_jwt/keystore.h"
#include "tap.h"
#include "testkit.h"
#include "pam_jwt/verify.h"

static const char *root, *port, *wrong_root, *wrong_port, *ca, *other_ca, *cache;
static EVP_PKEY *key_a, *key_b;
static char *jwk_a, *jwk_b;

static const struct pj_log cap_log = {.emit = tk_log_emit, .arg = NULL, .debug = false};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		printf("Bail out! %s is not set (run through test_jwks_fetch.sh)\n", name);
		exit(1);
	}
	return v;
}

/* Writes ROOT/name (the IdP's answer for a path); NULL content removes it. */
static void put_in(const char *dir, const char *name, const char *content)
{
	char *path = tk_strf("%s/%s", dir, name);
	FILE *f;

	if (content == NULL) {
		unlink(path);
	} else if ((f = fopen(path, "w")) != NULL) {
		fputs(content, f);
		fclose(f);
	}
	free(path);
}

static void put(const char *name, const char *content)
{
	put_in(root, name, content);
}

static long count_in(const char *dir, const char *name)
{
	char *path = tk_strf("%s/count/%s", dir, name);
	FILE *f = fopen(path, "r");
	long n = 0;

	free(path);
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static long count(const char *name)
{
	return count_in(root, name);
}

/* The config of one scenario: issuer https://127.0.0.1:PORT/NAME with keys by discovery (unless extra says
 * otherwise), our test CA, the scenario's own cache file. */
static struct pj_config *conf(const char *name, const char *host_port, const char *extra)
{
	struct pj_config *cfg = NULL;
	struct pj_error err;
	char *text = tk_strf("[global]\ncache_dir = %s\n\n[issuer %s]\nissuer = https://127.0.0.1:%s/%s\n"
	                     "audience = pam\nalgorithms = ES256\ntls_ca_file = %s\n%s",
	                     cache, name, host_port, name, ca, extra ? extra : "");

	if (config_parse("jwks_net.conf", text, strlen(text), &cfg, &err) != PJ_OK) {
		printf("Bail out! config: %s\n", err.reason);
		exit(1);
	}
	free(text);
	return cfg;
}

/* The discovery document and JWKS of scenario name, as the IdP publishes them. */
static void publish(const char *name, const char *jwks_body, const char *cache_control)
{
	char *f = tk_strf("%s_.well-known_openid-configuration", name);
	char *doc =
	    tk_strf("{\"issuer\":\"https://127.0.0.1:%s/%s\",\"jwks_uri\":\"https://127.0.0.1:@PORT@/%s/"
	            "jwks.json\"}",
	            port, name, name);
	char *j = tk_strf("%s_jwks.json", name), *h = tk_strf("%s_jwks.json.headers", name);
	char *cc = cache_control ? tk_strf("Cache-Control: %s\n", cache_control) : NULL;

	put(f, doc);
	put(j, jwks_body);
	put(h, cc);
	free(f);
	free(doc);
	free(j);
	free(h);
	free(cc);
}

static char *jwks_doc(const char *first, const char *second)
{
	return tk_strf("{\"keys\":[%s%s%s]}", first ? first : "", first && second ? "," : "",
	               second ? second : "");
}

static long jwks_count(const char *name)
{
	char *f = tk_strf("%s_jwks.json", name);
	long n = count(f);

	free(f);
	return n;
}

static long disc_count(const char *name)
{
	char *f = tk_strf("%s_.well-known_openid-configuration", name);
	long n = count(f);

	free(f);
	return n;
}

/* keystore_get for the config's only issuer; *has_kid tells whether the answered set holds kid. */
static pj_status get(const struct pj_config *cfg, const char *kid, time_t now, bool *has_kid,
                     struct pj_error *err)
{
	const struct jwk_set *set = NULL;
	struct keystore_ref *ref = NULL;
	pj_status r;

	pj_error_clear(err);
	r = keystore_get(cfg, &cfg->issuers[0], kid, now, &cap_log, &set, &ref, err);
	if (has_kid != NULL)
		*has_kid = r == PJ_OK && kid != NULL && jwk_set_has_kid(set, kid);
	keystore_release(ref);
	return r;
}

static struct jwks_cache cached(const char *name)
{
	struct jwks_cache c;
	struct pj_error err;
	bool missing;
	char *path = tk_strf("%s/%s.json", cache, name);

	if (jwks_cache_read(path, 1 << 22, &c, &missing, &err) != PJ_OK)
		memset(&c, 0, sizeof(c));
	free(path);
	return c;
}

static int silent_listener(int *portnum);

/* True when ROOT/name holds exactly text. */
static bool file_has(const char *name, const char *text)
{
	char *path = tk_strf("%s/%s", root, name);
	char buf[512];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	free(path);
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strcmp(buf, text) == 0;
}

static void test_discovery(time_t t0)
{
	char closed[64];
	struct pj_config *cfg = conf("disc", port, NULL);
	char *doc = jwks_doc(jwk_a, NULL);
	struct pj_error err;
	struct jwks_cache c;
	bool has;
	int p = 0, fd = silent_listener(&p);

	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d", p);
	publish("disc", doc, "public, max-age=600");
	/* proxies from the environment must not apply: this one does not exist */
	setenv("https_proxy", closed, 1);
	setenv("HTTPS_PROXY", closed, 1);
	setenv("all_proxy", closed, 1);
	setenv("ALL_PROXY", closed, 1);
	ok(get(cfg, "a", t0, &has, &err) == PJ_OK && has,
	   "discovery: keys fetched, proxy environment variables ignored (%s)", err.reason);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	ok(file_has("count/disc_jwks.json.ua", "pam_jwt/" PACKAGE_VERSION "\n"),
	   "User-Agent names pam_jwt and its version");
	ok(disc_count("disc") == 1 && jwks_count("disc") == 1, "discovery and JWKS fetched once each");
	c = cached("disc");
	ok(c.jwks != NULL && c.fetched_at == t0 && c.fresh_until == t0 + 600 && c.last_error == NULL &&
	       c.url && strstr(c.url, "/disc/jwks.json") != NULL,
	   "cache file: the JWKS, fetched_at, fresh_until from max-age, the URL");
	jwks_cache_clear(&c);
	ok(get(cfg, "a", t0 + 599, &has, &err) == PJ_OK && jwks_count("disc") == 1, "fresh: no second fetch");
	keystore_flush();
	ok(get(cfg, "a", t0 + 599, &has, &err) == PJ_OK && jwks_count("disc") == 1,
	   "fresh on disk (memory flushed): no second fetch");
	ok(get(cfg, "a", t0 + 600, &has, &err) == PJ_OK && jwks_count("disc") == 2 && disc_count("disc") == 2,
	   "expired: refreshed (discovery again, then the JWKS)");
	close(fd);
	free(doc);
	config_free(cfg);
}

static void test_ttl_clamp(time_t t0)
{
	struct pj_config *cfg = conf("ttl", port, "jwks_min_ttl = 300\njwks_max_ttl = 3600\n");
	char *doc = jwks_doc(jwk_a, NULL);
	struct pj_error err;
	struct jwks_cache c;

	publish("ttl", doc, "max-age=5");
	get(cfg, NULL, t0, NULL, &err);
	c = cached("ttl");
	ok(c.fresh_until == t0 + 300, "max-age under jwks_min_ttl: raised to it (%lld)",
	   (long long)(c.fresh_until - t0));
	jwks_cache_clear(&c);
	publish("ttl", doc, "max-age=999999");
	keystore_refresh(cfg, &cfg->issuers[0], t0 + 1, &cap_log, &err);
	c = cached("ttl");
	ok(c.fresh_until == t0 + 1 + 3600, "max-age over jwks_max_ttl: lowered to it");
	jwks_cache_clear(&c);
	publish("ttl", doc, NULL);
	keystore_refresh(cfg, &cfg->issuers[0], t0 + 2, &cap_log, &err);
	c = cached("ttl");
	ok(c.fresh_until == t0 + 2 + 300, "no Cache-Control: jwks_min_ttl");
	jwks_cache_clear(&c);
	free(doc);
	config_free(cfg);
}

/* A scenario that must fail: no keys, a reason containing want, and a cache file without keys. */
static void expect_refused(const char *name, struct pj_config *cfg, time_t t0, const char *want,
                           const char *desc)
{
	struct pj_error err;
	struct jwks_cache c;
	pj_status r = get(cfg, "a", t0, NULL, &err);

	ok(r == PJ_ERR_NO_KEYS && strstr(err.reason, want) != NULL, "%s: no keys (%s)", desc, err.reason);
	c = cached(name);
	ok(c.jwks == NULL && c.last_error != NULL && c.last_attempt == t0,
	   "%s: the failure is recorded, no keys cached", desc);
	jwks_cache_clear(&c);
}

static void test_discovery_rules(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	struct pj_config *cfg;
	char *disc;

	cfg = conf("mismatch", port, NULL);
	publish("mismatch", doc, NULL);
	disc = tk_strf(
	    "{\"issuer\":\"https://127.0.0.1:%s/mismatch/\",\"jwks_uri\":\"https://127.0.0.1:%s/mismatch/"
	    "jwks.json\"}",
	    port, port);
	put("mismatch_.well-known_openid-configuration", disc);
	expect_refused("mismatch", cfg, t0, "another issuer", "discovery with a mismatched issuer");
	ok(jwks_count("mismatch") == 0, "mismatched issuer: its jwks_uri is never fetched");
	free(disc);
	config_free(cfg);

	cfg = conf("plain", port, NULL);
	publish("plain", doc, NULL);
	disc = tk_strf("{\"issuer\":\"https://127.0.0.1:%s/plain\",\"jwks_uri\":\"http://127.0.0.1:%s/plain/"
	               "jwks.json\"}",
	               port, port);
	put("plain_.well-known_openid-configuration", disc);
	expect_refused("plain", cfg, t0, "only https", "discovery with an http jwks_uri");
	free(disc);
	config_free(cfg);

	cfg = conf("nouri", port, NULL);
	disc = tk_strf("{\"issuer\":\"https://127.0.0.1:%s/nouri\"}", port);
	put("nouri_.well-known_openid-configuration", disc);
	expect_refused("nouri", cfg, t0, "no jwks_uri", "discovery without jwks_uri");
	free(disc);
	config_free(cfg);
	free(doc);
}

static void test_redirects(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	char *extra = tk_strf("jwks_uri = https://127.0.0.1:%s/redir/jwks.json\n", port);
	struct pj_config *cfg = conf("redir", port, extra);
	char *loc;

	put("redir_target.json", doc);
	put("redir_jwks.json", "");
	put("redir_jwks.json.status", "302");
	loc = tk_strf("Location: http://127.0.0.1:%s/redir/target.json\n", port);
	put("redir_jwks.json.headers", loc);
	expect_refused("redir", cfg, t0, "redirects are not followed", "redirect to http");
	free(loc);
	loc = tk_strf("Location: https://localhost:%s/redir/target.json\n", port);
	put("redir_jwks.json.headers", loc);
	keystore_flush();
	expect_refused("redir", cfg, t0 + 100, "redirects are not followed", "redirect to another host");
	ok(count("redir_target.json") == 0, "redirect targets are never requested");
	free(loc);
	free(extra);
	config_free(cfg);
	free(doc);
}

static void test_tls(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	char *extra = tk_strf("jwks_uri = https://127.0.0.1:%s/tls/jwks.json\n", wrong_port);
	struct pj_config *cfg = conf("tlsname", wrong_port, extra);
	char *other = tk_strf("jwks_uri = https://127.0.0.1:%s/tls/jwks.json\n", port);
	struct pj_config *cfg2;

	put_in(wrong_root, "tls_jwks.json", doc);
	put("tls_jwks.json", doc);
	expect_refused("tlsname", cfg, t0, "/tls/jwks.json: ", "certificate for the wrong name");
	ok(count_in(wrong_root, "tls_jwks.json") == 0, "wrong name: no request was sent");
	config_free(cfg);

	/* the same server and URL with the test CA would work; with another CA it must not */
	cfg2 = conf("tlsca", port, other);
	ok(get(cfg2, "a", t0, NULL, NULL) == PJ_OK, "control: our CA verifies the server");
	config_free(cfg2);
	{
		struct pj_error err;
		char *conftext =
		    tk_strf("[global]\ncache_dir = %s\n\n[issuer tlsca2]\nissuer = https://127.0.0.1:%s/"
		            "tlsca2\naudience = pam\nalgorithms = ES256\ntls_ca_file = %s\n%s",
		            cache, port, other_ca, other);

		if (config_parse("x", conftext, strlen(conftext), &cfg2, &err) != PJ_OK)
			printf("Bail out! %s\n", err.reason);
		expect_refused("tlsca2", cfg2, t0, "/tls/jwks.json: ", "an untrusted CA");
		config_free(cfg2);
		free(conftext);
	}
	free(other);
	free(extra);
	free(doc);
}

/* A listener that accepts nothing: the TCP handshake completes in the kernel, TLS never answers. */
static int silent_listener(int *portnum)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	*portnum = ntohs(sa.sin_port);
	return fd;
}

static void test_timeouts(time_t t0)
{
	struct timespec a, b;
	struct pj_config *cfg;
	char *extra;
	int p = 0, fd = silent_listener(&p);
	double secs;

	extra = tk_strf(
	    "jwks_uri = https://127.0.0.1:%d/jwks.json\nhttp_connect_timeout = 1\nhttp_timeout = 2\n", p);
	cfg = conf("silent", port, extra);
	clock_gettime(CLOCK_MONOTONIC, &a);
	expect_refused("silent", cfg, t0, "timed out", "a server that never answers");
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* generous bound: the point is that the login ends, bounded by http_timeout, not that it is quick */
	ok(secs < 30.0, "a server that never answers: the attempt ends (%.1f s, http_timeout 2 s)", secs);
	close(fd);
	free(extra);
	config_free(cfg);

	extra = tk_strf("jwks_uri = https://127.0.0.1:%s/hang/jwks.json\nhttp_timeout = 1\n", port);
	cfg = conf("hang", port, extra);
	put("hang_jwks.json.mode", "hang");
	expect_refused("hang", cfg, t0, "timed out", "a server that takes the request and never answers");
	free(extra);
	config_free(cfg);
}

static void test_bad_answers(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	struct pj_config *cfg;
	char *extra;

	extra = tk_strf("jwks_uri = https://127.0.0.1:%s/e500/jwks.json\n", port);
	cfg = conf("e500", port, extra);
	put("e500_jwks.json", doc);
	put("e500_jwks.json.status", "500");
	expect_refused("e500", cfg, t0, "HTTP status 500", "HTTP 500");
	free(extra);
	config_free(cfg);

	extra = tk_strf("jwks_uri = https://127.0.0.1:%s/notjson/jwks.json\n", port);
	cfg = conf("notjson", port, extra);
	put("notjson_jwks.json", "{\"keys\":[{\"kty\":");
	expect_refused("notjson", cfg, t0, "notjson/jwks.json: ", "invalid JSON");
	free(extra);
	config_free(cfg);

	extra = tk_strf("jwks_uri = https://127.0.0.1:%s/nokeys/jwks.json\n", port);
	cfg = conf("nokeys", port, extra);
	put("nokeys_jwks.json", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"a\"}]}");
	expect_refused("nokeys", cfg, t0, "no usable key", "a JWKS with no usable key");
	free(extra);
	config_free(cfg);

	extra = tk_strf("jwks_uri = https://127.0.0.1:%s/huge/jwks.json\n", port);
	cfg = conf("huge", port, extra);
	put("huge_jwks.json", "");
	put("huge_jwks.json.mode", "huge");
	expect_refused("huge", cfg, t0, "larger than 1048576 bytes", "a 100 MiB streamed body");
	/* the server notices the abort when its next write fails; give it a moment to record what it sent */
	for (int i = 0; i < 100 && count("huge_jwks.json.sent") == 0; i++)
		usleep(100000);
	ok(count("huge_jwks.json.sent") > 0 && count("huge_jwks.json.sent") < 50L * 1024 * 1024,
	   "the client aborted the transfer at the cap (server sent %ld bytes)",
	   count("huge_jwks.json.sent"));
	free(extra);
	config_free(cfg);
	free(doc);
}

/* Good keys in the cache, then every kind of bad answer on refresh: the good keys stay and keep serving. */
static void test_bad_refresh_keeps_cache(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	char *extra = tk_strf("jwks_uri = https://127.0.0.1:%s/keep/jwks.json\n", port);
	struct pj_config *cfg = conf("keep", port, extra);
	const char *bad[] = {"not json", "{\"keys\":[]}",
	                     "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"};
	struct pj_error err;
	struct jwks_cache c;
	bool has;

	put("keep_jwks.json", doc);
	ok(get(cfg, "a", t0, &has, &err) == PJ_OK && has, "keep: good keys cached");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("keep_jwks.json", bad[i]);
		ok(keystore_refresh(cfg, &cfg->issuers[0], t0 + 1 + (time_t)i, &cap_log, &err) ==
		       PJ_ERR_NO_KEYS,
		   "bad answer %zu: refresh fails (%s)", i, err.reason);
		c = cached("keep");
		ok(c.jwks != NULL && strcmp(c.jwks, doc) == 0 && c.last_error != NULL,
		   "bad answer %zu: never replaces the good cache", i);
		jwks_cache_clear(&c);
		ok(get(cfg, "a", t0 + 2 + (time_t)i, &has, &err) == PJ_OK && has,
		   "bad answer %zu: good keys serve", i);
	}
	free(extra);
	config_free(cfg);
	free(doc);
}

/* kid "b" appears at the IdP: one fetch, then accepted; 1000 random kids after it: no more fetches; then
 * many processes at once after the interval: one fetch between them. */
static void test_rotation(time_t t0)
{
	char *one = jwks_doc(jwk_a, NULL), *two = jwks_doc(jwk_a, jwk_b);
	struct pj_config *cfg = conf("rot", port, "jwks_refresh_interval = 60\n");
	struct pj_error err;
	bool has;
	long before;
	int fetched_ok = 1;

	publish("rot", one, "max-age=3600");
	ok(get(cfg, "a", t0, &has, &err) == PJ_OK && has && jwks_count("rot") == 1, "rotation: first fetch");
	publish("rot", two, "max-age=3600");
	ok(get(cfg, "b", t0 + 61, &has, &err) == PJ_OK && has && jwks_count("rot") == 2,
	   "a new kid: exactly one fetch, then the key is there");
	ok(get(cfg, "b", t0 + 62, &has, &err) == PJ_OK && has && jwks_count("rot") == 2,
	   "and no further fetch");

	before = jwks_count("rot");
	for (int i = 0; i < 1000; i++) {
		char kid[48];

		snprintf(kid, sizeof(kid), "rnd-%d-%ld", i, random());
		if (get(cfg, kid, t0 + 62 + i % 50, &has, &err) != PJ_OK || has)
			fetched_ok = 0;
	}
	ok(fetched_ok && jwks_count("rot") == before,
	   "1000 tokens with random unknown kids inside one interval: no fetch (%ld -> %ld)", before,
	   jwks_count("rot"));

	/* 20 processes with empty memory at once, past the interval: the lock and last_attempt let one fetch
	 */
	before = jwks_count("rot");
	fflush(stdout);
	pid_t pids[20];
	for (int i = 0; i < 20; i++) {
		if ((pids[i] = fork()) == 0) {
			keystore_flush();
			for (int j = 0; j < 50; j++) {
				char kid[48];

				snprintf(kid, sizeof(kid), "p%d-%d", i, j);
				get(cfg, kid, t0 + 200, NULL, &err);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 20; i++)
		waitpid(pids[i], NULL, 0);
	ok(jwks_count("rot") - before == 1, "20 processes x 50 unknown kids at once: one fetch in all (%ld)",
	   jwks_count("rot") - before);
	free(one);
	free(two);
	config_free(cfg);
}

static char *token_for(EVP_PKEY *key, const char *kid, const char *iss, time_t t0)
{
	char *h = tk_strf("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	char *p = tk_strf("{\"iss\":\"%s\",\"aud\":\"pam\",\"sub\":\"s-alice\",\"exp\":%lld,\"iat\":%lld,"
	                  "\"preferred_username\":\"alice\"}",
	                  iss, (long long)t0 + 1000000, (long long)t0);
	char *t = tk_sign(JWS_ES256, key, h, p);

	free(h);
	free(p);
	return t;
}

static pj_status verify(const struct pj_config *cfg, const char *tok, time_t now, struct pj_error *err)
{
	struct pj_identity id;
	pj_status r = pj_verify(cfg, &cap_log, tok, strlen(tok), "alice", now, &id, err);

	pj_identity_free(&id);
	return r;
}

/* The IdP drops key a: tokens signed with it verify until the refresh is seen, then never again. */
static void test_removed_key(time_t t0)
{
	char *two = jwks_doc(jwk_a, jwk_b), *only_b = jwks_doc(jwk_b, NULL);
	struct pj_config *cfg = conf("rm", port, NULL);
	char *iss = tk_strf("https://127.0.0.1:%s/rm", port);
	char *tok_a = token_for(key_a, "a", iss, t0), *tok_b = token_for(key_b, "b", iss, t0);
	struct pj_error err;

	publish("rm", two, "max-age=600");
	ok(verify(cfg, tok_a, t0, &err) == PJ_OK, "pj_verify with a fetched key accepts (%s)", err.reason);
	publish("rm", only_b, "max-age=600");
	ok(verify(cfg, tok_a, t0 + 100, &err) == PJ_OK, "a removed key still verifies until the refresh");
	ok(verify(cfg, tok_a, t0 + 600, &err) == PJ_ERR_TOKEN && jwks_count("rm") == 2,
	   "after the refresh a removed key is refused (%s)", err.reason);
	ok(verify(cfg, tok_b, t0 + 601, &err) == PJ_OK, "the remaining key verifies");
	keystore_flush();
	ok(verify(cfg, tok_a, t0 + 602, &err) == PJ_ERR_TOKEN && jwks_count("rm") == 2,
	   "another process (from the cache file) refuses it too, without fetching");
	free(tok_a);
	free(tok_b);
	free(iss);
	free(two);
	free(only_b);
	config_free(cfg);
}

/* Warm cache and an IdP that now fails: no connection while fresh; stale keys within jwks_max_stale with
 * a warning; past it, no keys. Cold cache with the IdP failing: no keys. */
static void test_outage(time_t t0)
{
	char *doc = jwks_doc(jwk_a, NULL);
	struct pj_config *cfg = conf("out", port, "jwks_max_stale = 3600\n");
	struct pj_error err;
	long conns;
	pid_t pid;
	int status = -1;

	publish("out", doc, "max-age=600");
	ok(get(cfg, "a", t0, NULL, &err) == PJ_OK, "outage: warm cache made");
	put("out_.well-known_openid-configuration.status", "503");
	put("out_jwks.json.status", "503");
	conns = count("_connections");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		keystore_flush();
		_exit(get(cfg, "a", t0 + 300, NULL, &err) == PJ_OK ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "IdP down, warm cache, new process: accepted");
	ok(count("_connections") == conns, "IdP down, warm cache: no connection made");
	tk_log_clear();
	ok(get(cfg, "a", t0 + 600 + 1800, NULL, &err) == PJ_OK && tk_logged("4:issuer out: using stale keys"),
	   "IdP down, cache stale within jwks_max_stale: accepted with a warning");
	ok(get(cfg, "a", t0 + 600 + 3600, NULL, &err) == PJ_ERR_NO_KEYS, "past jwks_max_stale: no keys (%s)",
	   err.reason);
	config_free(cfg);

	cfg = conf("cold", port, NULL);
	publish("cold", doc, NULL);
	put("cold_.well-known_openid-configuration.status", "503");
	expect_refused("cold", cfg, t0, "HTTP status 503", "IdP down, no cache");
	config_free(cfg);
	free(doc);
}

static char cli_out[1 << 16];

/* Runs cli_jwks_main in a child with stdout and stderr in a file; returns its exit status, output in cli_out.
 */
static int run_cli(const struct pj_config *cfg, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {(char *)"jwks", (char *)a1, (char *)a2, (char *)a3, NULL};
	char *path = tk_strf("%s/cli.out", cache);
	int argc = a3 ? 4 : a2 ? 3 : 2, status = -1;
	pid_t pid;
	FILE *f;
	size_t n;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(99);
		status = cli_jwks_main(cfg, argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	waitpid(pid, &status, 0);
	cli_out[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(cli_out, 1, sizeof(cli_out) - 1, f);
		cli_out[n] = '\0';
		fclose(f);
	}
	free(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool out_has(const char *needle)
{
	return strstr(cli_out, needle) != NULL;
}

/* pam-jwt jwks status / refresh through cli_jwks_main (each run a new process, as from the shell). */
static void test_cli(void)
{
	EVP_PKEY *small = tk_keygen_rsa(1024);
	char *jwk_small = tk_jwk_json(small, "small", "RS256", NULL);
	char *doc = jwks_doc(jwk_a, jwk_small);
	struct pj_config *cfg = conf("clic", port, NULL);
	char *source = tk_strf("source: discovery:https://127.0.0.1:%s/clic\n", port);
	int rc;

	publish("clic", doc, "max-age=3600");
	rc = run_cli(cfg, "status", NULL, NULL);
	ok(rc == 1 && out_has("state: unusable") && out_has("keys: none") && jwks_count("clic") == 0,
	   "jwks status before any fetch: exit 1, no keys, no fetch (exit %d)", rc);
	rc = run_cli(cfg, "refresh", NULL, NULL);
	ok(rc == 0 && out_has("issuer clic: 2 keys (1 usable)") && jwks_count("clic") == 1,
	   "jwks refresh: fetched (exit %d)", rc);
	rc = run_cli(cfg, "status", "--issuer", "clic");
	ok(rc == 0 && out_has(source) && out_has("kid=a kty=EC alg=ES256 size=256 usable\n") &&
	       out_has("kid=small kty=RSA alg=RS256 size=1024 not usable: ") && out_has("fetched at: ") &&
	       out_has("fresh until: ") && out_has(" s)\n  last attempt") && out_has("last error: none") &&
	       jwks_count("clic") == 1,
	   "jwks status: source, each key with why it is unusable, times, no error, no fetch (exit %d)", rc);
	for (char *line = strtok(cli_out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		tap_diag("%s", line);
	rc = run_cli(cfg, "refresh", "--issuer", "clic");
	ok(rc == 0 && jwks_count("clic") == 2, "jwks refresh forces a fetch while fresh (exit %d)", rc);
	put("clic_jwks.json.status", "500");
	rc = run_cli(cfg, "refresh", NULL, NULL);
	ok(rc == 1 && out_has("refresh failed") && out_has("HTTP status 500"),
	   "jwks refresh of a failing IdP: exit 1 with the reason (exit %d)", rc);
	rc = run_cli(cfg, "status", NULL, NULL);
	ok(rc == 0 && out_has("last error: ") && out_has("HTTP status 500") && out_has("kid=a "),
	   "jwks status after it: the last good keys and the last error (exit %d)", rc);
	ok(run_cli(cfg, "status", "--issuer", "nosuch") == 2,
	   "jwks status --issuer of an unknown issuer: exit 2");
	ok(run_cli(cfg, "frobnicate", NULL, NULL) == 2 && run_cli(cfg, "status", "--bogus", NULL) == 2,
	   "jwks usage errors: exit 2");
	put("clic_jwks.json.status", NULL);
	free(source);
	config_free(cfg);
	free(doc);
	free(jwk_small);
	EVP_PKEY_free(small);
}

int main(void)
{
	time_t t0 = time(NULL);

	root = env("NET_ROOT");
	port = env("NET_PORT");
	wrong_root = env("NET_WRONG_ROOT");
	wrong_port = env("NET_WRONG_PORT");
	ca = env("NET_CA");
	other_ca = env("NET_OTHER_CA");
	cache = env("NET_CACHE");
	signal(SIGPIPE, SIG_IGN);
	key_a = tk_keygen(JWS_ES256);
	key_b = tk_keygen(JWS_ES256);
	jwk_a = tk_jwk_json(key_a, "a", "ES256", NULL);
	jwk_b = tk_jwk_json(key_b, "b", "ES256", NULL);

	test_discovery(t0);
	test_ttl_clamp(t0);
	test_discovery_rules(t0);
	test_redirects(t0);
	test_tls(t0);
	test_timeouts(t0);
	test_bad_answers(t0);
	test_bad_refresh_keeps_cache(t0);
	test_rotation(t0);
	test_removed_key(t0);
	test_outage(t0);
	test_cli();

	keystore_flush();
	free(jwk_a);
	free(jwk_b);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return tap_done();
}
