/* curl_loader.c: dlopen of libcurl on the first fetch, its functions in a table (see curl_loader.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "curl_loader.h"

#ifndef PJ_CURL_SONAME
#define PJ_CURL_SONAME "libcurl.so.4"
#endif

/* The handle is never dlclose'd, on purpose: libcurl and the TLS library under it keep process-wide state
 * (atexit handlers, thread-local data) that does not survive being unmapped, and libpam may unload
 * pam_jwt.so at pam_end while the process lives on, taking this static with it. Leaving libcurl loaded
 * costs its mappings for the rest of the process; should the module be loaded again, its dlopen finds the
 * library already there and only takes another reference. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *lib;
static struct curl_api api;
static bool ready;
static char why[PJ_REASON_MAX];

/* dlsym into a typed function pointer; a missing function stops the load with dlerror's text. */
#define RESOLVE(h, field, name)                                                                              \
	do {                                                                                                 \
		dlerror();                                                                                   \
		if ((api.field = (__typeof__(api.field))dlsym((h), (name))) == NULL) {                       \
			snprintf(why, sizeof(why), "%s", dlerror_text());                                    \
			return false;                                                                        \
		}                                                                                            \
	} while (0)

static const char *dlerror_text(void)
{
	const char *e = dlerror();

	return e != NULL ? e : "unknown error";
}

static bool resolve_all(void *h)
{
	RESOLVE(h, global_init, "curl_global_init");
	RESOLVE(h, easy_init, "curl_easy_init");
	RESOLVE(h, easy_setopt, "curl_easy_setopt");
	RESOLVE(h, easy_perform, "curl_easy_perform");
	RESOLVE(h, easy_getinfo, "curl_easy_getinfo");
	RESOLVE(h, easy_cleanup, "curl_easy_cleanup");
	RESOLVE(h, easy_strerror, "curl_easy_strerror");
	RESOLVE(h, slist_append, "curl_slist_append");
	RESOLVE(h, slist_free_all, "curl_slist_free_all");
	RESOLVE(h, url, "curl_url");
	RESOLVE(h, url_cleanup, "curl_url_cleanup");
	RESOLVE(h, url_set, "curl_url_set");
	RESOLVE(h, url_get, "curl_url_get");
	RESOLVE(h, free, "curl_free");
	return true;
}

/* libcurl's curl_global_init opens the file SSLKEYLOGFILE names, for appending as the effective user, and
 * writes every TLS secret of the process to it. Under sudo or su (AT_SECURE) the module runs as root with the
 * invoking user's environment: that user could create or extend any file as root and read the device flow's
 * traffic. There the variable is hidden from curl_global_init, the only place libcurl reads it, and put back
 * for the application afterwards (such a process is single-threaded while it authenticates). */
static CURLcode init_without_keylog(void)
{
	const char *v = getauxval(AT_SECURE) != 0 ? getenv("SSLKEYLOGFILE") : NULL;
	char *saved = NULL;
	CURLcode rc;

	if (v != NULL) {
		if ((saved = strdup(v)) == NULL)
			return CURLE_OUT_OF_MEMORY;
		unsetenv("SSLKEYLOGFILE");
	}
	rc = api.global_init(CURL_GLOBAL_DEFAULT);
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	return rc;
}

static void load(void)
{
	CURLcode rc;

	/* RTLD_LOCAL: libcurl's symbols (and those of its dependencies) stay out of the PAM application's
	 * namespace; RTLD_NOW: a broken installation fails here, not in the middle of a transfer */
	if ((lib = dlopen(PJ_CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, sizeof(why), "%s", dlerror_text());
		return;
	}
	if (!resolve_all(lib))
		return;
	if ((rc = init_without_keylog()) != CURLE_OK) {
		snprintf(why, sizeof(why), "curl_global_init: %s", api.easy_strerror(rc));
		return;
	}
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
}

pj_status curl_loader_get(const struct curl_api **out, struct pj_error *err)
{
	*out = NULL;
	pthread_once(&load_once, load);
	if (!ready)
		return pj_fail(err, PJ_ERR_NO_KEYS, "cannot load %s: %s", PJ_CURL_SONAME, why);
	*out = &api;
	return PJ_OK;
}

bool curl_loader_ready(void)
{
	return __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
}
