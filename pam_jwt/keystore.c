/* keystore.c: (being written) */
