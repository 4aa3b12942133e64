// Test fixture for package symbolize: prints the addresses of functions
// whose names the tests know, then waits until stdin closes.
//
// Usage: fixture [LIBRARY.so]
// With a library path it also dlopens the library and prints the addresses
// of lib_fixture_exported and (through lib_fixture_hidden_addr) of a hidden
// function that only .symtab names.
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int fixture_alpha(int x) {
	int s = 0;
	for (int i = 0; i < x; i++)
		s += i * 3;
	return s;
}

__attribute__((noinline)) int fixture_beta(int x) {
	return fixture_alpha(x) + 1;
}

static __attribute__((noinline)) int fixture_static_gamma(int x) {
	return fixture_beta(x) * 2;
}

int main(int argc, char **argv) {
	printf("fixture_alpha %p\n", (void *)fixture_alpha);
	printf("fixture_beta %p\n", (void *)fixture_beta);
	printf("fixture_static_gamma %p\n", (void *)fixture_static_gamma);
	if (argc > 1) {
		void *h = dlopen(argv[1], RTLD_NOW);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		void *exported = dlsym(h, "lib_fixture_exported");
		void *(*hidden)(void) = (void *(*)(void))dlsym(h, "lib_fixture_hidden_addr");
		if (!exported || !hidden) {
			fprintf(stderr, "dlsym: %s\n", dlerror());
			return 1;
		}
		printf("lib_fixture_exported %p\n", exported);
		printf("lib_fixture_hidden %p\n", hidden());
	}
	printf("ready %d\n", fixture_static_gamma(3));
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0) {
	}
	return 0;
}
