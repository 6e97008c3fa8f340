/* lazy_lib.c: one dlopen loader driven by a table per library: soname, symbols, initialisation. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "lazy_lib.h"

#ifndef PJ_CURL_SONAME
#define PJ_CURL_SONAME "libcurl.so.4"
#endif
#ifndef PJ_QRENCODE_SONAME
#define PJ_QRENCODE_SONAME "libqrencode.so.4"
#endif

/* One function: its name in the library and where its pointer goes in the API table. */
struct lazy_sym {
	const char *name;
	size_t offset;
};

/* One library. The handle is never dlclose'd, on purpose: libcurl and the TLS library under it keep
 * process-wide state (atexit handlers, thread-local data) that does not survive being unmapped, and libpam
 * may unload pam_jwt.so at pam_end while the process lives on, so there is no moment at which closing is
 * known to be right. The cost is the library's mappings for the rest of the process; should the module be
 * loaded again, its dlopen finds the library already there and only takes another reference. */
struct lazy_lib {
	const char *soname;
	const struct lazy_sym *syms;
	size_t n_syms;
	void *api;                              /* the table the symbols are written into */
	bool (*init)(char *why, size_t whylen); /* after resolving, NULL: none */
	pj_status failure;                      /* what a library that cannot be used means */
	pthread_mutex_t lock;                   /* one load attempt per process */
	bool tried;
	bool ready; /* atomic: read without the lock */
	char why[PJ_REASON_MAX];
};

static const char *dlerror_text(void)
{
	const char *e = dlerror();

	return e != NULL ? e : "unknown error";
}

/* RTLD_LOCAL: the library's symbols (and those of its dependencies) stay out of the PAM application's
 * namespace; RTLD_NOW: a broken installation fails here, not in the middle of a call. */
static void load(struct lazy_lib *l)
{
	void *h, *fn;

	if ((h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(l->why, sizeof(l->why), "%s", dlerror_text());
		return;
	}
	for (size_t i = 0; i < l->n_syms; i++) {
		dlerror();
		if ((fn = dlsym(h, l->syms[i].name)) == NULL) {
			snprintf(l->why, sizeof(l->why), "%s", dlerror_text());
			return;
		}
		/* POSIX dlsym: a function's address comes back as void *; copied into the typed slot */
		memcpy((char *)l->api + l->syms[i].offset, &fn, sizeof(fn));
	}
	if (l->init != NULL && !l->init(l->why, sizeof(l->why)))
		return;
	__atomic_store_n(&l->ready, true, __ATOMIC_RELEASE);
}

/* ---- libcurl ---- */

static struct curl_api curl_api;

#define CURL_SYM(field, name)                                                                                \
	{                                                                                                    \
		name, offsetof(struct curl_api, field)                                                       \
	}
static const struct lazy_sym curl_syms[] = {
    CURL_SYM(global_init, "curl_global_init"),
    CURL_SYM(easy_init, "curl_easy_init"),
    CURL_SYM(easy_setopt, "curl_easy_setopt"),
    CURL_SYM(easy_perform, "curl_easy_perform"),
    CURL_SYM(easy_getinfo, "curl_easy_getinfo"),
    CURL_SYM(easy_cleanup, "curl_easy_cleanup"),
    CURL_SYM(easy_strerror, "curl_easy_strerror"),
    CURL_SYM(slist_append, "curl_slist_append"),
    CURL_SYM(slist_free_all, "curl_slist_free_all"),
    CURL_SYM(url, "curl_url"),
    CURL_SYM(url_cleanup, "curl_url_cleanup"),
    CURL_SYM(url_set, "curl_url_set"),
    CURL_SYM(url_get, "curl_url_get"),
    CURL_SYM(free, "curl_free"),
};

/* libcurl's curl_global_init opens the file SSLKEYLOGFILE names, for appending as the effective user, and
 * writes every TLS secret of the process to it. Under sudo or su (AT_SECURE) the module runs as root with the
 * invoking user's environment: that user could create or extend any file as root and read the device flow's
 * traffic. There the variable is hidden from curl_global_init, the only place libcurl reads it, and put back
 * for the application afterwards (such a process is single-threaded while it authenticates). */
static bool curl_init(char *why, size_t whylen)
{
	const char *v = getauxval(AT_SECURE) != 0 ? getenv("SSLKEYLOGFILE") : NULL;
	char *saved = NULL;
	CURLcode rc;

	if (v != NULL) {
		if ((saved = strdup(v)) == NULL) {
			snprintf(why, whylen, "curl_global_init: %s",
			         curl_api.easy_strerror(CURLE_OUT_OF_MEMORY));
			return false;
		}
		unsetenv("SSLKEYLOGFILE");
	}
	rc = curl_api.global_init(CURL_GLOBAL_DEFAULT);
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	if (rc != CURLE_OK)
		snprintf(why, whylen, "curl_global_init: %s", curl_api.easy_strerror(rc));
	return rc == CURLE_OK;
}

/* ---- libqrencode ---- */

static struct qrencode_api qrencode_api;

static const struct lazy_sym qrencode_syms[] = {
    {"QRcode_encodeString8bit", offsetof(struct qrencode_api, encode_string_8bit)},
    {"QRcode_free", offsetof(struct qrencode_api, free)},
};

/* ---- the table ---- */

/* One row per library: soname, symbols, API table, initialisation, what a failure means. */
#define LAZY_LIB(soname, syms, api, init, failure)                                                           \
	{                                                                                                    \
		soname, syms, sizeof(syms) / sizeof((syms)[0]), api, init, failure,                          \
		    PTHREAD_MUTEX_INITIALIZER, false, false, ""                                              \
	}

static struct lazy_lib libs[] = {
    [LAZY_LIB_CURL] = LAZY_LIB(PJ_CURL_SONAME, curl_syms, &curl_api, curl_init, PJ_ERR_NO_KEYS),
    [LAZY_LIB_QRENCODE] = LAZY_LIB(PJ_QRENCODE_SONAME, qrencode_syms, &qrencode_api, NULL, PJ_ERR_SYSTEM),
};

pj_status lazy_lib_get(enum lazy_lib_id id, const void **api, struct pj_error *err)
{
	struct lazy_lib *l = &libs[id];

	*api = NULL;
	if (!__atomic_load_n(&l->ready, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&l->lock);
		if (!l->tried) {
			l->tried = true;
			load(l);
		}
		pthread_mutex_unlock(&l->lock);
		if (!__atomic_load_n(&l->ready, __ATOMIC_ACQUIRE))
			return pj_fail(err, l->failure, "cannot load %s: %s", l->soname, l->why);
	}
	*api = l->api;
	return PJ_OK;
}

bool lazy_lib_ready(enum lazy_lib_id id)
{
	return __atomic_load_n(&libs[id].ready, __ATOMIC_ACQUIRE);
}
