// trivial does nothing: the per-run overhead benchmark's guest.
int main(void) { return 0; }
