/* replay.c: the host's seen-set of (issuer, jti): a fixed-size open-addressing table file (see replay.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "identity.h"
#include "json_strict.h"
#include "replay.h"
#include "trusted_file.h"

#define REPLAY_MAGIC   "PJREPLAY"
#define REPLAY_VERSION 1u
#define KEY_LEN        24

struct replay_hdr {
	char magic[8];
	uint32_t version;
	uint32_t n_slots;
	uint32_t slot_size;
	unsigned char reserved[PJ_REPLAY_HDR_SIZE - 20];
};

struct replay_slot {
	unsigned char key[KEY_LEN];
	int64_t until; /* 0: free */
};

_Static_assert(sizeof(struct replay_hdr) == PJ_REPLAY_HDR_SIZE, "header size");
_Static_assert(sizeof(struct replay_slot) == PJ_REPLAY_SLOT_SIZE, "slot size");

/* SHA-256 over the lengths and bytes of iss and jti: the first 24 bytes are the key, the last 8 the place. */
static pj_status token_hash(const char *iss, size_t iss_len, const char *jti, size_t jti_len,
                            unsigned char out[32], struct pj_error *err)
{
	uint64_t lens[2] = {iss_len, jti_len};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int good;

	if (ctx == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	good = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	       EVP_DigestUpdate(ctx, "pam_jwt replay v1", 18) == 1 &&
	       EVP_DigestUpdate(ctx, lens, sizeof(lens)) == 1 && EVP_DigestUpdate(ctx, iss, iss_len) == 1 &&
	       EVP_DigestUpdate(ctx, jti, jti_len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(ctx);
	return good ? PJ_OK : pj_fail(err, PJ_ERR_SYSTEM, "SHA-256 failed");
}

static void make_header(struct replay_hdr *h, uint32_t n_slots)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, REPLAY_MAGIC, 8);
	h->version = REPLAY_VERSION;
	h->n_slots = n_slots;
	h->slot_size = PJ_REPLAY_SLOT_SIZE;
}

static off_t table_size(uint32_t n_slots)
{
	return (off_t)PJ_REPLAY_HDR_SIZE + (off_t)n_slots * PJ_REPLAY_SLOT_SIZE;
}

/* A new empty table: made whole under a temporary name, synced, then linked to its name (link fails when
 * another process got there first, and then that table is used), so no one ever sees a half-made table. */
static pj_status create_table(const char *dir, const char *path, uint32_t n_slots, struct pj_error *err)
{
	char tmp[PATH_MAX];
	struct replay_hdr h;
	pj_status r = PJ_OK;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, PJ_REPLAY_FILE, (long)getpid()) >=
	    sizeof(tmp))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", dir);
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot create: %s", tmp, strerror(errno));
	make_header(&h, n_slots);
	if (ftruncate(fd, table_size(n_slots)) != 0 || pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fsync(fd) != 0)
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot write: %s", tmp, strerror(errno));
	close(fd);
	if (r == PJ_OK && link(tmp, path) != 0 && errno != EEXIST)
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot link: %s", path, strerror(errno));
	unlink(tmp);
	if (r == PJ_OK && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return r;
}

/* Opens the table and checks owner, mode, size and header. *fd = -1 and PJ_OK when it does not exist and
 * create is false. */
static pj_status open_table(const char *dir, uint32_t n_slots, bool create, int *fd, struct pj_error *err)
{
	char path[PATH_MAX];
	struct replay_hdr h, want;
	struct stat st;
	pj_status r;
	int tries = 0;

	*fd = -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, PJ_REPLAY_FILE) >= sizeof(path))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: path too long", dir);
	while ((*fd = open(path, (create ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno != ENOENT)
			return pj_fail(err, errno == ELOOP ? PJ_ERR_CONFIG : PJ_ERR_SYSTEM,
			               "%s: cannot open: %s", path, strerror(errno));
		if (!create)
			return PJ_OK;
		if (++tries > 2)
			return pj_fail(err, PJ_ERR_SYSTEM, "%s: disappears as it is made", path);
		if ((r = trusted_dir_make(dir, err)) != PJ_OK ||
		    (r = create_table(dir, path, n_slots, err)) != PJ_OK)
			return r;
	}
	/* the directory too, every time: whoever may write in it could remove the table, and with it every
	 * jti it holds, or put another in its place */
	if ((r = trusted_dir_check(dir, err)) != PJ_OK ||
	    (r = trusted_file_check_fd(*fd, path, err)) != PJ_OK)
		return r;
	make_header(&want, n_slots);
	if (fstat(*fd, &st) != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot stat: %s", path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return pj_fail(err, PJ_ERR_CONFIG,
		               "%s: readable by group or others (mode %04o): must be 0600", path,
		               (unsigned)(st.st_mode & 07777));
	if (pread(*fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(&h, &want, sizeof(h)) != 0 ||
	    st.st_size != table_size(n_slots))
		return pj_fail(err, PJ_ERR_CONFIG,
		               "%s: not a replay table of %u slots (damaged, or from another version): "
		               "move it away to start an empty one",
		               path, n_slots);
	return PJ_OK;
}

/* An fcntl lock on the window's bytes, tied to this open file description: it is gone when the process is. */
static pj_status lock_window(int fd, off_t start, off_t len, short type, struct pj_error *err)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	while (fcntl(fd, F_OFD_SETLKW, &fl) != 0)
		if (errno != EINTR)
			return pj_fail(err, PJ_ERR_SYSTEM, "replay table: cannot lock: %s", strerror(errno));
	return PJ_OK;
}

/* The window, under its lock: refuse a seen token, else (RECORD) take the first free slot. */
static pj_status check_window(int fd, off_t start, const unsigned char *key, int64_t until, time_t now,
                              enum pj_replay_mode mode, struct pj_error *err)
{
	struct replay_slot w[PJ_REPLAY_WINDOW];
	int free_slot = -1;

	if (pread(fd, w, sizeof(w), start) != (ssize_t)sizeof(w))
		return pj_fail(err, PJ_ERR_SYSTEM, "replay table: cannot read: %s", strerror(errno));
	for (int i = 0; i < (int)PJ_REPLAY_WINDOW; i++) {
		bool live = w[i].until > (int64_t)now;

		if (live && memcmp(w[i].key, key, KEY_LEN) == 0)
			return pj_fail(
			    err, PJ_ERR_TOKEN,
			    "token already used on this host (replay_protection = jti: its jti was "
			    "seen before)");
		if (!live && free_slot < 0)
			free_slot = i;
	}
	if (mode == PJ_REPLAY_PEEK)
		return PJ_OK;
	if (free_slot < 0)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "replay table full: the %u slots this token hashes to all hold unexpired tokens; "
		    "refused rather than forget one",
		    PJ_REPLAY_WINDOW);
	memcpy(w[free_slot].key, key, KEY_LEN);
	w[free_slot].until = until;
	if (pwrite(fd, &w[free_slot], sizeof(w[0]), start + (off_t)free_slot * PJ_REPLAY_SLOT_SIZE) !=
	        (ssize_t)sizeof(w[0]) ||
	    fdatasync(fd) != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "replay table: cannot write: %s", strerror(errno));
	return PJ_OK;
}

pj_status replay_check_token(const char *dir, uint32_t n_slots, const char *iss, size_t iss_len,
                             const char *jti, size_t jti_len, int64_t until, time_t now,
                             enum pj_replay_mode mode, struct pj_error *err)
{
	unsigned char h[32];
	uint64_t place;
	off_t start, len = (off_t)PJ_REPLAY_WINDOW * PJ_REPLAY_SLOT_SIZE;
	pj_status r;
	int fd = -1;

	if (n_slots < PJ_REPLAY_WINDOW)
		return pj_fail(err, PJ_ERR_CONFIG, "replay table of %u slots is smaller than its window",
		               n_slots);
	if ((r = token_hash(iss, iss_len, jti, jti_len, h, err)) != PJ_OK)
		return r;
	memcpy(&place, h + KEY_LEN, sizeof(place));
	start = PJ_REPLAY_HDR_SIZE + (off_t)(place % (n_slots - PJ_REPLAY_WINDOW + 1)) * PJ_REPLAY_SLOT_SIZE;
	if ((r = open_table(dir, n_slots, mode == PJ_REPLAY_RECORD, &fd, err)) != PJ_OK || fd < 0)
		goto out;
	if ((r = lock_window(fd, start, len, mode == PJ_REPLAY_RECORD ? F_WRLCK : F_RDLCK, err)) != PJ_OK)
		goto out;
	r = check_window(fd, start, h, until, now, mode, err);
out:
	if (fd >= 0)
		close(fd); /* drops the lock, after the write is synced */
	explicit_bzero(h, sizeof(h));
	return r;
}

pj_status replay_check(const struct pj_config *cfg, const struct pj_identity *id, time_t now,
                       enum pj_replay_mode mode, struct pj_error *err)
{
	const struct pj_issuer *is = id->issuer;
	const char *jti, *iss;
	size_t jti_len, iss_len;
	int64_t until = id->exp, iat;

	if (is == NULL || !is->replay_jti)
		return PJ_OK;
	if (id->claims == NULL || json_get_string(id->claims, "jti", &jti, &jti_len) != JSON_GET_OK)
		return pj_fail(err, PJ_ERR_TOKEN, "no jti claim (replay_protection = jti)");
	iss = is->issuer;
	iss_len = strlen(iss);
	if (is->max_token_age > 0 && json_get_int64(id->claims, "iat", &iat) == JSON_GET_OK &&
	    iat <= INT64_MAX - is->max_token_age && iat + is->max_token_age < until)
		until = iat + is->max_token_age;
	if (until > INT64_MAX - is->leeway)
		until = INT64_MAX;
	else
		until += is->leeway;
	return replay_check_token(cfg->state_dir, PJ_REPLAY_SLOTS, iss, iss_len, jti, jti_len, until, now,
	                          mode, err);
}
