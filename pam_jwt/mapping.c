/* mapping.c: a verified identity to a local user, recorded in the user store (see mapping.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "identity.h"
#include "store/idmap.h"
#include "json_strict.h"
#include "local_index.h"
#include "login_record.h"
#include "mapping.h"
#include "store/last_login.h"
#include "store/store_read.h"
#include "trusted_file.h"

/* What one mapping run works with: the store loaded for writing (us), or, for a returning login, the store
 * on disk read-only (view), where whatever would change it sets need_write instead. */
struct mctx {
	struct userstore *us;
	const struct pj_view *view;
	bool need_write;
	const struct pj_identity *id; /* the login's identity, NULL for pam-jwt user add */
	const char *dir;              /* state_dir */
	const struct pj_log *log;
	const struct pj_local_files *files;
	struct local_index names; /* the local account names, once loaded (names_loaded) */
	bool names_loaded;
	struct idmap_local local; /* in-range ids of the local account files, read only to assign an id */
	bool local_loaded;
	bool store_ids_final; /* assigning a uid under nss_preauth: never probe past an id of the store */
	bool admin;           /* pam-jwt user add: no login, so no uid that sshd resolved for it */
	int nss_error;        /* why an id could not be looked up through NSS (-errno), 0 */
};

static const char *passwd_path(const struct mctx *c)
{
	return c->files && c->files->passwd ? c->files->passwd : IDMAP_PASSWD_PATH;
}

static const char *group_path(const struct mctx *c)
{
	return c->files && c->files->group ? c->files->group : IDMAP_GROUP_PATH;
}

#define NSS_BUF_MAX (16u << 20) /* the largest passwd or group entry looked up through NSS */

/* What every source of nsswitch.conf together answers for a user (group when group) looked up by name, or by
 * id when name is NULL: 1 with *id, 0 when none answers, or -errno. */
static int nss_lookup(const char *name, uint32_t by_id, bool group, uint32_t *id)
{
	struct passwd pw, *pwres = NULL;
	struct group gr, *grres = NULL;
	size_t len = 16384;
	char *buf = NULL, *nbuf;
	int rc;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		if (group)
			rc = name ? getgrnam_r(name, &gr, buf, len, &grres)
			          : getgrgid_r(by_id, &gr, buf, len, &grres);
		else
			rc = name ? getpwnam_r(name, &pw, buf, len, &pwres)
			          : getpwuid_r(by_id, &pw, buf, len, &pwres);
		if (rc != ERANGE || len >= NSS_BUF_MAX)
			break;
		len *= 2;
	}
	free(buf);
	if (rc != 0 && rc != ENOENT && rc != ESRCH)
		return -rc;
	if (grres != NULL)
		*id = gr.gr_gid;
	else if (pwres != NULL)
		*id = pw.pw_uid;
	return grres != NULL || pwres != NULL;
}

/* The id every source together gives a user (group when group) name: as nss_lookup. */
static int nss_id(const char *name, bool group, uint32_t *id)
{
	return nss_lookup(name, 0, group, id);
}

/* Whether any NSS source (LDAP, SSSD, systemd's dynamic users...) answers id as a uid or a gid: 1, 0, or
 * -errno. */
static int nss_id_used(uint32_t id)
{
	uint32_t same;
	int r = nss_lookup(NULL, id, false, &same);

	return r != 0 ? r : nss_lookup(NULL, id, true, &same);
}

/* An id is taken by the store (users, private and managed groups) or by a local account file; this is the
 * same set store_preauth() sees, so the NSS pre-auth entry and the first login agree. Under nss_preauth an
 * id of the store is final for a user's uid, as it is for the pre-auth answer: sshd resolved the name when
 * the connection came in and keeps that uid, and another name's first login may have taken it since. */
static uint32_t id_taken(void *arg, uint32_t id)
{
	struct mctx *c = arg;
	uint32_t run = idmap_local_run(&c->local, id);
	int r;

	if (run > 0)
		return run;
	if (userstore_id_taken(c->us, id))
		return c->store_ids_final ? IDMAP_TAKEN_FINAL : 1;
	/* An id another NSS source answers (an AD user's, a systemd dynamic user's) is taken too; the
	 * pre-auth answer cannot ask other sources, so under nss_preauth it is final as well. A source that
	 * cannot be asked stops the assignment (fail closed, never guess). */
	if ((r = nss_id_used(id)) == 0)
		return 0;
	if (r < 0) {
		c->nss_error = r;
		return IDMAP_TAKEN_FINAL;
	}
	return c->store_ids_final ? IDMAP_TAKEN_FINAL : 1;
}

/* Whether a new user's uid is the one libnss_jwt answers before the first login (nss_preauth, no
 * uid_claim): then it must never differ from that answer. */
static bool preauth_promised(const struct userstore *us)
{
	return (us->flags & PJ_STORE_F_PREAUTH) && !(us->flags & PJ_STORE_F_UID_CLAIM);
}

/* The local ids and subordinate ranges: read from the files only when an id is to be assigned. */
static pj_status load_local(struct mctx *c, struct pj_error *err)
{
	int r;

	if (c->local_loaded)
		return PJ_OK;
	if ((r = idmap_local_load(passwd_path(c), group_path(c), c->us->uid_min, c->us->uid_max, &c->local)) <
	    0)
		return pj_fail(err, PJ_ERR_SYSTEM, "reading %s and %s: %s", passwd_path(c), group_path(c),
		               strerror(-r));
	c->local_loaded = true;
	return PJ_OK;
}

/* The local account names: from the cache while the files are unchanged (local_index.h). */
static pj_status load_names(struct mctx *c, struct pj_error *err)
{
	pj_status r;

	if (c->names_loaded)
		return PJ_OK;
	if ((r = local_index_open(c->dir, passwd_path(c), group_path(c), &c->names, err)) != PJ_OK)
		return r;
	c->names_loaded = true;
	return PJ_OK;
}

static void mctx_free(struct mctx *c)
{
	if (c->names_loaded)
		local_index_free(&c->names);
	idmap_local_free(&c->local);
	c->names_loaded = c->local_loaded = false;
}

/* Whether name is a user or group in the local account files, ignoring case. */
static pj_status local_name(struct mctx *c, const char *name, bool *taken, struct pj_error *err)
{
	pj_status r;

	if ((r = load_names(c, err)) != PJ_OK)
		return r;
	*taken = local_index_name(&c->names, name);
	return PJ_OK;
}

static pj_status assign_id(struct mctx *c, const char *what, const char *name, uint32_t *id,
                           struct pj_error *err)
{
	uint32_t probes;
	pj_status r;
	int a;

	if ((r = load_local(c, err)) != PJ_OK)
		return r;
	c->nss_error = 0;
	a = idmap_assign(c->us->id_salt, name, c->us->uid_min, c->us->uid_max, id_taken, c, id, &probes);
	if (c->nss_error != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "looking up id %u through NSS for %s %s: %s", *id, what,
		               name, strerror(-c->nss_error));
	if (a == -2) {
		pj_logf(
		    c->log, LOG_WARNING,
		    "refused: %s %s would get uid %u, which pam_jwt already gave to another user or group "
		    "(or another NSS source has); "
		    "with nss_preauth sshd may hold uid %u for this login since the connection came in, "
		    "so it is never probed past (pam-jwt user add %s --uid N assigns another)",
		    what, name, *id, *id, name);
		return pj_fail(err, PJ_ERR_USER, "uid %u for %s is taken (nss_preauth: no probing)", *id,
		               name);
	}
	if (a != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "no free id for %s %s in %u..%u", what, name,
		               c->us->uid_min, c->us->uid_max);
	if (probes > 0)
		pj_logf(c->log, LOG_NOTICE,
		        "id collision: %s %s hashes to %u, which is taken; gets %u after %u probes", what,
		        name, idmap_candidate(c->us->id_salt, name, c->us->uid_min, c->us->uid_max, 0), *id,
		        probes);
	return PJ_OK;
}

void mapping_sanitize_gecos(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t max = outlen > 0 ? outlen - 1 : 0, o = 0;
	bool cut = false;

	if (max > PJ_GECOS_MAX)
		max = PJ_GECOS_MAX;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch < 0x20 || ch == 0x7f || ch == ':' || ch == ',')
			continue;
		/* C1 controls, U+0080..U+009F (C2 80..C2 9F): U+009B is CSI to a terminal showing gecos */
		if (ch == 0xc2 && i + 1 < inlen && ((unsigned char)in[i + 1] & 0xe0) == 0x80) {
			i++;
			continue;
		}
		if (o == max) {
			cut = true;
			break;
		}
		out[o++] = (char)ch;
	}
	/* Cut inside a UTF-8 sequence: drop its continuation bytes and its lead byte. */
	while (cut && o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
		o--;
	if (cut && o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
		o--;
	if (outlen > 0)
		out[o] = '\0';
}

/* The uid libnss_jwt's pre-auth entry gives name from the store on disk, or UINT32_MAX for none. */
static uint32_t preauth_uid(const struct mctx *c, const char *name)
{
	const struct pj_view *v = c->view != NULL ? c->view : c->us->vp;
	char home[IDMAP_HOME_MAX];
	uint32_t uid = UINT32_MAX;
	struct pj_view own;

	if (c->view == NULL && !c->us->view_mode) { /* pam-jwt user add: the store as it is on disk */
		if (view_open(c->dir, &own) != 0)
			return UINT32_MAX;
		v = &own;
	}
	if (view_preauth(v, name, passwd_path(c), group_path(c), &uid, home, sizeof(home)) != 0)
		uid = UINT32_MAX;
	if (v == &own)
		view_close(&own);
	return uid;
}

/* A user name that another NSS source (LDAP, SSSD, systemd-homed...) resolves is not ours, as a name in
 * /etc/passwd is not: the token login would run as that account. And libnss_jwt's own answer in this process
 * (the stored entry, a pre-auth entry, or the uid it answered this process before: nss_jwt.c keeps it) must
 * be the uid the login gets: sshd resolves the user when the connection comes in and keeps that uid for the
 * session, whatever the store says by the time the token is checked. Only pam-jwt user add, which runs no
 * session, may give a name another uid than its pre-auth entry in the adding process. Nor may a group of
 * another source have the name, which is the private group's. */
static pj_status check_nss_user(const struct mctx *c, const char *name, uint32_t uid, struct pj_error *err)
{
	uint32_t nss_uid = 0, nss_gid;
	int r;

	/* the identity step asked NSS about this very name moments ago (pj_verify): one lookup per login */
	if (c->id != NULL && c->id->nss_asked && c->id->username != NULL &&
	    strcmp(c->id->username, name) == 0) {
		r = c->id->nss_found;
		nss_uid = c->id->nss_uid;
	} else {
		r = nss_id(name, false, &nss_uid);
	}

	if (r < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "looking up %s through NSS: %s", name, strerror(-r));
	if (r == 1 && nss_uid != uid && !(c->admin && nss_uid == preauth_uid(c, name))) {
		pj_logf(
		    c->log, LOG_WARNING,
		    "refused: NSS resolves %s to uid %u in this process, but pam_jwt's user has uid %u: an "
		    "account of another NSS source, or a pre-authentication answer (nss_preauth) given "
		    "before another login or pam-jwt user add changed the store; the session would run as "
		    "uid %u",
		    name, nss_uid, uid, nss_uid);
		return pj_fail(err, PJ_ERR_USER, "%s resolves to uid %u through NSS, not to pam_jwt's uid %u",
		               name, nss_uid, uid);
	}
	/* the user's private group has its name: a group of another source so called (LDAP, SSSD) would be
	 * the user's in every rule that names groups, sudo's %group first */
	if ((r = nss_id(name, true, &nss_gid)) < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "looking up group %s through NSS: %s", name, strerror(-r));
	if (r == 1 && nss_gid != uid) {
		pj_logf(
		    c->log, LOG_WARNING,
		    "refused: %s is the name of a group of another NSS source (gid %u), which its private "
		    "group would pass for",
		    name, nss_gid);
		return pj_fail(err, PJ_ERR_USER, "%s is a group of another NSS source (gid %u)", name,
		               nss_gid);
	}
	return PJ_OK;
}

/* A new user's name: the name rules, not a local account, not a stored user or group, ignoring case: the
 * name is its private group's too, and sudo would take "admins" for a managed group "Admins". */
static pj_status check_new_name(struct mctx *c, const char *name, struct pj_error *err)
{
	bool local;
	pj_status r;

	if (!idmap_username_ok(name))
		return pj_fail(err, PJ_ERR_USER,
		               "username %.64s is not allowed (^[a-z_][a-z0-9_.-]*$, at most %d, "
		               "not all digits, not root)",
		               name, IDMAP_NAME_MAX);
	if ((r = local_name(c, name, &local, err)) != PJ_OK)
		return r;
	if (local)
		return pj_fail(err, PJ_ERR_USER, "%s is a local account or group (%s, %s)", name,
		               passwd_path(c), group_path(c));
	if (userstore_user(c->us, name) != NULL)
		return pj_fail(err, PJ_ERR_USER, "user %s already exists", name);
	if (userstore_group(c->us, name) != NULL)
		return pj_fail(err, PJ_ERR_USER, "%s is the name of a managed group", name);
	if (userstore_name_taken_nocase(c->us, name))
		return pj_fail(err, PJ_ERR_USER,
		               "%s is the name of a stored user or managed group but for case (sudo matches "
		               "names ignoring case)",
		               name);
	return PJ_OK;
}

/* A uid chosen from outside (uid_claim, pam-jwt user add --uid): within range and free. */
static pj_status check_given_uid(struct mctx *c, const char *name, int64_t uid, struct pj_error *err)
{
	uint32_t taken;
	pj_status r;

	if ((r = load_local(c, err)) != PJ_OK)
		return r;
	if (uid < 0 || uid > UINT32_MAX || !idmap_id_allowed((uint32_t)uid, c->us->uid_min, c->us->uid_max))
		return pj_fail(err, PJ_ERR_USER, "uid %lld for %s is outside %u..%u", (long long)uid, name,
		               c->us->uid_min, c->us->uid_max);
	c->nss_error = 0;
	taken = id_taken(c, (uint32_t)uid);
	if (c->nss_error != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "looking up uid %lld through NSS for %s: %s",
		               (long long)uid, name, strerror(-c->nss_error));
	if (taken)
		return pj_fail(err, PJ_ERR_USER, "uid %lld for %s is already taken", (long long)uid, name);
	return PJ_OK;
}

static pj_status new_user(struct mctx *c, const char *name, int64_t uid, const char *gecos, const char *iss,
                          const char *sub, time_t now, struct us_user **out, struct pj_error *err)
{
	char home[IDMAP_HOME_MAX];
	uint32_t id;
	pj_status r;

	if ((r = check_new_name(c, name, err)) != PJ_OK)
		return r;
	if (uid != 0) {
		if ((r = check_given_uid(c, name, uid, err)) != PJ_OK)
			return r;
		id = (uint32_t)uid;
	} else {
		c->store_ids_final = preauth_promised(c->us);
		r = assign_id(c, "user", name, &id, err);
		c->store_ids_final = false;
		if (r != PJ_OK)
			return r;
	}
	if ((r = check_nss_user(c, name, id, err)) != PJ_OK)
		return r;
	if (idmap_home(c->us->home_template, name, home, sizeof(home)) != 0)
		return pj_fail(err, PJ_ERR_CONFIG, "home_template %.64s does not expand for %s",
		               c->us->home_template, name);
	if ((r = userstore_add_user(c->us, name, id, gecos, home, c->us->shell, iss, sub, now, out, err)) !=
	    PJ_OK)
		return r;
	pj_logf(c->log, LOG_INFO, "new user %s: uid %u, home %s", name, id, home);
	return PJ_OK;
}

pj_status mapping_add_user(struct userstore *us, const char *name, uint32_t uid, const char *gecos,
                           time_t now, const struct pj_log *log, const struct pj_local_files *files,
                           struct us_user **out, struct pj_error *err)
{
	struct mctx c = {.us = us, .dir = us->dir, .log = log, .files = files, .admin = true};
	char clean[PJ_GECOS_MAX + 1];
	pj_status r;

	mapping_sanitize_gecos(gecos ? gecos : "", gecos ? strlen(gecos) : 0, clean, sizeof(clean));
	r = new_user(&c, name, uid, clean, NULL, NULL, now, out, err);
	mctx_free(&c);
	return r;
}

/* The uid from issuer->uid_claim: 0 when none is configured, else a JSON integer in range (checked later). */
static pj_status claim_uid(const struct pj_identity *id, int64_t *uid, struct pj_error *err)
{
	const char *path = id->issuer->uid_claim;
	json_object *v;

	*uid = 0;
	if (path == NULL)
		return PJ_OK;
	if ((v = identity_claim_path(id->claims, path)) == NULL)
		return pj_fail(err, PJ_ERR_USER, "no %s claim for the uid (uid_claim is set)", path);
	if (json_object_get_type(v) != json_type_int)
		return pj_fail(err, PJ_ERR_USER, "uid claim %s is not an integer", path);
	*uid = json_object_get_int64(v);
	if (*uid <= 0)
		return pj_fail(err, PJ_ERR_USER, "uid claim %s is %lld: never uid 0 or below", path,
		               (long long)*uid);
	return PJ_OK;
}

static bool group_allowed(const struct pj_issuer *is, const char *group)
{
	if (is->n_groups_allow == 0)
		return true;
	for (size_t i = 0; i < is->n_groups_allow; i++) {
		if (fnmatch(is->groups_allow[i], group, 0) == 0)
			return true;
	}
	return false;
}

/* group_map: the gid of an existing local group, never gid 0. *gid = 0 means skipped (logged). */
static pj_status mapped_gid(struct mctx *c, const char *user, const struct pj_group_map *m, uint32_t *gid,
                            struct pj_error *err)
{
	pj_status r;

	if ((r = load_names(c, err)) != PJ_OK)
		return r;
	if (!local_index_group(&c->names, m->local_group, gid)) {
		pj_logf(c->log, LOG_WARNING, "group_map %s:%s: no local group %s; %s not added", m->idp_group,
		        m->local_group, m->local_group, user);
		*gid = 0;
	} else if (*gid == 0) {
		pj_logf(c->log, LOG_ERR, "group_map %s:%s: refused, %s has gid 0; %s not added", m->idp_group,
		        m->local_group, m->local_group, user);
	}
	return PJ_OK;
}

/* A stored managed group (not a user's private group) called name: true with its gid. */
static bool stored_group(const struct mctx *c, const char *name, uint32_t *gid)
{
	struct pj_group_ref ref;
	const struct us_group *g;

	if (c->view != NULL) {
		if (!view_group_by_name(c->view, name, &ref) || (ref.g->flags & PJ_STORE_G_PRIVATE))
			return false;
		*gid = ref.g->gid;
		return true;
	}
	if ((g = userstore_group(c->us, name)) == NULL)
		return false;
	*gid = g->gid;
	return true;
}

/* Whether no other NSS source (LDAP, SSSD...) has a group called name, but for our own entry (gid; 0 for a
 * group not stored yet): sudo and others match groups by name. Logs when it is not. A lookup that fails (a
 * source that cannot answer now, no memory) fails the login, as check_nss_user does: skipping the group
 * would drop the user's membership from the store for a passing error. */
static pj_status nss_group_ours(const struct mctx *c, const char *name, uint32_t gid, bool *ours,
                                struct pj_error *err)
{
	uint32_t nss_gid;
	int k = nss_id(name, true, &nss_gid);

	if (k < 0)
		return pj_fail(err, k == -ENOMEM ? PJ_ERR_NOMEM : PJ_ERR_SYSTEM,
		               "looking up group %s through NSS: %s", name, strerror(-k));
	*ours = k == 0 || (gid != 0 && nss_gid == gid);
	if (!*ours)
		pj_logf(c->log, LOG_NOTICE,
		        "IdP group %s skipped: a group of another NSS source has the name", name);
	return PJ_OK;
}

/* A managed group for IdP group idp: its gid, created if needed. *gid = 0 means skipped (logged). On the
 * store on disk (c->view), a group to create sets c->need_write instead. */
static pj_status managed_gid(struct mctx *c, const struct pj_issuer *is, const char *idp, uint32_t *gid,
                             struct pj_error *err)
{
	const char *prefix = is->group_prefix ? is->group_prefix : "";
	char name[IDMAP_NAME_MAX + 1];
	bool local, stored, ours = false;
	pj_status r;

	*gid = 0;
	if (strlen(prefix) + strlen(idp) > IDMAP_NAME_MAX ||
	    !idmap_groupname_ok(strcat(strcpy(name, prefix), idp))) {
		pj_logf(c->log, LOG_NOTICE, "IdP group %.64s%.64s skipped: not a usable group name", prefix,
		        idp);
		return PJ_OK;
	}
	if ((r = local_name(c, name, &local, err)) != PJ_OK)
		return r;
	stored = !local && stored_group(c, name, gid);
	if (!local && !stored && c->view != NULL) {
		c->need_write = true;
		return PJ_OK;
	}
	if (local || (!stored && userstore_name_taken_nocase(c->us, name))) {
		pj_logf(c->log, LOG_NOTICE,
		        "IdP group %s skipped: the name (ignoring case) belongs to a %s user or group", name,
		        local ? "local" : "pam_jwt");
		return PJ_OK;
	}
	if ((r = nss_group_ours(c, name, *gid, &ours, err)) != PJ_OK)
		return r;
	if (!ours) {
		*gid = 0;
		return PJ_OK;
	}
	if (stored)
		return PJ_OK;
	if ((r = assign_id(c, "group", name, gid, err)) != PJ_OK ||
	    (r = userstore_add_group(c->us, name, *gid, err)) != PJ_OK)
		return r;
	pj_logf(c->log, LOG_INFO, "new group %s: gid %u", name, *gid);
	return PJ_OK;
}

/* The supplementary gids the token names now for user (sorted, unique; *gids malloc'd). On the store on
 * disk it stops early once c->need_write is set. */
static pj_status token_gids(struct mctx *c, const struct pj_identity *id, const char *user, uint32_t **gids,
                            size_t *n, struct pj_error *err)
{
	const struct pj_issuer *is = id->issuer;
	uint32_t gid;
	pj_status r = PJ_OK;

	*gids = NULL;
	*n = 0;
	if (id->n_groups > PJ_GROUPS_MAX)
		return pj_fail(err, PJ_ERR_USER, "%zu groups, more than %d", id->n_groups, PJ_GROUPS_MAX);
	if (id->n_groups == 0)
		return PJ_OK;
	/* each group gives at most one gid per group_map entry, or its managed one */
	if ((*gids = calloc(id->n_groups * (1 + is->n_group_map), sizeof(**gids))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < id->n_groups && r == PJ_OK && !c->need_write; i++) {
		const char *g = id->groups[i];
		bool mapped = false;
		for (size_t k = 0; k < is->n_group_map && r == PJ_OK; k++) {
			if (strcmp(is->group_map[k].idp_group, g) != 0)
				continue;
			mapped = true;
			if ((r = mapped_gid(c, user, &is->group_map[k], &gid, err)) == PJ_OK && gid != 0)
				(*gids)[(*n)++] = gid;
		}
		/* a group named in group_map stands for its local group(s) only, never a managed one too */
		if (r == PJ_OK && !mapped && group_allowed(is, g) &&
		    (r = managed_gid(c, is, g, &gid, err)) == PJ_OK && gid != 0)
			(*gids)[(*n)++] = gid;
	}
	if (r != PJ_OK) {
		free(*gids);
		*gids = NULL;
		*n = 0;
		return r;
	}
	*n = userstore_sort_gids(*gids, *n);
	return PJ_OK;
}

/* Replaces u's supplementary groups with those the token names now. */
static pj_status map_groups(struct mctx *c, const struct pj_identity *id, struct us_user *u,
                            struct pj_error *err)
{
	uint32_t *gids;
	size_t n;
	pj_status r;

	if ((r = token_gids(c, id, u->name, &gids, &n, err)) != PJ_OK)
		return r;
	r = userstore_set_gids(u, gids, n, err);
	free(gids);
	return r;
}

/* The identity strings that must be there and fit the store. */
static pj_status check_identity(const struct pj_identity *id, struct pj_error *err)
{
	if (id->issuer == NULL || id->iss == NULL || id->sub == NULL || id->username == NULL ||
	    id->claims == NULL)
		return pj_fail(err, PJ_ERR_USER,
		               "identity incomplete (issuer, iss, sub, username and claims needed)");
	if (id->iss[0] == '\0' || id->sub[0] == '\0')
		return pj_fail(err, PJ_ERR_USER, "empty iss or sub cannot be bound");
	if (strlen(id->iss) > PJ_STORE_MAX_STRING || strlen(id->sub) > PJ_STORE_MAX_STRING)
		return pj_fail(err, PJ_ERR_USER, "iss or sub longer than %u bytes", PJ_STORE_MAX_STRING);
	return PJ_OK;
}

/* A token's username: the name rules, and no local account or group (ignoring case). */
static pj_status check_username(struct mctx *c, const char *name, struct pj_error *err)
{
	bool local;
	pj_status r;

	if (!idmap_username_ok(name))
		return pj_fail(err, PJ_ERR_USER, "username %.64s is not allowed", name);
	if ((r = local_name(c, name, &local, err)) != PJ_OK)
		return r;
	if (local)
		return pj_fail(err, PJ_ERR_USER, "%s is a local account or group: not managed by pam_jwt",
		               name);
	return PJ_OK;
}

/* A user bound to (iss, sub), other than the token's identity: refused and logged with both. */
static pj_status refuse_binding(const struct mctx *c, const char *name, const char *iss, const char *sub,
                                const struct pj_identity *id, struct pj_error *err)
{
	pj_logf(
	    c->log, LOG_WARNING,
	    "refused: user %s is bound to iss=%.200s sub=%.200s, not to the token's iss=%.200s sub=%.200s "
	    "(pam-jwt user unbind %s releases it)",
	    name, iss, sub, id->iss, id->sub, name);
	return pj_fail(err, PJ_ERR_USER, "user %s is bound to another identity", name);
}

/* An existing user: same (iss, sub) or unbound (then bound now), same uid when uid_claim is used. */
static pj_status check_binding(struct mctx *c, const struct pj_identity *id, struct us_user *u, int64_t uid,
                               struct pj_error *err)
{
	pj_status r;

	if (u->iss[0] != '\0' && (strcmp(u->iss, id->iss) != 0 || strcmp(u->sub, id->sub) != 0)) {
		return refuse_binding(c, u->name, u->iss, u->sub, id, err);
	}
	if (uid != 0 && uid != u->uid)
		return pj_fail(err, PJ_ERR_USER, "uid claim %lld differs from %s's uid %u", (long long)uid,
		               u->name, u->uid);
	if (u->iss[0] == '\0') {
		if ((r = userstore_set_string(&u->iss, id->iss, err)) != PJ_OK ||
		    (r = userstore_set_string(&u->sub, id->sub, err)) != PJ_OK)
			return r;
		pj_logf(c->log, LOG_NOTICE, "user %s bound to iss=%.200s sub=%.200s", u->name, id->iss,
		        id->sub);
	}
	return PJ_OK;
}

static pj_status record(struct mctx *c, const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                        struct pj_error *err)
{
	char gecos[PJ_GECOS_MAX + 1] = "";
	const char *name;
	struct us_user *u;
	size_t len;
	int64_t uid;
	pj_status r;

	if ((r = userstore_set_params(c->us, cfg, err)) != PJ_OK || (r = claim_uid(id, &uid, err)) != PJ_OK)
		return r;
	if (json_get_string(id->claims, "name", &name, &len) == JSON_GET_OK)
		mapping_sanitize_gecos(name, len, gecos, sizeof(gecos));
	if ((r = check_username(c, id->username, err)) != PJ_OK)
		return r;
	if ((u = userstore_user(c->us, id->username)) != NULL) {
		if ((r = check_binding(c, id, u, uid, err)) == PJ_OK)
			r = check_nss_user(c, u->name, u->uid, err);
	} else
		r = new_user(c, id->username, uid, gecos, id->iss, id->sub, now, &u, err);
	if (r != PJ_OK || (r = userstore_set_string(&u->gecos, gecos, err)) != PJ_OK ||
	    (r = map_groups(c, id, u, err)) != PJ_OK)
		return r;
	u->last_login = now;
	return userstore_commit(c->us, now, err);
}

/* The store as readers see it, kept between the logins of this process (a long-lived PAM client, one
 * handle) while its files are unchanged: validating a base is O(n), so only a changed file is read again
 * (view_refresh). Guarded by its lock, held for a whole mapping_record_login or mapping_acct_check. */
static struct {
	pthread_mutex_t lock;
	struct pj_view view;
	char dir[PATH_MAX];
} cached = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Brings the cached view up to date for dir. Called with cached.lock held. */
/* After this process validated users.db whole, records it in users.checked (root only: the file carries
 * trust), so that the next fresh process on the host (the next SSH connection, every NSS client) opens this
 * version of the store in O(1) instead of validating it again (store_format.h). Once per store version; a
 * failure only costs the next process the whole validation, so it is not an error of the login. */
static void mark_checked(const char *dir, struct pj_store *base)
{
	struct pj_store_checked rec;
	struct pj_error ignored;
	char path[PATH_MAX];

	if (!base->checked_whole || geteuid() != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, PJ_STORE_CHECKED_FILE) >= sizeof(path))
		return;
	store_checked_record(base, &rec);
	(void)atomic_write_file(path, &rec, sizeof(rec), 0644, &ignored);
	base->checked_whole = false;
}

static int cached_refresh(const char *dir)
{
	int r;

	if (strcmp(cached.dir, dir) != 0) {
		view_close(&cached.view);
		if (strlen(dir) >= sizeof(cached.dir))
			return -ENAMETOOLONG;
		strcpy(cached.dir, dir);
	}
	if ((r = view_refresh(dir, &cached.view)) == 0)
		mark_checked(dir, &cached.view.base);
	return r;
}

void mapping_unload(void)
{
	pthread_mutex_lock(&cached.lock);
	view_close(&cached.view);
	cached.dir[0] = '\0';
	pthread_mutex_unlock(&cached.lock);
}

/* Whether the stored entry u already says what this login would write: bound to the token's identity, the
 * same gecos and groups, a last-login slot, and a header with the configuration's parameters. Sets
 * c->need_write when not. Refusals are left to the writing path, which gives and logs them. */
static pj_status entry_current(struct mctx *c, const struct pj_config *cfg, const struct pj_identity *id,
                               const struct pj_user_ref *ref, struct pj_error *err)
{
	const struct pj_store *st = ref->st;
	const struct pj_store_user *u = ref->u;
	char gecos[PJ_GECOS_MAX + 1] = "";
	const uint32_t *stored;
	struct us_params p;
	uint32_t *gids = NULL;
	const char *name;
	size_t len, n, n_stored;
	int64_t uid;
	bool local;
	pj_status r;

	c->need_write = true;
	if (userstore_params(cfg, &p, err) != PJ_OK || !userstore_params_same(view_top(c->view), &p) ||
	    claim_uid(id, &uid, err) != PJ_OK || (uid != 0 && uid != u->uid) || u->slot == 0 ||
	    strcmp(store_str(st, u->iss), id->iss) != 0 || strcmp(store_str(st, u->sub), id->sub) != 0)
		return PJ_OK;
	if (json_get_string(id->claims, "name", &name, &len) == JSON_GET_OK)
		mapping_sanitize_gecos(name, len, gecos, sizeof(gecos));
	if (strcmp(store_str(st, u->gecos), gecos) != 0)
		return PJ_OK;
	if ((r = local_name(c, id->username, &local, err)) != PJ_OK || local)
		return r;
	c->need_write = false;
	if ((r = check_nss_user(c, id->username, u->uid, err)) != PJ_OK ||
	    (r = token_gids(c, id, id->username, &gids, &n, err)) != PJ_OK)
		return r;
	stored = store_user_gids(st, u, &n_stored);
	if (n != n_stored || (n > 0 && memcmp(gids, stored, n * sizeof(*gids)) != 0))
		c->need_write = true;
	free(gids);
	return PJ_OK;
}

/* A returning login whose entry is unchanged writes nothing to the store: its time goes to the last-login
 * file (last_login.h). *done says whether it was one; when not, the caller takes the writing path. */
static pj_status record_returning(struct mctx *c, const struct pj_config *cfg, const struct pj_identity *id,
                                  time_t now, bool *done, struct pj_error *err)
{
	struct pj_view *v = &cached.view;
	struct pj_user_ref u;
	struct pj_error ignored;
	pj_status r = PJ_OK;
	int e;

	*done = false;
	if (cached_refresh(c->dir) != 0) /* the writing path reports why */
		return PJ_OK;
	c->view = v;
	if (view_user_by_name(v, id->username, &u) && (r = entry_current(c, cfg, id, &u, err)) == PJ_OK &&
	    !c->need_write) {
		/* the entry may be a record still being synced by its writer: this login must not succeed on
		 * it before it is durable; if it cannot be made so, the writing path takes over. An untrusted
		 * users.last is refused as users.db would be; other trouble: the store takes it. */
		if (userstore_durable(c->dir, v, u.level, &ignored) != PJ_OK)
			e = -EAGAIN;
		else if ((e = last_login_put(c->dir, u.u->slot, u.u->uid, u.u->created, now)) == -EPERM)
			r = pj_fail(err, PJ_ERR_CONFIG, "%s/%s: not trusted", c->dir, PJ_LAST_FILE);
		*done = e == 0;
	}
	c->view = NULL;
	c->need_write = false;
	return r;
}

/* mapping_check_login, with cached.lock held: the name rules and what the store on disk says, read-only. */
static pj_status check_login(struct mctx *c, const struct pj_identity *id, bool must_exist,
                             struct pj_error *err)
{
	struct pj_user_ref ref;
	struct pj_group_ref gref;
	const char *iss, *sub;
	int64_t uid;
	pj_status r;
	int e;

	if ((r = check_identity(id, err)) != PJ_OK || (r = claim_uid(id, &uid, err)) != PJ_OK)
		return r;
	if ((r = check_username(c, id->username, err)) != PJ_OK)
		return r;
	if ((e = cached_refresh(c->dir)) < 0 && !(e == -ENOENT && !must_exist))
		return pj_fail(err, e == -EPERM ? PJ_ERR_CONFIG : PJ_ERR_SYSTEM, "%s/%s: %s", c->dir,
		               PJ_STORE_FILE,
		               e == -EPERM    ? "not trusted"
		               : e == -EINVAL ? "damaged"
		                              : strerror(-e));
	if (e < 0 || !view_user_by_name(&cached.view, id->username, &ref)) {
		if (must_exist)
			return pj_fail(
			    err, PJ_ERR_USER,
			    "%s is not in the user store, and this process (uid %u) is not root, so "
			    "it records no new user: the first login must go through a service that "
			    "runs as root (sshd, su, sudo)",
			    id->username, (unsigned)geteuid());
		if (e == 0 && view_group_by_name(&cached.view, id->username, &gref))
			return pj_fail(err, PJ_ERR_USER, "%s is the name of a managed group", id->username);
		return check_nss_user(c, id->username, 0, err);
	}
	iss = store_str(ref.st, ref.u->iss);
	sub = store_str(ref.st, ref.u->sub);
	if (iss[0] != '\0' && (strcmp(iss, id->iss) != 0 || strcmp(sub, id->sub) != 0)) {
		return refuse_binding(c, id->username, iss, sub, id, err);
	}
	if (iss[0] == '\0' && must_exist)
		return pj_fail(
		    err, PJ_ERR_USER,
		    "user %s is not bound to an identity yet, and this process (uid %u) is not root, "
		    "so it binds none",
		    id->username, (unsigned)geteuid());
	if (uid != 0 && uid != ref.u->uid)
		return pj_fail(err, PJ_ERR_USER, "uid claim %lld differs from %s's uid %u", (long long)uid,
		               id->username, ref.u->uid);
	return check_nss_user(c, id->username, ref.u->uid, err);
}

pj_status mapping_check_login(const struct pj_config *cfg, const struct pj_identity *id, bool must_exist,
                              const struct pj_log *log, const struct pj_local_files *files,
                              struct pj_error *err)
{
	struct mctx c = {
	    .dir = cfg->state_dir ? cfg->state_dir : PJ_DEFAULT_STATE_DIR, .log = log, .files = files};
	pj_status r;

	pthread_mutex_lock(&cached.lock);
	r = check_login(&c, id, must_exist, err);
	pthread_mutex_unlock(&cached.lock);
	mctx_free(&c);
	return r;
}

pj_status mapping_record_login_files(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                                     const struct pj_log *log, const struct pj_local_files *files,
                                     struct pj_error *err)
{
	struct mctx c = {.id = id,
	                 .dir = cfg->state_dir ? cfg->state_dir : PJ_DEFAULT_STATE_DIR,
	                 .log = log,
	                 .files = files};
	bool done;
	pj_status r;

	/* Not root (a screen locker, su to oneself): the store and its lock are root's. Check read-only that
	 * the user exists and is bound to this identity, and write nothing. */
	if (geteuid() != 0) {
		if ((r = mapping_check_login(cfg, id, true, log, files, err)) == PJ_OK)
			pj_logf(log, LOG_INFO,
			        "%s: checked read-only (this process, uid %u, is not root): nothing recorded",
			        id->username, (unsigned)geteuid());
		return r;
	}
	if ((r = check_identity(id, err)) != PJ_OK)
		return r;
	pthread_mutex_lock(&cached.lock);
	if ((r = record_returning(&c, cfg, id, now, &done, err)) == PJ_OK && !done &&
	    (r = userstore_open_view(c.dir, &cached.view, &c.us, err)) == PJ_OK) {
		r = record(&c, cfg, id, now, err);
		userstore_close(c.us);
	}
	pthread_mutex_unlock(&cached.lock);
	mctx_free(&c);
	/* what the account step checks the service's rules against, for logins without a token */
	if (r == PJ_OK)
		r = login_record_put(cfg, id, err);
	return r;
}

pj_status mapping_record_login(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                               const struct pj_log *log, struct pj_error *err)
{
	return mapping_record_login_files(cfg, id, now, log, NULL, err);
}

/* mapping_acct_check, with cached.lock held. */
static pj_status acct_check(const struct pj_config *cfg, const char *dir, struct pj_view *v, const char *user,
                            time_t now, enum pj_acct *result, struct pj_error *err)
{
	struct pj_user_ref ref;
	int e;

	if ((e = cached_refresh(dir)) == 0 && v->base.hdr == NULL)
		return PJ_OK;
	if (e == -EPERM)
		return pj_fail(err, PJ_ERR_CONFIG, "%s/%s: not trusted", dir, PJ_STORE_FILE);
	if (e < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s/%s: %s", dir, PJ_STORE_FILE,
		               e == -EINVAL ? "damaged" : strerror(-e));
	if (view_user_by_name(v, user, &ref)) {
		const struct pj_store_user *u = ref.u;
		int64_t last = u->last_login;
		struct pj_last lf;
		if (last_login_open(dir, &lf) == 0) {
			int64_t later = last_login_get(&lf, u->slot, u->uid, u->created);
			if (later > last)
				last = later;
			last_login_close(&lf);
		}
		uint32_t nss_uid = (uint32_t)-1; /* set by nss_id when it returns 1, and read only then */
		int k;
		/* an unreadable last-login file counts the store's time: expiring early is the safe side */
		if (cfg->account_max_age > 0 && (last == 0 || now - last > cfg->account_max_age))
			*result = PJ_ACCT_EXPIRED;
		else
			*result = PJ_ACCT_OK;
		/* The uid this process (sshd's monitor) holds for the user must be the store's, whatever the
		 * login method: libnss_jwt keeps the uid it answered before the login (nss_jwt.c). */
		if (*result == PJ_ACCT_OK && (k = nss_id(user, false, &nss_uid)) != 0 &&
		    (k < 0 || nss_uid != u->uid))
			*result = PJ_ACCT_UID_MISMATCH;
	}
	return PJ_OK;
}

pj_status mapping_acct_check(const struct pj_config *cfg, const char *user, time_t now, enum pj_acct *result,
                             struct pj_error *err)
{
	const char *dir = cfg->state_dir ? cfg->state_dir : PJ_DEFAULT_STATE_DIR;
	pj_status r;

	*result = PJ_ACCT_NOT_OURS;
	pthread_mutex_lock(&cached.lock);
	r = acct_check(cfg, dir, &cached.view, user, now, result, err);
	pthread_mutex_unlock(&cached.lock);
	return r;
}
