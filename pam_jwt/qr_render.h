/* qr_render.h: a QR code as terminal text (Unicode half blocks), for the device flow's verification URL. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_QR_RENDER_H
#define PAM_JWT_QR_RENDER_H

#include <stddef.h>

#include "error.h"

#define QR_MAX_COLUMNS 80   /* the code with its quiet zone must fit a classic terminal */
#define QR_QUIET       2    /* modules of quiet zone on each side */
#define QR_MAX_TEXT    1024 /* bytes of text encoded at most */

/* Renders text as a QR code (error correction level M, 8-bit mode) with a quiet zone of QR_QUIET modules.
 * One character cell holds one module across and two down, drawn with U+2588 (both light), U+2580 (upper
 * light), U+2584 (lower light) and a space (both dark): the character's foreground is the light colour, so
 * on a terminal with light text on a dark background the code reads as printed. The last line's lower half,
 * past the quiet zone, is left dark. *out is malloc'd UTF-8, each line ended by '\n'; *columns receives
 * the width in cells. Refused (PJ_ERR_SYSTEM): empty or longer text, a control byte, or a code wider than
 * QR_MAX_COLUMNS; then the caller shows only the URL. */
pj_status qr_render(const char *text, char **out, size_t *columns, struct pj_error *err);

#endif
