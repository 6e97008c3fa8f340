/* cli_user.c: `pam-jwt user ...`, the admin's view of and hand on the user store (see cli_user.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_user.h"
#include "pam_jwt/log.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/userstore.h"

#define ESC_MAX 1024

static void to_stderr(void *arg, int priority, const char *message)
{
	(void)arg;
	(void)priority;
	fprintf(stderr, "pam-jwt: %s\n", message);
}

static const struct pj_log cli_log = {.emit = to_stderr};

static int usage(void)
{
	fprintf(stderr, "usage: pam-jwt user list\n"
	                "       pam-jwt user show NAME\n"
	                "       pam-jwt user add NAME [--uid N] [--gecos TEXT]\n"
	                "       pam-jwt user del NAME\n"
	                "       pam-jwt user unbind NAME\n"
	                "       pam-jwt user init\n");
	return 2;
}

static int fail(const struct pj_error *err)
{
	fprintf(stderr, "pam-jwt user: %s\n", err->reason);
	return 1;
}

static const char *state_dir(const struct pj_config *cfg)
{
	return cfg->state_dir ? cfg->state_dir : PJ_DEFAULT_STATE_DIR;
}

static const char *when(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "never");
	return buf;
}

/* iss and sub come from tokens: shown escaped. */
static const char *esc(const char *s, char *buf)
{
	return pj_escape(buf, ESC_MAX, s, strlen(s));
}

static int cmd_list(const struct pj_config *cfg)
{
	struct userstore *us;
	struct pj_error err;
	char t[32], e1[ESC_MAX], e2[ESC_MAX];

	if (userstore_open(state_dir(cfg), false, &us, &err) != PJ_OK)
		return fail(&err);
	printf("%-32s %10s  %-20s  %s\n", "NAME", "UID", "LAST LOGIN", "BOUND TO (iss sub)");
	for (size_t i = 0; i < us->n_users; i++) {
		const struct us_user *u = &us->users[i];
		printf("%-32s %10u  %-20s  %s\n", u->name, u->uid, when(u->last_login, t, sizeof(t)),
		       u->iss[0] ? esc(u->iss, e1) : "-");
		if (u->iss[0])
			printf("%-32s %10s  %-20s  %s\n", "", "", "", esc(u->sub, e2));
	}
	userstore_close(us);
	return 0;
}

static void print_group(const struct userstore *us, uint32_t gid)
{
	const struct us_group *g = userstore_group_by_gid(us, gid);
	struct group gr, *res = NULL;
	char buf[16384];

	if (g != NULL)
		printf("  %u %s (managed)\n", gid, g->name);
	else if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res != NULL)
		printf("  %u %s (local, group_map)\n", gid, res->gr_name);
	else
		printf("  %u (local, group_map)\n", gid);
}

static int cmd_show(const struct pj_config *cfg, const char *name)
{
	const struct us_user *u;
	struct userstore *us;
	struct pj_error err;
	char t[32], e[ESC_MAX];
	int rc = 0;

	if (userstore_open(state_dir(cfg), false, &us, &err) != PJ_OK)
		return fail(&err);
	if ((u = userstore_user(us, name)) == NULL) {
		fprintf(stderr, "pam-jwt user: no user %s in %s\n", name, state_dir(cfg));
		rc = 1;
		goto out;
	}
	printf("name:       %s\nuid:        %u\ngid:        %u\ngecos:      %s\nhome:       %s\nshell:      "
	       "%s\n",
	       u->name, u->uid, u->uid, u->gecos, u->home, u->shell);
	printf("iss:        %s\n", u->iss[0] ? esc(u->iss, e) : "(not bound)");
	printf("sub:        %s\n", u->iss[0] ? esc(u->sub, e) : "(not bound)");
	printf("created:    %s\n", when(u->created, t, sizeof(t)));
	printf("last login: %s\n", when(u->last_login, t, sizeof(t)));
	printf("groups:     %u %s (private)\n", u->uid, u->name);
	for (size_t i = 0; i < u->n_gids; i++)
		print_group(us, u->gids[i]);
out:
	userstore_close(us);
	return rc;
}

/* Opens the store for writing with fresh parameters, runs one change, commits. */
typedef int (*change_fn)(struct userstore *us, int argc, char **argv, time_t now, struct pj_error *err);

static int with_store(const struct pj_config *cfg, change_fn change, int argc, char **argv)
{
	struct userstore *us;
	struct pj_error err;
	time_t now = time(NULL);
	int rc;

	pj_error_clear(&err);
	if (userstore_open(state_dir(cfg), true, &us, &err) != PJ_OK)
		return fail(&err);
	if (userstore_set_params(us, cfg, &err) != PJ_OK) {
		rc = fail(&err);
		goto out;
	}
	if ((rc = change(us, argc, argv, now, &err)) != 0)
		goto out;
	if (userstore_commit(us, now, &err) != PJ_OK)
		rc = fail(&err);
out:
	userstore_close(us);
	return rc;
}

static int change_init(struct userstore *us, int argc, char **argv, time_t now, struct pj_error *err)
{
	printf("%s: %zu users, %zu managed groups\n", us->dir, us->n_users, us->n_groups);
	return 0;
}

static int change_add(struct userstore *us, int argc, char **argv, time_t now, struct pj_error *err)
{
	const char *gecos = "";
	unsigned long uid = 0;
	struct us_user *u;
	char *end;

	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
			errno = 0;
			uid = strtoul(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || argv[i][0] < '0' || argv[i][0] > '9' || uid == 0 ||
			    uid > UINT32_MAX) {
				fprintf(stderr, "pam-jwt user: bad uid %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--gecos") == 0 && i + 1 < argc) {
			gecos = argv[++i];
		} else {
			return usage();
		}
	}
	if (mapping_add_user(us, argv[2], (uint32_t)uid, gecos, now, &cli_log, NULL, &u, err) != PJ_OK)
		return fail(err);
	printf("added %s: uid %u, home %s\n", u->name, u->uid, u->home);
	return 0;
}

static int change_del(struct userstore *us, int argc, char **argv, time_t now, struct pj_error *err)
{
	if (!userstore_del_user(us, argv[2])) {
		fprintf(stderr, "pam-jwt user: no user %s\n", argv[2]);
		return 1;
	}
	printf("deleted %s\n", argv[2]);
	return 0;
}

static int change_unbind(struct userstore *us, int argc, char **argv, time_t now, struct pj_error *err)
{
	struct us_user *u = userstore_user(us, argv[2]);

	if (u == NULL) {
		fprintf(stderr, "pam-jwt user: no user %s\n", argv[2]);
		return 1;
	}
	if (userstore_set_string(&u->iss, "", err) != PJ_OK ||
	    userstore_set_string(&u->sub, "", err) != PJ_OK)
		return fail(err);
	printf("unbound %s: the next token login for %s binds it\n", u->name, u->name);
	return 0;
}

int cli_user_main(const struct pj_config *cfg, int argc, char **argv)
{
	const char *action = argc >= 2 ? argv[1] : "";

	if (strcmp(action, "list") == 0 && argc == 2)
		return cmd_list(cfg);
	if (strcmp(action, "show") == 0 && argc == 3)
		return cmd_show(cfg, argv[2]);
	if (strcmp(action, "init") == 0 && argc == 2)
		return with_store(cfg, change_init, argc, argv);
	if (strcmp(action, "add") == 0 && argc >= 3)
		return with_store(cfg, change_add, argc, argv);
	if (strcmp(action, "del") == 0 && argc == 3)
		return with_store(cfg, change_del, argc, argv);
	if (strcmp(action, "unbind") == 0 && argc == 3)
		return with_store(cfg, change_unbind, argc, argv);
	return usage();
}
