/* bench_nss.c: NSS lookups through glibc, the user store (nsswitch "jwt") against glibc's files module. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Against passwd/group files of the same size, interleaved in one process; plus store building and adding.
 *   bench_nss build DIR NUSERS NGROUPS PASSWD GROUP
 *       a store in DIR (users u000000.., each in 3 of the NGROUPS groups g00000..) and the same entries
 *       appended to copies of /etc/passwd and /etc/group written to PASSWD and GROUP
 *   bench_nss lookup NUSERS NGROUPS ROUNDS BLOCK_SECONDS [DISTINCT]
 *       run where /etc/passwd, /etc/group and the module's store are those of one size (see bench/nss.sh);
 *       names drawn at random from all entries, or from only DISTINCT of them
 *   bench_nss add SCENE_DIR STATE_DIR N
 *       N first logins (pj_verify + mapping_record_login) of new users into the store in STATE_DIR */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tests/testkit.h"
#include "benchkit.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/userstore.h"
#include "pam_jwt/verify.h"

#define UID_BASE        300000u
#define GID_BASE        100000000u
#define GROUPS_PER_USER 3
#define SAMPLE          4096
#define MAX_ROUNDS      64

/* glibc's own hook (nscd and glibc's tests use it): the services of one database, as nsswitch.conf says. */
extern int __nss_configure_lookup(const char *dbname, const char *service_line);

static void user_groups(long i, long ngroups, uint32_t *gids)
{
	gids[0] = GID_BASE + (uint32_t)(i % ngroups);
	gids[1] = GID_BASE + (uint32_t)((i * 7 + 1) % ngroups);
	gids[2] = GID_BASE + (uint32_t)((i * 13 + 2) % ngroups);
}

static void copy_file(FILE *out, const char *path)
{
	char buf[8192];
	size_t n;
	FILE *in = fopen(path, "r");

	if (in == NULL)
		bk_die("cannot read %s", path);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
}

static int cmd_build(const char *dir, long nusers, long ngroups, const char *passwd, const char *group)
{
	struct userstore *us;
	struct pj_error err;
	FILE *pw = fopen(passwd, "w"), *gr = fopen(group, "w");
	char name[32], gecos[64], home[64];
	char **members;
	size_t *mlen;

	if (pw == NULL || gr == NULL || nusers < 1 || ngroups < 1)
		bk_die("build: bad arguments");
	mkdir(dir, 0755);
	if (userstore_open(dir, true, &us, &err) != PJ_OK)
		bk_die("%s", err.reason);
	copy_file(pw, "/etc/passwd");
	copy_file(gr, "/etc/group");
	for (long j = 0; j < ngroups; j++) {
		snprintf(name, sizeof(name), "g%05ld", j);
		if (userstore_add_group(us, name, GID_BASE + (uint32_t)j, &err) != PJ_OK)
			bk_die("%s", err.reason);
	}
	members = calloc((size_t)ngroups, sizeof(*members));
	mlen = calloc((size_t)ngroups, sizeof(*mlen));
	for (long i = 0; i < nusers; i++) {
		struct us_user *u;
		uint32_t gids[GROUPS_PER_USER], uid = UID_BASE + (uint32_t)i;

		snprintf(name, sizeof(name), "u%06ld", i);
		snprintf(gecos, sizeof(gecos), "Bench User %06ld", i);
		snprintf(home, sizeof(home), "/home/%s", name);
		if (userstore_add_user(us, name, uid, gecos, home, "/bin/bash", "https://idp.example.com",
		                       name, 1, &u, &err) != PJ_OK)
			bk_die("%s", err.reason);
		user_groups(i, ngroups, gids);
		if (userstore_set_gids(u, gids, GROUPS_PER_USER, &err) != PJ_OK)
			bk_die("%s", err.reason);
		fprintf(pw, "%s:x:%u:%u:%s:%s:/bin/bash\n", name, uid, uid, gecos, home);
		fprintf(gr, "%s:x:%u:\n", name, uid); /* the private group the store implies */
		for (int k = 0; k < GROUPS_PER_USER; k++) {
			long j = (long)(gids[k] - GID_BASE);
			bool dup = false;
			for (int m = 0; m < k; m++)
				dup |= gids[m] == gids[k];
			if (dup)
				continue;
			members[j] = realloc(members[j], mlen[j] + strlen(name) + 2);
			memcpy(members[j] + mlen[j], mlen[j] ? "," : "", mlen[j] ? 1 : 0);
			mlen[j] += mlen[j] ? 1 : 0;
			memcpy(members[j] + mlen[j], name, strlen(name) + 1);
			mlen[j] += strlen(name);
		}
	}
	for (long j = 0; j < ngroups; j++) {
		fprintf(gr, "g%05ld:x:%u:%s\n", j, GID_BASE + (uint32_t)j, members[j] ? members[j] : "");
		free(members[j]);
	}
	free(members);
	free(mlen);
	if (fclose(pw) != 0 || fclose(gr) != 0)
		bk_die("cannot write the account files");
	if (userstore_commit(us, time(NULL), &err) != PJ_OK)
		bk_die("%s", err.reason);
	userstore_close(us);
	return 0;
}

enum op { OP_GETPWNAM, OP_GETPWUID, OP_GETGRNAM, OP_INITGROUPS, OP_COUNT };
static const char *op_name[OP_COUNT] = {"getpwnam", "getpwuid", "getgrnam", "initgroups"};
enum backend { B_JWT, B_FILES, B_COUNT };
static const char *backend_name[B_COUNT] = {"jwt", "files"};

static long sample_users[SAMPLE], sample_groups[SAMPLE];

static void use_backend(enum backend b)
{
	const char *s = backend_name[b];

	if (__nss_configure_lookup("passwd", s) != 0 || __nss_configure_lookup("group", s) != 0 ||
	    __nss_configure_lookup("initgroups", s) != 0)
		bk_die("__nss_configure_lookup failed");
}

/* One lookup of sample k; false when the entry was not found (which would make the numbers meaningless). */
static bool lookup(enum op op, long k)
{
	char name[32], buf[65536];
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	gid_t groups[64];
	int ngroups = 64;
	long i = sample_users[k % SAMPLE];

	switch (op) {
	case OP_GETPWNAM:
		snprintf(name, sizeof(name), "u%06ld", i);
		return getpwnam_r(name, &pw, buf, sizeof(buf), &pwr) == 0 && pwr != NULL;
	case OP_GETPWUID:
		return getpwuid_r(UID_BASE + (uid_t)i, &pw, buf, sizeof(buf), &pwr) == 0 && pwr != NULL;
	case OP_GETGRNAM:
		snprintf(name, sizeof(name), "g%05ld", sample_groups[k % SAMPLE]);
		return getgrnam_r(name, &gr, buf, sizeof(buf), &grr) == 0 && grr != NULL;
	case OP_INITGROUPS:
		snprintf(name, sizeof(name), "u%06ld", i);
		/* getgrouplist is initgroups without the setgroups: the primary group plus GROUPS_PER_USER */
		return getgrouplist(name, UID_BASE + (gid_t)i, groups, &ngroups) >= 2;
	default: return false;
	}
}

/* Mean CPU microseconds per lookup over a block of at least block_s CPU seconds (and at least 3 lookups). */
static double block(enum op op, enum backend b, double block_s, long *cursor)
{
	double t0 = bk_cpu(), t;
	long n = 0;

	use_backend(b);
	do {
		if (!lookup(op, (*cursor)++))
			bk_die("%s through %s did not find its entry", op_name[op], backend_name[b]);
		n++;
		t = bk_cpu();
	} while (t - t0 < block_s || n < 3);
	return (t - t0) * 1e6 / (double)n;
}

static int cmd_lookup(long nusers, long ngroups, int rounds, double block_s, long distinct)
{
	static double us[OP_COUNT][B_COUNT][MAX_ROUNDS];
	long cursor[OP_COUNT][B_COUNT] = {{0}};

	if (rounds < 1 || rounds > MAX_ROUNDS)
		bk_die("rounds out of range");
	srandom(42);
	for (int k = 0; k < SAMPLE; k++) {
		sample_users[k] = random() % nusers;
		sample_groups[k] = random() % ngroups;
	}
	/* a few distinct names only (all in cache): separates the search from the memory it touches */
	for (int k = distinct; k > 0 && k < SAMPLE; k++) {
		sample_users[k] = sample_users[k % distinct];
		sample_groups[k] = sample_groups[k % distinct];
	}
	/* warm: map the store, load the module, bring the files into the page cache */
	for (int op = 0; op < OP_COUNT; op++)
		for (int b = 0; b < B_COUNT; b++)
			block((enum op)op, (enum backend)b, 0, &cursor[op][b]);
	for (int r = 0; r < rounds; r++)
		for (int op = 0; op < OP_COUNT; op++)
			for (int k = 0; k < B_COUNT; k++) {
				int b = r % 2 ? B_COUNT - 1 - k : k;
				us[op][b][r] = block((enum op)op, (enum backend)b, block_s, &cursor[op][b]);
			}
	for (int op = 0; op < OP_COUNT; op++) {
		double ratio[MAX_ROUNDS];
		for (int r = 0; r < rounds; r++)
			ratio[r] = us[op][B_FILES][r] / us[op][B_JWT][r];
		for (int b = 0; b < B_COUNT; b++)
			printf("nss %ld %s %s us %.3f\n", nusers, op_name[op], backend_name[b],
			       bk_median(us[op][b], (size_t)rounds));
		printf("nss %ld %s speedup %.1f\n", nusers, op_name[op], bk_median(ratio, (size_t)rounds));
	}
	return 0;
}

static int cmd_add(const char *scene, const char *state, int n)
{
	char *conf = tk_strf("%s/pam_jwt.conf", scene);
	struct pj_config *cfg;
	struct pj_error err;
	EVP_PKEY *key = bk_key(scene, JWS_ES256);
	double us[64];
	struct stat sb;

	if (n < 1 || n > 64)
		bk_die("add: N out of range");
	if (config_load(conf, &cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	free(cfg->state_dir);
	cfg->state_dir = strdup(state);
	for (int i = 0; i < n; i++) {
		char *user = tk_strf("newuser%02d", i), *tok = bk_token(JWS_ES256, key, user, time(NULL));
		struct pj_identity id;
		double t0;

		if (pj_verify(cfg, NULL, tok, strlen(tok), user, time(NULL), &id, &err) != PJ_OK)
			bk_die("%s", err.reason);
		t0 = bk_now();
		if (mapping_record_login(cfg, &id, time(NULL), NULL, &err) != PJ_OK)
			bk_die("%s", err.reason);
		us[i] = (bk_now() - t0) * 1e6;
		pj_identity_free(&id);
		free(user);
		free(tok);
	}
	free(conf);
	conf = tk_strf("%s/users.db", state);
	if (stat(conf, &sb) != 0)
		bk_die("no %s", conf);
	printf("add us %.1f store_bytes %lld\n", bk_median(us, (size_t)n), (long long)sb.st_size);
	free(conf);
	EVP_PKEY_free(key);
	config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "build") == 0)
		return cmd_build(argv[2], atol(argv[3]), atol(argv[4]), argv[5], argv[6]);
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "lookup") == 0)
		return cmd_lookup(atol(argv[2]), atol(argv[3]), atoi(argv[4]), atof(argv[5]),
		                  argc == 7 ? atol(argv[6]) : 0);
	if (argc == 5 && strcmp(argv[1], "add") == 0)
		return cmd_add(argv[2], argv[3], atoi(argv[4]));
	bk_die("usage: see bench_nss.c");
}
