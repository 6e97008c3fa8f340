/* verify.c: (being written) */
