/* ossl_nomem.h: whether an OpenSSL call that failed did so for want of memory, as its error queue says. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_OSSL_NOMEM_H
#define PAM_JWT_OSSL_NOMEM_H

#include <stdbool.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

/* Empties OpenSSL's error queue and says whether it held an allocation failure. A key OpenSSL could not
 * build, or a signature it could not check, for want of memory says nothing about the key or the token:
 * the caller reports out of memory (and keeps the key to be built again) instead of blaming them. Call it
 * with the queue emptied before the failed call, so an older error is not taken for this one's cause. */
static inline bool ossl_nomem(void)
{
	unsigned long e;
	bool nomem = false;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = true;
	return nomem;
}

/* Whether OpenSSL 3.0 initialised its default library context. When that fails (out of memory) it goes on
 * with a context without locks and crashes at the next key fetch or random number (libcurl's TLS too);
 * the answer is remembered, so a failure stays one: callers refuse before they touch OpenSSL. */
static inline bool ossl_initialised(void)
{
	return OSSL_LIB_CTX_get0_global_default() != NULL;
}

#endif
