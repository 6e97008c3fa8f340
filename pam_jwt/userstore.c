/* userstore.c: the writer side of the user store (see userstore.h and store_format.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "store/idmap.h"
#include "store/last_login.h"
#include "store/store_format.h"
#include "store/store_read.h"
#include "trusted_file.h"
#include "userstore.h"
#include "store/analyzer.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static pj_status nomem(struct pj_error *err)
{
	return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
}

pj_status userstore_set_string(char **field, const char *value, struct pj_error *err)
{
	char *copy = strdup(value ? value : "");

	if (copy == NULL)
		return nomem(err);
	free(*field);
	*field = copy;
	return PJ_OK;
}

size_t userstore_sort_gids(uint32_t *gids, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(gids, n, sizeof(*gids), idmap_cmp_id);
	for (size_t i = 0; i < n; i++) {
		if (k == 0 || gids[k - 1] != gids[i])
			gids[k++] = gids[i];
	}
	return k;
}

pj_status userstore_set_gids(struct us_user *u, const uint32_t *gids, size_t n, struct pj_error *err)
{
	uint32_t *copy = NULL;
	size_t k = 0;

	if (n > 0) {
		if ((copy = malloc(n * sizeof(*copy))) == NULL)
			return nomem(err);
		memcpy(copy, gids, n * sizeof(*copy));
		k = userstore_sort_gids(copy, n);
	}
	free(u->gids);
	u->gids = copy;
	u->n_gids = k;
	return PJ_OK;
}

static void free_user(struct us_user *u)
{
	free(u->name);
	free(u->gecos);
	free(u->home);
	free(u->shell);
	free(u->iss);
	free(u->sub);
	free(u->gids);
	memset(u, 0, sizeof(*u));
}

void userstore_close(struct userstore *us)
{
	if (us == NULL)
		return;
	for (size_t i = 0; i < us->n_users; i++)
		free_user(&us->users[i]);
	for (size_t i = 0; i < us->n_groups; i++)
		free(us->groups[i].name);
	free(us->users);
	free(us->groups);
	free(us->home_template);
	free(us->id_salt);
	free(us->preauth_programs);
	free(us->shell);
	free(us->dir);
	if (us->vp == &us->view)
		view_close(&us->view);
	if (us->lock_fd >= 0)
		close(us->lock_fd); /* releases the flock */
	free(us);
}

static struct us_user *pending_user(const struct userstore *us, const char *name)
{
	for (size_t i = 0; i < us->n_users; i++) {
		if (strcmp(us->users[i].name, name) == 0)
			return &us->users[i];
	}
	return NULL;
}

static pj_status copy_user(struct userstore *us, const struct pj_store *st, const struct pj_store_user *su,
                           struct us_user **out, struct pj_error *err);

/* View mode: a user of the store on disk, copied among the pending users (it is written back if changed,
 * and a login always changes it). */
static struct us_user *view_user(struct userstore *us, const struct pj_user_ref *ref)
{
	struct pj_error ignored;
	struct us_user *u;

	if (copy_user(us, ref->st, ref->u, &u, &ignored) == PJ_OK)
		return u;
	us->lookup_failed = true;
	return NULL;
}

struct us_user *userstore_user(struct userstore *us, const char *name)
{
	struct us_user *u = pending_user(us, name);
	struct pj_user_ref ref;

	if (u == NULL && us->view_mode && view_user_by_name(us->vp, name, &ref))
		u = view_user(us, &ref);
	return u;
}

struct us_user *userstore_user_by_uid(struct userstore *us, uint32_t uid)
{
	struct pj_user_ref ref;

	for (size_t i = 0; i < us->n_users; i++) {
		if (us->users[i].uid == uid)
			return &us->users[i];
	}
	if (us->view_mode && view_user_by_uid(us->vp, uid, &ref) &&
	    pending_user(us, store_str(ref.st, ref.u->name)) == NULL)
		return view_user(us, &ref);
	return NULL;
}

/* View mode: a managed group of the store on disk, kept among the groups as stored (not written again). */
static struct us_group *view_group(struct userstore *us, const struct pj_group_ref *ref)
{
	struct pj_error ignored;

	if (ref->g->flags & PJ_STORE_G_PRIVATE)
		return NULL;
	if (userstore_add_group(us, store_str(ref->st, ref->g->name), ref->g->gid, &ignored) != PJ_OK) {
		us->lookup_failed = true;
		return NULL;
	}
	us->groups[us->n_groups - 1].stored = true;
	return &us->groups[us->n_groups - 1];
}

struct us_group *userstore_group(struct userstore *us, const char *name)
{
	struct pj_group_ref ref;

	for (size_t i = 0; i < us->n_groups; i++) {
		if (strcmp(us->groups[i].name, name) == 0)
			return &us->groups[i];
	}
	if (us->view_mode && view_group_by_name(us->vp, name, &ref))
		return view_group(us, &ref);
	return NULL;
}

struct us_group *userstore_group_by_gid(struct userstore *us, uint32_t gid)
{
	struct pj_group_ref ref;

	for (size_t i = 0; i < us->n_groups; i++) {
		if (us->groups[i].gid == gid)
			return &us->groups[i];
	}
	if (us->view_mode && view_group_by_gid(us->vp, gid, &ref))
		return view_group(us, &ref);
	return NULL;
}

bool userstore_id_taken(const struct userstore *us, uint32_t id)
{
	for (size_t i = 0; i < us->n_users; i++) {
		if (us->users[i].uid == id)
			return true;
	}
	for (size_t i = 0; i < us->n_groups; i++) {
		if (us->groups[i].gid == id)
			return true;
	}
	return us->view_mode && view_id_taken(us->vp, id);
}

bool userstore_name_taken_nocase(const struct userstore *us, const char *name)
{
	char lower[IDMAP_NAME_MAX + 1];
	struct pj_user_ref ref;
	size_t i;

	for (i = 0; i < us->n_users; i++) {
		if (strcasecmp(us->users[i].name, name) == 0)
			return true;
	}
	for (i = 0; i < us->n_groups; i++) {
		if (strcasecmp(us->groups[i].name, name) == 0)
			return true;
	}
	if (!us->view_mode)
		return false;
	/* users (and so their private groups) are lower case: one lookup */
	for (i = 0; i < IDMAP_NAME_MAX && name[i] != '\0'; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	lower[i] = '\0';
	if (view_user_by_name(us->vp, lower, &ref))
		return true;
	/* managed groups may have capitals: a walk of every image's managed groups (a name shadowed in a
	 * newer image is there too, so no shadow checks), without a string compare for private groups */
	for (uint32_t k = 0; k <= us->vp->n_deltas; k++) {
		const struct pj_store *st = k == 0 ? &us->vp->base : &us->vp->deltas[k - 1];
		for (uint32_t g = 0; st->hdr != NULL && g < st->hdr->n_groups; g++) {
			if (!(st->groups[g].flags & PJ_STORE_G_PRIVATE) &&
			    strcasecmp(store_str(st, st->groups[g].name), name) == 0)
				return true;
		}
	}
	return false;
}

pj_status userstore_add_user(struct userstore *us, const char *name, uint32_t uid, const char *gecos,
                             const char *home, const char *shell, const char *iss, const char *sub,
                             int64_t created, struct us_user **out, struct pj_error *err)
{
	struct us_user *u;
	pj_status r;

	if (us->n_users >= PJ_STORE_MAX_USERS)
		return pj_fail(err, PJ_ERR_SYSTEM, "user store is full (%u users)", PJ_STORE_MAX_USERS);
	if (us->n_users == us->cap_users) {
		size_t ncap = us->cap_users ? us->cap_users * 2 : 16;
		struct us_user *n = realloc(us->users, ncap * sizeof(*n));
		if (n == NULL)
			return nomem(err);
		us->users = n;
		us->cap_users = ncap;
	}
	u = &us->users[us->n_users];
	memset(u, 0, sizeof(*u));
	u->uid = uid;
	u->slot = us->next_slot < UINT32_MAX ? us->next_slot++ : 0;
	u->created = created;
	if ((r = userstore_set_string(&u->name, name, err)) != PJ_OK ||
	    (r = userstore_set_string(&u->gecos, gecos, err)) != PJ_OK ||
	    (r = userstore_set_string(&u->home, home, err)) != PJ_OK ||
	    (r = userstore_set_string(&u->shell, shell, err)) != PJ_OK ||
	    (r = userstore_set_string(&u->iss, iss, err)) != PJ_OK ||
	    (r = userstore_set_string(&u->sub, sub, err)) != PJ_OK) {
		free_user(u);
		return r;
	}
	us->n_users++;
	if (out != NULL)
		*out = u;
	return PJ_OK;
}

pj_status userstore_add_group(struct userstore *us, const char *name, uint32_t gid, struct pj_error *err)
{
	char *copy;

	if (us->n_users + us->n_groups >= PJ_STORE_MAX_GROUPS)
		return pj_fail(err, PJ_ERR_SYSTEM, "user store is full (%u groups)", PJ_STORE_MAX_GROUPS);
	if (us->n_groups == us->cap_groups) {
		size_t ncap = us->cap_groups ? us->cap_groups * 2 : 16;
		struct us_group *n = realloc(us->groups, ncap * sizeof(*n));
		if (n == NULL)
			return nomem(err);
		us->groups = n;
		us->cap_groups = ncap;
	}
	if ((copy = strdup(name)) == NULL)
		return nomem(err);
	us->groups[us->n_groups] = (struct us_group){.name = copy, .gid = gid};
	us->n_groups++;
	return PJ_OK;
}

bool userstore_del_user(struct userstore *us, const char *name)
{
	struct us_user *u = userstore_user(us, name);
	size_t i;

	if (u == NULL)
		return false;
	i = (size_t)(u - us->users);
	free_user(u);
	memmove(&us->users[i], &us->users[i + 1], (us->n_users - i - 1) * sizeof(*u));
	us->n_users--;
	return true;
}

pj_status userstore_params(const struct pj_config *cfg, struct us_params *p, struct pj_error *err)
{
	const char *tmpl = cfg->home_template ? cfg->home_template : IDMAP_DEFAULT_HOME;
	const char *shell = cfg->default_shell ? cfg->default_shell : IDMAP_DEFAULT_SHELL;
	const char *salt = cfg->id_salt ? cfg->id_salt : "";
	uint32_t flags = cfg->nss_preauth ? PJ_STORE_F_PREAUTH : 0;

	if (!idmap_home_template_ok(tmpl))
		return pj_fail(err, PJ_ERR_CONFIG,
		               "home_template %.64s: want an absolute path of printable ASCII "
		               "without ':' where '%%' is only followed by 'u' or '%%'",
		               tmpl);
	if (!idmap_shell_ok(shell))
		return pj_fail(err, PJ_ERR_CONFIG,
		               "default_shell %.64s: want an absolute path of printable ASCII "
		               "without ':'",
		               shell);
	if (cfg->uid_min < PJ_STORE_MIN_ID || cfg->uid_min > cfg->uid_max || cfg->uid_max == UINT32_MAX)
		return pj_fail(err, PJ_ERR_CONFIG, "uid range %u..%u: want %u <= uid_min <= uid_max < 2^32-1",
		               cfg->uid_min, cfg->uid_max, PJ_STORE_MIN_ID);
	if (salt[0] != '\0' && !idmap_salt_ok(salt))
		return pj_fail(err, PJ_ERR_CONFIG,
		               "id_salt: want %d to %d printable ASCII characters without ':'",
		               IDMAP_SALT_MIN, IDMAP_SALT_MAX);
	for (size_t i = 0; i < cfg->n_issuers; i++) {
		if (cfg->issuers[i].uid_claim != NULL)
			flags |= PJ_STORE_F_UID_CLAIM;
	}
	*p = (struct us_params){.flags = flags,
	                        .id_salt = salt,
	                        .uid_min = cfg->uid_min,
	                        .uid_max = cfg->uid_max,
	                        .home_template = tmpl,
	                        .shell = shell};
	for (size_t i = 0; i < cfg->n_nss_preauth_programs && i < PJ_STORE_PROGRAMS_MAX; i++) {
		if (strlen(cfg->nss_preauth_programs[i]) > PJ_STORE_PROGRAM_LEN)
			return pj_fail(err, PJ_ERR_CONFIG, "nss_preauth_programs: %.64s is too long",
			               cfg->nss_preauth_programs[i]);
		if (i > 0)
			strcat(p->preauth_programs, " ");
		strcat(p->preauth_programs, cfg->nss_preauth_programs[i]);
	}
	if (!store_programs_ok(p->preauth_programs))
		return pj_fail(err, PJ_ERR_CONFIG, "nss_preauth_programs: not a list of program names");
	return PJ_OK;
}

bool userstore_params_same(const struct pj_store *st, const struct us_params *p)
{
	const struct pj_store_header *h = st->hdr;

	return h->flags == p->flags && h->uid_min == p->uid_min && h->uid_max == p->uid_max &&
	       strcmp(store_str(st, h->home_template), p->home_template) == 0 &&
	       strcmp(store_str(st, h->shell), p->shell) == 0 &&
	       strcmp(store_str(st, h->id_salt), p->id_salt) == 0 &&
	       strcmp(store_str(st, h->preauth_programs), p->preauth_programs) == 0;
}

pj_status userstore_set_params(struct userstore *us, const struct pj_config *cfg, struct pj_error *err)
{
	struct us_params p;
	pj_status r;

	if ((r = userstore_params(cfg, &p, err)) != PJ_OK ||
	    (r = userstore_set_string(&us->home_template, p.home_template, err)) != PJ_OK ||
	    (r = userstore_set_string(&us->shell, p.shell, err)) != PJ_OK ||
	    (r = userstore_set_string(&us->id_salt, p.id_salt, err)) != PJ_OK ||
	    (r = userstore_set_string(&us->preauth_programs, p.preauth_programs, err)) != PJ_OK)
		return r;
	us->flags = p.flags;
	us->uid_min = p.uid_min;
	us->uid_max = p.uid_max;
	return PJ_OK;
}

/* The user called name: a binary search among the first n_sorted users (a base, loaded in name order),
 * then a scan of the rest (the journal's, a few). */
static struct us_user *find_user(const struct userstore *us, const char *name, size_t n_sorted)
{
	size_t lo = 0, hi = n_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, us->users[mid].name);
		if (c == 0)
			return &us->users[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = n_sorted; i < us->n_users; i++) {
		if (strcmp(us->users[i].name, name) == 0)
			return &us->users[i];
	}
	return NULL;
}

/* Puts a user (given as its fields) into us, replacing the one of that name or added. slot 0 keeps the
 * slot the user has, or gives a new one. */
static pj_status put_user(struct userstore *us, const struct us_user *from, size_t n_sorted,
                          struct us_user **out, struct pj_error *err)
{
	struct us_user *u = find_user(us, from->name, n_sorted);
	uint32_t next_slot = us->next_slot;
	pj_status r;

	if (u == NULL) {
		if ((r = userstore_add_user(us, from->name, from->uid, from->gecos, from->home, from->shell,
		                            from->iss, from->sub, from->created, &u, err)) != PJ_OK)
			return r;
		if (from->slot != 0) { /* else keep the slot userstore_add_user just gave (version 1) */
			us->next_slot = next_slot;
			u->slot = from->slot;
		}
	} else {
		if ((r = userstore_set_string(&u->gecos, from->gecos, err)) != PJ_OK ||
		    (r = userstore_set_string(&u->home, from->home, err)) != PJ_OK ||
		    (r = userstore_set_string(&u->shell, from->shell, err)) != PJ_OK ||
		    (r = userstore_set_string(&u->iss, from->iss, err)) != PJ_OK ||
		    (r = userstore_set_string(&u->sub, from->sub, err)) != PJ_OK)
			return r;
		u->uid = from->uid;
		u->created = from->created;
		if (from->slot != 0)
			u->slot = from->slot;
	}
	u->last_login = from->last_login;
	/* gcc 12's analyzer loses the gid array stored in u, an element of the store's heap array, and calls
	 * it leaked: the store owns it (userstore_free) */
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	if ((r = userstore_set_gids(u, from->gids, from->n_gids, err)) != PJ_OK)
		return r;
	PJ_ANALYZER_END()
	*out = u;
	return PJ_OK;
}

/* A user of a store image into us (see put_user), with the later time of the last-login file (lf). */
static pj_status put_image_user(struct userstore *us, const struct pj_store *st,
                                const struct pj_store_user *su, const struct pj_last *lf, size_t n_sorted,
                                struct us_user **out, struct pj_error *err)
{
	size_t n;
	struct us_user from = {
	    .name = (char *)store_str(st, su->name),
	    .gecos = (char *)store_str(st, su->gecos),
	    .home = (char *)store_str(st, su->home),
	    .shell = (char *)store_str(st, su->shell),
	    .iss = (char *)store_str(st, su->iss),
	    .sub = (char *)store_str(st, su->sub),
	    .uid = su->uid,
	    .gids = (uint32_t *)store_user_gids(st, su, &n),
	    .slot = su->slot,
	    .created = su->created,
	    .last_login = su->last_login,
	};
	int64_t later;
	pj_status r;

	from.n_gids = n;
	if ((r = put_user(us, &from, n_sorted, out, err)) != PJ_OK)
		return r;
	later = lf != NULL ? last_login_get(lf, (*out)->slot, (*out)->uid, (*out)->created) : 0;
	if (later > (*out)->last_login)
		(*out)->last_login = later;
	return PJ_OK;
}

static pj_status copy_user(struct userstore *us, const struct pj_store *st, const struct pj_store_user *su,
                           struct us_user **out, struct pj_error *err)
{
	return put_image_user(us, st, su, NULL, 0, out, err);
}

/* The header parameters of the newest image (the journal's last record, else the base). */
static pj_status take_params(struct userstore *us, const struct pj_store *top, struct pj_error *err)
{
	const struct pj_store_header *h = top->hdr;
	pj_status r;

	us->flags = h->flags;
	us->uid_min = h->uid_min;
	us->uid_max = h->uid_max;
	us->written = h->written;
	us->next_slot = h->next_slot > 0 ? h->next_slot : 1;
	if ((r = userstore_set_string(&us->home_template, store_str(top, h->home_template), err)) != PJ_OK ||
	    (r = userstore_set_string(&us->shell, store_str(top, h->shell), err)) != PJ_OK ||
	    (r = userstore_set_string(&us->id_salt, store_str(top, h->id_salt), err)) != PJ_OK ||
	    (r = userstore_set_string(&us->preauth_programs, store_str(top, h->preauth_programs), err)) !=
	        PJ_OK)
		return r;
	return PJ_OK;
}

/* Everything of a store image into memory: its users (replacing those of the same name among the first
 * n_sorted and the rest) and its managed groups (added unless present). */
static pj_status load_image(struct userstore *us, const struct pj_store *st, const struct pj_last *lf,
                            size_t n_sorted, struct pj_error *err)
{
	struct us_user *u;
	pj_status r;

	for (uint32_t i = 0; i < st->hdr->n_users; i++) {
		if ((r = put_image_user(us, st, &st->users[i], lf, n_sorted, &u, err)) != PJ_OK)
			return r;
	}
	for (uint32_t i = 0; i < st->hdr->n_groups; i++) {
		const struct pj_store_group *g = &st->groups[i];
		bool known = false;
		if (g->flags & PJ_STORE_G_PRIVATE)
			continue;
		for (size_t k = 0; n_sorted > 0 && k < us->n_groups && !known; k++)
			known = strcmp(us->groups[k].name, store_str(st, g->name)) == 0;
		if (!known && (r = userstore_add_group(us, store_str(st, g->name), g->gid, err)) != PJ_OK)
			return r;
	}
	return PJ_OK;
}

/* The whole store (base, then the journal's records in order) into memory, with the later times of the
 * last-login file. Users of a version 1 store get slots here, so the next write records them. */
static pj_status load(struct userstore *us, const struct pj_view *v, struct pj_error *err)
{
	size_t n_sorted;
	struct pj_last lf;
	pj_status r;
	int e;

	if (v->base.hdr == NULL)
		return PJ_OK;
	if ((e = last_login_open(us->dir, &lf)) < 0)
		return pj_fail(err, e == -EPERM ? PJ_ERR_CONFIG : PJ_ERR_SYSTEM, "%s/%s: %s", us->dir,
		               PJ_LAST_FILE, e == -EPERM ? "not trusted" : strerror(-e));
	us->generation = v->base.hdr->generation;
	if ((r = take_params(us, view_top(v), err)) == PJ_OK &&
	    (r = load_image(us, &v->base, &lf, 0, err)) == PJ_OK) {
		n_sorted = us->n_users;
		for (uint32_t k = 0; k < v->n_deltas && r == PJ_OK; k++)
			r = load_image(us, &v->deltas[k], &lf, n_sorted, err);
	}
	/* a version 1 base: slots were handed out while loading; the newest header's next_slot may be behind
	 */
	for (size_t i = 0; i < us->n_users; i++) {
		if (us->users[i].slot >= us->next_slot)
			us->next_slot = us->users[i].slot + 1;
	}
	last_login_close(&lf);
	return r;
}

static pj_status take_lock(struct userstore *us, struct pj_error *err)
{
	char path[PATH_MAX];
	pj_status r;

	/* NSS in processes not run as root must read users.db */
	if ((r = trusted_dir_make(us->dir, err)) != PJ_OK)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", us->dir, PJ_STORE_LOCK) >= sizeof(path))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", us->dir);
	us->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (us->lock_fd < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	if ((r = trusted_file_check_fd(us->lock_fd, path, err)) != PJ_OK)
		return r;
	while (flock(us->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot lock: %s", path, strerror(errno));
	}
	return PJ_OK;
}

/* The store view_open could not open, as an error. */
static pj_status open_failure(const char *dir, int e, struct pj_error *err)
{
	if (e == -EPERM)
		return pj_fail(err, PJ_ERR_CONFIG,
		               "%s/%s: not trusted (want root-owned, not writable by group or "
		               "others, in such a directory)",
		               dir, PJ_STORE_FILE);
	if (e == -EINVAL)
		return pj_fail(err, PJ_ERR_SYSTEM,
		               "%s/%s: damaged; refusing to overwrite it (its bindings would be "
		               "lost): move it away to start afresh",
		               dir, PJ_STORE_FILE);
	return pj_fail(err, PJ_ERR_SYSTEM, "%s/%s: cannot open: %s", dir, PJ_STORE_FILE, strerror(-e));
}

static pj_status store_new(const char *dir, struct userstore **out, struct pj_error *err)
{
	struct userstore *us;

	*out = NULL;
	if ((us = calloc(1, sizeof(*us))) == NULL)
		return nomem(err);
	us->lock_fd = -1;
	us->uid_min = IDMAP_DEFAULT_UID_MIN;
	us->uid_max = IDMAP_DEFAULT_UID_MAX;
	us->next_slot = 1;
	us->vp = &us->view;
	if ((us->dir = strdup(dir)) == NULL || (us->home_template = strdup(IDMAP_DEFAULT_HOME)) == NULL ||
	    (us->id_salt = strdup("")) == NULL || (us->preauth_programs = strdup("")) == NULL ||
	    (us->shell = strdup(IDMAP_DEFAULT_SHELL)) == NULL) {
		userstore_close(us);
		return nomem(err);
	}
	*out = us;
	return PJ_OK;
}

pj_status userstore_open(const char *dir, bool lock, struct userstore **out, struct pj_error *err)
{
	struct userstore *us;
	struct pj_view v;
	pj_status r;
	int e;

	if ((r = store_new(dir, &us, err)) != PJ_OK)
		return r;
	if (lock && (r = take_lock(us, err)) != PJ_OK)
		goto out;
	if ((e = view_open(dir, &v)) != 0) {
		r = open_failure(dir, e, err);
		goto out;
	}
	r = load(us, &v, err);
	view_close(&v);
out:
	if (r != PJ_OK) {
		userstore_close(us);
		return r;
	}
	*out = us;
	return PJ_OK;
}

pj_status userstore_open_view(const char *dir, struct pj_view *cache, struct userstore **out,
                              struct pj_error *err)
{
	struct userstore *us;
	pj_status r;
	int e;

	if ((r = store_new(dir, &us, err)) != PJ_OK)
		return r;
	us->view_mode = true;
	us->vp = cache != NULL ? cache : &us->view;
	if ((r = take_lock(us, err)) != PJ_OK)
		goto out;
	/* under the lock: the view must show every change committed before this one */
	if ((e = cache != NULL ? view_refresh(dir, cache) : view_open(dir, &us->view)) != 0) {
		r = open_failure(dir, e, err);
		goto out;
	}
	if (us->vp->base.hdr != NULL) {
		us->generation = us->vp->base.hdr->generation;
		r = take_params(us, view_top(us->vp), err);
	}
out:
	if (r != PJ_OK) {
		userstore_close(us);
		return r;
	}
	*out = us;
	return PJ_OK;
}

/* ---- serialisation ---- */

struct strtab {
	char *buf;
	size_t len, cap;
};

static int strtab_add(struct strtab *t, const char *s, uint32_t *off)
{
	size_t n = strlen(s) + 1;

	if (n == 1) {
		*off = 0; /* the table starts with "" */
		return 0;
	}
	if (n > PJ_STORE_MAX_STRING + 1 || t->len + n > PJ_STORE_MAX_SIZE)
		return -1;
	if (t->len + n > t->cap) {
		size_t ncap = t->cap ? t->cap : 4096;
		char *b;
		while (ncap < t->len + n)
			ncap *= 2;
		if ((b = realloc(t->buf, ncap)) == NULL)
			return -1;
		t->buf = b;
		t->cap = ncap;
	}
	memcpy(t->buf + t->len, s, n);
	*off = (uint32_t)t->len;
	t->len += n;
	return 0;
}

/* A group as it goes to disk: private (one per user) or managed. */
struct ser_group {
	const char *name;
	uint32_t name_off;
	uint32_t gid;
	uint32_t flags;
	uint32_t members_first, n_members;
};

/* (gid, user position) pairs: the membership of managed groups, from the users' gid lists. */
struct member_pair {
	uint32_t gid;
	uint32_t user;
};

struct ser {
	const struct userstore *us;
	size_t *uorder; /* user positions: uorder[k] is the index into us->users of the k-th name */
	struct pj_store_user *users;
	uint32_t *uidx;
	struct ser_group *groups;
	size_t n_groups;
	uint32_t *gidx;
	uint32_t *ids;
	size_t n_ids, cap_ids;
	struct strtab strings;
	uint32_t home_template, shell, id_salt, preauth_programs;
};

/* qsort_r comparators: ctx is the store (user names) or the serialisation (ids by index). */
static int cmp_user_name(const void *a, const void *b, void *ctx)
{
	const struct userstore *us = ctx;

	return strcmp(us->users[*(const size_t *)a].name, us->users[*(const size_t *)b].name);
}

static int cmp_group_name(const void *a, const void *b)
{
	return strcmp(((const struct ser_group *)a)->name, ((const struct ser_group *)b)->name);
}

static int cmp_uidx(const void *a, const void *b, void *ctx)
{
	const struct ser *s = ctx;
	uint32_t x = s->users[*(const uint32_t *)a].uid, y = s->users[*(const uint32_t *)b].uid;

	return x < y ? -1 : x > y;
}

static int cmp_gidx(const void *a, const void *b, void *ctx)
{
	const struct ser *s = ctx;
	uint32_t x = s->groups[*(const uint32_t *)a].gid, y = s->groups[*(const uint32_t *)b].gid;

	return x < y ? -1 : x > y;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct member_pair *x = a, *y = b;

	if (x->gid != y->gid)
		return x->gid < y->gid ? -1 : 1;
	return x->user < y->user ? -1 : x->user > y->user;
}

static int ids_push(struct ser *s, uint32_t v)
{
	if (s->n_ids == s->cap_ids) {
		size_t ncap = s->cap_ids ? s->cap_ids * 2 : 256;
		uint32_t *n;
		if (ncap > PJ_STORE_MAX_SIZE / sizeof(uint32_t) ||
		    (n = realloc(s->ids, ncap * sizeof(*n))) == NULL)
			return -1;
		s->ids = n;
		s->cap_ids = ncap;
	}
	s->ids[s->n_ids++] = v;
	return 0;
}

static void ser_free(struct ser *s)
{
	free(s->uorder);
	free(s->users);
	free(s->uidx);
	free(s->groups);
	free(s->gidx);
	free(s->ids);
	free(s->strings.buf);
}

/* Users in name order with their strings and gid slices. */
static pj_status ser_users(struct ser *s, struct pj_error *err)
{
	const struct userstore *us = s->us;
	size_t n = us->n_users;

	if ((s->uorder = calloc(n + 1, sizeof(*s->uorder))) == NULL ||
	    (s->users = calloc(n + 1, sizeof(*s->users))) == NULL ||
	    (s->uidx = calloc(n + 1, sizeof(*s->uidx))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < n; i++)
		s->uorder[i] = i;
	qsort_r(s->uorder, n, sizeof(*s->uorder), cmp_user_name, (void *)us);
	for (size_t k = 0; k < n; k++) {
		const struct us_user *u = &us->users[s->uorder[k]];
		struct pj_store_user *d = &s->users[k];
		if (k > 0 && strcmp(us->users[s->uorder[k - 1]].name, u->name) == 0)
			return pj_fail(err, PJ_ERR_SYSTEM, "user store: user %s twice", u->name);
		d->uid = u->uid;
		d->gids_first = (uint32_t)s->n_ids;
		d->n_gids = (uint32_t)u->n_gids;
		d->created = u->created;
		d->last_login = u->last_login;
		d->slot = u->slot;
		if (strtab_add(&s->strings, u->name, &d->name) ||
		    strtab_add(&s->strings, u->gecos, &d->gecos) ||
		    strtab_add(&s->strings, u->home, &d->home) ||
		    strtab_add(&s->strings, u->shell, &d->shell) ||
		    strtab_add(&s->strings, u->iss, &d->iss) || strtab_add(&s->strings, u->sub, &d->sub))
			return pj_fail(err, PJ_ERR_SYSTEM, "user store: too large or out of memory");
		for (size_t i = 0; i < u->n_gids; i++) {
			if (ids_push(s, u->gids[i]) != 0)
				return pj_fail(err, PJ_ERR_SYSTEM, "user store: too large or out of memory");
		}
		s->uidx[k] = (uint32_t)k;
	}
	qsort_r(s->uidx, n, sizeof(*s->uidx), cmp_uidx, s);
	return PJ_OK;
}

/* The member slice of every managed group, from the users' gid lists. */
static pj_status ser_members(struct ser *s, struct pj_error *err)
{
	const struct userstore *us = s->us;
	struct member_pair *pairs = NULL;
	size_t n_pairs = 0, total = 0;
	pj_status r = PJ_OK;

	for (size_t i = 0; i < us->n_users; i++)
		total += us->users[i].n_gids;
	if ((pairs = calloc(total + 1, sizeof(*pairs))) == NULL)
		return nomem(err);
	for (size_t k = 0; k < us->n_users; k++) {
		const struct us_user *u = &us->users[s->uorder[k]];
		for (size_t i = 0; i < u->n_gids; i++) /* local gids too: only managed gids are looked up */
			pairs[n_pairs++] = (struct member_pair){u->gids[i], (uint32_t)k};
	}
	qsort(pairs, n_pairs, sizeof(*pairs), cmp_pair);
	for (size_t g = 0; g < s->n_groups; g++) {
		struct ser_group *sg = &s->groups[g];
		sg->members_first = (uint32_t)s->n_ids;
		if (sg->flags & PJ_STORE_G_PRIVATE)
			continue;
		size_t lo = 0, hi = n_pairs;
		while (lo < hi) { /* the first pair of this gid */
			size_t mid = lo + (hi - lo) / 2;
			if (pairs[mid].gid < sg->gid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t p = lo; p < n_pairs && pairs[p].gid == sg->gid; p++) {
			if (ids_push(s, pairs[p].user) != 0) {
				r = pj_fail(err, PJ_ERR_SYSTEM, "user store: too large or out of memory");
				goto out;
			}
			sg->n_members++;
		}
	}
out:
	free(pairs);
	return r;
}

/* Private groups and managed groups together, in name order; names and gids must be unique. */
static pj_status ser_groups(struct ser *s, struct pj_error *err)
{
	const struct userstore *us = s->us;
	size_t n = us->n_users + us->n_groups;

	if ((s->groups = calloc(n + 1, sizeof(*s->groups))) == NULL ||
	    (s->gidx = calloc(n + 1, sizeof(*s->gidx))) == NULL)
		return nomem(err);
	for (size_t k = 0; k < us->n_users; k++) {
		const struct us_user *u = &us->users[s->uorder[k]];
		s->groups[s->n_groups++] = (struct ser_group){.name = u->name,
		                                              .name_off = s->users[k].name,
		                                              .gid = u->uid,
		                                              .flags = PJ_STORE_G_PRIVATE};
	}
	for (size_t i = 0; i < us->n_groups; i++) {
		struct ser_group *g = &s->groups[s->n_groups++];
		*g = (struct ser_group){.name = us->groups[i].name, .gid = us->groups[i].gid};
		if (strtab_add(&s->strings, g->name, &g->name_off) != 0)
			return pj_fail(err, PJ_ERR_SYSTEM, "user store: too large or out of memory");
	}
	qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_group_name);
	for (size_t i = 1; i < s->n_groups; i++) {
		if (strcmp(s->groups[i - 1].name, s->groups[i].name) == 0)
			return pj_fail(err, PJ_ERR_SYSTEM, "user store: name %s is both a user and a group",
			               s->groups[i].name);
	}
	for (size_t i = 0; i < s->n_groups; i++)
		s->gidx[i] = (uint32_t)i;
	qsort_r(s->gidx, s->n_groups, sizeof(*s->gidx), cmp_gidx, s);
	for (size_t i = 1; i < s->n_groups; i++) {
		if (s->groups[s->gidx[i - 1]].gid == s->groups[s->gidx[i]].gid)
			return pj_fail(err, PJ_ERR_SYSTEM, "user store: id %u is used twice",
			               s->groups[s->gidx[i]].gid);
	}
	return ser_members(s, err);
}

/* Lays the sections out and copies them into one buffer. */
static pj_status ser_emit(struct ser *s, int64_t now, unsigned char **data, size_t *len, struct pj_error *err)
{
	const struct userstore *us = s->us;
	struct pj_store_header *h;
	size_t users_off, uidx_off, groups_off, gidx_off, ids_off, strings_off, total;
	struct pj_store_group *dg;
	unsigned char *buf;
	struct pj_store chk;

	users_off = ALIGN8(sizeof(*h));
	uidx_off = ALIGN8(users_off + us->n_users * sizeof(struct pj_store_user));
	groups_off = ALIGN8(uidx_off + us->n_users * sizeof(uint32_t));
	gidx_off = ALIGN8(groups_off + s->n_groups * sizeof(struct pj_store_group));
	ids_off = ALIGN8(gidx_off + s->n_groups * sizeof(uint32_t));
	strings_off = ALIGN8(ids_off + s->n_ids * sizeof(uint32_t));
	total = ALIGN8(strings_off + s->strings.len);
	if (total > PJ_STORE_MAX_SIZE)
		return pj_fail(err, PJ_ERR_SYSTEM, "user store: would exceed %u bytes", PJ_STORE_MAX_SIZE);
	if ((buf = calloc(1, total)) == NULL)
		return nomem(err);
	h = (struct pj_store_header *)buf;
	memcpy(h->magic, PJ_STORE_MAGIC, PJ_STORE_MAGIC_LEN);
	h->version = PJ_STORE_VERSION;
	h->endian = PJ_STORE_ENDIAN_MARK;
	h->header_size = sizeof(*h);
	h->flags = us->flags;
	h->file_size = total;
	h->written = now;
	h->uid_min = us->uid_min;
	h->uid_max = us->uid_max;
	h->next_slot = us->next_slot;
	h->generation = us->generation;
	h->home_template = s->home_template;
	h->id_salt = s->id_salt;
	h->preauth_programs = s->preauth_programs;
	h->shell = s->shell;
	h->users_off = (uint32_t)users_off;
	h->n_users = (uint32_t)us->n_users;
	h->uidx_off = (uint32_t)uidx_off;
	h->groups_off = (uint32_t)groups_off;
	h->n_groups = (uint32_t)s->n_groups;
	h->gidx_off = (uint32_t)gidx_off;
	h->ids_off = (uint32_t)ids_off;
	h->n_ids = (uint32_t)s->n_ids;
	h->strings_off = (uint32_t)strings_off;
	h->strings_len = (uint32_t)(total - strings_off); /* the padding is NULs: the area ends with one */
	memcpy(buf + users_off, s->users, us->n_users * sizeof(struct pj_store_user));
	memcpy(buf + uidx_off, s->uidx, us->n_users * sizeof(uint32_t));
	dg = (struct pj_store_group *)(buf + groups_off);
	for (size_t i = 0; i < s->n_groups; i++) {
		dg[i] = (struct pj_store_group){.name = s->groups[i].name_off,
		                                .gid = s->groups[i].gid,
		                                .members_first = s->groups[i].members_first,
		                                .n_members = s->groups[i].n_members,
		                                .flags = s->groups[i].flags};
	}
	memcpy(buf + gidx_off, s->gidx, s->n_groups * sizeof(uint32_t));
	if (s->n_ids > 0)
		memcpy(buf + ids_off, s->ids, s->n_ids * sizeof(uint32_t));
	memcpy(buf + strings_off, s->strings.buf, s->strings.len);
	h->checksum = idmap_fnv1a64(buf, total); /* the field is still zero here, as the reader assumes */
	/* Never write what the reader would refuse: NSS would go UNAVAIL for every user. */
	if (store_check_buffer(buf, total, &chk) != 0) {
		free(buf);
		return pj_fail(err, PJ_ERR_SYSTEM,
		               "user store: the new store fails validation (bad name, field or id)");
	}
	*data = buf;
	*len = total;
	return PJ_OK;
}

pj_status userstore_serialize(const struct userstore *us, int64_t now, unsigned char **data, size_t *len,
                              struct pj_error *err)
{
	struct ser s = {.us = us};
	pj_status r;

	*data = NULL;
	*len = 0;
	if ((s.strings.buf = calloc(1, 4096)) == NULL) /* offset 0 is "" */
		return nomem(err);
	s.strings.cap = 4096;
	s.strings.len = 1;
	if (strtab_add(&s.strings, us->home_template, &s.home_template) != 0 ||
	    strtab_add(&s.strings, us->id_salt, &s.id_salt) != 0 ||
	    strtab_add(&s.strings, us->preauth_programs, &s.preauth_programs) != 0 ||
	    strtab_add(&s.strings, us->shell, &s.shell) != 0) {
		r = nomem(err);
		goto out;
	}
	if ((r = ser_users(&s, err)) != PJ_OK || (r = ser_groups(&s, err)) != PJ_OK)
		goto out;
	r = ser_emit(&s, now, data, len, err);
out:
	ser_free(&s);
	return r;
}

/* Removes temp files of writers that died before their rename (SIGKILL, power loss). Only lock holders
 * create them, and we hold the lock, so every one present is stale. */
static void remove_stale_temps(const struct userstore *us)
{
	static const char *const prefixes[] = {PJ_STORE_FILE ".tmp.", PJ_JOURNAL_FILE ".tmp."};
	struct dirent *e;
	DIR *d;
	int dfd;

	if ((d = opendir(us->dir)) == NULL)
		return;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0)
				unlinkat(dfd, e->d_name, 0);
		}
	}
	closedir(d);
}

static pj_status path_in_dir(const struct userstore *us, const char *name, char *path, size_t len,
                             struct pj_error *err)
{
	if ((size_t)snprintf(path, len, "%s/%s", us->dir, name) >= len)
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", us->dir);
	return PJ_OK;
}

static void journal_header(struct pj_journal_header *h, uint32_t generation)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PJ_JOURNAL_MAGIC, sizeof(h->magic));
	h->version = PJ_JOURNAL_VERSION;
	h->endian = PJ_STORE_ENDIAN_MARK;
	h->generation = generation;
	h->header_size = sizeof(*h);
}

/* ---- durability: group commit and the durable mark ----
 *
 * A journal record is appended under the store lock and fdatasync'd after the lock is released, before the
 * login that wrote it reports success (userstore_commit). Writers that append while another one syncs thus
 * share its flush: the journal is append-only, so an fdatasync by any writer makes every record written to
 * the file before it durable (group commit, as databases do with their write-ahead log). Why that is safe:
 *
 * - A login succeeds only once its own record is durable: its own fdatasync returned 0. A crash before that
 *   loses the record, and with it only a login that had not succeeded.
 * - Until then the record is visible to readers (NSS, other writers), as a committed one. A writer that
 *   builds on it (a newer record, a fold) makes it durable with its own flush: a newer record's fdatasync
 *   covers every earlier byte of the file, and a fold fsyncs its new base (which holds the record) and the
 *   directory before it reports success (atomic_write_file).
 * - A fold renames a new base over the old one while writers may still be syncing the old journal (their
 *   descriptor keeps the old inode). Their records are in the new base: the fold read the journal under the
 *   lock, after they had appended. A crash before the rename is durable leaves the old base and the old
 *   journal, where their own fdatasync put the record; after it, the new base, fsync'd before the rename.
 *   No record is written to a journal of an older generation after the fold (writers open the journal by
 *   name under the lock), so none can be missed by it.
 * - An fdatasync that fails (EIO) fails the login; Linux reports a writeback error to every descriptor
 *   opened before it (errseq), so writers whose records shared the failed flush all fail. It reports it
 *   once, though: the pages of the failed flush count as written, and a later fdatasync (another writer's,
 *   or userstore_durable's on a descriptor opened since) returns 0 without them, so the record (and every
 *   record after it, which readers only reach through it) would pass for durable. The writer whose flush
 *   failed therefore folds (fold_after_failed_sync): the new base holds what readers see, fsync'd, and its
 *   generation tells every mark reader that the old journal is covered.
 * - The one reader that reports success on a record without writing: a returning login with an unchanged
 *   entry (mapping.c). It must not succeed on a record that a crash could still take away, so it asks
 *   userstore_durable, which reads the durable mark below and, when the mark does not cover the entry,
 *   syncs the journal (and the directory) itself.
 *
 * The durable mark (in users.lock, which only root's writers open): the journal (generation, inode) and how
 * many of its bytes are known durable. It is written after the flush it reports, without a lock and without
 * fsync: every value ever written was true when written, and stays true (the journal only grows; a crash
 * keeps at least its durable bytes, and a journal is only replaced by a fold, generation + 1, whose base
 * holds it). Two writers racing may write an older value over a newer one: that only costs a later reader a
 * sync. A torn mark fails its check and counts as none. */

struct durable_mark {
	uint32_t generation; /* of the base the journal extends */
	uint32_t end;        /* bytes of the journal known durable */
	uint64_t ino;        /* the journal's inode */
	uint64_t check;
};

#define MARK_SEED 0x504a57544d41524bull /* "PJWTMARK" */

static uint64_t mark_check(const struct durable_mark *m)
{
	return MARK_SEED ^ ((uint64_t)m->generation << 32 | m->end) ^ (m->ino * 0x9e3779b97f4a7c15ull);
}

static bool mark_read(int fd, struct durable_mark *m)
{
	return pread(fd, m, sizeof(*m), 0) == (ssize_t)sizeof(*m) && m->check == mark_check(m);
}

/* Whether mark m says that the journal (generation, ino) is durable up to end (a newer generation: folded
 * into a base that is durable). */
static bool mark_covers(const struct durable_mark *m, uint32_t generation, uint64_t ino, size_t end)
{
	return m->generation > generation || (m->generation == generation && m->ino == ino && m->end >= end);
}

/* Records that the journal (generation, ino) is durable up to end, unless the mark already says as much. */
static void mark_put(int lock_fd, uint32_t generation, uint64_t ino, size_t end)
{
	struct durable_mark m;

	if (lock_fd < 0 || (mark_read(lock_fd, &m) && mark_covers(&m, generation, ino, end)))
		return;
	m = (struct durable_mark){.generation = generation, .end = (uint32_t)end, .ino = ino};
	m.check = mark_check(&m);
	if (pwrite(lock_fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m)) {
		/* no mark: readers sync for themselves */
	}
}

/* A journal just written whole by atomic_write_file (file and directory fsync'd), under the lock. */
static void mark_after_atomic_write(const struct userstore *us, const char *path, size_t len)
{
	struct stat sb;

	if (stat(path, &sb) == 0)
		mark_put(us->lock_fd, us->generation, (uint64_t)sb.st_ino, len);
}

/* The byte of the journal where the record holding delta level (1..) ends. */
static size_t record_end(const struct pj_view *v, uint32_t level)
{
	const struct pj_store *d = &v->deltas[level - 1];

	return (size_t)(d->base - (const unsigned char *)v->jmap) + d->size;
}

/* Opens dir's lock file for the durable mark (root's writers made it; not trusted: none). */
static int mark_open(const char *dir)
{
	char path[PATH_MAX];
	struct pj_error ignored;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, PJ_STORE_LOCK) >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 && trusted_file_check_fd(fd, path, &ignored) != PJ_OK) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether the mark read from lock_fd covers the entry at level of v. */
static bool mark_says_durable(int lock_fd, const struct pj_view *v, uint32_t level)
{
	struct durable_mark m;

	if (lock_fd < 0 || v->base.hdr == NULL || level > v->n_deltas || !mark_read(lock_fd, &m))
		return false;
	if (level == 0) /* the base: durable once a writer marked its generation, or a newer one */
		return m.generation >= v->base.hdr->generation;
	return mark_covers(&m, v->base.hdr->generation, v->journal_file.ino, record_end(v, level));
}

bool userstore_known_durable(const char *dir, const struct pj_view *v, uint32_t level)
{
	int fd = mark_open(dir);
	bool durable = mark_says_durable(fd, v, level);

	if (fd >= 0)
		close(fd);
	return durable;
}

pj_status userstore_durable(const char *dir, const struct pj_view *v, uint32_t level, struct pj_error *err)
{
	char path[PATH_MAX];
	uint64_t ino = v->journal_file.ino;
	int fd, lock_fd, r = 0;

	if (v->base.hdr == NULL || level > v->n_deltas)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: no such entry in the user store", dir);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, PJ_JOURNAL_FILE) >= sizeof(path))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", dir);
	lock_fd = mark_open(dir);
	if (mark_says_durable(lock_fd, v, level))
		goto out;
	/* Not known durable: sync what this view was read from. The journal when it has one (every byte
	 * written before this fdatasync, the entry's record among them, if it is still the same file), then
	 * the directory (the rename that put the base or the journal in place). */
	if (ino != 0) {
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0)
			r = -errno;
		else {
			struct stat sb;
			if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_ino != ino)
				r = -ESTALE; /* replaced by a fold: the caller's writing path takes over */
			else if (fdatasync(fd) != 0)
				r = -errno;
			close(fd);
		}
	}
	if (r == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY)) >= 0) {
		if (fsync(fd) != 0)
			r = -errno;
		close(fd);
	} else if (r == 0) {
		r = -errno;
	}
	if (r == 0 && ino != 0)
		mark_put(lock_fd, v->base.hdr->generation, ino, v->journal_valid);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	if (r != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot sync the user store: %s", dir, strerror(-r));
	return PJ_OK;
}

/* The generation a store started afresh (its users.db moved away: there is no base) counts on from: the
 * durable mark's and the old journal's, if any. Starting again at 1, the mark of an older store would cover
 * the new journal's records before their writers synced them (mark_covers: a newer generation covers all),
 * and readers would take the old journal for a newer one than the base and fail (-EAGAIN). */
static uint32_t fresh_generation(const struct userstore *us)
{
	struct pj_journal_header jh;
	struct durable_mark m;
	uint32_t gen = 0;
	struct stat sb;
	int fd;

	if (us->lock_fd >= 0 && mark_read(us->lock_fd, &m))
		gen = m.generation;
	if ((fd = store_open_file(us->dir, PJ_JOURNAL_FILE, O_RDONLY, &sb)) >= 0) {
		if (pread(fd, &jh, sizeof(jh), 0) == (ssize_t)sizeof(jh) &&
		    memcmp(jh.magic, PJ_JOURNAL_MAGIC, sizeof(jh.magic)) == 0 && jh.generation > gen)
			gen = jh.generation;
		close(fd);
	}
	return gen;
}

/* Writes the whole store of a loaded us as a new base (generation + 1), then an empty journal for it. A
 * writer killed between the two leaves the new base with the old journal, which readers ignore (its
 * generation is the old base's) and the next writer replaces. */
static pj_status fold(struct userstore *us, int64_t now, struct pj_error *err)
{
	uint32_t before = us->generation;
	struct pj_journal_header jh;
	char path[PATH_MAX];
	unsigned char *data;
	size_t len;
	pj_status r;
	struct pj_error ignored;

	us->generation = (before == 0 ? fresh_generation(us) : before) + 1;
	if ((r = path_in_dir(us, PJ_STORE_FILE, path, sizeof(path), err)) != PJ_OK ||
	    (r = userstore_serialize(us, now, &data, &len, err)) != PJ_OK) {
		us->generation = before;
		return r;
	}
	remove_stale_temps(us);
	r = atomic_write_file(path, data, len, 0644, err);
	free(data);
	if (r != PJ_OK) {
		us->generation = before;
		return r;
	}
	us->written = now;
	journal_header(&jh, us->generation);
	if (path_in_dir(us, PJ_JOURNAL_FILE, path, sizeof(path), &ignored) == PJ_OK &&
	    atomic_write_file(path, &jh, sizeof(jh), 0644, &ignored) ==
	        PJ_OK) /* else the next writer makes one */
		mark_after_atomic_write(us, path, sizeof(jh));
	return PJ_OK;
}

/* Appends one record holding delta to the journal. The view was read under the lock, so nothing but a
 * torn record of a writer that died can follow its last valid record: the new one is written over it
 * (never truncated: a reader may still map those bytes). */
static pj_status journal_append(struct userstore *us, const unsigned char *delta, size_t len, int *sync_fd,
                                struct pj_error *err)
{
	struct pj_journal_record rec = {.size = (uint32_t)len, .generation = us->generation};
	struct pj_journal_header jh;
	size_t at = us->vp->journal_valid;
	char path[PATH_MAX];
	struct iovec iov[3];
	unsigned char *whole;
	ssize_t n;
	pj_status r;
	int fd;

	if ((r = path_in_dir(us, PJ_JOURNAL_FILE, path, sizeof(path), err)) != PJ_OK)
		return r;
	if (at == 0) { /* no journal for this base yet (or a stale one): header and record, atomically */
		journal_header(&jh, us->generation);
		if ((whole = malloc(sizeof(jh) + sizeof(rec) + len)) == NULL)
			return nomem(err);
		memcpy(whole, &jh, sizeof(jh));
		memcpy(whole + sizeof(jh), &rec, sizeof(rec));
		memcpy(whole + sizeof(jh) + sizeof(rec), delta, len);
		remove_stale_temps(us);
		r = atomic_write_file(path, whole, sizeof(jh) + sizeof(rec) + len, 0644, err);
		free(whole);
		if (r == PJ_OK) /* fsync'd whole, directory included: durable already */
			mark_after_atomic_write(us, path, sizeof(jh) + sizeof(rec) + len);
		return r;
	}
	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
	if ((r = trusted_file_check_fd(fd, path, err)) != PJ_OK)
		goto out;
	iov[0] = (struct iovec){&rec, sizeof(rec)};
	iov[1] = (struct iovec){(void *)delta, len};
	n = pwritev(fd, iov, 2, (off_t)at);
	if (n != (ssize_t)(sizeof(rec) + len)) {
		/* a short write (a full file system) leaves a torn record, which counts for nobody */
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot append: %s", path,
		            n < 0 ? strerror(errno) : "short write");
		goto out;
	}
	/* not synced here: userstore_commit does, after releasing the lock (group commit, see above) */
	us->sync_end = at + sizeof(rec) + len;
	*sync_fd = fd;
	return PJ_OK;
out:
	close(fd);
	return r;
}

/* After a failed fdatasync of the journal (see the durability notes above): the whole store, as readers see
 * it, into a new base under the lock. Best effort: the login has failed already. */
static void fold_after_failed_sync(const char *dir, int64_t now)
{
	struct userstore *full;
	struct pj_error ignored;

	if (userstore_open(dir, true, &full, &ignored) != PJ_OK)
		return;
	if (userstore_commit(full, now, &ignored) != PJ_OK) {
		/* the disk refuses the fold too: readers sync for themselves */
	}
	userstore_close(full);
}

/* The second half of a journal append, once the record is in the file: releases the store lock, so that
 * the next writer appends while this one waits for the disk, then makes the record durable. The lock file
 * stays open for the durable mark; the userstore holds no lock afterwards (a second commit is refused). */
static pj_status sync_after_unlock(struct userstore *us, int fd, int64_t now, struct pj_error *err)
{
	char path[PATH_MAX];
	struct stat sb;
	pj_status r = PJ_OK;

	flock(us->lock_fd, LOCK_UN);
	if (fdatasync(fd) != 0 || fstat(fd, &sb) != 0) {
		snprintf(path, sizeof(path), "%s/%s", us->dir, PJ_JOURNAL_FILE);
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot sync: %s", path, strerror(errno));
	} else {
		mark_put(us->lock_fd, us->generation, (uint64_t)sb.st_ino, us->sync_end);
	}
	close(fd);
	close(us->lock_fd);
	us->lock_fd = -1;
	if (r != PJ_OK)
		fold_after_failed_sync(us->dir, now);
	return r;
}

/* Whether the view's newest header already has us's parameters. */
static bool params_current(const struct userstore *us)
{
	const struct pj_store *top = view_top(us->vp);
	struct us_params p = {.flags = us->flags,
	                      .uid_min = us->uid_min,
	                      .uid_max = us->uid_max,
	                      .home_template = us->home_template,
	                      .shell = us->shell,
	                      .id_salt = us->id_salt};

	snprintf(p.preauth_programs, sizeof(p.preauth_programs), "%s", us->preauth_programs);
	return top != NULL && userstore_params_same(top, &p);
}

/* View mode: the looked-up and new entries as one journal record. *too_big when it would pass the
 * journal's bound (then the caller folds). */
static pj_status append_changes(struct userstore *us, int64_t now, bool *too_big, struct pj_error *err)
{
	struct userstore d = *us; /* shallow: the same users and strings, only the new groups */
	unsigned char *data;
	int sync_fd = -1;
	size_t len;
	pj_status r;

	*too_big = false;
	if ((d.groups = calloc(us->n_groups + 1, sizeof(*d.groups))) == NULL)
		return nomem(err);
	d.n_groups = 0;
	for (size_t i = 0; i < us->n_groups; i++) {
		if (!us->groups[i].stored)
			d.groups[d.n_groups++] = us->groups[i];
	}
	d.generation = 0;
	r = userstore_serialize(&d, now, &data, &len, err);
	free(d.groups);
	if (r != PJ_OK)
		return r;
	if (us->vp->journal_valid + sizeof(struct pj_journal_record) + len > PJ_JOURNAL_MAX_SIZE)
		*too_big = true;
	else if ((r = journal_append(us, data, len, &sync_fd, err)) == PJ_OK) {
		if (sync_fd >= 0)
			r = sync_after_unlock(us, sync_fd, now, err);
		if (r == PJ_OK)
			us->written = now;
	}
	free(data);
	return r;
}

/* View mode: loads the whole store, puts the pending entries into it and folds. */
static pj_status fold_view(struct userstore *us, int64_t now, struct pj_error *err)
{
	struct userstore *full;
	struct us_user *u;
	pj_status r;

	if ((r = store_new(us->dir, &full, err)) != PJ_OK)
		return r;
	if ((r = load(full, us->vp, err)) != PJ_OK)
		goto out;
	for (size_t i = 0; i < us->n_users && r == PJ_OK; i++)
		r = put_user(full, &us->users[i], full->n_users, &u, err);
	for (size_t i = 0; i < us->n_groups && r == PJ_OK; i++) {
		if (!us->groups[i].stored)
			r = userstore_add_group(full, us->groups[i].name, us->groups[i].gid, err);
	}
	if (r != PJ_OK || (r = userstore_set_string(&full->home_template, us->home_template, err)) != PJ_OK ||
	    (r = userstore_set_string(&full->shell, us->shell, err)) != PJ_OK ||
	    (r = userstore_set_string(&full->id_salt, us->id_salt, err)) != PJ_OK ||
	    (r = userstore_set_string(&full->preauth_programs, us->preauth_programs, err)) != PJ_OK)
		goto out;
	full->flags = us->flags;
	full->uid_min = us->uid_min;
	full->uid_max = us->uid_max;
	if (full->next_slot < us->next_slot)
		full->next_slot = us->next_slot;
	full->generation = us->generation;
	full->lock_fd = us->lock_fd; /* borrowed, for the durable mark: us holds the lock */
	r = fold(full, now, err);
	full->lock_fd = -1;
	if (r == PJ_OK)
		us->written = now;
out:
	userstore_close(full);
	return r;
}

pj_status userstore_commit(struct userstore *us, int64_t now, struct pj_error *err)
{
	bool too_big = false;
	pj_status r;

	if (us->lock_fd < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "user store: written without its lock");
	if (us->lookup_failed)
		return pj_fail(err, PJ_ERR_NOMEM,
		               "user store: out of memory reading an entry: nothing written");
	if (!us->view_mode)
		return fold(us, now, err);
	if (us->vp->base.hdr != NULL && us->vp->n_deltas < PJ_JOURNAL_MAX_RECORDS && params_current(us)) {
		if ((r = append_changes(us, now, &too_big, err)) != PJ_OK || !too_big)
			return r;
	}
	return fold_view(us, now, err);
}
