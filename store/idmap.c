/* idmap.c: deterministic ids, name rules and local-account checks (libc only; see idmap.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer.h"
#include "idmap.h"

#define FNV64_BASIS    0xcbf29ce484222325ULL
#define FNV64_PRIME    0x100000001b3ULL
#define LINE_BUF_SIZE  65536 /* longest /etc/passwd or /etc/group line we accept */
#define PATH_FIELD_MAX 256

/* FNV-1a-64 continued over len more bytes. */
static uint64_t fnv1a64_more(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

uint64_t idmap_fnv1a64(const void *data, size_t len)
{
	return fnv1a64_more(FNV64_BASIS, data, len);
}

uint64_t idmap_fnv1a64_zeroed(const void *data, size_t len, size_t at)
{
	static const unsigned char zero[8];
	const unsigned char *p = data;
	uint64_t h = fnv1a64_more(FNV64_BASIS, p, at);

	h = fnv1a64_more(h, zero, sizeof(zero));
	return fnv1a64_more(h, p + at + sizeof(zero), len - at - sizeof(zero));
}

uint64_t idmap_hash(const char *salt, const char *name)
{
	size_t slen = salt ? strlen(salt) : 0;
	uint64_t h;

	if (slen == 0)
		return idmap_fnv1a64(name, strlen(name));
	/* the NULs keep (salt, name) pairs apart; the salt after the name mixes the secret in last too */
	h = fnv1a64_more(FNV64_BASIS, salt, slen + 1);
	h = fnv1a64_more(h, name, strlen(name) + 1);
	return fnv1a64_more(h, salt, slen);
}

uint32_t idmap_candidate(const char *salt, const char *name, uint32_t min, uint32_t max, uint32_t probe)
{
	uint64_t range = (uint64_t)max - min + 1;
	uint64_t h = idmap_hash(salt, name);

	return (uint32_t)(min + ((h % range) + probe) % range);
}

bool idmap_salt_ok(const char *salt)
{
	size_t len = strlen(salt);

	if (len < IDMAP_SALT_MIN || len > IDMAP_SALT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (salt[i] < 0x21 || salt[i] > 0x7e || salt[i] == ':')
			return false;
	}
	return true;
}

bool idmap_id_allowed(uint32_t id, uint32_t min, uint32_t max)
{
	return id != 0 && id >= min && id <= max && id != 65534 && id != 65535 && id != UINT32_MAX;
}

int idmap_assign(const char *salt, const char *name, uint32_t min, uint32_t max, idmap_taken_fn taken,
                 void *ctx, uint32_t *id, uint32_t *probes)
{
	uint64_t range, p = 0;

	if (min == 0 || min > max)
		return -1;
	range = (uint64_t)max - min + 1;
	for (uint32_t step = 0; step < IDMAP_PROBE_MAX && p < range; step++) {
		uint32_t c = idmap_candidate(salt, name, min, max, (uint32_t)p), run;
		if (!idmap_id_allowed(c, min, max)) {
			p++;
			continue;
		}
		if ((run = taken(ctx, c)) == IDMAP_TAKEN_FINAL) {
			*id = c;
			*probes = (uint32_t)p;
			return -2;
		}
		if (run > 0) {
			p += run;
			continue;
		}
		*id = c;
		*probes = (uint32_t)p;
		return 0;
	}
	return -1;
}

static bool all_digits(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

bool idmap_username_ok(const char *name)
{
	return idmap_username_syntax_ok(name) && strcmp(name, "root") != 0;
}

bool idmap_username_syntax_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > IDMAP_NAME_MAX || all_digits(name))
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool idmap_groupname_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > IDMAP_NAME_MAX || all_digits(name) || strcmp(name, "root") == 0)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Absolute, printable ASCII, no ':' (the passwd field separator), bounded. */
static bool path_field_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 2 || len > PATH_FIELD_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':')
			return false;
	}
	return true;
}

bool idmap_home_template_ok(const char *tmpl)
{
	if (!path_field_ok(tmpl))
		return false;
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] != 'u' && p[1] != '%')
			return false;
		p++;
	}
	return true;
}

bool idmap_shell_ok(const char *shell)
{
	return path_field_ok(shell);
}

int idmap_home(const char *tmpl, const char *user, char *out, size_t outlen)
{
	size_t o = 0, ulen = strlen(user);

	if (!idmap_home_template_ok(tmpl) || outlen == 0)
		return -1;
	for (const char *p = tmpl; *p != '\0'; p++) {
		const char *add = p;
		size_t n = 1;
		if (*p == '%') {
			p++;
			if (*p == 'u') {
				add = user;
				n = ulen;
			} else {
				add = p; /* "%%" */
			}
		}
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int idmap_cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int push_id(struct idmap_local *l, size_t *cap, uint32_t id)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		uint32_t *n = realloc(l->ids, ncap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		l->ids = n;
		*cap = ncap;
	}
	/* gcc 12's analyzer loses the array just stored in l->ids (idmap_local_free frees it): no leak */
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	l->ids[l->n++] = id;
	PJ_ANALYZER_END()
	return 0;
}

/* Walks one account file; for each entry calls back with its name and id. cb returns 0 to go on, > 0 to
 * stop with that value, < 0 for an error. Returns 0 at the end of the file. */
typedef int (*entry_fn)(void *ctx, const char *name, uint32_t id);

/* Reads the next entry of an account file (passwd when is_group is false, else group) as name and id;
 * returns 0, or fgetpwent_r's / fgetgrent_r's error (ENOENT at the end). */
static int next_entry(FILE *f, bool is_group, char *buf, const char **name, uint32_t *id)
{
	struct passwd pw, *pwres;
	struct group gr, *grres;
	int e;

	if (is_group) {
		if ((e = fgetgrent_r(f, &gr, buf, LINE_BUF_SIZE, &grres)) == 0) {
			*name = gr.gr_name;
			*id = gr.gr_gid;
		}
	} else if ((e = fgetpwent_r(f, &pw, buf, LINE_BUF_SIZE, &pwres)) == 0) {
		*name = pw.pw_name;
		*id = pw.pw_uid;
	}
	return e;
}

static int walk_file(const char *path, bool is_group, entry_fn cb, void *ctx)
{
	const char *name = NULL;
	uint32_t id = 0;
	char *buf;
	FILE *f;
	int r = 0, e;

	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	if ((buf = malloc(LINE_BUF_SIZE)) == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	while ((e = next_entry(f, is_group, buf, &name, &id)) == 0) {
		if ((r = cb(ctx, name, id)) != 0)
			break;
	}
	if (r == 0 && e != ENOENT)
		r = -(e ? e : EIO);
	free(buf);
	fclose(f);
	return r;
}

static int walk_passwd(const char *path, entry_fn cb, void *ctx)
{
	return walk_file(path, false, cb, ctx);
}

static int walk_group(const char *path, entry_fn cb, void *ctx)
{
	return walk_file(path, true, cb, ctx);
}

struct collect_ctx {
	struct idmap_local *local;
	size_t cap;
	uint32_t min, max;
};

static int collect_id(void *arg, const char *name, uint32_t id)
{
	struct collect_ctx *c = arg;

	(void)name;
	if (id < c->min || id > c->max)
		return 0;
	return push_id(c->local, &c->cap, id);
}

/* path's directory with name in it: the subuid file beside passwd, the subgid file beside group. */
static int sibling(const char *path, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash == NULL ? 0 : (int)(slash - path + 1);
	int n = snprintf(out, outlen, "%.*s%s", dirlen, path, name);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* One line of a subuid/subgid file, "owner:first:count" in decimal: the range within [min, max], or false
 * for comments, malformed lines and ranges outside it. */
static bool parse_subid(const char *line, uint32_t min, uint32_t max, struct idmap_range *out)
{
	const char *p = strchr(line, ':');
	unsigned long long first, count;
	char *end;

	if (line[0] == '#' || p == NULL || p[1] < '0' || p[1] > '9')
		return false;
	errno = 0;
	first = strtoull(p + 1, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	count = strtoull(end + 1, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n') || count == 0 || count > UINT32_MAX || first > max ||
	    first + count - 1 < min)
		return false;
	out->first = first < min ? min : (uint32_t)first;
	out->last = first + count - 1 > max ? max : (uint32_t)(first + count - 1);
	return true;
}

/* Adds the ranges of a subuid or subgid file that meet [min, max]; a missing file has none. */
static int load_subids(const char *path, uint32_t min, uint32_t max, struct idmap_local *l, size_t *cap)
{
	struct idmap_range r;
	char *line = NULL;
	size_t linecap = 0;
	int e = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &linecap, f) >= 0) {
		if (!parse_subid(line, min, max, &r))
			continue;
		if (l->n_ranges == *cap) {
			size_t ncap = *cap ? *cap * 2 : 16;
			struct idmap_range *n = realloc(l->ranges, ncap * sizeof(*n));
			if (n == NULL) {
				e = -ENOMEM;
				break;
			}
			l->ranges = n;
			*cap = ncap;
		}
		l->ranges[l->n_ranges++] = r;
	}
	if (e == 0 && ferror(f))
		e = -EIO;
	free(line);
	fclose(f);
	return e;
}

int idmap_local_load(const char *passwd_path, const char *group_path, uint32_t min, uint32_t max,
                     struct idmap_local *out)
{
	struct collect_ctx c = {.local = out, .cap = 0, .min = min, .max = max};
	const char *pw = passwd_path ? passwd_path : IDMAP_PASSWD_PATH;
	const char *gr = group_path ? group_path : IDMAP_GROUP_PATH;
	char sub[PATH_MAX];
	size_t rcap = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = walk_passwd(pw, collect_id, &c)) < 0 || (r = walk_group(gr, collect_id, &c)) < 0 ||
	    (r = sibling(pw, "subuid", sub, sizeof(sub))) < 0 ||
	    (r = load_subids(sub, min, max, out, &rcap)) < 0 ||
	    (r = sibling(gr, "subgid", sub, sizeof(sub))) < 0 ||
	    (r = load_subids(sub, min, max, out, &rcap)) < 0) {
		idmap_local_free(out);
		return r;
	}
	if (out->n > 0)
		qsort(out->ids, out->n, sizeof(*out->ids), idmap_cmp_id);
	return 0;
}

uint32_t idmap_local_run(const struct idmap_local *local, uint32_t id)
{
	uint32_t run = 0;

	if (local->n > 0 && bsearch(&id, local->ids, local->n, sizeof(*local->ids), idmap_cmp_id) != NULL)
		run = 1;
	for (size_t i = 0; i < local->n_ranges; i++) { /* a few per local user: a scan will do */
		const struct idmap_range *r = &local->ranges[i];
		if (id >= r->first && id <= r->last && r->last - id + 1 > run)
			run = r->last - id + 1;
	}
	return run;
}

bool idmap_local_has_id(const struct idmap_local *local, uint32_t id)
{
	return idmap_local_run(local, id) > 0;
}

void idmap_local_free(struct idmap_local *local)
{
	free(local->ids);
	free(local->ranges);
	memset(local, 0, sizeof(*local));
}

struct name_ctx {
	const char *name;
	bool fold; /* compare ignoring ASCII case */
	uint32_t id;
};

static int match_name(void *arg, const char *name, uint32_t id)
{
	struct name_ctx *c = arg;

	if ((c->fold ? strcasecmp(name, c->name) : strcmp(name, c->name)) != 0)
		return 0;
	c->id = id;
	return 1;
}

int idmap_local_name(const char *passwd_path, const char *group_path, const char *name)
{
	/* Ignoring case: sudo matches group and user names that way by default (case_insensitive_group,
	 * case_insensitive_user), so "Sudo" would pass for the local group sudo in a %sudo rule. */
	struct name_ctx c = {.name = name, .fold = true};
	int r;

	if ((r = walk_passwd(passwd_path ? passwd_path : IDMAP_PASSWD_PATH, match_name, &c)) != 0)
		return r;
	return walk_group(group_path ? group_path : IDMAP_GROUP_PATH, match_name, &c);
}

int idmap_local_group(const char *group_path, const char *name, uint32_t *gid)
{
	struct name_ctx c = {.name = name};
	int r;

	if ((r = walk_group(group_path ? group_path : IDMAP_GROUP_PATH, match_name, &c)) == 1)
		*gid = c.id;
	return r;
}

struct each_ctx {
	idmap_each_fn each;
	void *ctx;
	bool is_group;
};

static int each_entry(void *arg, const char *name, uint32_t id)
{
	struct each_ctx *c = arg;

	return c->each(c->ctx, name, id, c->is_group);
}

int idmap_local_each(const char *passwd_path, const char *group_path, idmap_each_fn each, void *ctx)
{
	struct each_ctx c = {.each = each, .ctx = ctx};
	int r;

	if ((r = walk_passwd(passwd_path ? passwd_path : IDMAP_PASSWD_PATH, each_entry, &c)) != 0)
		return r;
	c.is_group = true;
	return walk_group(group_path ? group_path : IDMAP_GROUP_PATH, each_entry, &c);
}
