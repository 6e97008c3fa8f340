/* qrencode_loader.c: dlopen of libqrencode on the first QR code, its functions in a table (see
 * qrencode_loader.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "qrencode_loader.h"

#ifndef PJ_QRENCODE_SONAME
#define PJ_QRENCODE_SONAME "libqrencode.so.4"
#endif

/* Never dlclose'd, like libcurl (see curl_loader.c): libpam may unload pam_jwt.so at pam_end, taking this
 * static with it, while the process lives on, so there is no moment at which closing is known to be right.
 * The cost is the library's mappings for the rest of the process; a later dlopen only takes a reference. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *lib;
static struct qrencode_api api;
static bool ready;
static char why[PJ_REASON_MAX];

static const char *dlerror_text(void)
{
	const char *e = dlerror();

	return e != NULL ? e : "unknown error";
}

/* dlsym into a typed function pointer; a missing function stops the load with dlerror's text. */
#define RESOLVE(h, field, name)                                                                              \
	do {                                                                                                 \
		dlerror();                                                                                   \
		if ((api.field = (__typeof__(api.field))dlsym((h), (name))) == NULL) {                       \
			snprintf(why, sizeof(why), "%s", dlerror_text());                                    \
			return;                                                                              \
		}                                                                                            \
	} while (0)

static void load(void)
{
	if ((lib = dlopen(PJ_QRENCODE_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, sizeof(why), "%s", dlerror_text());
		return;
	}
	RESOLVE(lib, encode_string_8bit, "QRcode_encodeString8bit");
	RESOLVE(lib, free, "QRcode_free");
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
}

pj_status qrencode_loader_get(const struct qrencode_api **out, struct pj_error *err)
{
	*out = NULL;
	pthread_once(&load_once, load);
	if (!ready)
		return pj_fail(err, PJ_ERR_SYSTEM, "cannot load %s: %s", PJ_QRENCODE_SONAME, why);
	*out = &api;
	return PJ_OK;
}

bool qrencode_loader_ready(void)
{
	return __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
}
