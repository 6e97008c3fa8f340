/* jws_sig.c: (being written) */
