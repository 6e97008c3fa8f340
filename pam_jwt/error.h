/* error.h: errors as values: a status class plus a human-readable reason for logs and `pam-jwt verify`. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_ERROR_H
#define PAM_JWT_ERROR_H

#include <stddef.h>

/* The status classes map one to one onto PAM return codes (see pam_module.c). */
typedef enum {
	PJ_OK = 0,
	PJ_ERR_TOKEN,   /* token refused: format, header, signature or claims (PAM_AUTH_ERR) */
	PJ_ERR_NOT_JWT, /* input is not JWT-shaped at all (PAM_AUTH_ERR, or PAM_IGNORE with ignore_non_jwt) */
	PJ_ERR_USER,    /* valid token, but the identity does not match or may not log in (PAM_AUTH_ERR) */
	PJ_ERR_NO_KEYS, /* no usable keys for the issuer (PAM_AUTHINFO_UNAVAIL) */
	PJ_ERR_CONFIG,  /* configuration is missing, untrusted or invalid (PAM_SERVICE_ERR) */
	PJ_ERR_NOMEM,   /* out of memory (PAM_BUF_ERR) */
	PJ_ERR_SYSTEM,  /* I/O or other system failure (PAM_SYSTEM_ERR) */
} pj_status;

#define PJ_REASON_MAX 512

struct pj_error {
	pj_status status;
	char reason[PJ_REASON_MAX];
};

/* Records status and a printf-style reason in err (which may be NULL). */
void pj_error_set(struct pj_error *err, pj_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pj_error_set, then the status: `return pj_fail(err, PJ_ERR_X, "...")`. A macro, so that the compiler and
 * the static analyzers see which status comes back (a failure never reads as PJ_OK with its outputs unset).
 */
#define pj_fail(err, status, ...)                                                                            \
	__extension__({                                                                                      \
		pj_status pj_fail_status_ = (status);                                                        \
		pj_error_set((err), pj_fail_status_, __VA_ARGS__);                                           \
		pj_fail_status_;                                                                             \
	})

/* Clears err to PJ_OK with an empty reason. */
void pj_error_clear(struct pj_error *err);

/* A short fixed name for a status ("token refused", "no keys", ...). */
const char *pj_status_name(pj_status status);

#endif
