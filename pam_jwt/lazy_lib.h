/* lazy_lib.h: libcurl and libqrencode, loaded with dlopen only when a fetch or a QR code needs them. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Issue #6: a login with fresh keys in its cache must not pay for libcurl (and the ~30 libraries it pulls
 * in), a token login not for libqrencode. Neither is linked; each is a table of the functions pam_jwt
 * calls, filled by one loader. */
#ifndef PAM_JWT_LAZY_LIB_H
#define PAM_JWT_LAZY_LIB_H

#include <stdbool.h>

#include <curl/curl.h>
#include <qrencode.h>

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

/* The libqrencode functions pam_jwt calls, typed as <qrencode.h> declares them. */
struct qrencode_api {
	QRcode *(*encode_string_8bit)(const char *string, int version, QRecLevel level);
	void (*free)(QRcode *qrcode);
};

/* The libraries: *api is a struct curl_api or a struct qrencode_api. */
enum lazy_lib_id {
	LAZY_LIB_CURL, /* PJ_CURL_SONAME; curl_global_init after loading; failure: PJ_ERR_NO_KEYS (the keys
	                  cannot be fetched) */
	LAZY_LIB_QRENCODE, /* PJ_QRENCODE_SONAME; failure: PJ_ERR_SYSTEM (the URL is shown without a QR code)
	                    */
};

/* The first call in the process loads the library (RTLD_NOW | RTLD_LOCAL), resolves every function of its
 * table and initialises it; later calls answer from that. Never unloaded. A library that cannot be loaded,
 * lacks a function or fails to initialise fails with the reason, every time it is asked. */
pj_status lazy_lib_get(enum lazy_lib_id id, const void **api, struct pj_error *err);

/* True once the library has been loaded (and initialised) in this process; never loads it. */
bool lazy_lib_ready(enum lazy_lib_id id);

#endif
