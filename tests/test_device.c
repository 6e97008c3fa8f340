/* test_device.c: the device flow's pieces without a network: the QR drawing (decoded back with zbarimg), form
 * encoding, the issuer choice and the ID token rules added after pj_verify. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/device_flow.h"
#include "pam_jwt/json_strict.h"
#include "pam_jwt/qr_render.h"
#include "tap.h"

#define SCALE  4 /* pixels per module */
#define MARGIN 8 /* dark pixels around the drawing: the terminal's background */

static char scratch[] = "/tmp/pam_jwt_device.XXXXXX";

/* The cell at s: 2 bits (upper light, lower light), or -1 for anything that is not one of the four cells. */
static int cell_bits(const char **s)
{
	static const char *const cells[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};

	for (int i = 0; i < 4; i++)
		if (strncmp(*s, cells[i], strlen(cells[i])) == 0) {
			*s += strlen(cells[i]);
			return i;
		}
	return -1;
}

/* Paints the half-block text as a PGM image the way a light-on-dark terminal shows it. Returns false on text
 * that is not a rectangle of cells. */
static bool text_to_pgm(const char *text, const char *path)
{
	int cols = -1, lines = 0, w, h;
	unsigned char *px;
	const char *s = text;
	FILE *f;
	bool good = true;

	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	for (const char *p = text; *p != '\n' && *p != '\0';) {
		if (cell_bits(&p) < 0)
			return false;
		cols++;
	}
	cols++;
	w = cols * SCALE + 2 * MARGIN;
	h = lines * 2 * SCALE + 2 * MARGIN;
	if ((px = calloc((size_t)w, (size_t)h)) == NULL)
		return false;
	for (int line = 0; line < lines && good; line++, s++) {
		for (int x = 0; x < cols && good; x++) {
			int bits = cell_bits(&s);

			good = bits >= 0;
			for (int dy = 0; dy < 2 * SCALE && good; dy++)
				for (int dx = 0; dx < SCALE; dx++)
					px[(MARGIN + line * 2 * SCALE + dy) * w + MARGIN + x * SCALE + dx] =
					    (bits & (dy < SCALE ? 2 : 1)) ? 255 : 0;
		}
		good = good && *s == '\n';
	}
	if (good && (f = fopen(path, "w")) != NULL) {
		fprintf(f, "P5\n%d %d\n255\n", w, h);
		good = fwrite(px, 1, (size_t)w * h, f) == (size_t)w * h;
		good = fclose(f) == 0 && good;
	} else {
		good = false;
	}
	free(px);
	return good;
}

/* Runs zbarimg on the image; returns its decoded text (malloc'd, without the newline) or NULL. */
static char *zbar_decode(const char *pgm)
{
	char cmd[512], buf[4096];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw -Sdisable -Sqrcode.enable '%s' 2>/dev/null", pgm);
	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	if (pclose(p) != 0)
		return NULL;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return strdup(buf);
}

static void test_qr_roundtrip(const char *url, const char *desc)
{
	char pgm[sizeof(scratch) + 16], *text = NULL, *back = NULL, *nl;
	struct pj_error err;
	size_t cols = 0;
	bool width_ok = true;

	snprintf(pgm, sizeof(pgm), "%s/qr.pgm", scratch);
	ok(qr_render(url, &text, &cols, &err) == PJ_OK && text != NULL, "%s: rendered", desc);
	if (text == NULL)
		return;
	for (const char *line = text; *line != '\0'; line = nl + 1) {
		size_t cells = 0;

		nl = strchr(line, '\n');
		for (const char *p = line; p < nl; p++)
			cells += ((unsigned char)*p & 0xc0) != 0x80;
		width_ok = width_ok && cells == cols;
	}
	ok(width_ok && cols <= 80, "%s: every line %zu cells, within 80 columns", desc, cols);
	ok(text_to_pgm(text, pgm), "%s: drawn as an image", desc);
	back = zbar_decode(pgm);
	ok(back != NULL && strcmp(back, url) == 0, "%s: zbarimg decodes the URL back (%s)", desc,
	   back ? back : "nothing decoded");
	free(back);
	free(text);
}

static void test_qr(void)
{
	char *text = (char *)&text, big[QR_MAX_TEXT + 2];
	struct pj_error err;
	size_t cols = 99;

	test_qr_roundtrip("https://idp.example.com/device?user_code=WDJB-MJHT", "a short verification URL");
	test_qr_roundtrip("https://login.microsoftonline-p.example.com/realms/corporate-directory/protocol/"
	                  "openid-connect/auth/device?user_code=ABCD-EFGH-IJKL&client=pam-jwt-hosts",
	                  "a 150-byte verification URL");
	ok(qr_render("https://x.example/\x1b[2J", &text, &cols, &err) == PJ_ERR_SYSTEM && text == NULL &&
	       cols == 0,
	   "text with a control character is refused: %s", err.reason);
	ok(qr_render("", &text, &cols, &err) == PJ_ERR_SYSTEM && text == NULL, "empty text is refused");
	memset(big, 'a', 400);
	big[400] = '\0';
	ok(qr_render(big, &text, &cols, &err) == PJ_ERR_SYSTEM && text == NULL &&
	       strstr(err.reason, "do not fit in 80") != NULL,
	   "400 bytes need more than 80 columns: refused (%s)", err.reason);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(qr_render(big, &text, &cols, &err) == PJ_ERR_SYSTEM && text == NULL, "over QR_MAX_TEXT: refused");
}

static void test_form(void)
{
	struct pj_error err;
	char *form = NULL;

	ok(pj_form_append(&form, "client_id", "pam-cli", &err) == PJ_OK && form &&
	       strcmp(form, "client_id=pam-cli") == 0,
	   "form: first field without '&'");
	ok(pj_form_append(&form, "scope", "openid profile", &err) == PJ_OK &&
	       strcmp(form, "client_id=pam-cli&scope=openid+profile") == 0,
	   "form: space as '+', fields joined with '&'");
	free(form);
	form = NULL;
	ok(pj_form_append(&form, "x", "a&b=c/d?e%f+g~h.i_j-k\xc3\xa9", &err) == PJ_OK &&
	       strcmp(form, "x=a%26b%3Dc%2Fd%3Fe%25f%2Bg~h.i_j-k%C3%A9") == 0,
	   "form: reserved and non-ASCII bytes as %%XX, unreserved kept (%s)", form ? form : "");
	free(form);
}

static const char conf_text[] =
    "[issuer plain]\nissuer = https://p.example.com\naudience = pam\njwks_file = /k\n"
    "[issuer dev]\nissuer = https://d.example.com\naudience = cli other\n"
    "jwks_file = /k\ndevice_client_id = cli\n"
    "[issuer at]\nissuer = https://a.example.com\naudience = api\n"
    "jwks_file = /k\ndevice_client_id = cli\ndevice_audience = api\n";

/* The ID token rules on a verified identity made by hand: claims is the payload JSON. */
static pj_status check(const struct pj_issuer *iss, const struct pj_issuer *id_iss, const char *claims,
                       struct pj_error *err)
{
	struct pj_identity id;
	pj_status r;

	memset(&id, 0, sizeof(id));
	id.verified = true;
	id.issuer = id_iss;
	if (json_strict_parse_object(claims, strlen(claims), 4, &id.claims, err) != PJ_OK)
		return PJ_ERR_SYSTEM;
	r = pj_device_check(iss, &id, err);
	json_object_put(id.claims);
	return r;
}

static void test_check(void)
{
	struct pj_config *cfg = NULL;
	const struct pj_issuer *dev, *at;
	struct pj_error err;

	if (config_parse("test.conf", conf_text, strlen(conf_text), &cfg, &err) != PJ_OK) {
		printf("Bail out! %s\n", err.reason);
		exit(1);
	}
	dev = config_find_issuer_by_name(cfg, "dev");
	at = config_find_issuer_by_name(cfg, "at");
	ok(pj_device_issuer(cfg) == dev, "the module's issuer: the first with device_client_id");
	ok(check(dev, dev, "{\"aud\":\"cli\"}", &err) == PJ_OK, "ID token: aud = the client id");
	ok(check(dev, dev, "{\"aud\":[\"cli\"]}", &err) == PJ_OK, "ID token: aud = [the client id]");
	ok(check(dev, dev, "{\"aud\":\"other\"}", &err) == PJ_ERR_TOKEN,
	   "ID token: aud another audience: refused");
	ok(check(dev, dev, "{\"azp\":\"cli\"}", &err) == PJ_ERR_TOKEN, "ID token: no aud: refused");
	ok(check(dev, dev, "{\"aud\":[\"cli\",\"other\"]}", &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "azp") != NULL,
	   "ID token: several audiences and no azp: refused");
	ok(check(dev, dev, "{\"aud\":[\"cli\",\"other\"],\"azp\":\"cli\"}", &err) == PJ_OK,
	   "ID token: several audiences, azp = the client id");
	ok(check(dev, dev, "{\"aud\":[\"cli\",\"other\"],\"azp\":\"other\"}", &err) == PJ_ERR_TOKEN,
	   "ID token: several audiences, azp another client: refused");
	ok(check(dev, dev, "{\"aud\":\"cli\",\"azp\":\"other\"}", &err) == PJ_ERR_TOKEN,
	   "ID token: one audience, azp another client: refused");
	ok(check(dev, dev, "{\"aud\":\"cli\",\"azp\":7}", &err) == PJ_ERR_TOKEN,
	   "ID token: azp not a string: refused");
	ok(check(dev, at, "{\"aud\":\"cli\"}", &err) == PJ_ERR_TOKEN, "a token of another issuer: refused");
	ok(check(at, at, "{\"aud\":\"api\"}", &err) == PJ_OK, "access token: nothing beyond pj_verify");
	config_free(cfg);
}

int main(void)
{
	char cmd[128];

	if (mkdtemp(scratch) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (system("command -v zbarimg >/dev/null 2>&1") != 0)
		tap_diag("zbarimg (zbar-tools) is missing: the decode checks fail");
	test_qr();
	test_form();
	test_check();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", scratch);
	return tap_done();
}
