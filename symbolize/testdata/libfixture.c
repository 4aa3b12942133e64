// Shared library fixture for package symbolize.

__attribute__((noinline)) int lib_fixture_exported(int x) {
	int s = 1;
	for (int i = 0; i < x; i++)
		s = s * 31 + i;
	return s;
}

__attribute__((visibility("hidden"), noinline)) int lib_fixture_hidden(int x) {
	return lib_fixture_exported(x) ^ 7;
}

void *lib_fixture_hidden_addr(void) {
	return (void *)lib_fixture_hidden;
}
