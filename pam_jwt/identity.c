/* identity.c: (being written) */
