/* burn: a CPU burner with a known split, for the sampler tests.
 * usage: burn SECONDS [EXIT_CODE] [THREADS]
 * SECONDS is CPU time of each thread, not wall time, so that the number of
 * samples does not depend on how busy the machine is.
 * Each round, burn_three spins for 30 ms of the thread's CPU time and
 * burn_one for 10 ms, so a profile should give them 75 % and 25 % of the
 * samples. The rounds are timed by CPU time rather than counted in loop
 * iterations: two identical loops can run at different speeds (code
 * alignment), and the machine may be shared. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define CHUNK 1000000 /* iterations between clock reads, well under 1 ms */

static volatile unsigned long sink;

static double clock_s(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void burn_three(void) {
	double end = clock_s(CLOCK_THREAD_CPUTIME_ID) + 0.030;
	do {
		for (int i = 0; i < CHUNK; i++)
			sink += i;
	} while (clock_s(CLOCK_THREAD_CPUTIME_ID) < end);
}

__attribute__((noinline)) void burn_one(void) {
	double end = clock_s(CLOCK_THREAD_CPUTIME_ID) + 0.010;
	do {
		for (int i = 0; i < CHUNK; i++)
			sink += i;
	} while (clock_s(CLOCK_THREAD_CPUTIME_ID) < end);
}

static double seconds;

static void *loop(void *arg) {
	double end = clock_s(CLOCK_THREAD_CPUTIME_ID) + seconds;
	(void)arg;
	while (clock_s(CLOCK_THREAD_CPUTIME_ID) < end) {
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
