/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_login.c: cold logins, each a fresh login_proc as an sshd child would be: pam_jwt.so against the
 * on-disk JWKS cache versus pam_permit.so, interleaved; then parallel logins of distinct users.
 *   bench_login scene DIR MODULE NUSERS       the scene (benchkit) plus RS256 tokens for alice and u00000...
 *   bench_login cold DIR LOGIN_PROC REPS      ABAB over the variants below, one process per login
 *   bench_login parallel DIR LOGIN_PROC SERVICE P N FIRST
 *                                             N logins by P workers at once, users u<FIRST>..u<FIRST+N-1>
 *   bench_login record DIR P N FIRST          the same users recorded in the store by P processes at once
 *                                             through mapping_record_login (what a login's store update is)
 *   bench_login storecheck DIR N FIRST        how many of those users the store holds
 *   bench_login phases DIR                    where a cold login's time goes, in this fresh process */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../tests/testkit.h"
#include "benchkit.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/keystore.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/userstore.h"
#include "pam_jwt/verify.h"

#define MAX_REPS 2000

extern char **environ;

static char *user_name(long i)
{
	return tk_strf("u%05ld", i);
}

static int cmd_scene(const char *dir, const char *module, long nusers)
{
	time_t now = time(NULL);
	EVP_PKEY *key;
	char *p;

	bk_scene(dir, module, now);
	key = bk_key(dir, JWS_RS256);
	p = tk_strf("%s/tokens", dir);
	mkdir(p, 0755);
	free(p);
	for (long i = -1; i < nusers; i++) {
		char *user = i < 0 ? strdup("alice") : user_name(i);
		char *t = bk_token(JWS_RS256, key, user, now);
		p = bk_token_path(dir, user);
		bk_write(p, t, 0600);
		free(p);
		free(t);
		free(user);
	}
	EVP_PKEY_free(key);
	return 0;
}

/* One variant of the cold login: the service, and what is preloaded (to price libraries on their own). */
struct variant {
	const char *name;
	const char *service;
	const char *preload;  /* NULL: nothing */
	double us[MAX_REPS];  /* whole process: spawn to exit */
	double pam[MAX_REPS]; /* inside: pam_start to pam_end */
	double cpu[MAX_REPS]; /* the process's CPU time, user + system */
};

static struct variant variants[] = {
    {"pam_jwt", "jwt", NULL, {0}, {0}, {0}},
    {"pam_permit", "permit", NULL, {0}, {0}, {0}},
    /* pam_permit with the libraries verification needs, then with libcurl too, then with every library
     * pam_jwt.so links (BENCH_ALL_LIBS): the differences are what the libraries only fetching keys (or the
     * device flow) need cost a login that uses none of them */
    {"permit+crypto+json-c", "permit", "libcrypto.so.3 libjson-c.so.5", {0}, {0}, {0}},
    {"permit+crypto+json-c+curl", "permit", "libcrypto.so.3 libjson-c.so.5 libcurl.so.4", {0}, {0}, {0}},
    {"permit+all-of-pam_jwt.so's-libraries", "permit", NULL, {0}, {0}, {0}},
    /* sshd-like: a process that already links libcrypto (and json-c), against variant 2 (issue #10) */
    {"pam_jwt+crypto+json-c", "jwt", "libcrypto.so.3 libjson-c.so.5", {0}, {0}, {0}},
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static int cmd_cold(const char *dir, const char *proc, int reps)
{
	double diff[MAX_REPS], curl[MAX_REPS], other[MAX_REPS], cpudiff[MAX_REPS], sshd[MAX_REPS],
	    sshdcpu[MAX_REPS];
	int rc;

	if (reps < 1 || reps > MAX_REPS)
		bk_die("reps out of range");
	if ((variants[4].preload = getenv("BENCH_ALL_LIBS")) == NULL)
		bk_die("BENCH_ALL_LIBS: the libraries pam_jwt.so links, as LD_PRELOAD takes them");
	/* warm the page cache for every variant */
	for (size_t v = 0; v < N_VARIANTS; v++)
		for (int i = 0; i < 3; i++)
			if ((rc = bk_spawn_login(proc, dir, variants[v].service, "alice", variants[v].preload,
			                         &variants[v].us[0], &variants[v].pam[0],
			                         &variants[v].cpu[0])) != 0)
				bk_die("the %s login failed: exit %d (a PAM code; 1xx: login_proc)",
				       variants[v].name, rc);
	for (int r = 0; r < reps; r++)
		for (size_t k = 0; k < N_VARIANTS; k++) {
			struct variant *v = &variants[r % 2 ? N_VARIANTS - 1 - k : k];
			if ((rc = bk_spawn_login(proc, dir, v->service, "alice", v->preload, &v->us[r],
			                         &v->pam[r], &v->cpu[r])) != 0)
				bk_die("the %s login failed: exit %d (a PAM code; 1xx: login_proc)", v->name,
				       rc);
		}
	for (int r = 0; r < reps; r++) {
		diff[r] = variants[0].us[r] - variants[1].us[r];
		cpudiff[r] = variants[0].cpu[r] - variants[1].cpu[r];
		curl[r] = variants[3].us[r] - variants[2].us[r];
		other[r] = variants[4].us[r] - variants[2].us[r];
		sshd[r] = variants[5].us[r] - variants[2].us[r];
		sshdcpu[r] = variants[5].cpu[r] - variants[2].cpu[r];
	}
	for (size_t v = 0; v < N_VARIANTS; v++)
		printf("cold %s us %.1f pam_us %.1f cpu_us %.1f\n", variants[v].name,
		       bk_median(variants[v].us, (size_t)reps), bk_median(variants[v].pam, (size_t)reps),
		       bk_median(variants[v].cpu, (size_t)reps));
	printf("cold diff_us %.1f\n", bk_median(diff, (size_t)reps));
	printf("cold diff_cpu_us %.1f\n", bk_median(cpudiff, (size_t)reps));
	printf("cold curl_us %.1f\n", bk_median(curl, (size_t)reps));
	printf("cold fetchlibs_us %.1f\n", bk_median(other, (size_t)reps));
	printf("cold sshd_diff_us %.1f\n", bk_median(sshd, (size_t)reps));
	printf("cold sshd_diff_cpu_us %.1f\n", bk_median(sshdcpu, (size_t)reps));
	return 0;
}

/* P workers, each taking the next user until N logins are done; prints logins per second. */

/* Waits for p forked workers; the sum of their exit statuses (each the number of its failures). */
static long wait_workers(int p)
{
	long failed = 0;

	for (int w = 0; w < p; w++) {
		int status;
		if (wait(&status) < 0)
			bk_die("wait: %s", strerror(errno));
		failed += WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	return failed;
}
static int cmd_parallel(const char *dir, const char *proc, const char *service, int p, long n, long first)
{
	long done, failed = 0;
	double t0 = bk_now();

	if (p < 1 || n < 1)
		bk_die("bad P or N");
	for (int w = 0; w < p; w++) {
		pid_t pid = fork();
		if (pid < 0)
			bk_die("fork: %s", strerror(errno));
		if (pid == 0) {
			int bad = 0;
			for (long i = first + w; i < first + n; i += p) {
				char *user = user_name(i);
				double us, pam, cpu;
				if (bk_spawn_login(proc, dir, service, user, NULL, &us, &pam, &cpu) != 0)
					bad++;
				free(user);
			}
			_exit(bad > 255 ? 255 : bad);
		}
	}
	failed += wait_workers(p);
	done = n - failed;
	printf("parallel %s p %d logins %ld failed %ld per_s %.1f\n", service, p, done, failed,
	       (double)n / (bk_now() - t0));
	return failed ? 1 : 0;
}

/* Verifies user's token and records the login in the store, as the module's store update does. */
static int record_one(const struct pj_config *cfg, const char *dir, const char *user)
{
	char *path = bk_token_path(dir, user), *tok = NULL;
	size_t len;
	struct pj_identity id;
	struct pj_error err;
	pj_status r;
	FILE *f = fopen(path, "r");

	free(path);
	if (f == NULL)
		return 1;
	tok = calloc(1, 16385);
	len = fread(tok, 1, 16384, f);
	fclose(f);
	r = pj_verify(cfg, NULL, tok, len, user, time(NULL), &id, &err);
	if (r == PJ_OK)
		r = mapping_record_login(cfg, &id, time(NULL), NULL, &err);
	if (r != PJ_OK)
		fprintf(stderr, "bench: %s: %s\n", user, err.reason);
	pj_identity_free(&id);
	free(tok);
	return r == PJ_OK ? 0 : 1;
}

static int cmd_record(const char *dir, int p, long n, long first)
{
	char *conf = tk_strf("%s/pam_jwt.conf", dir), *state = tk_strf("%s/state", dir);
	struct pj_config *cfg;
	struct pj_error err;
	struct userstore *us;
	long failed = 0, missing = 0;
	double t0;

	if (config_load(conf, &cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	t0 = bk_now();
	for (int w = 0; w < p; w++) {
		pid_t pid = fork();
		if (pid < 0)
			bk_die("fork: %s", strerror(errno));
		if (pid == 0) {
			int bad = 0;
			for (long i = first + w; i < first + n; i += p) {
				char *user = user_name(i);
				bad += record_one(cfg, dir, user);
				free(user);
			}
			_exit(bad > 255 ? 255 : bad);
		}
	}
	failed += wait_workers(p);
	t0 = bk_now() - t0;
	if (userstore_open(state, false, &us, &err) != PJ_OK)
		bk_die("%s", err.reason);
	for (long i = first; i < first + n; i++) {
		char *user = user_name(i);
		missing += userstore_user(us, user) == NULL;
		free(user);
	}
	printf("record p %d logins %ld failed %ld missing %ld store_users %zu per_s %.1f\n", p, n, failed,
	       missing, us->n_users, (double)n / t0);
	userstore_close(us);
	config_free(cfg);
	free(conf);
	free(state);
	return failed || missing ? 1 : 0;
}

static double phase(double *t)
{
	double n = bk_now(), d = (n - *t) * 1e6;

	*t = n;
	return d;
}

/* Where a cold login's time goes, in this fresh process: prints microseconds per phase. */
static int cmd_phases(const char *dir)
{
	char *conf = tk_strf("%s/pam_jwt.conf", dir), *path = bk_token_path(dir, "alice"), tok[16385] = "";
	struct pj_config *cfg;
	const struct jwk_set *set;
	struct keystore_ref *ref;
	struct pj_identity id;
	struct pj_error err;
	struct passwd *pw;
	double t = bk_now(), p[7];
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(tok, 1, sizeof(tok) - 1, f) : 0;

	if (f)
		fclose(f);
	phase(&t);
	if (config_load(conf, &cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	p[0] = phase(&t);
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	p[1] = phase(&t);
	if (keystore_get(cfg, &cfg->issuers[0], "RS256", time(NULL), NULL, &set, &ref, &err) != PJ_OK)
		bk_die("%s", err.reason);
	keystore_release(ref);
	p[2] = phase(&t);
	pw = getpwnam("nosuchuser");
	(void)pw;
	p[3] = phase(&t);
	if (pj_verify(cfg, NULL, tok, len, "alice", time(NULL), &id, &err) != PJ_OK)
		bk_die("%s", err.reason);
	p[4] = phase(&t);
	if (mapping_record_login(cfg, &id, time(NULL), NULL, &err) != PJ_OK)
		bk_die("%s", err.reason);
	pj_identity_free(&id);
	p[6] = phase(&t);
	if (pj_verify(cfg, NULL, tok, len, "alice", time(NULL), &id, &err) != PJ_OK)
		bk_die("%s", err.reason);
	pj_identity_free(&id);
	p[5] = phase(&t);
	printf("phases config %.1f openssl_init %.1f keys %.1f first_getpwnam %.1f first_verify %.1f "
	       "store_update %.1f warm_verify %.1f\n",
	       p[0], p[1], p[2], p[3], p[4], p[6], p[5]);
	config_free(cfg);
	free(conf);
	free(path);
	return 0;
}

static int cmd_storecheck(const char *dir, long n, long first)
{
	char *state = tk_strf("%s/state", dir);
	struct userstore *us;
	struct pj_error err;
	long found = 0;

	if (userstore_open(state, false, &us, &err) != PJ_OK)
		bk_die("%s", err.reason);
	for (long i = first; i < first + n; i++) {
		char *user = user_name(i);
		found += userstore_user(us, user) != NULL;
		free(user);
	}
	printf("storecheck first %ld logins %ld found %ld store_users %zu\n", first, n, found, us->n_users);
	userstore_close(us);
	free(state);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "scene") == 0)
		return cmd_scene(argv[2], argv[3], atol(argv[4]));
	if (argc == 5 && strcmp(argv[1], "storecheck") == 0)
		return cmd_storecheck(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 3 && strcmp(argv[1], "phases") == 0)
		return cmd_phases(argv[2]);
	if (argc == 5 && strcmp(argv[1], "cold") == 0)
		return cmd_cold(argv[2], argv[3], atoi(argv[4]));
	if (argc == 8 && strcmp(argv[1], "parallel") == 0)
		return cmd_parallel(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]), atol(argv[7]));
	if (argc == 6 && strcmp(argv[1], "record") == 0)
		return cmd_record(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	bk_die("usage: see bench_login.c");
}
