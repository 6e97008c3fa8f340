/* jws_alg.c: (being written) */
