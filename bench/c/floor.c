/*
 * The one-pass floor for the comparator benchmark: a single streaming pass over two float32 arrays computing the
 * maximum absolute difference, split across threads. Usage: floor N THREADS REPEATS. Prints the best time.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct { const float *a, *b; size_t n; float result; } Job;

static void *work(void *p) {
  Job *j = p;
  float m = 0;
  for (size_t i = 0; i < j->n; i++) { float d = fabsf(j->a[i] - j->b[i]); m = d > m ? d : m; }
  j->result = m;
  return NULL;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 50000000;
  int threads = argc > 2 ? atoi(argv[2]) : 2, repeats = argc > 3 ? atoi(argv[3]) : 3;
  float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
  unsigned long long s = 1;
  for (size_t i = 0; i < n; i++) { s = s * 6364136223846793005ULL + 1442695040888963407ULL; a[i] = (s >> 40) / 16777216.0f; b[i] = a[i] + ((s >> 20) & 1023) * 1e-9f; }
  double best = 1e9; float m = 0;
  for (int r = 0; r < repeats; r++) {
    pthread_t t[64]; Job j[64];
    double t0 = now();
    for (int k = 0; k < threads; k++) { j[k] = (Job){a + n / threads * k, b + n / threads * k, k == threads - 1 ? n - n / threads * k : n / threads, 0}; pthread_create(&t[k], 0, work, &j[k]); }
    m = 0;
    for (int k = 0; k < threads; k++) { pthread_join(t[k], 0); if (j[k].result > m) m = j[k].result; }
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("floor one_pass_s %.4f max_abs %g (n %zu, %d threads, best of %d)\n", best, m, n, threads, repeats);
  return 0;
}
