/* last_login.c: the last-login file, fixed records written in place (libc only; see last_login.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idmap.h"
#include "last_login.h"
#include "store_read.h"

#define LAST_MAGIC   "PJWTLAST"
#define LAST_VERSION 1u

struct last_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	uint32_t record_size;
	uint32_t reserved[3];
};

struct last_record {
	uint32_t uid;
	uint32_t slot;
	int64_t created;
	int64_t last_login;
	uint64_t check; /* FNV-1a 64 of the fields above */
};

_Static_assert(sizeof(struct last_header) == 32, "last-login header layout");
_Static_assert(sizeof(struct last_record) == 32, "last-login record layout");

static off_t record_offset(uint32_t slot)
{
	return (off_t)sizeof(struct last_header) + (off_t)slot * (off_t)sizeof(struct last_record);
}

static uint64_t record_check(const struct last_record *rec)
{
	return idmap_fnv1a64(rec, offsetof(struct last_record, check));
}

static void header_make(struct last_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, LAST_MAGIC, sizeof(h->magic));
	h->version = LAST_VERSION;
	h->endian = PJ_STORE_ENDIAN_MARK;
	h->record_size = sizeof(struct last_record);
}

/* Opens dir/users.last (flags O_RDONLY, or O_RDWR|O_CREAT) and checks the directory and the file. */
static int open_trusted(const char *dir, int flags)
{
	struct stat sb;

	return store_open_file(dir, PJ_LAST_FILE, flags, &sb);
}

static int header_ok(int fd)
{
	struct last_header want, got;

	header_make(&want);
	if (pread(fd, &got, sizeof(got), 0) != (ssize_t)sizeof(got))
		return 0;
	return memcmp(&want, &got, sizeof(got)) == 0;
}

int last_login_put(const char *dir, uint32_t slot, uint32_t uid, int64_t created, int64_t when)
{
	struct last_record rec = {.uid = uid, .slot = slot, .created = created, .last_login = when};
	struct last_header h;
	int fd, r = 0;

	if (slot == 0)
		return -EINVAL;
	if ((fd = open_trusted(dir, O_RDWR | O_CREAT)) < 0)
		return fd;
	header_make(&h);
	/* a new, torn or damaged header is written (again): records are checked one by one (uid, slot,
	 * created, checksum), so what lies behind a header that was not ours counts for no user */
	if (!header_ok(fd) && pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		r = -EIO;
	rec.check = record_check(&rec);
	errno = 0;
	if (r == 0 && pwrite(fd, &rec, sizeof(rec), record_offset(slot)) != (ssize_t)sizeof(rec))
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

int last_login_open(const char *dir, struct pj_last *lf)
{
	int fd = open_trusted(dir, O_RDONLY);

	lf->fd = -1;
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (!header_ok(fd)) { /* damaged or foreign: no records, the store's times stand */
		close(fd);
		return 0;
	}
	lf->fd = fd;
	return 0;
}

int64_t last_login_get(const struct pj_last *lf, uint32_t slot, uint32_t uid, int64_t created)
{
	struct last_record rec;

	if (lf->fd < 0 || slot == 0 ||
	    pread(lf->fd, &rec, sizeof(rec), record_offset(slot)) != (ssize_t)sizeof(rec))
		return 0;
	if (rec.uid != uid || rec.slot != slot || rec.created != created || rec.check != record_check(&rec))
		return 0;
	return rec.last_login;
}

void last_login_close(struct pj_last *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
}
