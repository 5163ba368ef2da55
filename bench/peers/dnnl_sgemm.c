/* Times oneDNN's dnnl_sgemm on C[M, N] = A[M, K] * W[N, K]^T (row major: a
 * Linear layer with PyTorch's weight layout), for bench/gemm.py.
 *
 *   dnnl_sgemm M N K ITERATIONS    -> prints "median MS ms"
 *
 * Threads: oneDNN's OpenMP runtime, OMP_NUM_THREADS. Build:
 *   cc -O2 dnnl_sgemm.c -o dnnl_sgemm -ldnnl   (Debian: libdnnl-dev) */
#include <dnnl.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double nowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s M N K ITERATIONS\n", argv[0]);
    return 2;
  }
  long m = atol(argv[1]), n = atol(argv[2]), k = atol(argv[3]);
  int iterations = atoi(argv[4]);
  if (m <= 0 || n <= 0 || k <= 0 || iterations <= 0) {
    fprintf(stderr, "dnnl_sgemm: sizes and iterations must be positive\n");
    return 2;
  }
  float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k),
        *c = malloc(sizeof(float) * m * n);
  double *samples = malloc(sizeof(double) * iterations);
  if (!a || !w || !c || !samples) {
    fprintf(stderr, "dnnl_sgemm: out of memory\n");
    return 1;
  }
  for (long i = 0; i < m * k; ++i)
    a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (long i = 0; i < n * k; ++i)
    w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
  for (int i = -2; i < iterations; ++i) {
    double start = nowMs();
    if (dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, w, k, 0.0f, c, n) !=
        dnnl_success) {
      fprintf(stderr, "dnnl_sgemm failed\n");
      return 1;
    }
    if (i >= 0)
      samples[i] = nowMs() - start;
  }
  qsort(samples, iterations, sizeof(double), compare);
  printf("median %.4f ms\n", samples[iterations / 2]);
  free(a);
  free(w);
  free(c);
  free(samples);
  return 0;
}
