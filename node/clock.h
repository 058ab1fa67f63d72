/*
 * node/clock.h - the two clocks the node reads (private to cairnd).
 *
 * Block times and log timestamps are wall-clock Unix milliseconds; the
 * spacing between blocks is measured on the monotonic clock, so that an NTP
 * step neither stalls block production nor makes it burst.
 */
#ifndef CAIRN_NODE_CLOCK_H
#define CAIRN_NODE_CLOCK_H

#include <stdint.h>

/* Unix time in milliseconds (CLOCK_REALTIME). */
uint64_t cairn_clock_wall_ms(void);

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC); never
 * decreases. */
uint64_t cairn_clock_mono_ms(void);

#endif
