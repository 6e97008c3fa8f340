/* nss_jwt.c: libnss_jwt.so.2, passwd and group entries from the pam_jwt user store (libc only, no network).
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/idmap.h"
#include "store/store_journal.h"
#include "store/store_read.h"

#ifndef PJ_STATE_DIR
#error "PJ_STATE_DIR must be defined (the directory of users.db)"
#endif

#define STORE_PATH PJ_STATE_DIR "/" PJ_STORE_FILE

#define EXPORT __attribute__((visibility("default")))

EXPORT enum nss_status _nss_jwt_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                           int *errnop);
EXPORT enum nss_status _nss_jwt_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                           int *errnop);
EXPORT enum nss_status _nss_jwt_setpwent(int stayopen);
EXPORT enum nss_status _nss_jwt_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop);
EXPORT enum nss_status _nss_jwt_endpwent(void);
EXPORT enum nss_status _nss_jwt_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                           int *errnop);
EXPORT enum nss_status _nss_jwt_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                           int *errnop);
EXPORT enum nss_status _nss_jwt_setgrent(int stayopen);
EXPORT enum nss_status _nss_jwt_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop);
EXPORT enum nss_status _nss_jwt_endgrent(void);
EXPORT enum nss_status _nss_jwt_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                               gid_t **groupsp, long int limit, int *errnop);

/* Lookups share one view (base and journal, see store_journal.h), brought up to date when the files on disk
 * change; the lock is held for the whole lookup, so a mapping is never unmapped under a reader. */
static pthread_mutex_t lookup_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pj_view lookup_view;

/* Each enumeration (passwd, group) has its own view and cursor, fixed at set*ent. */
struct cursor {
	pthread_mutex_t lock;
	struct pj_view v;
	bool open;
	int error; /* why open failed: -errno */
	uint64_t next;
};
static struct cursor pw_cursor = {.lock = PTHREAD_MUTEX_INITIALIZER};
static struct cursor gr_cursor = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* fork() while another thread is inside a lookup would leave the child a held lock and a half-updated
 * mapping: fork waits for lookups to finish (prepare takes every lock, in one order), then both sides
 * release them. Nothing here ever forks, so prepare cannot deadlock on its own thread. */
static void lock_all(void)
{
	pthread_mutex_lock(&lookup_lock);
	pthread_mutex_lock(&pw_cursor.lock);
	pthread_mutex_lock(&gr_cursor.lock);
}

static void unlock_all(void)
{
	pthread_mutex_unlock(&gr_cursor.lock);
	pthread_mutex_unlock(&pw_cursor.lock);
	pthread_mutex_unlock(&lookup_lock);
}

__attribute__((constructor)) static void nss_jwt_init(void)
{
	pthread_atfork(lock_all, unlock_all, unlock_all);
}

/* glibc unloads NSS modules in __libc_freeres (valgrind and mtrace call it at exit): the views go first,
 * or their memory and mappings are lost with the module. */
__attribute__((destructor)) static void nss_jwt_fini(void)
{
	view_close(&lookup_view);
	view_close(&pw_cursor.v);
	view_close(&gr_cursor.v);
}

/* Brings lookup_view up to date. Called with lookup_lock held. Returns 0 or -errno. */
static int refresh_lookup_view(void)
{
	int r = view_refresh(PJ_STATE_DIR, &lookup_view);

	return r == 0 && lookup_view.base.hdr == NULL ? -ENOENT : r;
}

static enum nss_status unavail(int *errnop, int r)
{
	*errnop = r == -ENOENT ? ENOENT : (r < 0 ? -r : EIO);
	return NSS_STATUS_UNAVAIL;
}

static enum nss_status notfound(int *errnop)
{
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

/* A bump allocator over the caller's buffer. */
struct arena {
	char *p;
	size_t left;
};

static char *arena_alloc(struct arena *a, size_t n, size_t align)
{
	size_t pad = (align - ((uintptr_t)a->p % align)) % align;
	char *r;

	if (pad > a->left || n > a->left - pad)
		return NULL;
	r = a->p + pad;
	a->p += pad + n;
	a->left -= pad + n;
	return r;
}

static char *arena_str(struct arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = arena_alloc(a, n, 1);

	if (r != NULL)
		memcpy(r, s, n);
	return r;
}

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status fill_passwd(const char *name, uint32_t uid, const char *gecos, const char *home,
                                   const char *shell, struct passwd *pw, char *buf, size_t buflen,
                                   int *errnop)
{
	struct arena a = {buf, buflen};

	/* "*", not "x": there is no shadow entry, and pam_unix's account check (Debian's common-account)
	 * refuses an "x" user whose shadow entry is missing; "*" matches no password, so pam_unix never
	 * authenticates one. */
	if ((pw->pw_name = arena_str(&a, name)) == NULL || (pw->pw_passwd = arena_str(&a, "*")) == NULL ||
	    (pw->pw_gecos = arena_str(&a, gecos)) == NULL || (pw->pw_dir = arena_str(&a, home)) == NULL ||
	    (pw->pw_shell = arena_str(&a, shell)) == NULL)
		return erange(errnop);
	pw->pw_uid = uid;
	pw->pw_gid = uid;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_user(const struct pj_store *st, const struct pj_store_user *u, struct passwd *pw,
                                 char *buf, size_t buflen, int *errnop)
{
	return fill_passwd(store_str(st, u->name), u->uid, store_str(st, u->gecos), store_str(st, u->home),
	                   store_str(st, u->shell), pw, buf, buflen, errnop);
}

static enum nss_status fill_group(const struct pj_view *v, const struct pj_group_ref *g, struct group *gr,
                                  char *buf, size_t buflen, int *errnop)
{
	struct arena a = {buf, buflen};
	uint64_t cursor = 0;
	size_t n = 0, i = 0;
	const char *name;
	char **mem;

	while (view_group_member(v, g, &cursor, &name))
		n++;
	mem = (char **)arena_alloc(&a, (n + 1) * sizeof(char *), alignof(char *));
	if (mem == NULL || (gr->gr_name = arena_str(&a, store_str(g->st, g->g->name))) == NULL ||
	    (gr->gr_passwd = arena_str(&a, "x")) == NULL)
		return erange(errnop);
	for (cursor = 0; i < n && view_group_member(v, g, &cursor, &name); i++) {
		if ((mem[i] = arena_str(&a, name)) == NULL)
			return erange(errnop);
	}
	mem[i] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = g->g->gid;
	return NSS_STATUS_SUCCESS;
}

/* The pre-auth answers this process was given: within one process a name keeps the uid it was first
 * answered with. sshd resolves the user when the connection comes in and runs the session with that uid;
 * if the store gives the name another uid by the time the token is checked (another first login took the
 * slot, pam-jwt user add), this process -- sshd's monitor and its PAM child, which inherits the table --
 * still sees the promised uid, and pam_jwt refuses the login on the mismatch (mapping.c check_nss_user).
 * Guarded by lookup_lock. Only pre-auth answers are kept, and only a few: sshd looks up one user. */
#define PROMISES_MAX 8
static struct promise {
	char name[IDMAP_NAME_MAX + 1];
	uint32_t uid;
} promises[PROMISES_MAX];
static unsigned promises_next;

static const struct promise *promise_find(const char *name)
{
	for (unsigned i = 0; i < PROMISES_MAX; i++) {
		if (promises[i].name[0] != '\0' && strcmp(promises[i].name, name) == 0)
			return &promises[i];
	}
	return NULL;
}

static void promise_keep(const char *name, uint32_t uid)
{
	struct promise *p = &promises[promises_next++ % PROMISES_MAX];

	if (strlen(name) > IDMAP_NAME_MAX) /* never: pre-auth names pass idmap_username_ok */
		return;
	strcpy(p->name, name);
	p->uid = uid;
}

/* This process's name as the kernel keeps it (/proc/self/comm: the executable's base name, cut to 15
 * bytes; unlike argv[0] it does not change when sshd retitles itself), or "" when unreadable. */
static void self_comm(char *out, size_t outlen)
{
	ssize_t n = -1;
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		n = read(fd, out, outlen - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* nss_preauth: the entry the first login will create, for a name not yet in the store -- only to the
 * programs that need it (sshd, which resolves the user before PAM runs), never to anyone else. */
static enum nss_status preauth(const struct pj_view *v, const char *name, struct passwd *pw, char *buf,
                               size_t buflen, int *errnop)
{
	const struct promise *p = promise_find(name);
	const struct pj_store *top = view_top(v);
	char home[IDMAP_HOME_MAX], comm[32];
	uint32_t uid;
	int r;

	if (top == NULL || !(top->hdr->flags & PJ_STORE_F_PREAUTH)) /* no store (refresh_lookup_view) */
		return notfound(errnop);
	self_comm(comm, sizeof(comm));
	if (!store_preauth_caller(top, comm))
		return notfound(errnop);
	if ((r = view_preauth(v, name, NULL, NULL, &uid, home, sizeof(home))) < 0)
		return unavail(errnop, r);
	if (p != NULL && (r > 0 || p->uid != uid)) { /* the slot was taken since: keep the promise */
		uid = p->uid;
		if (idmap_home(store_str(top, top->hdr->home_template), name, home, sizeof(home)) != 0)
			return unavail(errnop, -EINVAL);
	} else if (r > 0) {
		return notfound(errnop);
	} else if (p == NULL) {
		promise_keep(name, uid);
	}
	return fill_passwd(name, uid, "", home, store_str(top, top->hdr->shell), pw, buf, buflen, errnop);
}

/* A stored user, unless this process was promised another uid for the name before it was stored. */
static enum nss_status stored_user(const struct pj_store *st, const struct pj_store_user *u,
                                   struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	const struct promise *p = promise_find(store_str(st, u->name));

	if (p != NULL && p->uid != u->uid)
		return fill_passwd(p->name, p->uid, store_str(st, u->gecos), store_str(st, u->home),
		                   store_str(st, u->shell), pw, buf, buflen, errnop);
	return fill_user(st, u, pw, buf, buflen, errnop);
}

enum nss_status _nss_jwt_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                    int *errnop)
{
	struct pj_user_ref u;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lookup_lock);
	if ((r = refresh_lookup_view()) < 0)
		s = unavail(errnop, r);
	else if (view_user_by_name(&lookup_view, name, &u))
		s = stored_user(u.st, u.u, pw, buf, buflen, errnop);
	else
		s = preauth(&lookup_view, name, pw, buf, buflen, errnop);
	pthread_mutex_unlock(&lookup_lock);
	return s;
}

enum nss_status _nss_jwt_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	struct pj_user_ref u;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lookup_lock);
	if ((r = refresh_lookup_view()) < 0)
		s = unavail(errnop, r);
	else if (view_user_by_uid(&lookup_view, uid, &u))
		s = fill_user(u.st, u.u, pw, buf, buflen, errnop);
	else
		s = notfound(errnop);
	pthread_mutex_unlock(&lookup_lock);
	return s;
}

enum nss_status _nss_jwt_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct pj_group_ref g;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lookup_lock);
	if ((r = refresh_lookup_view()) < 0)
		s = unavail(errnop, r);
	else if (view_group_by_name(&lookup_view, name, &g))
		s = fill_group(&lookup_view, &g, gr, buf, buflen, errnop);
	else
		s = notfound(errnop);
	pthread_mutex_unlock(&lookup_lock);
	return s;
}

enum nss_status _nss_jwt_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct pj_group_ref g;
	enum nss_status s;
	int r;

	pthread_mutex_lock(&lookup_lock);
	if ((r = refresh_lookup_view()) < 0)
		s = unavail(errnop, r);
	else if (view_group_by_gid(&lookup_view, gid, &g))
		s = fill_group(&lookup_view, &g, gr, buf, buflen, errnop);
	else
		s = notfound(errnop);
	pthread_mutex_unlock(&lookup_lock);
	return s;
}

/* Adds gid to the caller's list unless present; grows it within limit (limit <= 0: no limit). */
static enum nss_status add_gid(gid_t gid, long int *start, long int *size, gid_t **groupsp, long int limit,
                               int *errnop)
{
	gid_t *g;
	long int nsize;

	for (long int i = 0; i < *start; i++) {
		if ((*groupsp)[i] == gid)
			return NSS_STATUS_SUCCESS;
	}
	if (*start == *size) {
		if (limit > 0 && *size >= limit)
			return NSS_STATUS_SUCCESS; /* full: the caller keeps what fits */
		nsize = *size > 0 ? *size * 2 : 16;
		if (limit > 0 && nsize > limit)
			nsize = limit;
		if ((g = realloc(*groupsp, (size_t)nsize * sizeof(gid_t))) == NULL) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*groupsp = g;
		*size = nsize;
	}
	(*groupsp)[(*start)++] = gid;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_jwt_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                        gid_t **groupsp, long int limit, int *errnop)
{
	struct pj_user_ref u;
	const uint32_t *gids;
	enum nss_status s = NSS_STATUS_SUCCESS;
	size_t n;
	int r;

	pthread_mutex_lock(&lookup_lock);
	if ((r = refresh_lookup_view()) < 0) {
		s = unavail(errnop, r);
		goto out;
	}
	if (!view_user_by_name(&lookup_view, user, &u)) {
		s = notfound(errnop);
		goto out;
	}
	gids = store_user_gids(u.st, u.u, &n);
	for (size_t i = 0; i < n && s == NSS_STATUS_SUCCESS; i++) {
		if (gids[i] != group)
			s = add_gid(gids[i], start, size, groupsp, limit, errnop);
	}
out:
	pthread_mutex_unlock(&lookup_lock);
	return s;
}

static int cursor_open(struct cursor *c)
{
	int r = view_open(PJ_STATE_DIR, &c->v);

	if (r == 0 && c->v.base.hdr == NULL)
		r = -ENOENT;
	return r;
}

static enum nss_status cursor_set(struct cursor *c)
{
	pthread_mutex_lock(&c->lock);
	view_close(&c->v);
	c->error = cursor_open(c);
	c->open = c->error == 0;
	c->next = 0;
	pthread_mutex_unlock(&c->lock);
	return c->open ? NSS_STATUS_SUCCESS : NSS_STATUS_UNAVAIL;
}

static enum nss_status cursor_end(struct cursor *c)
{
	pthread_mutex_lock(&c->lock);
	view_close(&c->v);
	c->open = false;
	c->error = 0;
	c->next = 0;
	pthread_mutex_unlock(&c->lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_jwt_setpwent(int stayopen)
{
	(void)stayopen;
	return cursor_set(&pw_cursor);
}

enum nss_status _nss_jwt_endpwent(void)
{
	return cursor_end(&pw_cursor);
}

/* Fills the next entry of the view after *cursor: a user for passwd, a group for group. NOTFOUND at the end.
 * *cursor moves only on success: on ERANGE the caller retries the same entry with a bigger buffer. */
typedef enum nss_status (*fill_next_fn)(const struct pj_view *v, uint64_t *cursor, void *result, char *buf,
                                        size_t buflen, int *errnop);

static enum nss_status fill_user_next(const struct pj_view *v, uint64_t *cursor, void *result, char *buf,
                                      size_t buflen, int *errnop)
{
	uint64_t at = *cursor;
	struct pj_user_ref u;
	enum nss_status s;

	if (!view_user_next(v, &at, &u))
		return notfound(errnop);
	if ((s = fill_user(u.st, u.u, result, buf, buflen, errnop)) == NSS_STATUS_SUCCESS)
		*cursor = at;
	return s;
}

static enum nss_status fill_group_next(const struct pj_view *v, uint64_t *cursor, void *result, char *buf,
                                       size_t buflen, int *errnop)
{
	uint64_t at = *cursor;
	struct pj_group_ref g;
	enum nss_status s;

	if (!view_group_next(v, &at, &g))
		return notfound(errnop);
	if ((s = fill_group(v, &g, result, buf, buflen, errnop)) == NSS_STATUS_SUCCESS)
		*cursor = at;
	return s;
}

/* Whether a file an enumeration walks was changed in place or stopped being trusted since set*ent (its
 * mapping is shared with the file). A file replaced meanwhile is not: the old inode the walk maps stays as
 * it was validated; an appended journal is not either: the walk reads the records it validated. */
static bool cursor_stale(const struct cursor *c)
{
	struct stat sb;

	return stat(STORE_PATH, &sb) == 0 && (uint64_t)sb.st_dev == c->v.base.file.dev &&
	       (uint64_t)sb.st_ino == c->v.base.file.ino && !store_same_file(&c->v.base, &sb);
}

/* The next entry of an enumeration. */
static enum nss_status cursor_get(struct cursor *c, fill_next_fn fill, void *result, char *buf, size_t buflen,
                                  int *errnop)
{
	enum nss_status s;

	pthread_mutex_lock(&c->lock);
	if (!c->open && c->error == 0) { /* getpwent / getgrent without setpwent / setgrent */
		c->error = cursor_open(c);
		c->open = c->error == 0;
		c->next = 0;
	} else if (c->open && cursor_stale(c)) {
		view_close(&c->v);
		c->open = false;
		c->error = -ESTALE; /* until endpwent / setpwent */
	}
	if (!c->open)
		s = unavail(errnop, c->error);
	else
		s = fill(&c->v, &c->next, result, buf, buflen, errnop);
	pthread_mutex_unlock(&c->lock);
	return s;
}

enum nss_status _nss_jwt_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return cursor_get(&pw_cursor, fill_user_next, pw, buf, buflen, errnop);
}

enum nss_status _nss_jwt_setgrent(int stayopen)
{
	(void)stayopen;
	return cursor_set(&gr_cursor);
}

enum nss_status _nss_jwt_endgrent(void)
{
	return cursor_end(&gr_cursor);
}

enum nss_status _nss_jwt_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return cursor_get(&gr_cursor, fill_group_next, gr, buf, buflen, errnop);
}
