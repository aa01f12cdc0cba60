/* raxx: make glibc's sem_clockwait / pthread_cond_clockwait follow a
 * libfaketime speed-up. CPython (3.9+ on glibc >= 2.30) waits on locks with
 * sem_clockwait(CLOCK_MONOTONIC, deadline from the faked monotonic clock);
 * libfaketime 0.9.10 does not intercept it, so the kernel waits until a
 * faked deadline decades ahead. Here the faked time left is divided by the
 * FAKETIME "x<factor>" and added to the real clock (read by syscall, under
 * libfaketime). Preload it before libfaketime:
 *   LD_PRELOAD=/path/clockwait_shim.so:/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double speed(void) {
    static double cached = 0;
    if (cached == 0) {
        const char *ft = getenv("FAKETIME");
        const char *x = ft ? strrchr(ft, 'x') : NULL;
        double f = x ? strtod(x + 1, NULL) : 1.0;
        cached = f > 0 ? f : 1.0;
    }
    return cached;
}

static struct timespec real_deadline(clockid_t clock, const struct timespec *fake_abs) {
    struct timespec fake_now, now;
    clock_gettime(clock, &fake_now);               /* libfaketime's */
    syscall(SYS_clock_gettime, clock, &now);       /* the kernel's */
    double left = (double)(fake_abs->tv_sec - fake_now.tv_sec) + (fake_abs->tv_nsec - fake_now.tv_nsec) / 1e9;
    if (left < 0) left = 0;
    left /= speed();
    long long ns = (long long)now.tv_nsec + (long long)((left - (long long)left) * 1e9);
    now.tv_sec += (time_t)left + ns / 1000000000LL;
    now.tv_nsec = ns % 1000000000LL;
    return now;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
    static int (*next)(sem_t *, clockid_t, const struct timespec *);
    if (!next) next = dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec d = real_deadline(clock, abstime);
    return next(sem, clock, &d);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime) {
    static int (*next)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    if (!next) next = dlsym(RTLD_NEXT, "pthread_cond_clockwait");
    struct timespec d = real_deadline(clock, abstime);
    return next(cond, mutex, clock, &d);
}
