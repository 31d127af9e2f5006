// Keeps kernels.node loadable on the older glibc of the Linux distributions VS Code supports (2.28 and
// newer). libstdc++ and libgcc are linked statically (esbuild.mjs), but they and our own objects were
// compiled against this machine's glibc, whose newer symbol versions they pull in: pthread_* moved into
// libc under GLIBC_2.34, __libc_single_threaded is GLIBC_2.32, the unwinder calls _dl_find_object
// (2.35) and std::random_device arc4random (2.36). esbuild.mjs links with --wrap=NAME for each, so
// every reference lands on the __wrap_NAME below, which binds to the oldest version of the symbol or
// does without it. test/unit/nativeSymbols.test.ts reads the built object's version needs.

#include <link.h>
#include <pthread.h>
#include <sys/random.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

// The pthread functions at their first x86-64 version (GLIBC_2.2.5, in libpthread.so.0 before 2.34 and
// as compatibility symbols of libc.so.6 since): the host process (Node, Electron) always has them loaded.
#define LL_OLD_PTHREAD(name, result, params, args)                 \
  extern "C" result llOld_##name params;                           \
  __asm__(".symver llOld_" #name ", " #name "@GLIBC_2.2.5");       \
  extern "C" result __wrap_##name params { return llOld_##name args; }

LL_OLD_PTHREAD(pthread_create, int, (pthread_t * thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg), (thread, attr, start, arg))
LL_OLD_PTHREAD(pthread_detach, int, (pthread_t thread), (thread))
LL_OLD_PTHREAD(pthread_join, int, (pthread_t thread, void** value), (thread, value))
LL_OLD_PTHREAD(pthread_once, int, (pthread_once_t * once, void (*run)()), (once, run))
LL_OLD_PTHREAD(pthread_key_create, int, (pthread_key_t * key, void (*destroy)(void*)), (key, destroy))
LL_OLD_PTHREAD(__pthread_key_create, int, (pthread_key_t * key, void (*destroy)(void*)), (key, destroy))
LL_OLD_PTHREAD(pthread_key_delete, int, (pthread_key_t key), (key))
LL_OLD_PTHREAD(pthread_getspecific, void*, (pthread_key_t key), (key))
LL_OLD_PTHREAD(pthread_setspecific, int, (pthread_key_t key, const void* value), (key, value))

// libstdc++ skips atomic reference counting while this says the process is single-threaded; "never"
// is always correct (the atomic path), and a Node process has threads anyway.
extern "C" char __wrap___libc_single_threaded = 0;

// What _dl_find_object (glibc 2.35) answers for the unwinder — the loaded object around pc and its
// PT_GNU_EH_FRAME — found the way libgcc did before it existed, with dl_iterate_phdr (GLIBC_2.2.5).
extern "C" int __wrap__dl_find_object(void* pc, dl_find_object* result) {
  struct Search {
    uintptr_t pc;
    dl_find_object* result;
    bool found;
  } search{reinterpret_cast<uintptr_t>(pc), result, false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        auto* search = static_cast<Search*>(data);
        uintptr_t start = UINTPTR_MAX, end = 0;
        bool contains = false;
        void* ehFrame = nullptr;
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& header = info->dlpi_phdr[i];
          const uintptr_t low = info->dlpi_addr + header.p_vaddr;
          if (header.p_type == PT_LOAD) {
            const uintptr_t high = low + header.p_memsz;
            contains = contains || (search->pc >= low && search->pc < high);
            start = low < start ? low : start;
            end = high > end ? high : end;
          } else if (header.p_type == PT_GNU_EH_FRAME) {
            ehFrame = reinterpret_cast<void*>(low);
          }
        }
        if (!contains) return 0;
        std::memset(search->result, 0, sizeof *search->result);
        search->result->dlfo_map_start = reinterpret_cast<void*>(start);
        search->result->dlfo_map_end = reinterpret_cast<void*>(end);
        search->result->dlfo_eh_frame = ehFrame;
        search->found = true;
        return 1;
      },
      &search);
  return search.found ? 0 : -1;
}

// std::random_device's default source (unused by the kernels, but linked in with libstdc++'s
// exception support): the same bytes from getentropy (GLIBC_2.25), fatal without entropy as in glibc.
extern "C" uint32_t __wrap_arc4random() {
  uint32_t value = 0;
  if (getentropy(&value, sizeof value) != 0) std::abort();
  return value;
}
