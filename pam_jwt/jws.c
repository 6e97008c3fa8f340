/* jws.c: (being written) */
