/* cli.c: the pam-jwt program (being written). */
int main(void) { return 2; }
