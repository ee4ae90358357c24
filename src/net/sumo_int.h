/*
** sumo_int.h -- the SUMO importers' in-memory entry points.
**
** The public loaders in net.h and demand.h read files by path.  Each of them
** is a thin wrapper around one of the functions below, which parse a buffer
** that is already in memory and use `name` only in error messages
** ("NAME:LINE: ...").  They exist for the fuzz targets in tests/fuzz/ and for
** tests that build small inputs on the fly; nothing outside the library and
** its tests may call them.
**
** The buffer need not be NUL-terminated and is never kept: it is borrowed
** for the length of the call.  Ownership is as for the public loaders:
** *out of gw__net_load_sumo_buffer belongs to the caller on success and is
** left untouched on failure; gw__demand_load_sumo_buffer creates *dp when it
** is NULL and leaves it to the caller to destroy even when loading fails.
*/
#ifndef GW_NET_SUMO_INT_H
#define GW_NET_SUMO_INT_H

#include <stddef.h>

#include "greenwave/demand.h"
#include "greenwave/net.h"

/* Loads a whole .net.xml held in buf[0..len). */
int gw__net_load_sumo_buffer(const char *name, const char *buf, size_t len, gw_net **out,
                             gw_error *err);

/* Adds the tlLogic programs and detectors of an additional file held in
** buf[0..len) to a net that gw__net_load_sumo_buffer or gw_net_load_sumo
** returned. */
int gw__net_load_sumo_additional_buffer(gw_net *net, const char *name, const char *buf, size_t len,
                                        gw_error *err);

/* Adds the vehicle types, routes, vehicles and flows of a route file held in
** buf[0..len) to *dp, resolving edges against `net`. */
int gw__demand_load_sumo_buffer(gw_demand **dp, const gw_net *net, const char *name,
                                const char *buf, size_t len, gw_error *err);

#endif
