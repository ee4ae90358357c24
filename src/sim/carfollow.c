/*
** carfollow.c -- Krauss car following as SUMO computes it with the Euler
** (semi-implicit) update.
**
** In a step of length dt a vehicle first fixes its new speed v', then moves
** v'*dt.  Stopping from v' therefore covers dt*(v' + (v'-b) + (v'-2b) + ...)
** with b = decel*dt, a staircase and not the continuous v^2/2d.  The safe
** speed is the largest v' for which that staircase, plus v'*headway, fits in
** the gap; solving the quadratic for the number of braking steps n gives the
** closed form used in gw__cf_stop_speed.  Using the same discretisation as
** SUMO is what lets queue discharge and stop-line behaviour line up with it.
*/
#include "sim/carfollow.h"

#include <math.h>

/* A little slack so that rounding never turns "stop exactly at the line"
** into "overshoot by a nanometre". */
#define GAP_EPS 1e-3

double gw__cf_brake_gap(double v, double decel, double dt, double headway) {
  if (v <= 0) return 0;
  double b = decel * dt;
  double steps = floor(v / b);
  return dt * (steps * v - b * steps * (steps + 1) / 2) + v * headway;
}

double gw__cf_stop_speed(double gap, double decel, double dt, double headway) {
  gap -= GAP_EPS;
  if (gap <= 0) return 0;
  /* With v' = n*b + r (0 <= r < b) the speeds until standstill are v', v'-b,
  ** ..., r and the distance is dt*((n+1)*r + b*n*(n+1)/2) + headway*v'.  n is
  ** the largest whole number of full braking steps that fits with r = 0. */
  const double b = decel * dt, s = dt, t = headway;
  const double c = s / 2 + t;
  double n = floor((-c + sqrt(c * c + 2 * s * gap / b)) / s);
  if (n < 0) n = 0;
  double r = (gap - s * b * n * (n + 1) / 2 - t * n * b) / ((n + 1) * s + t);
  if (r < 0) r = 0; /* rounding at the boundary of two n */
  if (r > b) r = b;
  return n * b + r;
}

double gw__cf_follow_speed(double gap, double v_lead, double decel, double lead_decel,
                           double dt, double tau) {
  double d = lead_decel > decel ? lead_decel : decel;
  return gw__cf_stop_speed(gap + gw__cf_brake_gap(v_lead, d, dt, 0), decel, dt, tau);
}

double gw__cf_next_speed(double v, double v_safe, double v_desired, double accel, double decel,
                         double sigma, double u, double dt) {
  double vmax = v + accel * dt;
  if (v_desired < vmax) vmax = v_desired;
  if (v_safe < vmax) vmax = v_safe;
  double vmin = v - decel * dt;
  if (vmin < 0) vmin = 0;
  if (vmax < vmin) return vmax < 0 ? 0 : vmax; /* must brake harder than comfortable */
  double vd = vmax - sigma * accel * dt * u;
  if (vd < 0) vd = 0;
  return vd > vmin ? vd : vmin;
}
