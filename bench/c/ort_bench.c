/*
 * The baseline for PolyNet's overhead: a small C program that calls ONNX Runtime's C API directly, the way a
 * careful user would: one session, one input tensor created once over a malloc'ed buffer, Run in a loop,
 * outputs released each time. It declares only what it uses of the C API: the OrtApiBase struct and the
 * positions of the OrtApi functions it calls (facts of ORT's ABI; see src/Runners/Native/OrtApiIndex.cs).
 *
 * Usage: ort_bench LIBONNXRUNTIME MODEL INPUT_NAME OUTPUT_NAME D0xD1x... WARMUP RUNS [THREADS]
 * Prints one line per timed run ("run_ms <ms>") and a summary line.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *Status; /* OrtStatus*: NULL on success */
typedef struct { const void *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); } OrtApiBase;

enum { CreateEnv = 3, CreateSession = 7, Run = 9, CreateSessionOptions = 10, SetSessionGraphOptimizationLevel = 23,
       SetIntraOpNumThreads = 24, CreateTensorWithDataAsOrtValue = 49, CreateCpuMemoryInfo = 69, GetErrorMessage = 2,
       ReleaseEnv = 92, ReleaseStatus = 93, ReleaseMemoryInfo = 94, ReleaseSession = 95, ReleaseValue = 96,
       ReleaseSessionOptions = 100 };

static void *const *api;
#define FN(type, idx) ((type)api[idx])

static void check(Status s, const char *what) {
  if (!s) return;
  fprintf(stderr, "ort_bench: %s failed: %s\n", what, FN(const char *(*)(Status), GetErrorMessage)(s));
  FN(void (*)(Status), ReleaseStatus)(s);
  exit(3);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s LIB MODEL INPUT OUTPUT DIMS WARMUP RUNS [THREADS]\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "ort_bench: %s\n", dlerror()); return 2; }
  const OrtApiBase *(*getBase)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
  const OrtApiBase *base = getBase();
  api = (void *const *)base->GetApi(22);
  if (!api) { fprintf(stderr, "ort_bench: API version 22 unavailable\n"); return 2; }

  int64_t dims[8]; size_t rank = 0; size_t count = 1;
  for (char *p = strtok(argv[5], "x"); p && rank < 8; p = strtok(NULL, "x")) { dims[rank] = atoll(p); count *= dims[rank++]; }
  int warmup = atoi(argv[6]), runs = atoi(argv[7]), threads = argc > 8 ? atoi(argv[8]) : 0;

  void *env, *opts, *session, *mem, *input;
  check(FN(Status (*)(int, const char *, void **), CreateEnv)(3, "ort_bench", &env), "CreateEnv");
  check(FN(Status (*)(void **), CreateSessionOptions)(&opts), "CreateSessionOptions");
  if (threads > 0) check(FN(Status (*)(void *, int), SetIntraOpNumThreads)(opts, threads), "SetIntraOpNumThreads");
  check(FN(Status (*)(void *, int), SetSessionGraphOptimizationLevel)(opts, 99), "SetSessionGraphOptimizationLevel");
  double t0 = now_ms();
  check(FN(Status (*)(void *, const char *, void *, void **), CreateSession)(env, argv[2], opts, &session), "CreateSession");
  double load = now_ms() - t0;
  check(FN(Status (*)(int, int, void **), CreateCpuMemoryInfo)(1, 0, &mem), "CreateCpuMemoryInfo");
  float *data = malloc(count * sizeof(float));
  uint64_t state = 1;
  for (size_t i = 0; i < count; i++) { state = state * 6364136223846793005ULL + 1442695040888963407ULL; data[i] = (state >> 40) / 16777216.0f; }
  check(FN(Status (*)(void *, void *, size_t, const int64_t *, size_t, int, void **), CreateTensorWithDataAsOrtValue)(
            mem, data, count * sizeof(float), dims, rank, 1, &input), "CreateTensorWithDataAsOrtValue");

  const char *in_names[1] = {argv[3]}, *out_names[1] = {argv[4]};
  double *times = malloc(sizeof(double) * (runs > 0 ? runs : 1));
  for (int i = 0; i < warmup + runs; i++) {
    void *out = NULL;
    double s = now_ms();
    check(FN(Status (*)(void *, void *, const char *const *, const void *const *, size_t, const char *const *, size_t, void **), Run)(
              session, NULL, in_names, (const void *const *)&input, 1, out_names, 1, &out), "Run");
    FN(void (*)(void *), ReleaseValue)(out);
    double e = now_ms() - s;
    if (i >= warmup) { times[i - warmup] = e; printf("run_ms %.4f\n", e); }
  }
  qsort(times, runs, sizeof(double), cmp);
  double sum = 0;
  for (int i = 0; i < runs; i++) sum += times[i];
  printf("summary session_ms %.1f runs %d min_ms %.4f median_ms %.4f mean_ms %.4f max_ms %.4f\n", load, runs, times[0], times[runs / 2], sum / runs, times[runs - 1]);

  FN(void (*)(void *), ReleaseValue)(input);
  FN(void (*)(void *), ReleaseMemoryInfo)(mem);
  FN(void (*)(void *), ReleaseSession)(session);
  FN(void (*)(void *), ReleaseSessionOptions)(opts);
  FN(void (*)(void *), ReleaseEnv)(env);
  free(data);
  free(times);
  return 0;
}
