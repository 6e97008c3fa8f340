/* local_index.c: the names of the local account files, cached per change of the files (see local_index.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "local_index.h"
#include "store/idmap.h"
#include "store/store_format.h"
#include "store/store_read.h"
#include "trusted_file.h"

#define LI_FILE             "local.cache"
#define LI_MAGIC            "PJWTLOCL"
#define LI_VERSION          1u
#define LI_MAX_SIZE         (64u << 20)
#define LI_MAX_NAME         256 /* longer local names are kept folded to this many bytes: never ours anyway */
#define LOCAL_INDEX_RACY_NS 100000000LL /* 100 ms: far above any timestamp tick */

struct li_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	struct store_file_id files[2]; /* passwd, group */
	uint32_t n;
	uint32_t strings_len;
	uint64_t checksum; /* FNV-1a 64 of the whole file with this field zero */
};

struct li_entry {
	uint32_t folded; /* string: the name in ASCII lower case; entries are sorted by it */
	uint32_t name;   /* string: the name as written */
	uint32_t id;
	uint32_t is_group;
};

_Static_assert(sizeof(struct li_header) == 144, "local index header layout");

/* FNV-1a 64 of the whole file with the header's checksum field taken as zero. */
static uint64_t checksum(const unsigned char *data, size_t len)
{
	return idmap_fnv1a64_zeroed(data, len, offsetof(struct li_header, checksum));
}

static void fold(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	out[i] = '\0';
}

static bool str_ok(const struct local_index *li, uint32_t ref)
{
	return ref < li->strings_len && memchr(li->strings + ref, '\0', li->strings_len - ref) != NULL;
}

/* Points li into data (len bytes) when it is a valid index for the files described by want. */
static bool index_use(struct local_index *li, unsigned char *data, size_t len,
                      const struct store_file_id want[2])
{
	const struct li_header *h = (const void *)data;
	uint64_t body;

	if (len < sizeof(*h) || memcmp(h->magic, LI_MAGIC, 8) != 0 || h->version != LI_VERSION ||
	    h->endian != PJ_STORE_ENDIAN_MARK || memcmp(h->files, want, sizeof(h->files)) != 0)
		return false;
	body = (uint64_t)h->n * sizeof(struct li_entry) + h->strings_len;
	if (body != len - sizeof(*h) || h->strings_len == 0 || h->checksum != checksum(data, len))
		return false;
	li->data = data;
	li->len = len;
	li->n = h->n;
	li->entries = (const void *)(data + sizeof(*h));
	li->strings = (const char *)(li->entries + h->n);
	li->strings_len = h->strings_len;
	for (uint32_t i = 0; i < li->n; i++) {
		if (!str_ok(li, li->entries[i].folded) || !str_ok(li, li->entries[i].name) ||
		    (i > 0 && strcmp(li->strings + li->entries[i - 1].folded,
		                     li->strings + li->entries[i].folded) > 0)) {
			memset(li, 0, sizeof(*li));
			return false;
		}
	}
	return true;
}

/* ---- building from the files ---- */

struct li_build {
	struct li_entry *entries;
	size_t n, cap;
	char *strings;
	size_t slen, scap;
	int error;
};

static int add_string(struct li_build *b, const char *s, uint32_t *ref)
{
	size_t n = strlen(s) + 1;

	if (b->slen + n > LI_MAX_SIZE)
		return -EFBIG;
	if (b->slen + n > b->scap) {
		size_t ncap = b->scap ? b->scap : 4096;
		char *p;
		while (ncap < b->slen + n)
			ncap *= 2;
		if ((p = realloc(b->strings, ncap)) == NULL)
			return -ENOMEM;
		b->strings = p;
		b->scap = ncap;
	}
	memcpy(b->strings + b->slen, s, n);
	*ref = (uint32_t)b->slen;
	b->slen += n;
	return 0;
}

static int add_entry(void *arg, const char *name, uint32_t id, bool is_group)
{
	struct li_build *b = arg;
	char folded[LI_MAX_NAME + 1];
	struct li_entry *e;
	int r;

	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		struct li_entry *p = realloc(b->entries, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		b->entries = p;
		b->cap = ncap;
	}
	e = &b->entries[b->n];
	fold(name, folded, sizeof(folded));
	if ((r = add_string(b, folded, &e->folded)) < 0 || (r = add_string(b, name, &e->name)) < 0)
		return r;
	e->id = id;
	e->is_group = is_group;
	b->n++;
	return 0;
}

/* By folded name, then in file order (names were added in that order), so a name found twice in the files
 * answers as its first line does. */
static int cmp_entry(const void *a, const void *b, void *ctx)
{
	const struct li_entry *x = a, *y = b;
	int c = strcmp((const char *)ctx + x->folded, (const char *)ctx + y->folded);

	return c != 0 ? c : (x->name > y->name) - (x->name < y->name);
}

/* Reads the files into a new index image (header stats from files). */
static int index_build(const char *passwd_path, const char *group_path, const struct store_file_id files[2],
                       unsigned char **data, size_t *len)
{
	struct li_build b = {0};
	struct li_header *h;
	size_t total;
	uint32_t empty;
	int r;

	if ((r = add_string(&b, "", &empty)) < 0 ||
	    (r = idmap_local_each(passwd_path, group_path, add_entry, &b)) < 0)
		goto out;
	qsort_r(b.entries, b.n, sizeof(*b.entries), cmp_entry, b.strings);
	total = sizeof(*h) + b.n * sizeof(*b.entries) + b.slen;
	if (total > LI_MAX_SIZE) {
		r = -EFBIG;
		goto out;
	}
	if ((*data = calloc(1, total)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	h = (struct li_header *)*data;
	memcpy(h->magic, LI_MAGIC, 8);
	h->version = LI_VERSION;
	h->endian = PJ_STORE_ENDIAN_MARK;
	memcpy(h->files, files, sizeof(h->files));
	h->n = (uint32_t)b.n;
	h->strings_len = (uint32_t)b.slen;
	memcpy(*data + sizeof(*h), b.entries, b.n * sizeof(*b.entries));
	memcpy(*data + sizeof(*h) + b.n * sizeof(*b.entries), b.strings, b.slen);
	h->checksum = checksum(*data, total);
	*len = total;
out:
	free(b.entries);
	free(b.strings);
	return r;
}

/* Whether a file changed so shortly before now that a later change could leave the same stat behind. */
static bool racy(const struct stat *sb, const struct timespec *now)
{
	int64_t m =
	    (int64_t)(now->tv_sec - sb->st_mtim.tv_sec) * 1000000000LL + (now->tv_nsec - sb->st_mtim.tv_nsec);
	int64_t c =
	    (int64_t)(now->tv_sec - sb->st_ctim.tv_sec) * 1000000000LL + (now->tv_nsec - sb->st_ctim.tv_nsec);

	return m < LOCAL_INDEX_RACY_NS || c < LOCAL_INDEX_RACY_NS;
}

pj_status local_index_open(const char *state_dir, const char *passwd_path, const char *group_path,
                           struct local_index *li, struct pj_error *err)
{
	const char *pw = passwd_path ? passwd_path : IDMAP_PASSWD_PATH;
	const char *gr = group_path ? group_path : IDMAP_GROUP_PATH;
	struct stat sb[2];
	struct store_file_id files[2];
	struct timespec now;
	char path[PATH_MAX];
	struct pj_error ignored;
	unsigned char *data = NULL;
	size_t len = 0;
	char *cached;
	int r;

	memset(li, 0, sizeof(*li));
	if (stat(pw, &sb[0]) != 0 || stat(gr, &sb[1]) != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "reading %s and %s: %s", pw, gr, strerror(errno));
	files[0] = store_file_id_of(&sb[0]);
	files[1] = store_file_id_of(&sb[1]);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, LI_FILE) >= sizeof(path))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", state_dir);
	if (trusted_dir_check(state_dir, &ignored) == PJ_OK &&
	    trusted_file_read(path, LI_MAX_SIZE, &cached, &len, &ignored) == PJ_OK) {
		if (index_use(li, (unsigned char *)cached, len, files))
			return PJ_OK;
		free(cached);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if ((r = index_build(pw, gr, files, &data, &len)) < 0)
		return pj_fail(err, r == -ENOMEM ? PJ_ERR_NOMEM : PJ_ERR_SYSTEM, "reading %s and %s: %s", pw,
		               gr, strerror(-r));
	/* a cache that cannot be written (no state_dir yet, read-only, full) only costs the next login a read
	 */
	if (!racy(&sb[0], &now) && !racy(&sb[1], &now) && trusted_dir_check(state_dir, &ignored) == PJ_OK)
		atomic_write_file(path, data, len, 0644, &ignored);
	if (!index_use(li, data, len, files)) {
		free(data);
		return pj_fail(err, PJ_ERR_SYSTEM, "local account index: built invalid");
	}
	return PJ_OK;
}

/* The first entry whose folded name is >= key. */
static uint32_t lower_bound(const struct local_index *li, const char *key)
{
	uint32_t lo = 0, hi = li->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (strcmp(li->strings + li->entries[mid].folded, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool local_index_name(const struct local_index *li, const char *name)
{
	char key[LI_MAX_NAME + 1];
	uint32_t i;

	fold(name, key, sizeof(key));
	i = lower_bound(li, key);
	return i < li->n && strcmp(li->strings + li->entries[i].folded, key) == 0;
}

bool local_index_group(const struct local_index *li, const char *name, uint32_t *gid)
{
	char key[LI_MAX_NAME + 1];

	fold(name, key, sizeof(key));
	for (uint32_t i = lower_bound(li, key);
	     i < li->n && strcmp(li->strings + li->entries[i].folded, key) == 0; i++) {
		const struct li_entry *e = &li->entries[i];
		if (e->is_group && strcmp(li->strings + e->name, name) == 0) {
			*gid = e->id;
			return true;
		}
	}
	return false;
}

void local_index_free(struct local_index *li)
{
	free(li->data);
	memset(li, 0, sizeof(*li));
}
