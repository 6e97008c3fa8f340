/* claims.c: (being written) */
