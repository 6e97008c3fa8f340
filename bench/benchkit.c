/* benchkit.c: the shared benchmark scene (see benchkit.h), made with the testkit and the library's own cache
 * writer, so the cache file is exactly what a fetch leaves behind. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchkit.h"
#include "pam_jwt/jwks_cache.h"
#include "../tests/testkit.h"

const enum jws_alg_id bk_algs[BK_N_ALGS] = {JWS_RS256, JWS_PS256, JWS_ES256, JWS_ES384, JWS_EDDSA};

void bk_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void bk_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		bk_die("cannot write %s: %s", path, strerror(errno));
	if (chmod(path, mode) != 0)
		bk_die("chmod %s: %s", path, strerror(errno));
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		bk_die("mkdir %s: %s", path, strerror(errno));
	chmod(path, 0755);
}

double bk_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bk_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bk_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

EVP_PKEY *bk_key(const char *dir, enum jws_alg_id alg)
{
	char *path = tk_strf("%s/keys/%s.pem", dir, jws_alg_by_id(alg)->name);
	EVP_PKEY *k = tk_key_load(path);

	if (k == NULL)
		bk_die("cannot load %s", path);
	free(path);
	return k;
}

char *bk_token(enum jws_alg_id alg, EVP_PKEY *key, const char *user, time_t now)
{
	const char *name = jws_alg_by_id(alg)->name;
	char *hdr = tk_strf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", name, name);
	char *pl = tk_strf(
	    "{\"iss\":\"" BK_ISSUER "\",\"aud\":\"pam\",\"sub\":\"sub-%s\",\"exp\":%lld,\"iat\":%lld,"
	    "\"nbf\":%lld,\"jti\":\"c4b8e2a0-5d0f-4f7b-9a35-1c2d3e4f5a6b\",\"preferred_username\":\"%s\","
	    "\"name\":\"Bench User %s\",\"email\":\"%s@example.com\","
	    "\"groups\":[\"staff\",\"developers\",\"ops\"]}",
	    user, (long long)now + 3600, (long long)now - 10, (long long)now - 10, user, user, user);
	char *t = tk_sign(alg, key, hdr, pl);

	if (t == NULL)
		bk_die("cannot sign a %s token", name);
	free(hdr);
	free(pl);
	return t;
}

/* The JWKS: one key per alg, kid and alg set, use sig, as an IdP publishes them. */
static char *make_keys(const char *dir)
{
	char *jwks = tk_strf("{\"keys\":["), *next;

	for (int i = 0; i < BK_N_ALGS; i++) {
		const char *name = jws_alg_by_id(bk_algs[i])->name;
		EVP_PKEY *k = tk_keygen(bk_algs[i]);
		char *path = tk_strf("%s/keys/%s.pem", dir, name), *jwk;

		if (k == NULL || tk_key_save(k, path) != 0)
			bk_die("cannot make the %s key", name);
		jwk = tk_jwk_json(k, name, name, "\"use\":\"sig\"");
		next = tk_strf("%s%s%s", jwks, i ? "," : "", jwk);
		free(jwks);
		free(jwk);
		free(path);
		EVP_PKEY_free(k);
		jwks = next;
	}
	next = tk_strf("%s]}", jwks);
	free(jwks);
	return next;
}

/* dir/SUB/idp.json as a fetch at fetched_at, fresh until fresh_until, would have left it. */
static void fill_cache(const char *dir, const char *sub, char *jwks, time_t fetched_at, time_t fresh_until)
{
	char *cache_dir = tk_strf("%s/%s", dir, sub);
	char path[4096];
	struct pj_error err;
	struct jwks_cache c = {
	    .source = (char *)"uri:" BK_JWKS_URI,
	    .url = (char *)BK_JWKS_URI,
	    .jwks = jwks,
	    .jwks_len = strlen(jwks),
	    .fetched_at = fetched_at,
	    .fresh_until = fresh_until,
	    .last_attempt = fetched_at,
	};

	make_dir(cache_dir);
	if (jwks_cache_path(cache_dir, "idp", "json", path, sizeof(path), &err) != PJ_OK ||
	    jwks_cache_write(path, &c, &err) != PJ_OK)
		bk_die("cannot write the JWKS cache: %s", err.reason);
	free(cache_dir);
}

/* pam_jwt.conf (or NAME.conf) with keys by jwks_uri, cached under cache_sub. */
static void write_config(const char *dir, const char *name, const char *cache_sub)
{
	char *text =
	    tk_strf("# pam_jwt benchmark configuration: keys by jwks_uri, served from the pre-filled cache\n"
	            "[global]\ncache_dir = %s/%s\nstate_dir = %s/state\n\n"
	            "[issuer idp]\nissuer = " BK_ISSUER "\naudience = pam\n"
	            "algorithms = RS256 PS256 ES256 ES384 EdDSA\njwks_uri = " BK_JWKS_URI "\n"
	            "groups_claim = groups\n",
	            dir, cache_sub, dir);
	char *p = tk_strf("%s/%s", dir, name);

	bk_write(p, text, 0644);
	free(p);
	free(text);
}

static void write_service(const char *dir, const char *name, const char *conf, const char *module)
{
	char *text =
	    tk_strf("auth required %s config=%s/%s\naccount required pam_permit.so\n", module, dir, conf);
	char *p = tk_strf("%s/pam.d/%s", dir, name);

	bk_write(p, text, 0644);
	free(p);
	free(text);
}

void bk_scene(const char *dir, const char *module, time_t now)
{
	char *p, *jwks;

	make_dir(dir);
	p = tk_strf("%s/keys", dir);
	make_dir(p);
	free(p);
	p = tk_strf("%s/state", dir);
	make_dir(p);
	free(p);
	p = tk_strf("%s/pam.d", dir);
	make_dir(p);
	free(p);
	jwks = make_keys(dir);
	p = tk_strf("%s/jwks.json", dir);
	bk_write(p, jwks, 0644);
	free(p);
	fill_cache(dir, "cache", jwks, now, now + 86400);
	/* the control for the network count: the same keys, expired an hour ago, so a login tries a fetch */
	fill_cache(dir, "cache-expired", jwks, now - 7200, now - 3600);
	free(jwks);
	write_config(dir, "pam_jwt.conf", "cache");
	write_config(dir, "expired.conf", "cache-expired");
	write_service(dir, "jwt", "pam_jwt.conf", module);
	write_service(dir, "jwt-expired", "expired.conf", module);
	p = tk_strf("%s/pam.d/permit", dir);
	bk_write(p, "auth required pam_permit.so\naccount required pam_permit.so\n", 0644);
	free(p);
}

char *bk_token_path(const char *dir, const char *user)
{
	return tk_strf("%s/tokens/%s", dir, user);
}

/* Runs one login_proc and returns its exit status; *us receives the wall time, *pam what it printed, *cpu its
 * CPU time. */
int bk_spawn_login(const char *proc, const char *dir, const char *service, const char *user,
                   const char *preload, double *us, double *pam, double *cpu)
{
	struct rusage ru;
	char *tok = bk_token_path(dir, user), *pre = preload ? tk_strf("LD_PRELOAD=%s", preload) : NULL;
	char *confdir = tk_strf("%s/pam.d", dir);
	char *argv[] = {(char *)proc, confdir, (char *)service, (char *)user, tok, NULL};
	char *envp[] = {pre, NULL};
	char buf[64];
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = -1;
	ssize_t n;
	pid_t pid;
	double t0;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		bk_die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	t0 = bk_now();
	if (posix_spawn(&pid, proc, &fa, NULL, argv, pre ? envp : envp + 1) != 0)
		bk_die("cannot run %s", proc);
	close(pipefd[1]);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	if (wait4(pid, &status, 0, &ru) != pid)
		bk_die("wait4: %s", strerror(errno));
	*us = (bk_now() - t0) * 1e6;
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	close(pipefd[0]);
	buf[n > 0 ? n : 0] = '\0';
	*pam = atof(buf);
	posix_spawn_file_actions_destroy(&fa);
	free(tok);
	free(pre);
	free(confdir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
