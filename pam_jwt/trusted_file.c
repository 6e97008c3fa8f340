/* trusted_file.c: opens, checks and atomically writes files that carry trust (see trusted_file.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_read.h"
#include "trusted_file.h"

/* How often atomic_write_file picks a new temp name when one already exists. */
#define TMP_NAME_TRIES 8

/* Failures to open: a missing or refused file is a configuration problem, anything else a system one. */
static pj_status open_failure(const char *path, int e, struct pj_error *err)
{
	switch (e) {
	case ELOOP: return pj_fail(err, PJ_ERR_CONFIG, "%s: is a symbolic link", path);
	case ENOTDIR:
	case ENOENT:
	case EACCES:
	case EPERM: return pj_fail(err, PJ_ERR_CONFIG, "%s: cannot be opened: %s", path, strerror(e));
	case ENOMEM: return pj_fail(err, PJ_ERR_NOMEM, "%s: cannot be opened: %s", path, strerror(e));
	default: return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot be opened: %s", path, strerror(e));
	}
}

/* The trust rule of store_read.h (one definition, libc only), with a reason naming what is wrong. */
static pj_status check_trust(const struct stat *st, mode_t type, const char *path, struct pj_error *err)
{
	switch (store_stat_trust(st, type)) {
	case STORE_TRUSTED: return PJ_OK;
	case STORE_UNTRUSTED_TYPE:
		return pj_fail(err, PJ_ERR_CONFIG, "%s: is not a %s", path,
		               type == S_IFDIR ? "directory" : "regular file");
	case STORE_UNTRUSTED_OWNER:
		return pj_fail(err, PJ_ERR_CONFIG, "%s: not owned by root (uid %lu)", path,
		               (unsigned long)st->st_uid);
	case STORE_UNTRUSTED_MODE: break;
	}
	return pj_fail(err, PJ_ERR_CONFIG, "%s: is writable by group or others (mode %04o)", path,
	               (unsigned)(st->st_mode & 07777));
}

pj_status trusted_file_check_fd(int fd, const char *path, struct pj_error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot stat: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return pj_fail(err, PJ_ERR_CONFIG, "%s: is a symbolic link", path);
	return check_trust(&st, S_IFREG, path, err);
}

pj_status trusted_dir_check(const char *path, struct pj_error *err)
{
	struct stat st;
	pj_status r;
	int fd;

	/* O_PATH|O_NOFOLLOW: an fd for the final component itself (a symlink stays a symlink), and a FIFO
	 * or device is never really opened. fstat on it then checks what we hold, with no lstat race. */
	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return open_failure(path, errno, err);
	if (fstat(fd, &st) != 0) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		r = pj_fail(err, PJ_ERR_CONFIG, "%s: is a symbolic link", path);
		goto out;
	}
	r = check_trust(&st, S_IFDIR, path, err);
out:
	close(fd);
	return r;
}

pj_status trusted_dir_make(const char *path, struct pj_error *err)
{
	/* chmod: the umask narrowed mkdir's mode */
	if (mkdir(path, 0755) == 0) {
		if (chmod(path, 0755) != 0)
			return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot chmod: %s", path, strerror(errno));
	} else if (errno != EEXIST) {
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot create: %s", path, strerror(errno));
	}
	return trusted_dir_check(path, err);
}

/* Reads fd to EOF into a buffer of at most max_size bytes; one byte more means the file is too large. */
static pj_status read_bounded(int fd, const char *path, size_t max_size, size_t hint, char **data,
                              size_t *len, struct pj_error *err)
{
	size_t cap, used = 0;
	char *buf, *nbuf;
	ssize_t n;

	cap = (hint < max_size ? hint : max_size) + 1;
	if ((buf = malloc(cap + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "%s: out of memory", path);
	for (;;) {
		if (used == cap) {
			if (cap > max_size)
				break;
			cap = cap > max_size / 2 ? max_size + 1 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return pj_fail(err, PJ_ERR_NOMEM, "%s: out of memory", path);
			}
			buf = nbuf;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return pj_fail(err, PJ_ERR_SYSTEM, "%s: read error: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max_size) {
		free(buf);
		return pj_fail(err, PJ_ERR_CONFIG, "%s: is larger than %zu bytes", path, max_size);
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return PJ_OK;
}

pj_status trusted_file_read(const char *path, size_t max_size, char **data, size_t *len, struct pj_error *err)
{
	struct stat st;
	pj_status r;
	int fd;

	*data = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before we can refuse it.
	 */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return open_failure(path, errno, err);
	if ((r = trusted_file_check_fd(fd, path, err)) != PJ_OK)
		goto out;
	if (fstat(fd, &st) != 0) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if ((uintmax_t)st.st_size > max_size) {
		r = pj_fail(err, PJ_ERR_CONFIG, "%s: is larger than %zu bytes", path, max_size);
		goto out;
	}
	r = read_bounded(fd, path, max_size, (size_t)st.st_size, data, len, err);
out:
	close(fd);
	return r;
}

/* Writes all of data, resuming after signals and short writes. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a fresh temp file beside path; its name (pid plus random bits) goes to tmp. */
static int create_temp(const char *path, mode_t mode, char *tmp, size_t tmplen)
{
	uint64_t rnd;
	int fd, n;

	for (int i = 0; i < TMP_NAME_TRIES; i++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		n = snprintf(tmp, tmplen, "%s.tmp.%ld.%016llx", path, (long)getpid(),
		             (unsigned long long)rnd);
		if (n < 0 || (size_t)n >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* fsyncs the directory holding path so that the rename itself is durable. */
static int sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

pj_status atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, struct pj_error *err)
{
	char tmp[PATH_MAX];
	pj_status r = PJ_ERR_SYSTEM;
	int fd, e;

	if ((fd = create_temp(path, mode, tmp, sizeof(tmp))) < 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot create a temporary file: %s", path,
		               strerror(errno));
	/* fchmod: the mode given to open was narrowed by the umask. */
	if (write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot write %s: %s", path, tmp, strerror(e));
		goto out;
	}
	if (close(fd) != 0) {
		pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot rename %s into place: %s", path, tmp,
		        strerror(errno));
		goto out;
	}
	/* The new content is in place; a failed directory sync is reported but leaves nothing to clean up. */
	if (sync_parent_dir(path) != 0)
		return pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot sync its directory: %s", path,
		               strerror(errno));
	return PJ_OK;
out:
	unlink(tmp);
	return r;
}
