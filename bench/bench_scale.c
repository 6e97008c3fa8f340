/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_scale.c: login cost against the size of the user store (issue #10), in one process:
 *   bench_scale DIR REPS SIZE...     DIR a scene made by `bench_login scene`; for each SIZE a store of that
 *                                    many bound users is built in DIR/state, then measured:
 *   - returning login: pam_authenticate on one handle, alice's unchanged token, RS256 and ES256, against
 *     pam_permit on one handle (REPS each, medians);
 *   - first login: pam_authenticate of new users (a handle each), and the store work alone
 *     (mapping_record_login of a verified identity, journal append or fold included);
 *   - the store: its size on disk, opening it in a fresh view (what a fresh process's first lookup pays:
 *     validated whole, then again after the logins left users.checked) and a lookup in an open view;
 *   - cold returning login: a fresh bench/login_proc per login (BENCH_LOGIN_PROC), sshd-like (libcrypto and
 *     json-c already linked, the user looked up first), alice's unchanged token, against pam_permit in the
 *     same kind of process, interleaved: what every SSH connection pays at this store size.
 * Prints "scale KEY VALUE" lines per size for report.py. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "../tests/testkit.h"
#include "benchkit.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/userstore.h"
#include "pam_jwt/verify.h"
#include "store/store_journal.h"

#define FIRST_LOGINS 40

static const char *conv_token;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && (r[i].resp = strdup(conv_token)) == NULL)
			return PAM_BUF_ERR;
	*resp = r;
	return PAM_SUCCESS;
}

/* Empties the state directory (store, journal, last-login file, caches). */
static void clear_state(const char *state)
{
	DIR *d = opendir(state);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			unlink(tk_path(state, e->d_name));
	}
	if (d != NULL)
		closedir(d);
}

/* A store of n bound users (s0000000...) in 16 managed groups, with the configuration's parameters. */
static void build(const struct pj_config *cfg, const char *state, long n)
{
	struct pj_error err;
	struct userstore *us;
	struct us_user *u;
	char name[32], home[64];

	clear_state(state);
	if (userstore_open(state, true, &us, &err) != PJ_OK || userstore_set_params(us, cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	for (uint32_t g = 0; g < 16; g++) {
		snprintf(name, sizeof(name), "team%02u", g);
		if (userstore_add_group(us, name, 2000000000u + g, &err) != PJ_OK)
			bk_die("%s", err.reason);
	}
	for (long i = 0; i < n; i++) {
		uint32_t gid = 2000000000u + (uint32_t)(i % 16);
		snprintf(name, sizeof(name), "s%07ld", i);
		snprintf(home, sizeof(home), "/home/%s", name);
		if (userstore_add_user(us, name, 1000000 + (uint32_t)i, "", home, "/bin/bash", BK_ISSUER,
		                       name, 1700000000, &u, &err) != PJ_OK ||
		    userstore_set_gids(u, &gid, 1, &err) != PJ_OK)
			bk_die("%s", err.reason);
	}
	if (userstore_commit(us, time(NULL), &err) != PJ_OK)
		bk_die("%s", err.reason);
	userstore_close(us);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median µs of reps pam_authenticate calls on one handle of service for user with token. */
static double returning(const char *dir, const char *service, const char *user, const char *token, int reps)
{
	struct pam_conv c = {conv, NULL};
	char *confdir = tk_strf("%s/pam.d", dir);
	pam_handle_t *pamh = NULL;
	double *t = calloc((size_t)reps, sizeof(*t)), m;

	conv_token = token;
	if (pam_start_confdir(service, user, &c, confdir, &pamh) != PAM_SUCCESS)
		bk_die("pam_start_confdir %s", service);
	if (pam_authenticate(pamh, 0) != PAM_SUCCESS) /* the first one records the user: not counted */
		bk_die("%s: %s refused", service, user);
	for (int i = 0; i < reps; i++) {
		double t0 = bk_now();
		if (pam_authenticate(pamh, 0) != PAM_SUCCESS)
			bk_die("%s: %s refused", service, user);
		t[i] = (bk_now() - t0) * 1e6;
	}
	pam_end(pamh, PAM_SUCCESS);
	m = median(t, reps);
	free(t);
	free(confdir);
	return m;
}

/* First logins of new users through PAM (a handle each, as each connection has its own), median µs. */
static double first_pam(const char *dir, EVP_PKEY *key, long size, int n)
{
	struct pam_conv c = {conv, NULL};
	char *confdir = tk_strf("%s/pam.d", dir);
	double t[FIRST_LOGINS], m;

	for (int i = 0; i < n; i++) {
		char *user = tk_strf("p%07ldx%02d", size % 10000000, i),
		     *tok = bk_token(JWS_RS256, key, user, time(NULL));
		pam_handle_t *pamh = NULL;
		double t0;
		conv_token = tok;
		if (pam_start_confdir("jwt", user, &c, confdir, &pamh) != PAM_SUCCESS)
			bk_die("pam_start_confdir");
		t0 = bk_now();
		if (pam_authenticate(pamh, 0) != PAM_SUCCESS)
			bk_die("first login of %s refused", user);
		t[i] = (bk_now() - t0) * 1e6;
		pam_end(pamh, PAM_SUCCESS);
		free(tok);
		free(user);
	}
	m = median(t, n);
	free(confdir);
	return m;
}

/* The store work of a new user's first login alone: mapping_record_login of a verified identity. */
static double first_store(const struct pj_config *cfg, EVP_PKEY *key, long size, int n)
{
	double t[FIRST_LOGINS];
	struct pj_error err;

	for (int i = 0; i < n; i++) {
		char *user = tk_strf("r%07ldx%02d", size % 10000000, i),
		     *tok = bk_token(JWS_RS256, key, user, time(NULL));
		struct pj_identity id;
		double t0;
		if (pj_verify(cfg, NULL, tok, strlen(tok), user, time(NULL), &id, &err) != PJ_OK)
			bk_die("%s: %s", user, err.reason);
		t0 = bk_now();
		if (mapping_record_login(cfg, &id, time(NULL), NULL, &err) != PJ_OK)
			bk_die("%s: %s", user, err.reason);
		t[i] = (bk_now() - t0) * 1e6;
		pj_identity_free(&id);
		free(tok);
		free(user);
	}
	return median(t, n);
}

/* Cold returning logins, pam_jwt and pam_permit interleaved (ABAB), each a fresh login_proc as sshd's
 * connection process would be; prints their median wall times and the median of the per-pair differences. */
static void cold(const char *dir, const char *proc, long size, int reps)
{
	static const char *const sshd_libs = "libcrypto.so.3 libjson-c.so.5";
	const char *service[2] = {"jwt", "permit"};
	double *t[2], *diff = calloc((size_t)reps, sizeof(*diff)), pam, cpu;
	int rc;

	t[0] = calloc((size_t)reps, sizeof(double));
	t[1] = calloc((size_t)reps, sizeof(double));
	if (t[0] == NULL || t[1] == NULL || diff == NULL)
		bk_die("out of memory");
	for (int k = 0; k < 2; k++) /* warm-up: the page cache, and alice's first login records her */
		if ((rc = bk_spawn_login(proc, dir, service[k], "alice", sshd_libs, &t[k][0], &pam, &cpu)) !=
		    0)
			bk_die("cold %s login of alice failed: exit %d", service[k], rc);
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < 2; k++) {
			int v = r % 2 ? 1 - k : k;
			if ((rc = bk_spawn_login(proc, dir, service[v], "alice", sshd_libs, &t[v][r], &pam,
			                         &cpu)) != 0)
				bk_die("cold %s login of alice failed: exit %d", service[v], rc);
		}
		diff[r] = t[0][r] - t[1][r];
	}
	printf("scale %ld cold_diff_us %.1f\n", size, bk_median(diff, (size_t)reps));
	printf("scale %ld cold_jwt_us %.1f\n", size, bk_median(t[0], (size_t)reps));
	printf("scale %ld cold_permit_us %.1f\n", size, bk_median(t[1], (size_t)reps));
	free(t[0]);
	free(t[1]);
	free(diff);
}

/* What a fresh process's first lookup pays to open the store: median µs of 5 opens. */
static double open_us(const char *state)
{
	double t[5];
	struct pj_view v;

	for (int i = 0; i < 5; i++) {
		double t0 = bk_now();
		if (view_open(state, &v) != 0)
			bk_die("view_open");
		t[i] = (bk_now() - t0) * 1e6;
		view_close(&v);
	}
	return bk_median(t, 5);
}

static void lookups(const char *state, long size)
{
	struct pj_user_ref ref;
	struct pj_view v;
	double t0, open_us, look_us;
	char name[32];
	int n = 20000, found = 0;

	t0 = bk_now();
	if (view_open(state, &v) != 0)
		bk_die("view_open");
	open_us = (bk_now() - t0) * 1e6;
	t0 = bk_now();
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%07ld",
		         (long)((unsigned long)i * 7919u % (unsigned long)size));
		found += view_user_by_name(&v, name, &ref);
	}
	look_us = (bk_now() - t0) * 1e6 / n;
	view_close(&v);
	if (found != n)
		bk_die("lookups: %d of %d found", found, n);
	printf("scale %ld open_us %.1f\n", size, open_us);
	printf("scale %ld lookup_us %.3f\n", size, look_us);
}

int main(int argc, char **argv)
{
	const char *proc = getenv("BENCH_LOGIN_PROC");
	char *conf, *state, *tok_rs, *tok_es;
	struct pj_config *cfg;
	struct pj_error err;
	EVP_PKEY *rs, *es;
	struct stat sb;
	int reps;

	if (argc < 4)
		bk_die("usage: BENCH_LOGIN_PROC=bench/login_proc bench_scale DIR REPS SIZE...");
	if (proc == NULL)
		bk_die("BENCH_LOGIN_PROC: the login_proc program for the cold logins");
	reps = atoi(argv[2]);
	conf = tk_strf("%s/pam_jwt.conf", argv[1]);
	state = tk_strf("%s/state", argv[1]);
	if (config_load(conf, &cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	rs = bk_key(argv[1], JWS_RS256);
	es = bk_key(argv[1], JWS_ES256);
	tok_rs = bk_token(JWS_RS256, rs, "alice", time(NULL));
	tok_es = bk_token(JWS_ES256, es, "alice", time(NULL));
	for (int k = 3; k < argc; k++) {
		long size = atol(argv[k]);
		double t0 = bk_now();
		build(cfg, state, size);
		printf("scale %ld build_s %.2f\n", size, bk_now() - t0);
		printf("scale %ld size_bytes %lld\n", size,
		       stat(tk_path(state, "users.db"), &sb) == 0 ? (long long)sb.st_size : -1LL);
		lookups(state, size);
		printf("scale %ld returning_jwt_rs256_us %.1f\n", size,
		       returning(argv[1], "jwt", "alice", tok_rs, reps));
		printf("scale %ld returning_jwt_es256_us %.1f\n", size,
		       returning(argv[1], "jwt", "alice", tok_es, reps));
		printf("scale %ld returning_permit_us %.1f\n", size,
		       returning(argv[1], "permit", "alice", tok_rs, reps));
		/* alice is recorded by now: these are returning logins in fresh processes */
		cold(argv[1], proc, size, reps > 100 ? 100 : reps);
		/* each handle loads pam_jwt.so afresh: at a million users that is a second per login */
		printf("scale %ld first_pam_us %.1f\n", size,
		       first_pam(argv[1], rs, size, size >= 1000000 ? 5 : FIRST_LOGINS));
		printf("scale %ld first_store_us %.1f\n", size, first_store(cfg, rs, size, FIRST_LOGINS));
		/* the logins above left users.checked for the store they last validated whole */
		printf("scale %ld open_checked_us %.1f\n", size, open_us(state));
		fflush(stdout);
	}
	clear_state(state);
	EVP_PKEY_free(rs);
	EVP_PKEY_free(es);
	free(tok_rs);
	free(tok_es);
	config_free(cfg);
	free(conf);
	free(state);
	return 0;
}
