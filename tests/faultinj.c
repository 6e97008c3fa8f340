/* faultinj.c: an LD_PRELOAD interposer that makes the Nth call of one libc, OpenSSL or libcurl function fail
 * (test_faults.sh). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

/* PJ_FAULT_FUNC names the function, PJ_FAULT_N the call that fails (1 = the first); when that call is
 * reached, PJ_FAULT_REPORT (a file) gets "fired", so the caller knows the sweep has not run past the last
 * call. Calls made before the interposer has read its settings are counted from then on. With PJ_FAULT_COUNT
 * (a file) instead, nothing fails: the calls of every function are counted, and written there at exit as
 * "NAME COUNT" lines (one fault-free run gives every sweep's length). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
/* In the sanitizer build the allocator is ASan's (its runtime comes after this interposer in LD_PRELOAD):
 * memory must come from it, which frees it and checks it for leaks at exit. */
extern void *__interceptor_malloc(size_t) __attribute__((weak));
extern void *__interceptor_calloc(size_t, size_t) __attribute__((weak));
extern void *__interceptor_realloc(void *, size_t) __attribute__((weak));

static const char *fault_func, *count_path;
static unsigned long fault_n, calls;
static int ready, fired;
/* the interposer's own calls (finding libcrypto): never failed, not counted. initial-exec: a preloaded
 * library has static TLS, and the general model would call __tls_get_addr, which ASan intercepts and cannot
 * serve before its runtime is initialised (its own start calls malloc here) */
static __thread int internal __attribute__((tls_model("initial-exec")));

/* Every function interposed, and its calls in counting mode. */
static struct {
	const char *name;
	unsigned long n;
} counts[] = {{"malloc", 0},
              {"calloc", 0},
              {"realloc", 0},
              {"open", 0},
              {"openat", 0},
              {"read", 0},
              {"write", 0},
              {"fsync", 0},
              {"fdatasync", 0},
              {"rename", 0},
              {"mmap", 0},
              {"flock", 0},
              {"pread", 0},
              {"pwrite", 0},
              {"ftruncate", 0},
              {"fstat", 0},
              {"mkdir", 0},
              {"link", 0},
              {"unlink", 0},
              {"fopen", 0},
              {"getrandom", 0},
              {"EVP_DigestVerifyInit_ex", 0},
              {"EVP_DigestVerify", 0},
              {"EVP_PKEY_fromdata", 0},
              {"EVP_PKEY_CTX_new_from_name", 0},
              {"EVP_PKEY_public_check_quick", 0},
              {"EVP_MD_CTX_new", 0},
              {"OSSL_PARAM_BLD_to_param", 0},
              {"BN_bin2bn", 0},
              {"curl_global_init", 0},
              {"curl_easy_init", 0},
              {"curl_easy_perform", 0},
              {"curl_slist_append", 0}};

static void find_loader(void);

__attribute__((constructor)) static void fault_init(void)
{
	const char *n = getenv("PJ_FAULT_N");

	fault_func = getenv("PJ_FAULT_FUNC");
	fault_n = n ? strtoul(n, NULL, 10) : 0;
	count_path = getenv("PJ_FAULT_COUNT");
	/* glibc's NSS state, made at a process's first user lookup, is made here, before any call counts:
	 * glibc 2.36 crashes when it cannot allocate it (a NULL dereference in
	 * nss_database_check_reload_and_get, an assertion in nss_database_reload_1), which no caller can
	 * handle; sshd, sudo and su have looked users up long before PAM runs, and that is the state the
	 * tested code starts from. (Not in the sanitizer build: ASan's runtime is not started yet.) */
	find_loader();
	if (__interceptor_malloc == NULL) {
		internal++;
		(void)getpwuid(0);
		internal--;
	}
	ready = 1;
}

/* Writes len bytes of text to path (replaced) with the real open and write. */
static int put_file(const char *path, const char *text, size_t len)
{
	int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	ssize_t (*real_write)(int, const void *, size_t) =
	    (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	int fd, r = -1;

	if (path == NULL || real_open == NULL || real_write == NULL)
		return -1;
	if ((fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		r = real_write(fd, text, len) == (ssize_t)len ? 0 : -1;
		close(fd);
	}
	return r;
}

static void report(void)
{
	if (put_file(getenv("PJ_FAULT_REPORT"), "fired\n", 6) != 0)
		fired = 2;
}

__attribute__((destructor)) static void write_counts(void)
{
	char text[64 * sizeof(counts) / sizeof(counts[0])];
	size_t len = 0;

	if (count_path == NULL)
		return;
	ready = 0;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]) && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %lu\n", counts[i].name,
		                        __atomic_load_n(&counts[i].n, __ATOMIC_RELAXED));
	if (len < sizeof(text))
		(void)put_file(count_path, text, len);
}

/* Whether this call of name is the one to fail. */
static int fail_now(const char *name)
{
	if (internal)
		return 0;
	if (ready && count_path != NULL) {
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			if (strcmp(counts[i].name, name) == 0) {
				__atomic_add_fetch(&counts[i].n, 1, __ATOMIC_RELAXED);
				break;
			}
		return 0;
	}
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

/* ---- OpenSSL: pam_jwt.so links libcrypto, so its calls bind to these definitions first. The real function:
 * the next definition in the global scope (a program that links libcrypto: pam-jwt), else libcrypto's own,
 * which libpam's dlopen of the module loaded locally (RTLD_NEXT does not see it then). ---- */
static void *real_crypto(const char *name)
{
	void *fn, *h;

	internal++;
	if ((fn = dlsym(RTLD_NEXT, name)) == NULL &&
	    (h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD)) != NULL) {
		fn = dlsym(h, name);
		dlclose(h);
	}
	internal--;
	if (fn == NULL)
		abort(); /* called, so libcrypto is loaded: cannot happen */
	return fn;
}
#define CRYPTO(type, name, args) ((type(*) args)real_crypto(#name))

/* The dynamic loader's text: what it allocates is never failed nor counted. Its out of memory is fatal by
 * design ("cannot allocate memory for thread-local data", exit 127, when a module's TLS is first touched):
 * nothing the tested code does can meet it, and the sweep hit it at malloc 5953 of 6190 of verify. */
static uintptr_t loader_lo, loader_hi;

/* From the loader's own ELF header in memory (AT_BASE): no call that ASan intercepts or that allocates. */
static void find_loader(void)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)getauxval(AT_BASE);
	const ElfW(Phdr) * ph;

	if (eh == NULL)
		return;
	ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			loader_lo = (uintptr_t)eh + ph[i].p_vaddr;
			loader_hi = loader_lo + ph[i].p_memsz;
		}
	}
}

static int from_loader(const void *caller)
{
	return (uintptr_t)caller >= loader_lo && (uintptr_t)caller < loader_hi;
}

#define FAIL_ALLOC_AT(name)                                                                                  \
	do {                                                                                                 \
		if (!from_loader(__builtin_return_address(0)))                                               \
			FAIL_AT(name, ENOMEM, NULL);                                                         \
	} while (0)

void *malloc(size_t size)
{
	FAIL_ALLOC_AT("malloc");
	return __interceptor_malloc ? __interceptor_malloc(size) : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	FAIL_ALLOC_AT("calloc");
	return __interceptor_calloc ? __interceptor_calloc(n, size) : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	FAIL_ALLOC_AT("realloc");
	return __interceptor_realloc ? __interceptor_realloc(p, size) : __libc_realloc(p, size);
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

/* Failures as OpenSSL reports them; EVP_DigestVerify and EVP_PKEY_public_check_quick fail with -1 (an error,
 * not a bad signature or key), which a caller testing for non-zero would take for success. */
int EVP_DigestVerifyInit_ex(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const char *mdname, OSSL_LIB_CTX *libctx,
                            const char *props, EVP_PKEY *pkey, const OSSL_PARAM params[])
{
	FAIL_AT("EVP_DigestVerifyInit_ex", ENOMEM, 0);
	return CRYPTO(int, EVP_DigestVerifyInit_ex,
	              (EVP_MD_CTX *, EVP_PKEY_CTX **, const char *, OSSL_LIB_CTX *, const char *, EVP_PKEY *,
	               const OSSL_PARAM[]))(ctx, pctx, mdname, libctx, props, pkey, params);
}

int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                     size_t tbslen)
{
	FAIL_AT("EVP_DigestVerify", ENOMEM, -1);
	return CRYPTO(int, EVP_DigestVerify,
	              (EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t))(
	    ctx, sig, siglen, tbs, tbslen);
}

int EVP_PKEY_fromdata(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey, int selection, OSSL_PARAM params[])
{
	FAIL_AT("EVP_PKEY_fromdata", ENOMEM, 0);
	return CRYPTO(int, EVP_PKEY_fromdata,
	              (EVP_PKEY_CTX *, EVP_PKEY **, int, OSSL_PARAM[]))(ctx, ppkey, selection, params);
}

EVP_PKEY_CTX *EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *libctx, const char *name, const char *propquery)
{
	FAIL_AT("EVP_PKEY_CTX_new_from_name", ENOMEM, NULL);
	return CRYPTO(EVP_PKEY_CTX *, EVP_PKEY_CTX_new_from_name,
	              (OSSL_LIB_CTX *, const char *, const char *))(libctx, name, propquery);
}

int EVP_PKEY_public_check_quick(EVP_PKEY_CTX *ctx)
{
	FAIL_AT("EVP_PKEY_public_check_quick", ENOMEM, -1);
	return CRYPTO(int, EVP_PKEY_public_check_quick, (EVP_PKEY_CTX *))(ctx);
}

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	FAIL_AT("EVP_MD_CTX_new", ENOMEM, NULL);
	return CRYPTO(EVP_MD_CTX *, EVP_MD_CTX_new, (void))();
}

OSSL_PARAM *OSSL_PARAM_BLD_to_param(OSSL_PARAM_BLD *bld)
{
	FAIL_AT("OSSL_PARAM_BLD_to_param", ENOMEM, NULL);
	return CRYPTO(OSSL_PARAM *, OSSL_PARAM_BLD_to_param, (OSSL_PARAM_BLD *))(bld);
}

BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret)
{
	FAIL_AT("BN_bin2bn", ENOMEM, NULL);
	return CRYPTO(BIGNUM *, BN_bin2bn, (const unsigned char *, int, BIGNUM *))(s, len, ret);
}

#ifndef __SANITIZE_ADDRESS__
/* Not in the sanitizer build: ASan's runtime finds the functions it intercepts with dlsym(RTLD_NEXT), which
 * answers relative to its caller, and called through here the caller would be this interposer. The
 * libcurl points are then never reached there; the plain build sweeps them. */
/* ---- libcurl: pam_jwt loads it with dlopen and takes its functions with dlsym (lazy_lib.c), so no symbol
 * can come first: dlsym itself is interposed and hands out these wrappers for the names below, which call
 * what the real dlsym found. (The real dlsym is asked from here: RTLD_NEXT from another caller through this
 * wrapper would search after faultinj.so, not after that caller; nothing pam_jwt loads uses it.) ---- */
static CURLcode (*real_global_init)(long);
static CURL *(*real_easy_init)(void);
static CURLcode (*real_easy_perform)(CURL *);
static struct curl_slist *(*real_slist_append)(struct curl_slist *, const char *);

static CURLcode fi_curl_global_init(long flags)
{
	FAIL_AT("curl_global_init", ENOMEM, CURLE_FAILED_INIT);
	return real_global_init(flags);
}

static CURL *fi_curl_easy_init(void)
{
	FAIL_AT("curl_easy_init", ENOMEM, NULL);
	return real_easy_init();
}

static CURLcode fi_curl_easy_perform(CURL *h)
{
	FAIL_AT("curl_easy_perform", ECONNREFUSED, CURLE_COULDNT_CONNECT);
	return real_easy_perform(h);
}

static struct curl_slist *fi_curl_slist_append(struct curl_slist *list, const char *line)
{
	FAIL_AT("curl_slist_append", ENOMEM, NULL);
	return real_slist_append(list, line);
}

static void *(*real_dlsym)(void *, const char *);

void *dlsym(void *handle, const char *name)
{
	void *fn;

	if (real_dlsym == NULL &&
	    (real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34")) ==
	        NULL &&
	    (real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5")) == NULL)
		abort();
	internal++; /* the lookups the interposer makes to call through (REAL) fail nothing */
	fn = real_dlsym(handle, name);
	internal--;
	if (fn == NULL || handle == RTLD_NEXT || handle == RTLD_DEFAULT)
		return fn;
#define WRAP(sym, real, wrapper)                                                                             \
	if (strcmp(name, sym) == 0) {                                                                        \
		memcpy(&real, &fn, sizeof(fn));                                                              \
		return (void *)(wrapper);                                                                    \
	}
	WRAP("curl_global_init", real_global_init, fi_curl_global_init)
	WRAP("curl_easy_init", real_easy_init, fi_curl_easy_init)
	WRAP("curl_easy_perform", real_easy_perform, fi_curl_easy_perform)
	WRAP("curl_slist_append", real_slist_append, fi_curl_slist_append)
#undef WRAP
	return fn;
}
#endif
