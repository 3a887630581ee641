#define _GNU_SOURCE
#include "berth_system.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int berth_exchange_paths(const char *a, const char *b) {
#ifdef SYS_renameat2
  return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
  errno = ENOSYS;
  return -1;
#endif
}

#if defined(__linux__)
#include <elf.h>
#include <link.h>
#include <string.h>

struct berth_build_id_search {
  char *out;
  size_t capacity;
  int found;
};

// The first object dl_iterate_phdr reports is the executable itself: its GNU build-id note,
// as lowercase hex.
static int berth_build_id_visit(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct berth_build_id_search *search = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    const unsigned char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)p;
      size_t nameSize = (note->n_namesz + 3) & ~(size_t)3;
      size_t descSize = (note->n_descsz + 3) & ~(size_t)3;
      const unsigned char *name = p + sizeof(ElfW(Nhdr));
      const unsigned char *desc = name + nameSize;
      if (desc + descSize > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          note->n_descsz * 2 + 1 <= search->capacity) {
        static const char hex[] = "0123456789abcdef";
        for (unsigned k = 0; k < note->n_descsz; k++) {
          search->out[2 * k] = hex[desc[k] >> 4];
          search->out[2 * k + 1] = hex[desc[k] & 15];
        }
        search->out[2 * note->n_descsz] = 0;
        search->found = 1;
        return 1;
      }
      p = desc + descSize;
    }
  }
  return 1;  // only the executable is looked at
}

int berth_build_id(char *out, size_t capacity) {
  struct berth_build_id_search search = {out, capacity, 0};
  dl_iterate_phdr(berth_build_id_visit, &search);
  return search.found;
}
#else
int berth_build_id(char *out, size_t capacity) {
  (void)out;
  (void)capacity;
  return 0;
}
#endif
