/* sshcert.h: OpenSSH user certificates in their wire form (PROTOCOL.certkeys), as sshd hands them over. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_SSHCERT_H
#define PAM_JWT_SSHCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "error.h"

#define SSHCERT_MAX_BLOB       (96 * 1024) /* decoded certificate bytes (a PK Token is at most ~64 KiB) */
#define SSHCERT_MAX_PRINCIPALS 256
#define SSHCERT_MAX_OPTIONS    64 /* critical options, and extensions, each */
#define SSHCERT_TYPE_USER      1u
#define SSHCERT_TYPE_HOST      2u

struct sshcert_ext {
	char *name;           /* NUL-free */
	unsigned char *value; /* the nested string's contents (NUL-terminated copy), NULL for a flag */
	size_t value_len;
};

struct sshcert {
	const char *type;       /* "ecdsa-sha2-nistp256-cert-v01@openssh.com", ... (static) */
	const char *plain_type; /* the key's own type: "ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa" */
	EVP_PKEY *key;          /* the certified public key */
	uint32_t cert_type;     /* SSHCERT_TYPE_USER or _HOST */
	uint64_t serial, valid_after, valid_before;
	char *key_id;
	char **principals; /* NULL-terminated, each NUL-free */
	size_t n_principals;
	struct sshcert_ext *extensions;
	size_t n_extensions;
	unsigned char *ca_blob; /* the signature key as a wire blob (for "cert-authority <type> <base64>") */
	size_t ca_blob_len;
	char *ca_type;    /* its type string */
	bool self_signed; /* ca_blob is the certified key itself (what opkssh makes) */
};

/* Parses an OpenSSH certificate given as sshd's AuthorizedKeysCommand %t (type) and %k (standard base64
 * of the blob): ecdsa-sha2-nistp256, ssh-ed25519 and ssh-rsa (-cert-v01@openssh.com) only; every length
 * checked against what is left, nothing left over, at most SSHCERT_MAX_BLOB bytes, bounded lists, no NUL
 * in names, principals or extension names, no extension named twice; an extension's value, when not empty,
 * must be exactly one nested string (PROTOCOL.certkeys). The type inside the blob must equal type. The
 * certificate's signature is not checked here: sshd checks it against the cert-authority key we print.
 * Refusals: PJ_ERR_TOKEN with a reason. On any return sshcert_free(out) is safe. */
pj_status sshcert_parse_text(const char *type, const char *b64, struct sshcert *out, struct pj_error *err);

/* The same from the decoded blob. */
pj_status sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *out, struct pj_error *err);

/* The extension named name, or NULL. */
const struct sshcert_ext *sshcert_extension(const struct sshcert *c, const char *name);

/* "TYPE BASE64" of the signature (CA) key, for an authorized_keys line; malloc'd, NULL when out of memory. */
char *sshcert_ca_key_text(const struct sshcert *c);

void sshcert_free(struct sshcert *c);

#endif
