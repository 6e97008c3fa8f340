/* qr_render.c: draws a QR code with libqrencode as Unicode half blocks (see qr_render.h); the library is
 * loaded by lazy_lib.c on the first code. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr_render.h"
#include "lazy_lib.h"

/* The four cells, indexed by (upper light) << 1 | (lower light); each is at most 3 bytes of UTF-8. */
static const char *const cells[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
#define CELL_MAX 3

/* Whether the module at (x, y) of the drawing (quiet zone included) is light. */
static bool light(const QRcode *qr, int x, int y)
{
	int qx = x - QR_QUIET, qy = y - QR_QUIET;

	if (qx < 0 || qy < 0 || qx >= qr->width || qy >= qr->width)
		return true;
	return (qr->data[qy * qr->width + qx] & 1) == 0;
}

static bool text_ok(const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len > QR_MAX_TEXT)
		return false;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static char *draw(const QRcode *qr, size_t side)
{
	size_t lines = (side + 1) / 2, pos = 0;
	char *buf = malloc(lines * (side * CELL_MAX + 1) + 1);

	if (buf == NULL)
		return NULL;
	for (size_t row = 0; row < lines; row++) {
		int y = (int)(2 * row);

		for (size_t x = 0; x < side; x++) {
			/* below the last drawn row the terminal's dark background shows */
			bool lower = (size_t)y + 1 < side && light(qr, (int)x, y + 1);
			const char *cell = cells[(light(qr, (int)x, y) ? 2 : 0) | (lower ? 1 : 0)];
			size_t n = strlen(cell);

			memcpy(buf + pos, cell, n);
			pos += n;
		}
		buf[pos++] = '\n';
	}
	buf[pos] = '\0';
	return buf;
}

pj_status qr_render(const char *text, char **out, size_t *columns, struct pj_error *err)
{
	const struct qrencode_api *q;
	const void *api;
	QRcode *qr;
	size_t side;
	pj_status r = PJ_OK;

	*out = NULL;
	*columns = 0;
	if (!text_ok(text))
		return pj_fail(err, PJ_ERR_SYSTEM,
		               "QR code: text empty, too long or with control characters");
	if ((r = lazy_lib_get(LAZY_LIB_QRENCODE, &api, err)) != PJ_OK)
		return r;
	q = api;
	if ((qr = q->encode_string_8bit(text, 0, QR_ECLEVEL_M)) == NULL)
		return errno == ENOMEM ? pj_fail(err, PJ_ERR_NOMEM, "out of memory")
		                       : pj_fail(err, PJ_ERR_SYSTEM, "QR code: cannot encode the text");
	side = (size_t)qr->width + 2 * QR_QUIET;
	if (side > QR_MAX_COLUMNS) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "QR code: %zu columns do not fit in %d", side,
		            QR_MAX_COLUMNS);
		goto out;
	}
	if ((*out = draw(qr, side)) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	*columns = side;
out:
	q->free(qr);
	return r;
}
