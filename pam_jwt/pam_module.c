/* pam_module.c: (being written) */
