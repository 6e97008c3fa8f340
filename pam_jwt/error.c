/* error.c: recording and naming errors (see error.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "error.h"

void pj_error_set(struct pj_error *err, pj_status status, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

void pj_error_clear(struct pj_error *err)
{
	if (err == NULL)
		return;
	err->status = PJ_OK;
	err->reason[0] = '\0';
}

const char *pj_status_name(pj_status status)
{
	switch (status) {
	case PJ_OK: return "accepted";
	case PJ_ERR_TOKEN: return "token refused";
	case PJ_ERR_NOT_JWT: return "not a JWT";
	case PJ_ERR_USER: return "user refused";
	case PJ_ERR_NO_KEYS: return "no usable keys";
	case PJ_ERR_CONFIG: return "configuration error";
	case PJ_ERR_NOMEM: return "out of memory";
	case PJ_ERR_SYSTEM: return "system error";
	}
	return "unknown error";
}
