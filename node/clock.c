/*
 * node/clock.c - wall-clock and monotonic milliseconds.
 *
 * Two clocks because they answer two questions. "What time is it?" (block
 * time_ms, log timestamps) needs the wall clock, which NTP may step.
 * "Has an interval passed?" (block spacing) needs a clock that only moves
 * forward, or a backwards step would hold blocks back for as long as the
 * step. clock_gettime cannot fail for these clock ids on Linux; the asserts
 * say so.
 */
#include "clock.h"

#include <assert.h>
#include <time.h>

static uint64_t cairn_clock_read_ms(clockid_t id) {
  struct timespec ts;
  int rc = clock_gettime(id, &ts);
  assert(rc == 0);
  (void)rc;
  assert(ts.tv_sec >= 0);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cairn_clock_wall_ms(void) {
  return cairn_clock_read_ms(CLOCK_REALTIME);
}

uint64_t cairn_clock_mono_ms(void) {
  return cairn_clock_read_ms(CLOCK_MONOTONIC);
}
