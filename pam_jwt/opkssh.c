/* opkssh.c: whether an opkssh certificate logs a user in: the certificate's rules, then token and identity.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "opkssh.h"
#include "pktoken.h"
#include "verify.h"

/* Which principal goes into principals="...": the certificate must be meant for this user or for any. */
static pj_status pick_principal(const struct sshcert *c, const char *user, const char **out,
                                struct pj_error *err)
{
	*out = NULL;
	if (c->n_principals == 0)
		return PJ_OK;
	for (size_t i = 0; i < c->n_principals; i++)
		if (strcmp(c->principals[i], user) == 0) {
			*out = c->principals[i];
			return PJ_OK;
		}
	for (size_t i = 0; i < c->n_principals; i++)
		if (strcmp(c->principals[i], OPKSSH_WILDCARD) == 0) {
			*out = c->principals[i];
			return PJ_OK;
		}
	return pj_fail(err, PJ_ERR_USER, "certificate principals name neither %s nor " OPKSSH_WILDCARD, user);
}

static pj_status check_cert(const struct sshcert *c, const struct sshcert_ext **pkt, struct pj_error *err)
{
	if (c->cert_type != SSHCERT_TYPE_USER)
		return pj_fail(err, PJ_ERR_TOKEN, "a host certificate (type %u), not a user certificate",
		               c->cert_type);
	if (!c->self_signed)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "certificate is signed by another key (%s), not self-signed by its own as opkssh does",
		    c->ca_type);
	if ((*pkt = sshcert_extension(c, OPKSSH_PKT_EXTENSION)) == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate has no " OPKSSH_PKT_EXTENSION " extension");
	if ((*pkt)->value == NULL || strlen((const char *)(*pkt)->value) != (*pkt)->value_len)
		return pj_fail(err, PJ_ERR_TOKEN, OPKSSH_PKT_EXTENSION " is empty or holds a NUL byte");
	return PJ_OK;
}

pj_status opkssh_check(const struct pj_config *cfg, const struct pj_log *log, const char *type,
                       const char *b64, const char *user, const char *service, time_t now,
                       struct opkssh_login *out, struct pj_error *err)
{
	const struct sshcert_ext *pkt = NULL;
	pj_status r;

	memset(out, 0, sizeof(*out));
	pj_error_clear(err);
	if ((r = sshcert_parse_text(type, b64, &out->cert, err)) != PJ_OK)
		return r;
	if ((r = check_cert(&out->cert, &pkt, err)) != PJ_OK)
		return r;
	if ((r = pktoken_verify(cfg, log, (const char *)pkt->value, pkt->value_len, out->cert.key, now,
	                        &out->id, err)) != PJ_OK)
		return r;
	if ((r = pj_map_identity(&out->id, user, err)) != PJ_OK)
		return r;
	/* verified as a token login's identity is; the rules below may still refuse it */
	out->id.verified = true;
	if ((r = pick_principal(&out->cert, user, &out->principal, err)) != PJ_OK ||
	    (r = authz_check_service(cfg, service, false, &out->id, err)) != PJ_OK)
		out->id.verified = false;
	return r;
}

char *opkssh_authorized_keys_line(const struct opkssh_login *l)
{
	char *key = sshcert_ca_key_text(&l->cert), *line = NULL;
	int n;

	if (key == NULL)
		return NULL;
	/* the principal is the username (idmap_username_syntax_ok) or the fixed wildcard: nothing to quote
	 */
	if (l->principal != NULL)
		n = asprintf(&line, "cert-authority,principals=\"%s\" %s", l->principal, key);
	else
		n = asprintf(&line, "cert-authority %s", key);
	free(key);
	return n < 0 ? NULL : line;
}

void opkssh_login_free(struct opkssh_login *l)
{
	sshcert_free(&l->cert);
	pj_identity_free(&l->id);
	l->principal = NULL;
}
