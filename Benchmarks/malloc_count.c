/* Counts a process's heap allocations for Benchmarks/structural.py: an LD_PRELOAD interposer that
 * forwards malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc and pvalloc to
 * glibc's own entry points (__libc_*, so no dlsym and no recursion) and adds one to a 64-bit counter
 * per call. The counter lives in the first 8 bytes of the file named by MALLOC_COUNT_FILE (the
 * benchmark creates it), mapped MAP_SHARED in a constructor, so the benchmark reads the count
 * before and after a run without touching the process. Nothing is counted before the file is
 * mapped, or at all when the variable is unset or the file cannot be mapped. free is not counted.
 *
 * Build: cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c (glibc only). */

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static _Atomic uint64_t *counter;

__attribute__((constructor)) static void map_counter(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (path == NULL) return;
    int descriptor = open(path, O_RDWR | O_CLOEXEC);
    if (descriptor < 0) return;
    void *mapped = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
    close(descriptor);
    if (mapped != MAP_FAILED) counter = mapped;
}

static inline void count(void) {
    _Atomic uint64_t *shared = counter;
    if (shared != NULL) atomic_fetch_add_explicit(shared, 1, memory_order_relaxed);
}

void *malloc(size_t size) {
    count();
    return __libc_malloc(size);
}

void *calloc(size_t count_, size_t size) {
    count();
    return __libc_calloc(count_, size);
}

void *realloc(void *pointer, size_t size) {
    count();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count();
    int saved = errno;  /* posix_memalign reports failure by its result, never errno */
    void *pointer = __libc_memalign(alignment, size);
    errno = saved;
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    count();
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    count();
    return __libc_pvalloc(size);
}
