// An LD_PRELOAD shim that counts calls to malloc, calloc, realloc and posix_memalign.
//
// SwiftPM builds it as libBerthMallocCounter.so beside the berth executable. `berth bench`
// re-executes itself with the shim preloaded, and `berth schedule` reports allocations per cycle
// whenever it is preloaded; both read the count in-process through `berth_malloc_count`:
//
//   LD_PRELOAD=.build/release/libBerthMallocCounter.so .build/release/berth schedule --cluster datasets/sample
//
// Nothing links against this library: it only takes effect when preloaded.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "berth_malloc_counter.h"

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
