/*
 * The baseline for `polynet bench`: a small C program that measures ONNX Runtime's latency the way a careful user of
 * the C API would, on CPU or on a GPU through the CUDA execution provider loaded as a plugin
 * (RegisterExecutionProviderLibrary, GetEpDevices, SessionOptionsAppendExecutionProvider_V2). Every input of the model
 * is created once (float: uniform [0,1) from a fixed LCG; integers: 1; bools: true; dynamic dimensions: 1).
 *
 * Default mode, as `polynet bench` by default: I/O binding, inputs copied once to the memory the session reads them
 * from (SessionGetMemoryInfoForInputs, GetSharedAllocator, CopyTensors), outputs bound to the device that produces
 * them; each timed run is RunWithBinding. With --copies, each run is a plain Run on host inputs whose outputs ORT
 * copies back to host memory, as `polynet bench --with-copies` (which also copies them into its arrays).
 *
 * It declares only what it uses of the C API: the OrtApiBase struct and the positions of the OrtApi functions it
 * calls (facts of ORT's ABI; see src/Runners/Native/OrtApiIndex.cs). Needs ONNX Runtime 1.23 or newer.
 *
 * Usage: ort_latency LIBONNXRUNTIME MODEL WARMUP RUNS [--cuda PROVIDER_LIB] [--tf32 0|1] [--copies] [--threads N]
 * Prints "run_ms <ms>" per timed run and a summary line with min, median, mean, p90, p95, p99 and max.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *Status;
typedef struct { const void *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); } OrtApiBase;

enum {
  GetErrorMessage = 2, CreateEnv = 3, CreateSession = 7, Run = 9, CreateSessionOptions = 10,
  SetSessionGraphOptimizationLevel = 23, SetIntraOpNumThreads = 24, SessionGetInputCount = 30, SessionGetOutputCount = 31,
  SessionGetInputTypeInfo = 33, SessionGetInputName = 36, SessionGetOutputName = 37, CreateTensorAsOrtValue = 48,
  GetTensorMutableData = 51, CastTypeInfoToTensorInfo = 55, GetTensorElementType = 60, GetDimensionsCount = 61,
  GetDimensions = 62, CreateCpuMemoryInfo = 69, GetAllocatorWithDefaultOptions = 78, ReleaseStatus = 93,
  ReleaseValue = 96, ReleaseTypeInfo = 98, RunWithBinding = 133, CreateIoBinding = 134, BindInput = 136,
  BindOutputToDevice = 138, RegisterExecutionProviderLibrary = 301, GetEpDevices = 303,
  SessionOptionsAppendExecutionProvider_V2 = 304, EpDevice_EpName = 312, GetSharedAllocator = 376,
  SessionGetMemoryInfoForInputs = 380, SessionGetMemoryInfoForOutputs = 381, CopyTensors = 386,
  MemoryInfoGetName = 71, MemoryInfoGetDeviceType = 225
};

static void *const *api;
#define FN(type, idx) ((type)api[idx])

static void check(Status s, const char *what) {
  if (!s) return;
  fprintf(stderr, "ort_latency: %s failed: %s\n", what, FN(const char *(*)(Status), GetErrorMessage)(s));
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

static size_t elem_size(int type) {
  switch (type) {
    case 1: case 6: case 12: return 4;          /* float, int32, uint32 */
    case 7: case 11: case 13: return 8;         /* int64, double, uint64 */
    case 10: case 16: case 5: case 4: return 2; /* float16, bfloat16, int16, uint16 */
    default: return 1;                          /* int8, uint8, bool */
  }
}

static double nearest_rank(const double *sorted, int n, double q) {
  int i = (int)(q * n + 0.999999999) - 1;
  if (i < 0) i = 0;
  if (i >= n) i = n - 1;
  return sorted[i];
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s LIB MODEL WARMUP RUNS [--cuda PROVIDER_LIB] [--tf32 0|1] [--copies] [--threads N]\n", argv[0]);
    return 2;
  }
  const char *cuda = NULL, *tf32 = NULL;
  int copies = 0, threads = 0;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--cuda") && i + 1 < argc) cuda = argv[++i];
    else if (!strcmp(argv[i], "--tf32") && i + 1 < argc) tf32 = argv[++i];
    else if (!strcmp(argv[i], "--copies")) copies = 1;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else { fprintf(stderr, "ort_latency: unknown argument %s\n", argv[i]); return 2; }
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "ort_latency: %s\n", dlerror()); return 2; }
  const OrtApiBase *(*getBase)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
  api = (void *const *)getBase()->GetApi(23);
  if (!api) { fprintf(stderr, "ort_latency: ONNX Runtime API version 23 (1.23) or newer is needed\n"); return 2; }
  int warmup = atoi(argv[3]), runs = atoi(argv[4]);

  void *env, *opts, *session;
  check(FN(Status (*)(int, const char *, void **), CreateEnv)(3, "ort_latency", &env), "CreateEnv");
  check(FN(Status (*)(void **), CreateSessionOptions)(&opts), "CreateSessionOptions");
  if (threads > 0) check(FN(Status (*)(void *, int), SetIntraOpNumThreads)(opts, threads), "SetIntraOpNumThreads");
  check(FN(Status (*)(void *, int), SetSessionGraphOptimizationLevel)(opts, 99), "SetSessionGraphOptimizationLevel");
  if (cuda) {
    check(FN(Status (*)(void *, const char *, const char *), RegisterExecutionProviderLibrary)(env, "CUDA", cuda), "RegisterExecutionProviderLibrary");
    const void *const *devices; size_t n = 0;
    check(FN(Status (*)(void *, const void *const **, size_t *), GetEpDevices)(env, &devices, &n), "GetEpDevices");
    const void *dev = NULL;
    for (size_t i = 0; i < n; i++)
      if (!strcmp(FN(const char *(*)(const void *), EpDevice_EpName)(devices[i]), "CUDAExecutionProvider")) { dev = devices[i]; break; }
    if (!dev) { fprintf(stderr, "ort_latency: no CUDAExecutionProvider device\n"); return 3; }
    const char *keys[1] = {"use_tf32"}, *vals[1] = {tf32 ? tf32 : "1"};
    check(FN(Status (*)(void *, void *, const void *const *, size_t, const char *const *, const char *const *, size_t),
             SessionOptionsAppendExecutionProvider_V2)(opts, env, &dev, 1, keys, vals, tf32 ? 1 : 0), "SessionOptionsAppendExecutionProvider_V2");
  }
  double t0 = now_ms();
  check(FN(Status (*)(void *, const char *, void *, void **), CreateSession)(env, argv[2], opts, &session), "CreateSession");
  double load = now_ms() - t0;

  void *cpu_alloc, *cpu_mem;
  check(FN(Status (*)(void **), GetAllocatorWithDefaultOptions)(&cpu_alloc), "GetAllocatorWithDefaultOptions");
  check(FN(Status (*)(int, int, void **), CreateCpuMemoryInfo)(1, 0, &cpu_mem), "CreateCpuMemoryInfo");
  size_t nin, nout;
  check(FN(Status (*)(void *, size_t *), SessionGetInputCount)(session, &nin), "SessionGetInputCount");
  check(FN(Status (*)(void *, size_t *), SessionGetOutputCount)(session, &nout), "SessionGetOutputCount");
  char **in_names = calloc(nin, sizeof(char *)), **out_names = calloc(nout, sizeof(char *));
  void **host = calloc(nin, sizeof(void *)), **bound = calloc(nin, sizeof(void *));
  const void **in_mem = calloc(nin, sizeof(void *)), **out_mem = calloc(nout, sizeof(void *));
  check(FN(Status (*)(void *, const void **, size_t), SessionGetMemoryInfoForInputs)(session, in_mem, nin), "SessionGetMemoryInfoForInputs");
  check(FN(Status (*)(void *, const void **, size_t), SessionGetMemoryInfoForOutputs)(session, out_mem, nout), "SessionGetMemoryInfoForOutputs");
  uint64_t state = 1;
  for (size_t i = 0; i < nin; i++) {
    check(FN(Status (*)(void *, size_t, void *, char **), SessionGetInputName)(session, i, cpu_alloc, &in_names[i]), "SessionGetInputName");
    void *ti; const void *tsi; int type; size_t rank; int64_t dims[16];
    check(FN(Status (*)(void *, size_t, void **), SessionGetInputTypeInfo)(session, i, &ti), "SessionGetInputTypeInfo");
    check(FN(Status (*)(void *, const void **), CastTypeInfoToTensorInfo)(ti, &tsi), "CastTypeInfoToTensorInfo");
    check(FN(Status (*)(const void *, int *), GetTensorElementType)(tsi, &type), "GetTensorElementType");
    check(FN(Status (*)(const void *, size_t *), GetDimensionsCount)(tsi, &rank), "GetDimensionsCount");
    check(FN(Status (*)(const void *, int64_t *, size_t), GetDimensions)(tsi, dims, rank), "GetDimensions");
    FN(void (*)(void *), ReleaseTypeInfo)(ti);
    size_t count = 1;
    for (size_t d = 0; d < rank; d++) { if (dims[d] < 0) dims[d] = 1; count *= (size_t)dims[d]; }
    check(FN(Status (*)(void *, const int64_t *, size_t, int, void **), CreateTensorAsOrtValue)(cpu_alloc, dims, rank, type, &host[i]), "CreateTensorAsOrtValue");
    void *data;
    check(FN(Status (*)(void *, void **), GetTensorMutableData)(host[i], &data), "GetTensorMutableData");
    for (size_t k = 0; k < count; k++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      if (type == 1) ((float *)data)[k] = (state >> 40) / 16777216.0f;
      else if (type == 7) ((int64_t *)data)[k] = 1;
      else if (type == 6) ((int32_t *)data)[k] = 1;
      else memset((char *)data + k * elem_size(type), type == 9 ? 1 : 0, elem_size(type));
    }
    bound[i] = host[i];
    int devtype = 0;
    if (!copies && in_mem[i]) FN(void (*)(const void *, int *), MemoryInfoGetDeviceType)(in_mem[i], &devtype);
    if (devtype != 0) {
      void *alloc = NULL;
      check(FN(Status (*)(void *, const void *, void **), GetSharedAllocator)(env, in_mem[i], &alloc), "GetSharedAllocator");
      if (alloc) {
        check(FN(Status (*)(void *, const int64_t *, size_t, int, void **), CreateTensorAsOrtValue)(alloc, dims, rank, type, &bound[i]), "CreateTensorAsOrtValue (device)");
        check(FN(Status (*)(void *, void *const *, void *const *, void *, size_t), CopyTensors)(env, &host[i], &bound[i], NULL, 1), "CopyTensors");
      }
    }
    const char *mname = "";
    if (in_mem[i]) check(FN(Status (*)(const void *, const char **), MemoryInfoGetName)(bound[i] == host[i] ? cpu_mem : in_mem[i], &mname), "MemoryInfoGetName");
    printf("input %s type %d on %s\n", in_names[i], type, copies ? "host (copied each run)" : mname);
  }
  for (size_t i = 0; i < nout; i++)
    check(FN(Status (*)(void *, size_t, void *, char **), SessionGetOutputName)(session, i, cpu_alloc, &out_names[i]), "SessionGetOutputName");

  void *binding = NULL;
  if (!copies) {
    check(FN(Status (*)(void *, void **), CreateIoBinding)(session, &binding), "CreateIoBinding");
    for (size_t i = 0; i < nin; i++) check(FN(Status (*)(void *, const char *, const void *), BindInput)(binding, in_names[i], bound[i]), "BindInput");
    for (size_t i = 0; i < nout; i++) check(FN(Status (*)(void *, const char *, const void *), BindOutputToDevice)(binding, out_names[i], out_mem[i] ? out_mem[i] : cpu_mem), "BindOutputToDevice");
  }
  double *times = malloc(sizeof(double) * (runs > 0 ? runs : 1));
  void **outs = calloc(nout, sizeof(void *));
  for (int r = 0; r < warmup + runs; r++) {
    double s = now_ms();
    if (copies) {
      memset(outs, 0, nout * sizeof(void *));
      check(FN(Status (*)(void *, void *, char *const *, void *const *, size_t, char *const *, size_t, void **), Run)(
                session, NULL, in_names, host, nin, out_names, nout, outs), "Run");
      for (size_t i = 0; i < nout; i++) FN(void (*)(void *), ReleaseValue)(outs[i]);
    } else {
      check(FN(Status (*)(void *, void *, void *), RunWithBinding)(session, NULL, binding), "RunWithBinding");
    }
    double e = now_ms() - s;
    if (r >= warmup) { times[r - warmup] = e; printf("run_ms %.4f\n", e); }
  }
  qsort(times, runs, sizeof(double), cmp);
  double sum = 0;
  for (int i = 0; i < runs; i++) sum += times[i];
  double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
  printf("summary mode %s session_ms %.1f runs %d min_ms %.4f median_ms %.4f mean_ms %.4f p90_ms %.4f p95_ms %.4f p99_ms %.4f max_ms %.4f\n",
         copies ? "copies" : "bound", load, runs, times[0], median, sum / runs, nearest_rank(times, runs, 0.90),
         nearest_rank(times, runs, 0.95), nearest_rank(times, runs, 0.99), times[runs - 1]);
  return 0; /* the process ends here; ORT's objects are released with it */
}
