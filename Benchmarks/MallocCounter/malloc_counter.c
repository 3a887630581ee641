// An LD_PRELOAD shim that counts calls to malloc, calloc, realloc and posix_memalign.
// `berth schedule` looks up `berth_malloc_count` at run time and, when this shim is loaded,
// reports heap allocations per scheduling cycle (counted around the scheduling loop only).
//
//   gcc -O2 -shared -fPIC -o /tmp/malloc_counter.so Benchmarks/MallocCounter/malloc_counter.c -ldl
//   LD_PRELOAD=/tmp/malloc_counter.so .build/release/berth schedule --cluster datasets/sample --seed 42
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

static atomic_long count;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);

// dlsym may call calloc before real_calloc is known; serve it from a small static buffer.
static char bootstrap[4096];
static size_t bootstrap_used;

long berth_malloc_count(void) { return atomic_load(&count); }

void *malloc(size_t size) {
  if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
  atomic_fetch_add(&count, 1);
  return real_malloc(size);
}

void *calloc(size_t n, size_t size) {
  if (!real_calloc) {
    size_t want = (n * size + 15) & ~(size_t)15;
    if (bootstrap_used + want <= sizeof bootstrap) {
      void *p = bootstrap + bootstrap_used;
      bootstrap_used += want;
      return p;
    }
    real_calloc = dlsym(RTLD_NEXT, "calloc");
  }
  atomic_fetch_add(&count, 1);
  return real_calloc(n, size);
}

void *realloc(void *p, size_t size) {
  if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
  atomic_fetch_add(&count, 1);
  return real_realloc(p, size);
}

static void (*real_free)(void *);

void free(void *p) {
  if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
  if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
  real_free(p);
}

int posix_memalign(void **out, size_t align, size_t size) {
  if (!real_memalign) real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  atomic_fetch_add(&count, 1);
  return real_memalign(out, align, size);
}
