/* test_mapping.c: claims to users and groups: binding, uids, groups, gecos, pre-auth entries, acct, CLI. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli_user.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/identity.h"
#include "store/idmap.h"
#include "pam_jwt/mapping.h"
#include "store/store_journal.h"
#include "store/store_read.h"
#include "tap.h"
#include "testkit.h"
#include "pam_jwt/userstore.h"

#define ISS  "https://idp.example.com"
#define ISS2 "https://other.example.com"
#define NOW  1700000000

static char tmpdir[] = "/tmp/test_mapping.XXXXXX";
static struct pj_local_files files;

static char *path_in(const char *name)
{
	return tk_path(tmpdir, name);
}

/* ---- opens of the fixture account files ---- */
/* idmap reads passwd, group, subuid and subgid with fopen: this one, defined in the test program, stands in
 * front of libc's and counts them (the header may name it fopen64: libc's two are the same function). */
static int account_file_opens;

FILE *fopen(const char *path, const char *mode)
{
	static const char *const names[] = {"/passwd", "/group", "/subuid", "/subgid"};
	FILE *(*real)(const char *, const char *) =
	    (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen64");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(tmpdir);
		if (strncmp(path, tmpdir, n) == 0 && strcmp(path + n, names[i]) == 0)
			account_file_opens++;
	}
	return real(path, mode);
}

/* ---- log capture (testkit) ---- */
static const struct pj_log test_log = {.emit = tk_log_emit, .debug = true};

/* ---- configuration: [global] with state_dir = tmpdir/STATE, then issuers ---- */
static struct pj_config *cfg_make(const char *state, const char *global, const char *issuer)
{
	char text[4096];
	struct pj_config *cfg;
	struct pj_error err;

	/* The fixture (carol at 250000, the subordinate ranges, the uid claims) is built around the range
	 * 200000..2000200000, the default before issue #14: set unless the test sets its own. */
	snprintf(text, sizeof(text),
	         "[global]\nstate_dir = %s\n%s%s\n"
	         "[issuer idp]\nissuer = " ISS "\naudience = host\njwks_file = /etc/pam_jwt/idp.jwks\n"
	         "%s%s\n"
	         "[issuer other]\nissuer = " ISS2 "\naudience = host\njwks_file = /etc/pam_jwt/o.jwks\n",
	         path_in(state), strstr(global, "uid_min") ? "" : "uid_min = 200000\nuid_max = 2000200000\n",
	         global, strstr(issuer, "groups_claim") ? "" : "groups_claim = groups\n", issuer);
	if (config_parse("/etc/pam_jwt.conf", text, strlen(text), &cfg, &err) != PJ_OK) {
		printf("# config: %s\n", err.reason);
		abort();
	}
	return cfg;
}

/* ---- identities as pj_verify leaves them (username, groups through identity_groups) ---- */
static pj_status id_make(const struct pj_config *cfg, const char *iss, const char *claims,
                         struct pj_identity *id, struct pj_error *err)
{
	json_object *p = json_tokener_parse(claims), *v;

	memset(id, 0, sizeof(*id));
	if (p == NULL)
		abort();
	id->verified = true;
	id->issuer = config_find_issuer(cfg, iss, strlen(iss));
	id->iss = strdup(iss);
	id->claims = p;
	if (json_object_object_get_ex(p, "sub", &v))
		id->sub = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(p, "preferred_username", &v))
		id->username = strdup(json_object_get_string(v));
	return identity_groups(p, id->issuer, &id->groups, &id->n_groups, err);
}

static void id_free(struct pj_identity *id)
{
	free(id->iss);
	free(id->sub);
	free(id->username);
	identity_groups_free(id->groups);
	json_object_put(id->claims);
}

/* One login: id_make + mapping_record_login_files against the fixture account files. */
static pj_status login_at(const struct pj_config *cfg, const char *iss, const char *claims, time_t now,
                          struct pj_error *err)
{
	struct pj_identity id;
	pj_status r;

	pj_error_clear(err);
	if ((r = id_make(cfg, iss, claims, &id, err)) == PJ_OK)
		r = mapping_record_login_files(cfg, &id, now, &test_log, &files, err);
	id_free(&id);
	return r;
}

static pj_status login(const struct pj_config *cfg, const char *claims, struct pj_error *err)
{
	return login_at(cfg, ISS, claims, NOW, err);
}

/* ---- reading back ---- */
static struct pj_store st;
static unsigned char *snapshot;

/* The store as readers see it (base and journal, store_journal.h) as one validated image in *out: the
 * checks below read it like a base file. */
static int snapshot_open(const char *dir, struct pj_store *out)
{
	struct userstore *us;
	struct pj_error err;
	size_t len;
	pj_status r;

	free(snapshot);
	snapshot = NULL;
	memset(out, 0, sizeof(*out));
	if (userstore_open(dir, false, &us, &err) != PJ_OK)
		return -1;
	r = userstore_serialize(us, 0, &snapshot, &len, &err);
	userstore_close(us);
	return r == PJ_OK ? store_check_buffer(snapshot, len, out) : -1;
}

static const struct pj_store_user *user(const struct pj_config *cfg, const char *name)
{
	if (snapshot_open(cfg->state_dir, &st) != 0)
		return NULL;
	return store_user_by_name(&st, name);
}

/* The user's supplementary groups as "name,name" (managed by name, others by number). */
static const char *groups_of(const struct pj_config *cfg, const char *name)
{
	static char buf[4096];
	const struct pj_store_user *u = user(cfg, name);
	const uint32_t *gids;
	size_t n;

	buf[0] = '\0';
	if (u == NULL)
		return "(no user)";
	gids = store_user_gids(&st, u, &n);
	for (size_t i = 0; i < n; i++) {
		const struct pj_store_group *g = store_group_by_gid(&st, gids[i]);
		char num[16];
		if (i > 0)
			strcat(buf, ",");
		snprintf(num, sizeof(num), "%u", gids[i]);
		strcat(buf, g ? store_str(&st, g->name) : num);
	}
	return buf;
}

static uint32_t hash_id(const struct pj_config *cfg, const char *name)
{
	return idmap_candidate(cfg->id_salt, name, cfg->uid_min, cfg->uid_max, 0);
}

static int run_cli(const struct pj_config *cfg, char *out, size_t outlen, int argc, char **argv)
{
	int saved, fd, rc;
	ssize_t n;

	fflush(stdout);
	saved = dup(1);
	fd = open(path_in("cli.out"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	rc = cli_user_main(cfg, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void test_basic(void)
{
	struct pj_config *cfg = cfg_make("s1", "", "");
	const struct pj_store_user *u;
	const struct pj_store_group *g;
	struct pj_error err;
	pj_status r;

	r = login(cfg,
	          "{\"sub\":\"a-1\",\"preferred_username\":\"alice\",\"name\":\"Alice Example\","
	          "\"groups\":[\"devs\",\"ops\"],\"home\":\"/root\",\"shell\":\"/bin/sh\",\"uid\":0}",
	          &err);
	ok(r == PJ_OK, "first login of alice recorded (%s)", err.reason);
	u = user(cfg, "alice");
	ok(u != NULL && u->uid == hash_id(cfg, "alice") && u->uid == 247576420,
	   "uid is the hash of the name in [uid_min, uid_max]");
	ok(u != NULL && strcmp(store_str(&st, u->home), "/home/alice") == 0 &&
	       strcmp(store_str(&st, u->shell), "/bin/bash") == 0,
	   "home and shell from the defaults, never from claims");
	ok(u != NULL && strcmp(store_str(&st, u->gecos), "Alice Example") == 0, "gecos from name");
	ok(u != NULL && strcmp(store_str(&st, u->iss), ISS) == 0 &&
	       strcmp(store_str(&st, u->sub), "a-1") == 0,
	   "bound to (iss, sub)");
	ok(u != NULL && u->last_login == NOW && u->created == NOW, "created and last_login");
	g = store_group_by_gid(&st, u ? u->uid : 0);
	ok(g != NULL && (g->flags & PJ_STORE_G_PRIVATE) && strcmp(store_str(&st, g->name), "alice") == 0,
	   "private group with gid = uid");
	ok(strcmp(groups_of(cfg, "alice"), "devs,ops") == 0 ||
	       strcmp(groups_of(cfg, "alice"), "ops,devs") == 0,
	   "managed groups devs and ops (%s)", groups_of(cfg, "alice"));
	g = store_group_by_name(&st, "devs");
	ok(g != NULL && g->gid == hash_id(cfg, "devs") && g->n_members == 1,
	   "devs: gid is the hash of its name");

	/* membership is replaced at each login */
	r = login_at(cfg, ISS, "{\"sub\":\"a-1\",\"preferred_username\":\"alice\",\"groups\":[\"devs\"]}",
	             NOW + 60, &err);
	ok(r == PJ_OK && strcmp(groups_of(cfg, "alice"), "devs") == 0, "second login drops ops (%s)",
	   groups_of(cfg, "alice"));
	g = store_group_by_name(&st, "ops");
	ok(g != NULL && g->n_members == 0, "ops stays, with its gid, but without alice");
	u = user(cfg, "alice");
	ok(u != NULL && u->last_login == NOW + 60 && u->created == NOW && u->uid == 247576420 &&
	       strcmp(store_str(&st, u->gecos), "") == 0,
	   "last_login moves, created and uid stay, gecos follows the claim");

	/* a user named like a managed group, a group named like a user */
	ok(login(cfg, "{\"sub\":\"d-1\",\"preferred_username\":\"devs\"}", &err) == PJ_ERR_USER,
	   "a new user named like a managed group: refused (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"b-1\",\"preferred_username\":\"bob\",\"groups\":[\"alice\",\"devs\"]}",
	         &err) == PJ_OK &&
	       strcmp(groups_of(cfg, "bob"), "devs") == 0 && tk_logged("IdP group alice skipped"),
	   "an IdP group named like a user: skipped and logged");
	config_free(cfg);
}

static void test_binding(void)
{
	struct pj_config *cfg = cfg_make("s1", "", "");
	const struct pj_store_user *u;
	struct pj_error err;
	char *argv[] = {"user", "unbind", "alice", NULL};
	char out[1024];
	int rc;

	tk_log_clear();
	ok(login(cfg, "{\"sub\":\"a-2\",\"preferred_username\":\"alice\"}", &err) == PJ_ERR_USER &&
	       strstr(err.reason, "bound to another identity"),
	   "same username, other sub: refused (%s)", err.reason);
	ok(tk_logged("refused: user alice is bound to iss=" ISS " sub=a-1"),
	   "and logged with both identities");
	ok(login_at(cfg, ISS2, "{\"sub\":\"a-1\",\"preferred_username\":\"alice\"}", NOW, &err) ==
	       PJ_ERR_USER,
	   "same username and sub from another issuer: refused");
	u = user(cfg, "alice");
	ok(u != NULL && strcmp(store_str(&st, u->sub), "a-1") == 0 && u->last_login == NOW + 60,
	   "the refused logins changed nothing");
	rc = run_cli(cfg, out, sizeof(out), 3, argv);
	ok(rc == 0 && strstr(out, "unbound alice"), "pam-jwt user unbind alice");
	u = user(cfg, "alice");
	ok(u != NULL && strcmp(store_str(&st, u->iss), "") == 0 && u->uid == 247576420,
	   "alice unbound, uid kept");
	ok(login_at(cfg, ISS2, "{\"sub\":\"new-a\",\"preferred_username\":\"alice\"}", NOW + 99, &err) ==
	       PJ_OK,
	   "after unbind the next login binds (%s)", err.reason);
	u = user(cfg, "alice");
	ok(u != NULL && strcmp(store_str(&st, u->iss), ISS2) == 0 &&
	       strcmp(store_str(&st, u->sub), "new-a") == 0 && u->uid == 247576420,
	   "bound to the new identity with the same uid");
	ok(login(cfg, "{\"sub\":\"a-1\",\"preferred_username\":\"alice\"}", &err) == PJ_ERR_USER,
	   "the old identity is now refused");
	config_free(cfg);
}

static void test_refusals(void)
{
	struct pj_config *cfg = cfg_make("s1", "", "");
	const struct pj_store_user *u;
	struct pj_error err;

	ok(login(cfg, "{\"sub\":\"c\",\"preferred_username\":\"carol\"}", &err) == PJ_ERR_USER &&
	       user(cfg, "carol") == NULL,
	   "a username in passwd (a local account): refused (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"c\",\"preferred_username\":\"localgrp\"}", &err) == PJ_ERR_USER,
	   "a username in group only: refused");
	ok(login(cfg, "{\"sub\":\"c\",\"preferred_username\":\"root\"}", &err) == PJ_ERR_USER,
	   "root: refused");
	ok(login(cfg, "{\"sub\":\"c\",\"preferred_username\":\"eve:0:0::/root:/bin/sh\"}", &err) ==
	       PJ_ERR_USER,
	   "a username with ':': refused");
	ok(login(cfg, "{\"sub\":\"c\",\"preferred_username\":\"eve\\nroot\"}", &err) == PJ_ERR_USER,
	   "a username with a newline: refused");
	ok(login(cfg, "{\"sub\":\"\",\"preferred_username\":\"erin\"}", &err) == PJ_ERR_USER,
	   "an empty sub: refused");
	ok(login(cfg,
	         "{\"sub\":\"e-1\",\"preferred_username\":\"eve\",\"name\":\"Eve\\n:0:0:root:/root:/bin/sh,"
	         "x\\u0001y\\u0000z\"}",
	         &err) == PJ_OK,
	   "a name claim with ':', ',', newline, control and NUL characters is accepted (%s)", err.reason);
	u = user(cfg, "eve");
	ok(u != NULL && strcmp(store_str(&st, u->gecos), "Eve00root/root/bin/shxyz") == 0,
	   "and sanitised in gecos (%s)", u ? store_str(&st, u->gecos) : "-");
	config_free(cfg);
}

static void test_gecos(void)
{
	static const char c1[] = "A\xc2\x9b[2JB\xc2\x85\x43\xc2\xa0.";
	char out[PJ_GECOS_MAX + 1], big[600];

	mapping_sanitize_gecos("J\xc3\xa9r\xc3\xb4me", 9, out, sizeof(out));
	ok(strcmp(out, "J\xc3\xa9r\xc3\xb4me") == 0, "UTF-8 kept");
	memset(big, 'a', sizeof(big));
	big[PJ_GECOS_MAX - 1] = '\xc3';
	big[PJ_GECOS_MAX] = '\xa9';
	mapping_sanitize_gecos(big, sizeof(big), out, sizeof(out));
	ok(strlen(out) == PJ_GECOS_MAX - 1, "cut at %d bytes without splitting a UTF-8 sequence",
	   PJ_GECOS_MAX);
	mapping_sanitize_gecos("abc", 3, out, 3);
	ok(strcmp(out, "ab") == 0, "bounded by the output buffer");
	/* C1 controls (U+0080..U+009F) are control characters too: U+009B is a terminal's CSI, U+0085 NEL */
	mapping_sanitize_gecos(c1, sizeof(c1) - 1, out, sizeof(out));
	ok(strcmp(out, "A[2JBC\xc2\xa0.") == 0, "C1 control characters dropped, U+00A0 kept");
}

static void test_uid_claim(void)
{
	struct pj_config *cfg = cfg_make("s2", "", "uid_claim = posix.uid\n");
	const struct pj_store_user *u;
	struct pj_error err;

	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uzero\",\"posix\":{\"uid\":0}}", &err) ==
	       PJ_ERR_USER,
	   "uid_claim 0: refused (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uneg\",\"posix\":{\"uid\":-5}}", &err) ==
	       PJ_ERR_USER,
	   "uid_claim negative: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"ulow\",\"posix\":{\"uid\":1000}}", &err) ==
	       PJ_ERR_USER,
	   "uid_claim below uid_min: refused (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uhigh\",\"posix\":{\"uid\":4294967296}}",
	         &err) == PJ_ERR_USER,
	   "uid_claim beyond 32 bits: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"ustr\",\"posix\":{\"uid\":\"300000\"}}",
	         &err) == PJ_ERR_USER,
	   "uid_claim as a string: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"ureal\",\"posix\":{\"uid\":300000.5}}",
	         &err) == PJ_ERR_USER,
	   "uid_claim as a real: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"unone\"}", &err) == PJ_ERR_USER,
	   "uid_claim configured but absent: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"ucarol\",\"posix\":{\"uid\":250000}}", &err) ==
	       PJ_ERR_USER,
	   "uid_claim equal to a local account's uid: refused (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uok\",\"posix\":{\"uid\":300000}}", &err) ==
	           PJ_OK &&
	       (u = user(cfg, "uok")) != NULL && u->uid == 300000,
	   "uid_claim in range: used (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"v\",\"preferred_username\":\"utwo\",\"posix\":{\"uid\":300000}}", &err) ==
	       PJ_ERR_USER,
	   "uid_claim taken by another user: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uok\",\"posix\":{\"uid\":300001}}", &err) ==
	       PJ_ERR_USER,
	   "a stored user whose uid_claim changed: refused");
	ok(login(cfg, "{\"sub\":\"u\",\"preferred_username\":\"uok\",\"posix\":{\"uid\":300000}}", &err) ==
	       PJ_OK,
	   "the same uid_claim again: fine");
	ok(snapshot_open(cfg->state_dir, &st) == 0 && (st.hdr->flags & PJ_STORE_F_UID_CLAIM),
	   "header: uid_claim flag");
	store_close(&st);
	config_free(cfg);
}

static void test_group_map(void)
{
	struct pj_config *cfg =
	    cfg_make("s3", "",
	             "group_map = admins:wheel, devs:docker, ghosts:nonexistent, ops:sudo\n"
	             "groups_allow = dev* team-?\n");
	struct pj_error err;

	tk_log_clear();
	ok(login(cfg,
	         "{\"sub\":\"m\",\"preferred_username\":\"mallory\","
	         "\"groups\":[\"admins\",\"devs\",\"ghosts\",\"team-a\",\"team-bb\",\"others\"]}",
	         &err) == PJ_OK,
	   "login with mapped groups (%s)", err.reason);
	ok(strcmp(groups_of(cfg, "mallory"), "999,team-a") == 0,
	   "docker (999) for devs by group_map, team-a allowed; wheel (gid 0), missing, filtered groups not "
	   "(%s)",
	   groups_of(cfg, "mallory"));
	ok(tk_logged("gid 0") && tk_logged("no local group nonexistent"),
	   "gid-0 and missing local groups are logged");
	ok(store_group_by_name(&st, "others") == NULL && store_group_by_name(&st, "team-bb") == NULL,
	   "groups_allow: no managed group for what it filters");
	ok(store_group_by_name(&st, "admins") == NULL && store_group_by_name(&st, "devs") == NULL &&
	       store_group_by_name(&st, "ghosts") == NULL,
	   "a group in group_map is not also a managed group");
	ok(login(cfg, "{\"sub\":\"n\",\"preferred_username\":\"nick\",\"groups\":[\"ops\"]}", &err) ==
	           PJ_OK &&
	       strcmp(groups_of(cfg, "nick"), "27") == 0,
	   "group_map works for a group groups_allow filters (sudo = 27)");
	config_free(cfg);
}

/* sudo matches sudoers group names ignoring case (case_insensitive_group, on by default): an IdP group
 * "Sudo" must never become a managed group, or its members would pass for %sudo. */
static void test_case_variants(void)
{
	struct pj_config *cfg = cfg_make("s11", "", "");
	struct pj_error err;

	tk_log_clear();
	ok(login(cfg,
	         "{\"sub\":\"m\",\"preferred_username\":\"mia\","
	         "\"groups\":[\"Sudo\",\"WHEEL\",\"Docker\",\"ROOT\",\"Carol\",\"LocalGrp\",\"team\"]}",
	         &err) == PJ_OK,
	   "login with IdP groups named like local groups but for case (%s)", err.reason);
	ok(strcmp(groups_of(cfg, "mia"), "team") == 0, "only team becomes a managed group (%s)",
	   groups_of(cfg, "mia"));
	ok(store_group_by_name(&st, "Sudo") == NULL && store_group_by_name(&st, "WHEEL") == NULL &&
	       store_group_by_name(&st, "Docker") == NULL && store_group_by_name(&st, "ROOT") == NULL,
	   "no managed Sudo, WHEEL, Docker or ROOT");
	ok(tk_logged("IdP group Sudo skipped"), "and the skip is logged");
	ok(login(cfg, "{\"sub\":\"n\",\"preferred_username\":\"noah\",\"groups\":[\"TEAM\",\"Mia\"]}",
	         &err) == PJ_OK,
	   "login with IdP groups named like a managed group and a user but for case (%s)", err.reason);
	ok(strcmp(groups_of(cfg, "noah"), "") == 0,
	   "TEAM (a managed group but for case) and Mia (a user but for case) are skipped (%s)",
	   groups_of(cfg, "noah"));
	ok(store_group_by_name(&st, "TEAM") == NULL && store_group_by_name(&st, "Mia") == NULL,
	   "neither exists");
	/* and the other way round: a new user whose name (and private group) is a managed group's but for
	 * case would pass for it in a sudoers %Admins rule */
	ok(login(cfg, "{\"sub\":\"o\",\"preferred_username\":\"olaf\",\"groups\":[\"Admins\"]}", &err) ==
	           PJ_OK &&
	       strcmp(groups_of(cfg, "olaf"), "Admins") == 0,
	   "a managed group Admins (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"a\",\"preferred_username\":\"admins\"}", &err) == PJ_ERR_USER &&
	       user(cfg, "admins") == NULL,
	   "a new user admins, a managed group's name but for case: refused (%s)", err.reason);
	config_free(cfg);
}

struct shape {
	const char *desc;
	const char *issuer; /* extra issuer lines */
	const char *claims; /* after "sub" and "preferred_username" */
	pj_status want;
	const char *groups; /* expected, comma-separated in gid order (NULL: don't care) */
};

static char *many_groups(void)
{
	static char buf[20000];

	strcpy(buf, "\"groups\":[");
	for (int i = 0; i < 1025; i++)
		sprintf(buf + strlen(buf), "%s\"g%d\"", i ? "," : "", i);
	strcat(buf, "]");
	return buf;
}

static void test_shapes(void)
{
	const struct shape shapes[] = {
	    {"array of strings", "", "\"groups\":[\"sa\",\"sb\"]", PJ_OK, "sa,sb"},
	    {"a single string", "", "\"groups\":\"solo\"", PJ_OK, "solo"},
	    {"Keycloak realm_access.roles", "groups_claim = realm_access.roles\n",
	     "\"realm_access\":{\"roles\":[\"r1\",\"r2\"]}", PJ_OK, "r1,r2"},
	    {"an empty array", "", "\"groups\":[]", PJ_OK, ""},
	    {"no groups claim", "", "\"other\":1", PJ_OK, ""},
	    {"null", "", "\"groups\":null", PJ_OK, ""},
	    {"an array with a number", "", "\"groups\":[\"sa\",5]", PJ_ERR_USER, NULL},
	    {"an object", "", "\"groups\":{\"sa\":true}", PJ_ERR_USER, NULL},
	    {"unusable names", "",
	     "\"groups\":[\"/devs\",\"a b\",\"x:y\",\"ok-1\",\"root\",\"123\",\"carol\",\"localgrp\",\"\","
	     "\"waytoolongagroupnamethatneverfits33\",\"t\\nx\"]",
	     PJ_OK, "ok-1"},
	    {"duplicates and case", "", "\"groups\":[\"dup\",\"dup\",\"DUP\"]", PJ_OK, "dup"},
	    {"more than 1024", "", many_groups(), PJ_ERR_USER, NULL},
	    {"path through a non-object", "groups_claim = realm_access.roles\n", "\"realm_access\":\"x\"",
	     PJ_OK, ""},
	    {"a prefix", "group_prefix = idp_\n", "\"groups\":[\"pa\"]", PJ_OK, "idp_pa"},
	    {"groups_allow patterns", "groups_allow = team-*\n", "\"groups\":[\"team-x\",\"other\"]", PJ_OK,
	     "team-x"},
	};
	char claims[21000];

	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		const struct shape *s = &shapes[i];
		struct pj_config *cfg = cfg_make("s4", "", s->issuer);
		char name[16];
		struct pj_error err;
		pj_status r;

		snprintf(name, sizeof(name), "shape%zu", i);
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\",%s}", name,
		         name, s->claims);
		r = login(cfg, claims, &err);
		ok(r == s->want, "groups shape %zu, %s: %s (%s)", i, s->desc,
		   r == PJ_OK ? "recorded" : "refused", err.reason);
		if (s->groups != NULL && r == PJ_OK) {
			/* compare as sets: groups_of lists in gid order */
			const char *got = groups_of(cfg, name);
			char want[256], *save, *tok;
			bool same = strlen(got) == strlen(s->groups);
			strcpy(want, s->groups);
			for (tok = strtok_r(want, ",", &save); tok && same; tok = strtok_r(NULL, ",", &save))
				same = strstr(got, tok) != NULL;
			ok(same, "  groups: %s (want %s)", got, s->groups);
		}
		if (i == 9) {
			const struct pj_store_user *u = user(cfg, name);
			ok(u != NULL && u->n_gids == 1 && store_group_by_name(&st, "dup") &&
			       !store_group_by_name(&st, "DUP"),
			   "  dup once; DUP skipped, as sudo would take it for dup");
		}
		config_free(cfg);
	}
}

/* Two names whose hashes collide in a range of ten ids, away from the hash of avoid, from avoid_id and from
 * min (the fixture's local account carol). */
static void colliding(uint32_t min, uint32_t max, const char *avoid, uint32_t avoid_id, char *a, char *b)
{
	for (int i = 0;; i++) {
		snprintf(a, 16, "ca%d", i);
		if (idmap_candidate(NULL, a, min, max, 0) == idmap_candidate(NULL, avoid, min, max, 0) ||
		    idmap_candidate(NULL, a, min, max, 0) == min ||
		    idmap_candidate(NULL, a, min, max, 0) == avoid_id)
			continue;
		for (int k = 0; k < 1000; k++) {
			snprintf(b, 16, "cb%d", k);
			if (idmap_candidate(NULL, a, min, max, 0) == idmap_candidate(NULL, b, min, max, 0))
				return;
		}
	}
}

static void test_collision(void)
{
	struct pj_config *cfg = cfg_make("s5", "uid_min = 250000\nuid_max = 250009\n", "");
	const struct pj_store_user *u;
	char a[16], b[16], claims[256];
	struct pj_error err;
	uint32_t c;

	colliding(250000, 250009, "x", 0, a, b);
	c = idmap_candidate(NULL, a, 250000, 250009, 0);
	tap_diag("%s and %s both hash to %u", a, b, c);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", a, a);
	ok(login(cfg, claims, &err) == PJ_OK && (u = user(cfg, a)) != NULL, "%s recorded (%s)", a,
	   err.reason);
	tk_log_clear();
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", b, b);
	ok(login(cfg, claims, &err) == PJ_OK && (u = user(cfg, b)) != NULL, "%s recorded", b);
	u = user(cfg, b);
	ok(u != NULL && u->uid != c && u->uid >= 250000 && u->uid <= 250009 && u->uid != 250000,
	   "collision resolved by the probe: %u (not %u, not carol's local 250000)", u ? u->uid : 0, c);
	ok(tk_logged("id collision"), "and logged");

	/* a name hashing onto the local account carol (250000) */
	for (int i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "lc%d", i);
		if (idmap_candidate(NULL, a, 250000, 250009, 0) == 250000)
			break;
	}
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", a, a);
	u = login(cfg, claims, &err) == PJ_OK ? user(cfg, a) : NULL;
	ok(u != NULL && u->uid != 250000, "an id of /etc/passwd is never handed out (%s got %u)", a,
	   u ? u->uid : 0);
	config_free(cfg);
}

static void test_second_store(void)
{
	struct pj_config *c1 = cfg_make("s1", "", ""), *c2 = cfg_make("s6", "", "");
	const struct pj_store_user *u;
	uint32_t uid1 = 0, gid1 = 0;
	struct pj_error err;

	if ((u = user(c1, "bob")) != NULL)
		uid1 = u->uid;
	if (store_group_by_name(&st, "devs") != NULL)
		gid1 = store_group_by_name(&st, "devs")->gid;
	ok(login(c2, "{\"sub\":\"b-1\",\"preferred_username\":\"bob\",\"groups\":[\"devs\"]}", &err) == PJ_OK,
	   "bob on a second, empty store");
	u = user(c2, "bob");
	ok(u != NULL && uid1 != 0 && u->uid == uid1, "same uid on both hosts (%u)", uid1);
	ok(gid1 != 0 && store_group_by_name(&st, "devs") && store_group_by_name(&st, "devs")->gid == gid1,
	   "same gid for devs");
	config_free(c1);
	config_free(c2);
}

/* id_salt keys the id hash: every host with the same salt computes the same ids, and a salt changes them,
 * so that whoever does not know it cannot aim a name at a chosen uid. The pre-auth entry uses it too. */
static void test_salt(void)
{
	struct pj_config *c1 = cfg_make("salt1", "id_salt = 3f0c9a1be25d47a8c6e1\nnss_preauth = yes\n", ""),
	                 *c2 = cfg_make("salt2", "id_salt = 3f0c9a1be25d47a8c6e1\n", "");
	char home[256], out[4096], *init[] = {"user", "init", NULL};
	const struct pj_store_user *u;
	uint32_t uid1 = 0, puid = 0, plain = idmap_candidate(NULL, "sally", c1->uid_min, c1->uid_max, 0);
	struct pj_error err;
	struct pj_config *bad;

	ok(hash_id(c1, "sally") != plain, "a salted id differs from the plain hash (%u, %u)",
	   hash_id(c1, "sally"), plain);
	ok(run_cli(c1, out, sizeof(out), 2, init) == 0 && snapshot_open(c1->state_dir, &st) == 0 &&
	       strcmp(store_str(&st, st.hdr->id_salt), "3f0c9a1be25d47a8c6e1") == 0 &&
	       store_preauth(&st, "sally", files.passwd, files.group, &puid, home, sizeof(home)) == 0,
	   "user init writes the salt into the store header, for the NSS module's pre-auth entries");
	store_close(&st);
	if (login(c1, "{\"sub\":\"s-1\",\"preferred_username\":\"sally\"}", &err) == PJ_OK &&
	    (u = user(c1, "sally")) != NULL)
		uid1 = u->uid;
	ok(uid1 == hash_id(c1, "sally") && uid1 == puid,
	   "sally gets the salted id, as her pre-auth entry said (%u)", uid1);
	ok(login(c2, "{\"sub\":\"s-1\",\"preferred_username\":\"sally\"}", &err) == PJ_OK &&
	       (u = user(c2, "sally")) != NULL && u->uid == uid1,
	   "the same uid on another host with the same id_salt");
	ok(config_parse("/etc/pam_jwt.conf",
	                "[global]\nid_salt = short\n[issuer i]\nissuer = https://i\naudience = a\n", 55, &bad,
	                &err) == PJ_ERR_CONFIG,
	   "an id_salt shorter than 16 characters is a configuration error (%s)", err.reason);
	config_free(c1);
	config_free(c2);
}

static void test_preauth(void)
{
	struct pj_config *cfg = cfg_make("s7",
	                                 "nss_preauth = yes\nuid_min = 250000\nuid_max = 250009\n"
	                                 "home_template = /srv/%u/home\ndefault_shell = /bin/zsh\n",
	                                 "");
	char home[256], a[16], b[16], claims[256], out[4096];
	char *init[] = {"user", "init", NULL};
	const struct pj_store_user *u;
	struct pj_error err;
	uint32_t uid;
	int r;

	ok(run_cli(cfg, out, sizeof(out), 2, init) == 0, "pam-jwt user init writes an empty store");
	ok(snapshot_open(cfg->state_dir, &st) == 0 && (st.hdr->flags & PJ_STORE_F_PREAUTH) &&
	       st.hdr->n_users == 0 && st.hdr->uid_min == 250000 &&
	       strcmp(store_str(&st, st.hdr->shell), "/bin/zsh") == 0,
	   "with the NSS parameters in its header");
	r = store_preauth(&st, "newbie", files.passwd, files.group, &uid, home, sizeof(home));
	store_close(&st);
	ok(r == 0, "pre-auth entry for a new name");
	ok(login(cfg, "{\"sub\":\"nb\",\"preferred_username\":\"newbie\",\"groups\":[\"g1\"]}", &err) ==
	           PJ_OK &&
	       (u = user(cfg, "newbie")) != NULL,
	   "first login of newbie (%s)", err.reason);
	u = user(cfg, "newbie");
	ok(u != NULL && u->uid == uid && strcmp(store_str(&st, u->home), home) == 0 &&
	       strcmp(store_str(&st, u->shell), "/bin/zsh") == 0,
	   "the pre-auth entry equals the stored one: uid %u, home %s", uid, home);

	/* With nss_preauth a uid of the store is never probed past: sshd may already hold the hash slot for
	 * the connection of a name whose slot another first login took since (issue #14). */
	snapshot_open(cfg->state_dir, &st);
	colliding(250000, 250009, "newbie", store_group_by_name(&st, "g1")->gid, a, b);
	store_close(&st);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", a, a);
	snapshot_open(cfg->state_dir, &st);
	r = store_preauth(&st, b, files.passwd, files.group, &uid, home, sizeof(home));
	store_close(&st);
	ok(r == 0 && login(cfg, claims, &err) == PJ_OK && (u = user(cfg, a)) != NULL && u->uid == uid,
	   "%s takes uid %u, which the pre-auth answer promised %s too (%s)", a, uid, b, err.reason);
	tk_log_clear();
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", b, b);
	ok(login(cfg, claims, &err) == PJ_ERR_USER && user(cfg, b) == NULL,
	   "%s's first login is then refused, not given the next uid (%s)", b, err.reason);
	ok(tk_logged("never probed past"), "and logged");
	snapshot_open(cfg->state_dir, &st);
	ok(store_preauth(&st, b, files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "nor does %s get a pre-auth entry any more", b);
	store_close(&st);
	for (int i = 1; i < 6; i++) {
		char n[16];
		uint32_t puid;
		char phome[256];
		snprintf(n, sizeof(n), "pre%d", i);
		snapshot_open(cfg->state_dir, &st);
		r = store_preauth(&st, n, files.passwd, files.group, &puid, phome, sizeof(phome));
		store_close(&st);
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"preferred_username\":\"%s\"}", n, n);
		if (r == 0)
			ok(login(cfg, claims, &err) == PJ_OK && (u = user(cfg, n)) != NULL &&
			       u->uid == puid && strcmp(store_str(&st, u->home), phome) == 0,
			   "pre-auth entry of %s equals the first login's (uid %u)", n, puid);
		else
			ok(r == 1 && login(cfg, claims, &err) == PJ_ERR_USER,
			   "no pre-auth entry for %s (its slot is taken), and its first login is refused", n);
	}

	snapshot_open(cfg->state_dir, &st);
	ok(store_preauth(&st, "carol", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "no pre-auth entry for a local account");
	ok(store_preauth(&st, "localgrp", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "no pre-auth entry for a local group name");
	ok(store_preauth(&st, "root", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "none for root");
	ok(store_preauth(&st, "Bad:Name", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "none for a bad name");
	ok(store_preauth(&st, "g1", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "none for a managed group's name");
	ok(store_preauth(&st, "newbie", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "none for a stored user (the stored entry answers)");
	store_close(&st);
	config_free(cfg);

	cfg = cfg_make("s7", "uid_min = 250000\nuid_max = 250009\n", "");
	ok(run_cli(cfg, out, sizeof(out), 2, init) == 0 && snapshot_open(cfg->state_dir, &st) == 0 &&
	       store_preauth(&st, "other", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "nss_preauth = no: no pre-auth entries");
	store_close(&st);
	config_free(cfg);

	cfg = cfg_make("s7", "nss_preauth = yes\nuid_min = 250000\nuid_max = 250009\n", "uid_claim = uid\n");
	ok(run_cli(cfg, out, sizeof(out), 2, init) == 0 && snapshot_open(cfg->state_dir, &st) == 0 &&
	       store_preauth(&st, "other", files.passwd, files.group, &uid, home, sizeof(home)) == 1,
	   "uid_claim in use: no pre-auth entries (the uid could not be predicted)");
	store_close(&st);
	config_free(cfg);
}

/* A name that NSS resolves to an account of another source (LDAP, SSSD, systemd-homed...) is not ours: a
 * token login would run as that account. Here the host's own files play the other source: the fixture
 * files (which the mapping reads) lack games and audio, which NSS finds in the host's /etc/passwd and
 * /etc/group. */
/* The identity step's getpwnam_r answer (pj_verify fills nss_asked, nss_found, nss_uid) is the one the
 * mapping checks: one NSS user lookup per login, not two. An answer naming another uid refuses the login
 * although NSS, asked again, would not know the name. */
static void test_one_lookup(void)
{
	struct pj_config *cfg = cfg_make("s17", "", "");
	struct pj_identity id;
	struct pj_error err;
	pj_status r;

	if ((r = id_make(cfg, ISS, "{\"sub\":\"gh-1\",\"preferred_username\":\"ghost\"}", &id, &err)) ==
	    PJ_OK) {
		id.nss_asked = id.nss_found = true;
		id.nss_uid = 4242;
		r = mapping_record_login_files(cfg, &id, NOW, &test_log, &files, &err);
	}
	ok(r == PJ_ERR_USER && strstr(err.reason, "uid 4242") != NULL && user(cfg, "ghost") == NULL,
	   "the identity step's answer is used (%s)", err.reason);
	id.nss_asked = false;
	ok(mapping_record_login_files(cfg, &id, NOW, &test_log, &files, &err) == PJ_OK &&
	       user(cfg, "ghost") != NULL,
	   "without it the mapping asks NSS itself (%s)", err.reason);
	id_free(&id);
	config_free(cfg);
}

static void test_foreign(void)
{
	struct pj_config *cfg = cfg_make("s14", "", "");
	struct passwd *pw = getpwnam("games");
	struct group *gr = getgrnam("audio");
	struct pj_error err;
	pj_status r;

	if (pw == NULL || gr == NULL) {
		tap_skip(4, "the host has no games user or audio group");
		config_free(cfg);
		return;
	}
	r = login(cfg, "{\"sub\":\"g-1\",\"preferred_username\":\"games\"}", &err);
	ok(r == PJ_ERR_USER && user(cfg, "games") == NULL,
	   "a username NSS resolves to another account: refused (%s)", err.reason);
	tk_log_clear();
	r = login(cfg, "{\"sub\":\"f-1\",\"preferred_username\":\"fiona\",\"groups\":[\"audio\",\"band\"]}",
	          &err);
	ok(r == PJ_OK && strcmp(groups_of(cfg, "fiona"), "band") == 0 &&
	       store_group_by_name(&st, "audio") == NULL,
	   "an IdP group NSS resolves to another group: skipped (%s)", groups_of(cfg, "fiona"));
	ok(tk_logged("IdP group audio skipped"), "and logged");
	/* a user's private group has the user's name: one named like another source's group would pass for it
	 * (sudo's %audio) */
	if (getpwnam("audio") == NULL) {
		r = login(cfg, "{\"sub\":\"au-1\",\"preferred_username\":\"audio\"}", &err);
		ok(r == PJ_ERR_USER && user(cfg, "audio") == NULL,
		   "a username NSS resolves as another source's group: refused (%s)", err.reason);
	} else {
		tap_skip(1, "the host has a user audio");
	}
	config_free(cfg);
}

/* Subordinate ids (/etc/subuid, /etc/subgid) belong to local users: in a user namespace (podman, newuidmap)
 * they act as those ids, so a token user given one would have its files open to that local user. */
static void test_subids(void)
{
	struct pj_config *cfg = cfg_make("s12", "nss_preauth = yes\n", "");
	char *init[] = {"user", "init", NULL};
	char out[4096], home[256], text[128];
	const struct pj_store_user *u;
	struct pj_error err;
	uint32_t h = hash_id(cfg, "subby"), g = hash_id(cfg, "subgy"), puid = 0;
	int r;

	snprintf(text, sizeof(text), "# podman\ncarol:%u:65536\n", h - 100);
	tk_write_text(path_in("subuid"), text);
	snprintf(text, sizeof(text), "250000:%u:10\n", g);
	tk_write_text(path_in("subgid"), text);
	ok(run_cli(cfg, out, sizeof(out), 2, init) == 0 && snapshot_open(cfg->state_dir, &st) == 0,
	   "an empty store with nss_preauth");
	r = store_preauth(&st, "subby", files.passwd, files.group, &puid, home, sizeof(home));
	store_close(&st);
	ok(login(cfg, "{\"sub\":\"s-1\",\"preferred_username\":\"subby\"}", &err) == PJ_OK,
	   "subby, whose hash lies in carol's subordinate uids, logs in (%s)", err.reason);
	u = user(cfg, "subby");
	ok(u != NULL && u->uid == h - 100 + 65536, "and gets the first id past the range (%u, hash %u)",
	   u ? u->uid : 0, h);
	ok(r == 0 && u != NULL && puid == u->uid, "the pre-auth entry agrees (%u)", puid);
	r = login(cfg, "{\"sub\":\"s-2\",\"preferred_username\":\"subgy\"}", &err);
	u = user(cfg, "subgy");
	ok(r == PJ_OK && u != NULL && u->uid == g + 10, "subordinate gids are skipped too (%u, hash %u)",
	   u ? u->uid : 0, g);
	config_free(cfg);

	cfg = cfg_make("s13", "", "uid_claim = posix.uid\n");
	snprintf(text, sizeof(text),
	         "{\"sub\":\"s-3\",\"preferred_username\":\"subc\",\"posix\":{\"uid\":%u}}", h);
	ok(login(cfg, text, &err) == PJ_ERR_USER, "a uid_claim inside a subordinate range: refused (%s)",
	   err.reason);
	config_free(cfg);
	unlink(path_in("subuid"));
	unlink(path_in("subgid"));
}

static void test_acct(void)
{
	struct pj_config *cfg = cfg_make("s8", "account_max_age = 3600\n", "");
	struct pj_error err;
	enum pj_acct a = PJ_ACCT_OK;

	ok(mapping_acct_check(cfg, "alice", NOW, &a, &err) == PJ_OK && a == PJ_ACCT_NOT_OURS,
	   "no store: not ours");
	ok(login(cfg, "{\"sub\":\"a-1\",\"preferred_username\":\"alice\"}", &err) == PJ_OK, "alice logs in");
	ok(mapping_acct_check(cfg, "alice", NOW + 3600, &a, &err) == PJ_OK && a == PJ_ACCT_OK,
	   "within account_max_age: ok");
	ok(mapping_acct_check(cfg, "alice", NOW + 3601, &a, &err) == PJ_OK && a == PJ_ACCT_EXPIRED,
	   "beyond account_max_age: expired");
	ok(mapping_acct_check(cfg, "zed", NOW, &a, &err) == PJ_OK && a == PJ_ACCT_NOT_OURS,
	   "unknown user: not ours");
	config_free(cfg);
	cfg = cfg_make("s8", "", "");
	ok(mapping_acct_check(cfg, "alice", NOW + 30 * 86400L, &a, &err) == PJ_OK && a == PJ_ACCT_OK &&
	       mapping_acct_check(cfg, "alice", NOW + 30 * 86400L + 1, &a, &err) == PJ_OK &&
	       a == PJ_ACCT_EXPIRED,
	   "no account_max_age: the default, 30 days");
	config_free(cfg);
	cfg = cfg_make("s8", "account_max_age = 0\n", "");
	ok(mapping_acct_check(cfg, "alice", NOW + 10 * 365 * 86400L, &a, &err) == PJ_OK && a == PJ_ACCT_OK,
	   "account_max_age 0: no limit");
	chmod(path_in("s8/users.db"), 0666);
	ok(mapping_acct_check(cfg, "alice", NOW, &a, &err) == PJ_ERR_CONFIG && a == PJ_ACCT_NOT_OURS,
	   "untrusted store: an error (%s)", err.reason);
	chmod(path_in("s8/users.db"), 0644);
	config_free(cfg);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* users.db and users.journal of state dir s, as stat sees them (zeroed when missing). */
static void stamp(const char *s, struct stat sb[2])
{
	char name[64];

	memset(sb, 0, 2 * sizeof(*sb));
	snprintf(name, sizeof(name), "%s/users.db", s);
	stat(path_in(name), &sb[0]);
	snprintf(name, sizeof(name), "%s/users.journal", s);
	stat(path_in(name), &sb[1]);
}

static bool same_stamp(const struct stat a[2], const struct stat b[2])
{
	return same_file(&a[0], &b[0]) && same_file(&a[1], &b[1]);
}

/* A returning login with unchanged claims writes nothing to the store; its time goes to users.last, and
 * account_max_age counts from there. */
static void test_returning(void)
{
	struct pj_config *cfg = cfg_make("s14", "account_max_age = 3600\n", "");
	const char *claims = "{\"sub\":\"rt-1\",\"preferred_username\":\"rita\",\"name\":\"Rita\","
	                     "\"groups\":[\"devs\",\"ops\"]}";
	const char *last = path_in("s14/users.last");
	struct pj_user_ref ref;
	struct pj_view v;
	char out[4096], lock[PATH_MAX], *show[] = {"user", "show", "rita", NULL};
	const struct pj_store_user *u;
	struct stat before[2], after[2], sb, mark;
	struct pj_store opened;
	struct pj_error err;
	enum pj_acct a = PJ_ACCT_NOT_OURS;
	int fd;

	ok(login_at(cfg, ISS, claims, NOW, &err) == PJ_OK, "rita's first login (%s)", err.reason);
	stamp("s14", before);
	usleep(20000); /* a write now would show in mtime and ctime */
	ok(login_at(cfg, ISS, claims, NOW + 7200, &err) == PJ_OK &&
	       (stamp("s14", after), same_stamp(before, after)),
	   "a returning login with unchanged claims: users.db and users.journal untouched (inode, size, "
	   "mtime, "
	   "ctime)");
	/* the logins validated the store whole once and recorded that: the next fresh process (the next SSH
	 * connection, every NSS client) opens this store in O(1); a returning login does not write it again
	 */
	snprintf(lock, sizeof(lock), "%s/users.checked", cfg->state_dir);
	ok(stat(lock, &mark) == 0 && mark.st_uid == 0 && (mark.st_mode & 07777) == 0644 &&
	       store_open(cfg->state_dir, &opened) == 0 && !opened.checked_whole,
	   "users.checked: root-owned, 0644, and a fresh open of the store uses it");
	store_close(&opened);
	ok(login_at(cfg, ISS, claims, NOW + 7200, &err) == PJ_OK && stat(lock, &sb) == 0 &&
	       same_file(&mark, &sb),
	   "a returning login leaves users.checked as it was");
	/* the durable mark lost (a crash, or the writer of rita's entry still syncing): the login makes the
	 * entry durable itself before it succeeds (group commit, userstore.c), still without a store write */
	snprintf(lock, sizeof(lock), "%s/users.lock", cfg->state_dir);
	ok(truncate(lock, 0) == 0 && login_at(cfg, ISS, claims, NOW + 7200, &err) == PJ_OK &&
	       (stamp("s14", after), same_stamp(before, after)) && stat(lock, &sb) == 0 && sb.st_size > 0,
	   "a returning login on an entry not known durable syncs it and marks it, writing nothing to the "
	   "store");
	ok(view_open(cfg->state_dir, &v) == 0 && view_user_by_name(&v, "rita", &ref) &&
	       ref.u->last_login == NOW,
	   "the store keeps the time of its last write for rita");
	view_close(&v);
	u = user(cfg, "rita");
	ok(stat(last, &sb) == 0 && sb.st_uid == 0 && (sb.st_mode & 07777) == 0644,
	   "users.last: root-owned, 0644");
	ok(mapping_acct_check(cfg, "rita", NOW + 7200 + 3600, &a, &err) == PJ_OK && a == PJ_ACCT_OK,
	   "account_max_age counts from the login recorded in users.last");
	ok(mapping_acct_check(cfg, "rita", NOW + 7200 + 3601, &a, &err) == PJ_OK && a == PJ_ACCT_EXPIRED,
	   "and expires the account one second past it");
	ok(run_cli(cfg, out, sizeof(out), 3, show) == 0 && strstr(out, "last login: 2023-11-15T00:13:20Z"),
	   "pam-jwt user show: the last login from users.last");

	/* a damaged record is ignored: the store's older time counts (early, never late) */
	fd = open(last, O_RDWR);
	ok(fd >= 0 && pwrite(fd, "\xff", 1, 32 + 32 * (off_t)u->slot + 16) == 1,
	   "a byte of rita's record flipped");
	close(fd);
	ok(mapping_acct_check(cfg, "rita", NOW + 3601, &a, &err) == PJ_OK && a == PJ_ACCT_EXPIRED,
	   "a damaged record: the store's last_login counts");
	ok(login_at(cfg, ISS, claims, NOW + 9000, &err) == PJ_OK &&
	       mapping_acct_check(cfg, "rita", NOW + 9000 + 3600, &a, &err) == PJ_OK && a == PJ_ACCT_OK,
	   "the next login writes the record again");

	/* an untrusted users.last is refused, as users.db would be */
	chmod(last, 0666);
	ok(login_at(cfg, ISS, claims, NOW + 9100, &err) == PJ_ERR_CONFIG,
	   "users.last writable by others: refused (%s)", err.reason);
	chmod(last, 0644);

	/* what changes the entry writes the store */
	claims = "{\"sub\":\"rt-1\",\"preferred_username\":\"rita\",\"name\":\"Rita B\","
	         "\"groups\":[\"devs\",\"ops\"]}";
	ok(login_at(cfg, ISS, claims, NOW + 9200, &err) == PJ_OK &&
	       (stamp("s14", after), !same_stamp(before, after)) && after[1].st_size > before[1].st_size &&
	       (u = user(cfg, "rita")) != NULL && u->last_login == NOW + 9200,
	   "a changed gecos is written (a journal record), with last_login");
	memcpy(before, after, sizeof(before));
	claims = "{\"sub\":\"rt-1\",\"preferred_username\":\"rita\",\"name\":\"Rita B\","
	         "\"groups\":[\"devs\"]}";
	ok(login_at(cfg, ISS, claims, NOW + 9300, &err) == PJ_OK &&
	       (stamp("s14", after), !same_stamp(before, after)) &&
	       strcmp(groups_of(cfg, "rita"), "devs") == 0,
	   "a changed group list is written");
	memcpy(before, after, sizeof(before));
	claims = "{\"sub\":\"rt-1\",\"preferred_username\":\"rita\",\"name\":\"Rita B\","
	         "\"groups\":[\"devs\",\"brand-new\"]}";
	ok(login_at(cfg, ISS, claims, NOW + 9400, &err) == PJ_OK &&
	       (stamp("s14", after), !same_stamp(before, after)) &&
	       strcmp(groups_of(cfg, "rita"), "brand-new,devs") == 0,
	   "a new managed group is written");
	memcpy(before, after, sizeof(before));
	ok(login_at(cfg, ISS2, claims, NOW + 9500, &err) == PJ_ERR_USER &&
	       (stamp("s14", after), same_stamp(before, after)),
	   "another identity for rita is still refused, and writes nothing");
	config_free(cfg);
	cfg = cfg_make("s14", "account_max_age = 3600\nuid_min = 300000\n", "");
	ok(login_at(cfg, ISS, claims, NOW + 9600, &err) == PJ_OK &&
	       (stamp("s14", after), after[0].st_ino != before[0].st_ino) &&
	       (u = user(cfg, "rita")) != NULL && st.hdr->uid_min == 300000,
	   "a changed configuration (uid_min) folds the store into a new base with the new header");
	config_free(cfg);
}

/* state_dir's users.db and users.journal put back from the copies saved as NAME.backup. */
static bool restore_store(const char *dir)
{
	static const char *const names[] = {"users.db", "users.journal"};
	char backup[PATH_MAX], next[PATH_MAX];

	for (int i = 0; i < 2; i++) {
		snprintf(backup, sizeof(backup), "%s/%s.backup", dir, names[i]);
		snprintf(next, sizeof(next), "%s/%s.new", dir, names[i]);
		tk_copy_file(backup, next, 0644);
		if (rename(next, tk_path(dir, names[i])) != 0)
			return false;
	}
	return true;
}

/* A users.db restored from a backup hands out again the last-login slots of the users created after the
 * backup, and users.last (not restored) still holds their records: a record counts only while its uid and
 * creation time are the user's too. Users created in the same second are common (a team's first logins). */
static void test_restored_store(void)
{
	struct pj_config *cfg = cfg_make("s19", "account_max_age = 3600\n", "");
	const char *dir = cfg->state_dir;
	const char *cat = "{\"sub\":\"c-1\",\"preferred_username\":\"cat\"}";
	const struct pj_store_user *u = NULL;
	uint32_t cat_slot = 0, cat_uid = 0;
	enum pj_acct a = PJ_ACCT_NOT_OURS;
	struct pj_error err;

	ok(login_at(cfg, ISS, "{\"sub\":\"b-1\",\"preferred_username\":\"bea\"}", NOW, &err) == PJ_OK,
	   "bea's first login (%s)", err.reason);
	tk_copy_file(tk_path(dir, "users.db"), tk_path(dir, "users.db.backup"), 0644);
	tk_copy_file(tk_path(dir, "users.journal"), tk_path(dir, "users.journal.backup"), 0644);
	ok(login_at(cfg, ISS, cat, NOW, &err) == PJ_OK &&
	       login_at(cfg, ISS, cat, NOW + 7200, &err) == PJ_OK && (u = user(cfg, "cat")) != NULL &&
	       u->last_login == NOW + 7200,
	   "cat, created in the same second, logs in again two hours later (users.last)");
	if (u != NULL) {
		cat_slot = u->slot;
		cat_uid = u->uid;
	}
	ok(restore_store(dir) && user(cfg, "cat") == NULL,
	   "the store restored from the backup taken before cat");
	ok(login_at(cfg, ISS, "{\"sub\":\"d-1\",\"preferred_username\":\"dan\"}", NOW, &err) == PJ_OK &&
	       (u = user(cfg, "dan")) != NULL && u->slot == cat_slot && u->created == NOW &&
	       u->uid != cat_uid,
	   "dan, created in that second too, gets cat's old slot (%u)", cat_slot);
	ok(mapping_acct_check(cfg, "dan", NOW + 3601, &a, &err) == PJ_OK && a == PJ_ACCT_EXPIRED,
	   "cat's record in users.last is not dan's: dan's account expires an hour after his own login");
	ok(restore_store(dir) && login_at(cfg, ISS, cat, NOW + 60, &err) == PJ_OK &&
	       (u = user(cfg, "cat")) != NULL && u->slot == cat_slot && u->uid == cat_uid &&
	       u->created == NOW + 60,
	   "restored again: cat is created anew, with the same uid and slot");
	ok(mapping_acct_check(cfg, "cat", NOW + 60 + 3601, &a, &err) == PJ_OK && a == PJ_ACCT_EXPIRED,
	   "nor is the old cat's record the new cat's: it expires an hour after its own first login");
	config_free(cfg);
}

/* A returning login reads none of the local account files while they are unchanged; a change is seen by
 * the next login. */
static void test_local_scans(void)
{
	struct pj_config *cfg = cfg_make("s15", "", "group_map = devs:docker\n");
	const char *claims =
	    "{\"sub\":\"l-1\",\"preferred_username\":\"lena\",\"groups\":[\"devs\",\"team-l\"]}";
	const char *group_text = "root:x:0:\nwheel:x:0:\nsudo:x:27:\nstaff:x:50:\ndocker:x:999:\n"
	                         "carol:x:250000:\nlocalgrp:x:260000:\n";
	struct pj_error err;

	usleep(150000); /* the fixture files are older than the racy window of local_index.h */
	ok(login(cfg, claims, &err) == PJ_OK && strcmp(groups_of(cfg, "lena"), "999,team-l") == 0,
	   "lena's first login: docker by group_map and team-l (%s)", err.reason);
	account_file_opens = 0;
	ok(login(cfg, claims, &err) == PJ_OK && account_file_opens == 0,
	   "a returning login opens none of passwd, group, subuid, subgid (%d opens)", account_file_opens);
	ok(login(cfg, "{\"sub\":\"l-1\",\"preferred_username\":\"lena\",\"groups\":[\"devs\"]}", &err) ==
	           PJ_OK &&
	       account_file_opens == 0 && strcmp(groups_of(cfg, "lena"), "999") == 0,
	   "nor does one that changes the groups without a new id (%d opens)", account_file_opens);

	/* team-l becomes a local group: the next login sees it */
	tk_write_text(files.group, "root:x:0:\nwheel:x:0:\nsudo:x:27:\nstaff:x:50:\ndocker:x:999:\n"
	                           "carol:x:250000:\nlocalgrp:x:260000:\nteam-l:x:270000:\n");
	tk_log_clear();
	ok(login(cfg, claims, &err) == PJ_OK && account_file_opens > 0 &&
	       strcmp(groups_of(cfg, "lena"), "999") == 0 && tk_logged("team-l skipped"),
	   "a changed group file is read again: team-l, now local, is skipped (%d opens)",
	   account_file_opens);
	tk_write_text(files.group, group_text);
	usleep(150000);
	ok(login(cfg, claims, &err) == PJ_OK && strcmp(groups_of(cfg, "lena"), "999,team-l") == 0,
	   "and back");
	account_file_opens = 0;
	ok(login(cfg, claims, &err) == PJ_OK && account_file_opens == 0, "then cached again (%d opens)",
	   account_file_opens);

	/* a local group Lena appears: sudo would take it for lena's, so her returning login, unchanged
	 * otherwise, is refused (NSS does not match names ignoring case: only the local names do) */
	tk_write_text(files.group, "root:x:0:\nwheel:x:0:\nsudo:x:27:\nstaff:x:50:\ndocker:x:999:\n"
	                           "carol:x:250000:\nlocalgrp:x:260000:\nLena:x:270001:\n");
	ok(login(cfg, claims, &err) == PJ_ERR_USER && strstr(err.reason, "local account or group") != NULL,
	   "a local group Lena appears: lena's returning login is refused (%s)", err.reason);
	tk_write_text(files.group, group_text);
	usleep(150000);
	config_free(cfg);
}

/* 32 processes log 32 users in at once: the lock keeps every one. */
static void test_race(void)
{
	struct pj_config *cfg = cfg_make("s9", "", "");
	const struct pj_store_group *g;
	int failed = 0, status;

	for (int i = 0; i < 32; i++) {
		if (fork() == 0) {
			char claims[256];
			struct pj_error err;
			snprintf(claims, sizeof(claims),
			         "{\"sub\":\"r%d\",\"preferred_username\":\"racer%02d\",\"groups\":["
			         "\"shared\",\"g%d\"]}",
			         i, i, i);
			_exit(login(cfg, claims, &err) == PJ_OK ? 0 : 1);
		}
	}
	for (int i = 0; i < 32; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	ok(failed == 0, "32 parallel logins succeeded");
	ok(snapshot_open(cfg->state_dir, &st) == 0 && st.hdr->n_users == 32, "32 users in the store");
	g = store_group_by_name(&st, "shared");
	ok(g != NULL && g->n_members == 32 && st.hdr->n_groups == 32 + 1 + 32,
	   "one shared group with 32 members, 32 private and 32 own groups");
	store_close(&st);
	config_free(cfg);
}

static void test_cli(void)
{
	struct pj_config *cfg = cfg_make("s10", "", "");
	char out[8192];
	char *add[] = {"user", "add", "frank", "--gecos", "Frank: the,admin", NULL};
	char *add_uid[] = {"user", "add", "grace", "--uid", "300123", NULL};
	char *add_bad_uid[] = {"user", "add", "heidi", "--uid", "0", NULL};
	char *add_low_uid[] = {"user", "add", "heidi", "--uid", "1000", NULL};
	char *add_local[] = {"user", "add", "daemon", NULL};
	char *add_again[] = {"user", "add", "frank", NULL};
	char *list[] = {"user", "list", NULL};
	char *show[] = {"user", "show", "frank", NULL};
	char *show_none[] = {"user", "show", "nobody-here", NULL};
	char *del[] = {"user", "del", "grace", NULL};
	char *del_none[] = {"user", "del", "grace", NULL};
	char *unbind_none[] = {"user", "unbind", "grace", NULL};
	char *unbind[] = {"user", "unbind", "frank", NULL};
	char *bogus[] = {"user", "frobnicate", NULL};
	const struct pj_store_user *u;
	struct pj_error err;

	ok(run_cli(cfg, out, sizeof(out), 5, add) == 0 && strstr(out, "added frank"), "user add frank");
	u = user(cfg, "frank");
	ok(u != NULL && u->uid == hash_id(cfg, "frank") && strcmp(store_str(&st, u->iss), "") == 0 &&
	       strcmp(store_str(&st, u->gecos), "Frank theadmin") == 0 && u->last_login == 0,
	   "unbound, hashed uid, sanitised gecos");
	ok(run_cli(cfg, out, sizeof(out), 5, add_uid) == 0 && (u = user(cfg, "grace")) != NULL &&
	       u->uid == 300123,
	   "user add --uid");
	ok(run_cli(cfg, out, sizeof(out), 5, add_bad_uid) == 2, "user add --uid 0: refused");
	ok(run_cli(cfg, out, sizeof(out), 5, add_low_uid) == 1 && user(cfg, "heidi") == NULL,
	   "user add --uid below uid_min: refused");
	ok(run_cli(cfg, out, sizeof(out), 3, add_local) == 1 && user(cfg, "daemon") == NULL,
	   "user add of a local account (daemon in /etc/passwd): refused");
	ok(run_cli(cfg, out, sizeof(out), 3, add_again) == 1, "user add of an existing user: refused");
	ok(run_cli(cfg, out, sizeof(out), 2, list) == 0 && strstr(out, "frank") && strstr(out, "grace"),
	   "user list");
	ok(run_cli(cfg, out, sizeof(out), 3, show) == 0 && strstr(out, "(not bound)") &&
	       strstr(out, "/home/frank"),
	   "user show");
	ok(run_cli(cfg, out, sizeof(out), 3, show_none) == 1, "user show of an unknown user: 1");
	ok(run_cli(cfg, out, sizeof(out), 3, del) == 0 && user(cfg, "grace") == NULL, "user del");
	ok(run_cli(cfg, out, sizeof(out), 3, del_none) == 1, "user del of an unknown user: 1");
	ok(run_cli(cfg, out, sizeof(out), 3, unbind_none) == 1, "user unbind of an unknown user: 1");
	ok(run_cli(cfg, out, sizeof(out), 2, bogus) == 2, "unknown action: usage, 2");

	/* an added user is bound by its first login, then holds to it */
	ok(login(cfg, "{\"sub\":\"f-1\",\"preferred_username\":\"frank\"}", &err) == PJ_OK &&
	       (u = user(cfg, "frank")) != NULL && strcmp(store_str(&st, u->sub), "f-1") == 0 &&
	       u->uid == hash_id(cfg, "frank"),
	   "the first login binds an added user (%s)", err.reason);
	ok(login(cfg, "{\"sub\":\"f-2\",\"preferred_username\":\"frank\"}", &err) == PJ_ERR_USER,
	   "and another identity is then refused");
	ok(run_cli(cfg, out, sizeof(out), 3, show) == 0 && strstr(out, "sub:        f-1"),
	   "user show: bound");
	/* the account step's login record goes with the binding: the next identity must not inherit it */
	ok(access(path_in("s10/logins/frank"), F_OK) == 0, "frank's token login left a login record");
	ok(run_cli(cfg, out, sizeof(out), 3, unbind) == 0 && access(path_in("s10/logins/frank"), F_OK) != 0,
	   "user unbind removes it");
	config_free(cfg);
}

/* ---- out of memory: the test program's own allocator (not in the sanitizer build, whose runtime owns
 * malloc): when armed, the fail_at-th allocation from then on fails, once; every library of the process
 * allocates through it ---- */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static bool nomem_armed;
static long nomem_at, nomem_calls;

static bool nomem_now(void)
{
	return nomem_armed && ++nomem_calls == nomem_at;
}

void *malloc(size_t n)
{
	return nomem_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return nomem_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return nomem_now() ? NULL : __libc_realloc(p, n);
}

/* One login of claims with the at-th allocation of mapping_record_login_files failing (0: none); *reached
 * says whether it came to that allocation. */
static pj_status nomem_login(const struct pj_config *cfg, const char *claims, long at, bool *reached,
                             struct pj_error *err)
{
	struct pj_identity id;
	pj_status r;

	pj_error_clear(err);
	if ((r = id_make(cfg, ISS, claims, &id, err)) != PJ_OK)
		return r;
	nomem_calls = 0;
	nomem_at = at;
	nomem_armed = at > 0;
	r = mapping_record_login_files(cfg, &id, NOW, &test_log, &files, err);
	nomem_armed = false;
	*reached = at > 0 && nomem_calls >= at;
	id_free(&id);
	return r;
}

/* The whole store as bytes (base and journal as one image), or NULL. */
static unsigned char *store_bytes(const char *dir, size_t *len)
{
	struct userstore *us;
	unsigned char *data = NULL;
	struct pj_error err;

	if (userstore_open(dir, false, &us, &err) != PJ_OK)
		return NULL;
	if (userstore_serialize(us, 0, &data, len, &err) != PJ_OK)
		data = NULL;
	userstore_close(us);
	return data;
}

static bool same_bytes(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0;
}

/* Every allocation of a first login (nalice, added to a store that holds nbob, both in group nmdevs) fails
 * in turn: the login is refused, or it succeeds with exactly the fault-free store; the store is the old
 * one or that; a fault-free login after it gives that store. */
static void test_nomem(void)
{
	struct pj_config *cfg = cfg_make("snm", "", "");
	const char *bob = "{\"sub\":\"nm-b\",\"preferred_username\":\"nbob\",\"groups\":[\"nmdevs\"]}";
	const char *alice = "{\"sub\":\"nm-a\",\"preferred_username\":\"nalice\",\"groups\":[\"nmdevs\"]}";
	char *restore =
	    tk_strf("rm -rf %s && cp -a %s %s", path_in("snm"), path_in("snm-old"), path_in("snm"));
	unsigned char *old = NULL, *want = NULL, *got = NULL;
	size_t old_len = 0, want_len = 0, got_len = 0;
	long points = 0, refused = 0, bad = 0, bad_after = 0;
	char first_bad[PJ_REASON_MAX + 64] = "";
	struct pj_error err;
	bool reached = false;
	pj_status r;

	ok(login(cfg, bob, &err) == PJ_OK &&
	       system(tk_strf("cp -a %s %s", path_in("snm"), path_in("snm-old"))) == 0 &&
	       (old = store_bytes(cfg->state_dir, &old_len)) != NULL &&
	       nomem_login(cfg, alice, 0, &reached, &err) == PJ_OK &&
	       (want = store_bytes(cfg->state_dir, &want_len)) != NULL &&
	       !same_bytes(old, old_len, want, want_len),
	   "out of memory: the fault-free first login of nalice beside nbob changes the store (%s)",
	   err.reason);
	for (long at = 1;; at++) {
		if (system(restore) != 0)
			break;
		r = nomem_login(cfg, alice, at, &reached, &err);
		if (!reached)
			break;
		points++;
		refused += r != PJ_OK;
		got = store_bytes(cfg->state_dir, &got_len);
		if (r == PJ_OK ? !same_bytes(got, got_len, want, want_len)
		               : !same_bytes(got, got_len, old, old_len) &&
		                     !same_bytes(got, got_len, want, want_len)) {
			if (bad++ == 0)
				snprintf(first_bad, sizeof(first_bad), "allocation %ld: %s (%s)", at,
				         r == PJ_OK ? "success with another store" : "neither store",
				         err.reason);
		}
		free(got);
		got = NULL;
		r = nomem_login(cfg, alice, 0, &reached, &err);
		got = store_bytes(cfg->state_dir, &got_len);
		if (r != PJ_OK || !same_bytes(got, got_len, want, want_len))
			bad_after++;
		free(got);
	}
	ok(points > 100 && bad == 0,
	   "out of memory: %ld allocations of a first login failed in turn: %ld refused, the rest the "
	   "fault-free "
	   "store; the store old or new each time (%ld not) %s",
	   points, refused, bad, first_bad);
	ok(points > 100 && bad_after == 0,
	   "and a fault-free login after each gives the fault-free store (%ld not)", bad_after);
	free(old);
	free(want);
	free(restore);
	config_free(cfg);
}
#else
static void test_nomem(void)
{
	tap_skip(2, "the sanitizer build's runtime owns malloc (test_faults.sh sweeps it there)");
}
#endif

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("the store must be root-owned: run as root");
	if (mkdtemp(tmpdir) == NULL)
		tap_skip_all("mkdtemp failed");
	tk_write_text(path_in("passwd"), "root:x:0:0:root:/root:/bin/bash\n"
	                                 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	                                 "carol:x:250000:250000:Carol:/home/carol:/bin/bash\n"
	                                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	tk_write_text(path_in("group"), "root:x:0:\nwheel:x:0:\nsudo:x:27:\nstaff:x:50:\ndocker:x:999:\n"
	                                "carol:x:250000:\nlocalgrp:x:260000:\n");
	files.passwd = strdup(path_in("passwd"));
	files.group = strdup(path_in("group"));
	test_basic();
	test_binding();
	test_refusals();
	test_gecos();
	test_uid_claim();
	test_group_map();
	test_case_variants();
	test_shapes();
	test_collision();
	test_second_store();
	test_preauth();
	test_salt();
	test_subids();
	test_foreign();
	test_one_lookup();
	test_acct();
	test_returning();
	test_restored_store();
	test_local_scans();
	test_race();
	test_cli();
	test_nomem();
	store_close(&st);
	free(snapshot);
	return tap_done();
}
