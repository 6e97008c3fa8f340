/* soak.c: the bounded soak of issue #12: many PAM logins in many processes while the test IdP rotates keys
 * and goes down and up; counts every answer against what it must be. */
/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak many CONFDIR SERVICE IDPROOT ISS LOGINS WORKERS USERS ACCEPTED_FILE
 *   Makes four ES256 keys (k1, k2, k3 published in turn; kx never), writes the JWKS bodies the test IdP
 *   (tests/https_server.py on IDPROOT, path /soak/jwks.json) serves, forks WORKERS processes that share
 * LOGINS logins (a fresh PAM handle each: pam_start_confdir, pam_authenticate, for an accepted one
 * pam_acct_mgmt, pam_end) of USERS distinct users, and moves the IdP through five phases as the logins
 * progress (not by time): {k1}; {k1,k2}; down (503); {k1,k3}; {k1,k3}. Login i's kind is i % 16 (see
 * kinds[]): half are valid k1 tokens, which must be accepted in every phase (k1 stays published and cached,
 * so the IdP being down must not matter); expired, forged, unknown-kid, wrong-audience, malformed and another
 * user's tokens must be refused; k2 and k3 tokens may go either way (their key may not be fetched yet, or
 * fetched no more) but an acceptance must be for the right user. Prints "soak KEY VALUE" lines; the names of
 * the users with an accepted login go to ACCEPTED_FILE (the test checks the user store holds each). soak long
 * CONFDIR SERVICE IDPROOT ISS LOGINS One PAM handle, LOGINS authentications on it (a screen locker's life)
 * with the same kinds of tokens for one user, the IdP serving {k1}; prints open file descriptors and the heap
 * in use (mallinfo2) and RSS after a quarter of the logins and at the end, so the test can check they stay
 * flat. Exit status 0 when it ran (the test judges the figures), 1 on a setup error.
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <security/pam_appl.h>

#include "testkit.h"

#define MAX_USERS   65536
#define WRONG_SHOWN 5

enum must { MUST_ACCEPT, MUST_REFUSE, MAY };

struct kind {
	const char *name;
	enum must must;
};

/* login i is of kind i % 16: half valid, one each of the rest */
enum kind_id {
	K_VALID,
	K_EXPIRED = 8,
	K_FORGED,
	K_UNKNOWN_KID,
	K_AUDIENCE,
	K_MALFORMED,
	K_OTHER_USER,
	K_K2,
	K_K3
};
static const struct kind kinds[16] = {
    [0 ... 7] = {"valid", MUST_ACCEPT},
    [K_EXPIRED] = {"expired", MUST_REFUSE},
    [K_FORGED] = {"forged", MUST_REFUSE},
    [K_UNKNOWN_KID] = {"unknown-kid", MUST_REFUSE},
    [K_AUDIENCE] = {"audience", MUST_REFUSE},
    [K_MALFORMED] = {"malformed", MUST_REFUSE},
    [K_OTHER_USER] = {"other-user", MUST_REFUSE},
    [K_K2] = {"rotated-k2", MAY},
    [K_K3] = {"rotated-k3", MAY},
};

/* what the processes share (an anonymous shared mapping) */
struct shared {
	atomic_long next;                      /* the next login's index */
	atomic_long accepted[16], refused[16]; /* per kind */
	atomic_long wrong;
	atomic_uchar user_accepted[MAX_USERS];
};

struct keys {
	EVP_PKEY *k1, *k2, *k3, *kx;
};

static const char *conf_dir, *service, *idp_root, *issuer;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && (r[i].resp = strdup(data)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	*resp = r;
	return PAM_SUCCESS;
}

/* A token of kind k for user (signed now); malloc'd. */
static char *make_token(const struct keys *keys, int k, const char *user)
{
	long now = (long)time(NULL);
	EVP_PKEY *key = keys->k1;
	const char *kid = "k1", *aud = "pam", *name = user;
	long exp = now + 3600;
	char *header, *payload, *token;

	switch (k) {
	case K_EXPIRED: exp = now - 3600; break;
	case K_FORGED: key = keys->kx; break;
	case K_UNKNOWN_KID: key = keys->kx, kid = "kz"; break;
	case K_AUDIENCE: aud = "another-service"; break;
	case K_OTHER_USER: name = "soak-somebody-else"; break;
	case K_K2: key = keys->k2, kid = "k2"; break;
	case K_K3: key = keys->k3, kid = "k3"; break;
	default: break;
	}
	header = tk_strf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	payload = tk_strf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"sub-%s\",\"exp\":%ld,\"iat\":%ld,"
	                  "\"preferred_username\":\"%s\",\"groups\":[\"soakers\"]}",
	                  issuer, aud, name, exp, now, name);
	token = tk_sign(JWS_ES256, key, header, payload);
	free(header);
	free(payload);
	if (token != NULL && k == K_MALFORMED)
		token[strlen(token) / 2] = '!'; /* a character outside base64url, mid-token */
	return token;
}

/* One login on handle *pamh (a fresh handle when *pamh is NULL, ended afterwards); the PAM result. */
static int login(pam_handle_t **pamh, const char *user, char *token)
{
	struct pam_conv c = {conv, token};
	bool fresh = *pamh == NULL;
	int rc;

	if (fresh && pam_start_confdir(service, user, &c, conf_dir, pamh) != PAM_SUCCESS)
		return PAM_SYSTEM_ERR;
	if (!fresh)
		pam_set_item(*pamh, PAM_CONV, &c);
	if ((rc = pam_authenticate(*pamh, 0)) == PAM_SUCCESS)
		rc = pam_acct_mgmt(*pamh, 0);
	if (fresh) {
		pam_end(*pamh, rc);
		*pamh = NULL;
	}
	return rc;
}

/* Counts the answer to login i of kind k; a wrong one is said on stderr (the first few). */
static void judge(struct shared *sh, long i, int k, const char *user, int rc)
{
	bool accepted = rc == PAM_SUCCESS, wrong;

	if (accepted)
		atomic_fetch_add(&sh->accepted[k], 1);
	else
		atomic_fetch_add(&sh->refused[k], 1);
	wrong = (kinds[k].must == MUST_ACCEPT && !accepted) || (kinds[k].must == MUST_REFUSE && accepted);
	if (wrong && atomic_fetch_add(&sh->wrong, 1) < WRONG_SHOWN)
		fprintf(stderr, "soak: WRONG: login %ld (%s, user %s): %s\n", i, kinds[k].name, user,
		        accepted ? "accepted" : pam_strerror(NULL, rc));
}

static void worker(struct shared *sh, const struct keys *keys, long logins, long users)
{
	pam_handle_t *pamh = NULL;
	char user[32];
	long i;

	while ((i = atomic_fetch_add(&sh->next, 1)) < logins) {
		int k = (int)(i % 16);
		long u = (i / 16 * 7 + i) % users; /* users come back, in a shuffled order */
		char *token;
		int rc;

		snprintf(user, sizeof(user), "soak%ld", u);
		if ((token = make_token(keys, k, user)) == NULL) {
			fprintf(stderr, "soak: cannot sign a token\n");
			exit(1);
		}
		rc = login(&pamh, user, token);
		judge(sh, i, k, user, rc);
		if (rc == PAM_SUCCESS)
			atomic_store(&sh->user_accepted[u], 1);
		free(token);
	}
}

/* Writes the IdP's JWKS body for the keys given (NULL-terminated pairs of key and kid), atomically. */
static void publish(const struct keys *keys, const char *kids)
{
	char body[8192] = "{\"keys\":[", *tmp = tk_strf("%s/soak_jwks.json.tmp", idp_root);

	for (const char *p = kids; *p != '\0'; p++) {
		EVP_PKEY *key = *p == '1' ? keys->k1 : *p == '2' ? keys->k2 : keys->k3;
		char kid[3] = {'k', *p, '\0'}, *jwk = tk_jwk_json(key, kid, "ES256", NULL);

		if (p != kids)
			strcat(body, ",");
		strcat(body, jwk);
		free(jwk);
	}
	strcat(body, "]}");
	tk_write_file(tmp, body, 0644);
	if (rename(tmp, tk_path(idp_root, "soak_jwks.json")) != 0)
		perror("soak: rename");
	free(tmp);
}

/* The IdP answers 503 for the JWKS (down) or as usual (up). */
static void idp_down(bool down)
{
	char *status = tk_strf("%s/soak_jwks.json.status", idp_root);

	if (down)
		tk_write_file(status, "503\n", 0644);
	else
		unlink(status);
	free(status);
}

/* Moves the IdP to phase p (0..4) of the soak. */
static void enter_phase(const struct keys *keys, int p)
{
	static const char *const what[] = {"{k1}", "{k1,k2}", "down", "{k1,k3}", "{k1,k3}"};

	switch (p) {
	case 0: publish(keys, "1"); break;
	case 1: publish(keys, "12"); break;
	case 2: idp_down(true); break;
	case 3: publish(keys, "13"), idp_down(false); break;
	default: break;
	}
	fprintf(stderr, "soak: phase %d: the IdP serves %s\n", p, what[p]);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n - 1; /* the directory itself */
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The count of kind k, the valid kinds (0..7) together. */
static long sum(const atomic_long *counts, int k)
{
	long n = 0;

	for (int j = k; j < (k < K_EXPIRED ? K_EXPIRED : k + 1); j++)
		n += atomic_load(&counts[j]);
	return n;
}

static int run_many(const struct keys *keys, long logins, long workers, long users, const char *accepted_file)
{
	struct shared *sh =
	    mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long crashed = 0, running = 0, accepted_users = 0;
	int phase = 0, status;
	bool final_k3 = false;
	FILE *f;
	pid_t pid;

	if (sh == MAP_FAILED || users < 1 || users > MAX_USERS || workers < 1)
		return 1;
	enter_phase(keys, 0);
	fflush(stderr);
	for (long w = 0; w < workers; w++) {
		if ((pid = fork()) < 0)
			return 1;
		if (pid == 0) {
			worker(sh, keys, logins, users);
			exit(0); /* exit, not _exit: a sanitizer build checks each worker for leaks */
		}
		running++;
	}
	/* the phases follow the progress of the logins, not the clock */
	while (running > 0) {
		long done = atomic_load(&sh->next);
		int want = (int)(done * 5 / (logins + 1));

		while (phase < want && phase < 4)
			enter_phase(keys, ++phase);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				crashed++;
				fprintf(stderr, "soak: worker %d ended with status 0x%x\n", (int)pid, status);
			}
		}
		if (running > 0)
			nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	while (phase < 4)
		enter_phase(keys, ++phase);
	/* the IdP is up and serves k3: once the refresh interval has passed, a k3 token must be accepted (at
	 * most a minute of tries, a second apart: the refresh interval of the test's configuration is 1 s) */
	for (int t = 0; t < 60 && !final_k3; t++) {
		char *token = make_token(keys, K_K3, "soak0");
		pam_handle_t *pamh = NULL;

		if (token == NULL)
			return 1;
		if (!(final_k3 = login(&pamh, "soak0", token) == PAM_SUCCESS))
			sleep(1);
		free(token);
	}
	if ((f = fopen(accepted_file, "w")) == NULL)
		return 1;
	for (long u = 0; u < users; u++)
		if (atomic_load(&sh->user_accepted[u])) {
			fprintf(f, "soak%ld\n", u);
			accepted_users++;
		}
	fclose(f);
	printf(
	    "soak logins %ld\nsoak workers %ld\nsoak crashed %ld\nsoak wrong %ld\nsoak accepted_users %ld\n"
	    "soak final_k3 %s\n",
	    logins, workers, crashed, (long)atomic_load(&sh->wrong), accepted_users,
	    final_k3 ? "accepted" : "refused");
	for (int k = 0; k < 16; k = k < K_EXPIRED ? K_EXPIRED : k + 1)
		printf("soak kind %s accepted %ld refused %ld\n", kinds[k].name, sum(sh->accepted, k),
		       sum(sh->refused, k));
	munmap(sh, sizeof(*sh));
	return 0;
}

static int run_long(const struct keys *keys, long logins)
{
	struct shared *sh = calloc(1, sizeof(*sh));
	pam_handle_t *pamh = NULL;
	struct pam_conv c = {conv, (void *)""};
	long warm = logins / 4; /* past the first refreshes and lazy initialisations */
	int fds0 = 0;
	size_t heap0 = 0;
	long rss0 = 0;

	if (sh == NULL || pam_start_confdir(service, "soaklong", &c, conf_dir, &pamh) != PAM_SUCCESS)
		return 1;
	enter_phase(keys, 0);
	for (long i = 0; i < logins; i++) {
		int k = (int)(i % 16);
		char *token;

		if (k == K_K2 || k == K_K3)
			k = K_VALID; /* the key set stays {k1} here */
		if ((token = make_token(keys, k, "soaklong")) == NULL)
			return 1;
		judge(sh, i, k, "soaklong", login(&pamh, "soaklong", token));
		free(token);
		if (i + 1 == warm) {
			fds0 = open_fds();
			heap0 = mallinfo2().uordblks;
			rss0 = rss_kb();
		}
	}
	printf("soak long logins %ld\nsoak long wrong %ld\nsoak long accepted %ld\n", logins,
	       (long)atomic_load(&sh->wrong), sum(sh->accepted, K_VALID));
	printf("soak long fds %d %d\nsoak long heap_bytes %zu %zu\nsoak long rss_kb %ld %ld\n", fds0,
	       open_fds(), heap0, mallinfo2().uordblks, rss0, rss_kb());
	pam_end(pamh, PAM_SUCCESS);
	free(sh);
	return 0;
}

int main(int argc, char **argv)
{
	struct keys keys = {tk_keygen(JWS_ES256), tk_keygen(JWS_ES256), tk_keygen(JWS_ES256),
	                    tk_keygen(JWS_ES256)};
	int rc = 1;

	if (keys.k1 == NULL || keys.k2 == NULL || keys.k3 == NULL || keys.kx == NULL)
		goto out;
	if (argc == 10 && strcmp(argv[1], "many") == 0) {
		conf_dir = argv[2], service = argv[3], idp_root = argv[4], issuer = argv[5];
		rc = run_many(&keys, atol(argv[6]), atol(argv[7]), atol(argv[8]), argv[9]);
	} else if (argc == 7 && strcmp(argv[1], "long") == 0) {
		conf_dir = argv[2], service = argv[3], idp_root = argv[4], issuer = argv[5];
		rc = run_long(&keys, atol(argv[6]));
	} else {
		fprintf(stderr,
		        "usage: soak many CONFDIR SERVICE IDPROOT ISS LOGINS WORKERS USERS ACCEPTED_FILE\n"
		        "       soak long CONFDIR SERVICE IDPROOT ISS LOGINS\n");
	}
out:
	EVP_PKEY_free(keys.k1);
	EVP_PKEY_free(keys.k2);
	EVP_PKEY_free(keys.k3);
	EVP_PKEY_free(keys.kx);
	return rc;
}
