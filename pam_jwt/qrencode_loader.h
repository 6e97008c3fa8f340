/* qrencode_loader.h: libqrencode, loaded with dlopen only when a device flow draws its QR code (issue #6:
 * a token login must not pay for it). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_QRENCODE_LOADER_H
#define PAM_JWT_QRENCODE_LOADER_H

#include <stdbool.h>

#include <qrencode.h>

#include "error.h"

/* The libqrencode functions pam_jwt calls, typed as <qrencode.h> declares them. */
struct qrencode_api {
	QRcode *(*encode_string_8bit)(const char *string, int version, QRecLevel level);
	void (*free)(QRcode *qrcode);
};

/* The first call in the process loads PJ_QRENCODE_SONAME (RTLD_NOW | RTLD_LOCAL) and resolves the functions
 * above; later calls answer from that. Never unloaded. A library that cannot be loaded or lacks a function is
 * PJ_ERR_SYSTEM with the reason, every time it is asked (the caller then shows the URL without a QR code). */
pj_status qrencode_loader_get(const struct qrencode_api **api, struct pj_error *err);

/* True once libqrencode has been loaded in this process; never loads it. */
bool qrencode_loader_ready(void);

#endif
