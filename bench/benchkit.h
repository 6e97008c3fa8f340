/* benchkit.h: the scene every benchmark shares: keys, a JWKS served from a pre-filled on-disk cache, a
 * configuration, PAM service files and tokens, all under one scratch directory. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_BENCHKIT_H
#define PAM_JWT_BENCHKIT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>

#include "pam_jwt/jws_alg.h"

/* The algs the benchmarks measure, in table order. */
extern const enum jws_alg_id bk_algs[];
#define BK_N_ALGS 5

#define BK_ISSUER "https://idp.example.com"
/* Nothing listens on the discard port: a fetch would fail, and strace would show its connect(). */
#define BK_JWKS_URI "https://127.0.0.1:9/jwks.json"

/* Creates dir (0755) with keys/ALG.pem, cache/idp.json (the JWKS as a successful fetch at now would have
 * left it, fresh for a day), state/ (the user store), pam_jwt.conf (issuer "idp" with jwks_uri, cache_dir
 * and state_dir under dir) and pam.d/{jwt,permit}; module is the pam_jwt.so to load. The control for the
 * network count: cache-expired/idp.json (the same keys, expired), expired.conf and pam.d/jwt-expired.
 * Exits on failure. */
void bk_scene(const char *dir, const char *module, time_t now);

/* The private key of alg from dir/keys. */
EVP_PKEY *bk_key(const char *dir, enum jws_alg_id alg);

/* A token for user signed with alg (kid = alg name), valid for an hour from now, with the claims a typical
 * IdP access token carries. malloc'd. */
char *bk_token(enum jws_alg_id alg, EVP_PKEY *key, const char *user, time_t now);

/* Writes text to path with mode, or exits. */
void bk_write(const char *path, const char *text, mode_t mode);

/* Monotonic seconds. */
double bk_now(void);

/* This process's CPU seconds (user + system): what a measurement costs on its core, whatever else the
 * machine runs at the time (other builds on a shared 2-core box make wall time swing by 2x). */
double bk_cpu(void);

/* The median of n values (sorts v). */
double bk_median(double *v, size_t n);

/* dir/tokens/user: where `bench_login scene` leaves user's token. malloc'd. */
char *bk_token_path(const char *dir, const char *user);

/* One cold login: runs proc (bench/login_proc) for user of service against dir's pam.d and token, with
 * preload (NULL: nothing) as LD_PRELOAD, and returns its exit status; *us receives the wall time from spawn
 * to exit, *pam what it printed (pam_start to pam_end), *cpu its CPU time. */
int bk_spawn_login(const char *proc, const char *dir, const char *service, const char *user,
                   const char *preload, double *us, double *pam, double *cpu);

void bk_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
