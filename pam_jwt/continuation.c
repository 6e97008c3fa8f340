/* continuation.c: joins a token sent in parts, each but the last ending in '\' (see continuation.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "continuation.h"

void pj_cont_init(struct pj_cont *c, size_t max_len)
{
	memset(c, 0, sizeof(*c));
	c->max_len = max_len;
}

static bool is_token_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

bool pj_cont_token_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_token_char(s[i]))
			return false;
	return true;
}

bool pj_cont_is_first_part(const char *answer, size_t len)
{
	return len >= 4 && answer[len - 1] == PJ_CONT_MARKER && memcmp(answer, "eyJ", 3) == 0 &&
	       pj_cont_token_chars(answer, len - 1);
}

/* The first answer: either part 1 (into a buffer of max_len + 1 bytes, which later parts fill without
 * reallocating, so no copy of the token is left behind in freed memory) or the whole answer as it is. */
static pj_status add_first(struct pj_cont *c, const char *answer, size_t len, struct pj_error *err)
{
	size_t take = len;

	c->more = pj_cont_is_first_part(answer, len);
	if (c->more) {
		take = len - 1;
		if (take > c->max_len)
			return pj_fail(err, PJ_ERR_TOKEN, "part 1 is longer than max_token_size %zu",
			               c->max_len);
	}
	if ((c->buf = malloc((c->more ? c->max_len : len) + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	memcpy(c->buf, answer, take);
	c->buf[take] = '\0';
	c->len = take;
	return PJ_OK;
}

pj_status pj_cont_add(struct pj_cont *c, const char *answer, size_t len, struct pj_error *err)
{
	unsigned part = c->parts + 1;
	bool more;

	if (part > 1 && !c->more)
		return pj_fail(err, PJ_ERR_TOKEN, "part %u was not asked for", part);
	c->parts = part;
	c->last_len = len;
	if (part == 1)
		return add_first(c, answer, len, err);
	more = len > 0 && answer[len - 1] == PJ_CONT_MARKER;
	c->more = false;
	if (more)
		len--;
	if (!pj_cont_token_chars(answer, len))
		return pj_fail(err, PJ_ERR_TOKEN, "part %u holds a character that cannot be in a token",
		               part);
	if (len > c->max_len - c->len)
		return pj_fail(err, PJ_ERR_TOKEN, "token longer than max_token_size %zu at part %u",
		               c->max_len, part);
	if (more && part >= PJ_CONT_MAX_PARTS)
		return pj_fail(err, PJ_ERR_TOKEN, "token in more than %d parts", PJ_CONT_MAX_PARTS);
	memcpy(c->buf + c->len, answer, len);
	c->len += len;
	c->buf[c->len] = '\0';
	c->more = more;
	return PJ_OK;
}

unsigned pj_cont_prompt_part(const char *prompt)
{
	const char *p = NULL, *s;
	unsigned long n = 0;

	/* The last occurrence: whatever a client put before the prompt cannot confuse it. */
	for (s = prompt; (s = strstr(s, PJ_CONT_PROMPT_PREFIX)) != NULL; s++)
		p = s;
	if (p == NULL)
		return 0;
	p += strlen(PJ_CONT_PROMPT_PREFIX);
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > PJ_CONT_MAX_PARTS)
			return 0;
	}
	if (strcmp(p, "): ") != 0 || n < 2)
		return 0;
	return (unsigned)n;
}

void pj_cont_free(struct pj_cont *c)
{
	if (c->buf != NULL) {
		explicit_bzero(c->buf, c->len);
		free(c->buf);
	}
	memset(c, 0, sizeof(*c));
}
