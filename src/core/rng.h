/*
** rng.h -- a counter-based random number generator.
**
** A draw is a pure function of (seed, stream, counter): the simulator keys
** it by vehicle and step, so results do not depend on the order in which
** vehicles are processed or on the number of threads.  The mixer is
** SplitMix64's finaliser applied twice, which passes the usual statistical
** batteries for this use and costs a few nanoseconds.
*/
#ifndef GW_CORE_RNG_H
#define GW_CORE_RNG_H

#include <stdint.h>

static inline uint64_t gw__mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t gw__rng_u64(uint64_t seed, uint64_t stream, uint64_t counter) {
  return gw__mix64(gw__mix64(seed ^ gw__mix64(stream)) ^ counter);
}

/* Uniform in [0, 1) with 53 bits of precision. */
static inline double gw__rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  return (double)(gw__rng_u64(seed, stream, counter) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
