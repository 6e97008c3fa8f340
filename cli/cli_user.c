/* cli_user.c: `pam-jwt user ...`, the admin's view of and hand on the user store (see cli_user.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "cli_user.h"
#include "pam_jwt/log.h"
#include "pam_jwt/login_record.h"
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
	return CLI_EXIT_USAGE;
}

static int fail(const struct pj_error *err)
{
	fprintf(stderr, "pam-jwt user: %s\n", err->reason);
	return CLI_EXIT_REFUSED;
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
	return CLI_EXIT_OK;
}

static void print_group(struct userstore *us, uint32_t gid)
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
	int rc = CLI_EXIT_OK;

	if (userstore_open(state_dir(cfg), false, &us, &err) != PJ_OK)
		return fail(&err);
	if ((u = userstore_user(us, name)) == NULL) {
		fprintf(stderr, "pam-jwt user: no user %s in %s\n", name, state_dir(cfg));
		rc = CLI_EXIT_REFUSED;
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

/* What the command line asked for: the action, the user it names, and add's options. */
struct user_args {
	const char *action;
	const char *name;  /* NULL for list and init */
	unsigned long uid; /* --uid, 0: assigned */
	const char *gecos; /* --gecos, "" when not given */
	bool add_options;  /* --uid or --gecos given */
};

/* Opens the store for writing with fresh parameters, runs one change, commits. */
typedef int (*change_fn)(struct userstore *us, const struct user_args *a, time_t now, struct pj_error *err);

static int with_store(const struct pj_config *cfg, change_fn change, const struct user_args *a)
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
	if ((rc = change(us, a, now, &err)) != CLI_EXIT_OK)
		goto out;
	if (userstore_commit(us, now, &err) != PJ_OK)
		rc = fail(&err);
out:
	userstore_close(us);
	return rc;
}

static int change_init(struct userstore *us, const struct user_args *a, time_t now, struct pj_error *err)
{
	(void)a;
	(void)now;
	(void)err;
	printf("%s: %zu users, %zu managed groups\n", us->dir, us->n_users, us->n_groups);
	return CLI_EXIT_OK;
}

static int change_add(struct userstore *us, const struct user_args *a, time_t now, struct pj_error *err)
{
	struct us_user *u;

	if (mapping_add_user(us, a->name, (uint32_t)a->uid, a->gecos, now, &cli_log, NULL, &u, err) != PJ_OK)
		return fail(err);
	printf("added %s: uid %u, home %s\n", u->name, u->uid, u->home);
	return CLI_EXIT_OK;
}

static int change_del(struct userstore *us, const struct user_args *a, time_t now, struct pj_error *err)
{
	(void)now;
	if (!userstore_del_user(us, a->name)) {
		fprintf(stderr, "pam-jwt user: no user %s\n", a->name);
		return CLI_EXIT_REFUSED;
	}
	if (login_record_remove(us->dir, a->name, err) != PJ_OK)
		return fail(err);
	printf("deleted %s\n", a->name);
	return CLI_EXIT_OK;
}

static int change_unbind(struct userstore *us, const struct user_args *a, time_t now, struct pj_error *err)
{
	struct us_user *u = userstore_user(us, a->name);

	(void)now;
	if (u == NULL) {
		fprintf(stderr, "pam-jwt user: no user %s\n", a->name);
		return CLI_EXIT_REFUSED;
	}
	if (userstore_set_string(&u->iss, "", err) != PJ_OK ||
	    userstore_set_string(&u->sub, "", err) != PJ_OK ||
	    login_record_remove(us->dir, a->name, err) != PJ_OK)
		return fail(err);
	printf("unbound %s: the next token login for %s binds it\n", u->name, u->name);
	return CLI_EXIT_OK;
}

const struct option cli_user_options[] = {CLI_OPTION_CONFIG,
                                          {"uid", required_argument, NULL, 'u'},
                                          {"gecos", required_argument, NULL, 'g'},
                                          {NULL, 0, NULL, 0}};

/* --uid N: a decimal uid, 1..UINT32_MAX. */
static bool parse_uid(const char *text, unsigned long *uid)
{
	char *end;

	errno = 0;
	*uid = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || text[0] < '0' || text[0] > '9' || *uid == 0 || *uid > UINT32_MAX) {
		fprintf(stderr, "pam-jwt user: bad uid %s\n", text);
		return false;
	}
	return true;
}

/* The options, then the action and at most the one name it takes. */
static int parse_args(int argc, char **argv, struct user_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->gecos = "";
	optind = 0;
	while ((c = getopt_long(argc, argv, "", cli_user_options, NULL)) != -1) {
		switch (c) {
		case 'c': break; /* the caller has loaded it already */
		case 'u':
			if (!parse_uid(optarg, &a->uid))
				return CLI_EXIT_USAGE;
			a->add_options = true;
			break;
		case 'g':
			a->gecos = optarg;
			a->add_options = true;
			break;
		default: return usage();
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage();
	a->action = argv[optind];
	a->name = argc - optind == 2 ? argv[optind + 1] : NULL;
	return CLI_EXIT_OK;
}

int cli_user_main(const struct pj_config *cfg, int argc, char **argv)
{
	struct user_args a;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) != CLI_EXIT_OK)
		return rc;
	if (a.add_options && strcmp(a.action, "add") != 0)
		return usage();
	if (a.name == NULL && strcmp(a.action, "list") == 0)
		return cmd_list(cfg);
	if (a.name == NULL && strcmp(a.action, "init") == 0)
		return with_store(cfg, change_init, &a);
	if (a.name == NULL)
		return usage();
	if (strcmp(a.action, "show") == 0)
		return cmd_show(cfg, a.name);
	if (strcmp(a.action, "add") == 0)
		return with_store(cfg, change_add, &a);
	if (strcmp(a.action, "del") == 0)
		return with_store(cfg, change_del, &a);
	if (strcmp(a.action, "unbind") == 0)
		return with_store(cfg, change_unbind, &a);
	return usage();
}
