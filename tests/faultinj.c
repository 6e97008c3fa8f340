/* faultinj.c: an LD_PRELOAD interposer that makes the Nth call of one libc function fail (test_faults.sh). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* PJ_FAULT_FUNC names the function, PJ_FAULT_N the call that fails (1 = the first); when that call is
 * reached, PJ_FAULT_REPORT (a file) gets "fired", so the caller knows the sweep has not run past the last
 * call. Calls made before the interposer has read its settings are counted from then on. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static const char *fault_func;
static unsigned long fault_n, calls;
static int ready, fired;

__attribute__((constructor)) static void fault_init(void)
{
	const char *n = getenv("PJ_FAULT_N");

	fault_func = getenv("PJ_FAULT_FUNC");
	fault_n = n ? strtoul(n, NULL, 10) : 0;
	ready = 1;
}

static void report(void)
{
	const char *path = getenv("PJ_FAULT_REPORT");
	int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	ssize_t (*real_write)(int, const void *, size_t) =
	    (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	int fd;

	if (path == NULL || real_open == NULL || real_write == NULL)
		return;
	if ((fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		if (real_write(fd, "fired\n", 6) != 6)
			fired = 2;
		close(fd);
	}
}

/* Whether this call of name is the one to fail. */
static int fail_now(const char *name)
{
	if (!ready || fired || fault_func == NULL || strcmp(fault_func, name) != 0)
		return 0;
	if (++calls != fault_n)
		return 0;
	fired = 1;
	report();
	return 1;
}

/* The failing call returns ret with errno set to err. */
#define FAIL_AT(name, err, ret)                                                                              \
	do {                                                                                                 \
		if (fail_now(name)) {                                                                        \
			errno = (err);                                                                       \
			return ret;                                                                          \
		}                                                                                            \
	} while (0)
#define REAL(type, name, args) ((type(*) args)dlsym(RTLD_NEXT, #name))

void *malloc(size_t size)
{
	FAIL_AT("malloc", ENOMEM, NULL);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	FAIL_AT("calloc", ENOMEM, NULL);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	FAIL_AT("realloc", ENOMEM, NULL);
	return __libc_realloc(p, size);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	FAIL_AT("open", EIO, -1);
	return REAL(int, open, (const char *, int, ...))(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	FAIL_AT("openat", EIO, -1);
	return REAL(int, openat, (int, const char *, int, ...))(dirfd, path, flags, mode);
}

ssize_t read(int fd, void *buf, size_t len)
{
	FAIL_AT("read", EIO, -1);
	return REAL(ssize_t, read, (int, void *, size_t))(fd, buf, len);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	FAIL_AT("write", ENOSPC, -1);
	return REAL(ssize_t, write, (int, const void *, size_t))(fd, buf, len);
}

int fsync(int fd)
{
	FAIL_AT("fsync", EIO, -1);
	return REAL(int, fsync, (int))(fd);
}

int fdatasync(int fd)
{
	FAIL_AT("fdatasync", EIO, -1);
	return REAL(int, fdatasync, (int))(fd);
}

int rename(const char *from, const char *to)
{
	FAIL_AT("rename", EIO, -1);
	return REAL(int, rename, (const char *, const char *))(from, to);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	FAIL_AT("mmap", ENOMEM, MAP_FAILED);
	return REAL(void *, mmap, (void *, size_t, int, int, int, off_t))(addr, len, prot, flags, fd, off);
}

int flock(int fd, int op)
{
	FAIL_AT("flock", EWOULDBLOCK, -1);
	return REAL(int, flock, (int, int))(fd, op);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	FAIL_AT("pread", EIO, -1);
	return REAL(ssize_t, pread, (int, void *, size_t, off_t))(fd, buf, len, off);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	FAIL_AT("pwrite", ENOSPC, -1);
	return REAL(ssize_t, pwrite, (int, const void *, size_t, off_t))(fd, buf, len, off);
}

int ftruncate(int fd, off_t len)
{
	FAIL_AT("ftruncate", EIO, -1);
	return REAL(int, ftruncate, (int, off_t))(fd, len);
}

int fstat(int fd, struct stat *st)
{
	FAIL_AT("fstat", EIO, -1);
	return REAL(int, fstat, (int, struct stat *))(fd, st);
}

int mkdir(const char *path, mode_t mode)
{
	FAIL_AT("mkdir", EIO, -1);
	return REAL(int, mkdir, (const char *, mode_t))(path, mode);
}

int link(const char *from, const char *to)
{
	FAIL_AT("link", EIO, -1);
	return REAL(int, link, (const char *, const char *))(from, to);
}

int unlink(const char *path)
{
	FAIL_AT("unlink", EIO, -1);
	return REAL(int, unlink, (const char *))(path);
}

FILE *fopen(const char *path, const char *mode)
{
	FAIL_AT("fopen", EIO, NULL);
	return REAL(FILE *, fopen, (const char *, const char *))(path, mode);
}

ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
	FAIL_AT("getrandom", EAGAIN, -1);
	return REAL(ssize_t, getrandom, (void *, size_t, unsigned))(buf, len, flags);
}
