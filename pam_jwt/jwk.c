/* jwk.c: (being written) */
