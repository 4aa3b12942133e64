/* burn: a CPU burner with a known split, for the sampler tests.
 * usage: burn SECONDS [EXIT_CODE] [THREADS]
 * burn_three does three units of work for each unit burn_one does, so a
 * profile should give them 75 % and 25 % of the samples. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) void burn_three(void) {
	for (int i = 0; i < 200000 * 3; i++)
		sink += i;
}

__attribute__((noinline)) void burn_one(void) {
	for (int i = 0; i < 200000; i++)
		sink += i;
}

static double seconds;

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *loop(void *arg) {
	double end = now() + seconds;
	(void)arg;
	while (now() < end) {
		burn_three();
		burn_one();
	}
	return NULL;
}

int main(int argc, char **argv) {
	seconds = argc > 1 ? atof(argv[1]) : 1.0;
	int code = argc > 2 ? atoi(argv[2]) : 0;
	int threads = argc > 3 ? atoi(argv[3]) : 1;
	pthread_t t[16];
	for (int i = 1; i < threads && i < 16; i++)
		pthread_create(&t[i], NULL, loop, NULL);
	loop(NULL);
	for (int i = 1; i < threads && i < 16; i++)
		pthread_join(t[i], NULL);
	return code;
}
