// C++ fixture for package symbolize: a namespaced function and a member
// function whose mangled names the tests demangle.
#include <cstdio>
#include <unistd.h>

namespace fixture {
struct Engine {
	__attribute__((noinline)) int step(int x);
};

__attribute__((noinline)) int Engine::step(int x) { return x * 7 + 1; }

__attribute__((noinline)) long spin(int n) {
	long s = 0;
	for (int i = 0; i < n; i++)
		s += i;
	return s;
}
} // namespace fixture

int main() {
	std::printf("fixture::spin %p\n", (void *)&fixture::spin);
	std::printf("ready %ld\n", fixture::spin(3) + fixture::Engine().step(2));
	std::fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0) {
	}
	return 0;
}
