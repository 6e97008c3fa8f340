/* curl_loader.h: libcurl, loaded with dlopen only when a fetch needs it (issue #6: a login with fresh keys in
 * its cache must not pay for libcurl and the ~30 libraries it pulls in). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CURL_LOADER_H
#define PAM_JWT_CURL_LOADER_H

#include <stdbool.h>

#include <curl/curl.h>

#include "error.h"

/* The libcurl functions pam_jwt calls, typed as <curl/curl.h> declares them. */
struct curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
	void (*slist_free_all)(struct curl_slist *list);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *u);
	CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
	CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
	void (*free)(void *p);
};

/* The first call in the process loads PJ_CURL_SONAME (RTLD_NOW | RTLD_LOCAL), resolves every function above
 * and runs curl_global_init; later calls answer from that. Never unloaded. *api is the table; a library that
 * cannot be loaded, lacks a function or fails to initialise is PJ_ERR_NO_KEYS with the reason (the keys
 * cannot be fetched), every time it is asked. */
pj_status curl_loader_get(const struct curl_api **api, struct pj_error *err);

/* True once libcurl has been loaded and initialised in this process; never loads it. */
bool curl_loader_ready(void);

#endif
