/*
** carfollow.c -- Krauss car following as SUMO computes it with the Euler
** (semi-implicit) update.
**
** In a step of length dt a vehicle first fixes its new speed v', then moves
** v'*dt.  The safe speed is the largest v' such that keeping v' for the
** reaction time tau and then braking by b = decel*dt every step, a
** staircase and not the continuous v^2/2d, stops within the gap; solving
** the quadratic for the number of braking steps n gives the closed form in
** gw__cf_stop_speed.  For a stop line the reaction time is the step itself.
** Using the same discretisation as SUMO is what lets queue discharge and
** stop-line behaviour line up with it.  Using the same discretisation as
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
  double steps = (double)(long)(v / b); /* floor for v >= 0, without a libm call */
  return dt * (steps * v - b * steps * (steps + 1) / 2) + v * headway;
}

double gw__cf_stop_speed(double gap, double decel, double dt, double headway) {
  gap -= GAP_EPS;
  if (gap <= 0) return 0;
  /* The new speed x = n*b + r (0 <= r < b) is kept for the reaction time
  ** `headway`, then braking lowers it by b each step: x-b, ..., r.  The
  ** distance is headway*x + dt*(n*r + b*n*(n-1)/2); n is the largest whole
  ** number of braking steps that fits with r = 0. */
  const double b = decel * dt, s = dt, t = headway;
  const double c = t - s / 2;
  double q = (-c + sqrt(c * c + 2 * s * gap / b)) / s;
  double n = q > 0 ? (double)(long)q : 0; /* floor, clamped at 0 */
  double h = 0.5 * n * (n - 1) * b * s + n * b * t;
  double r = (gap - h) / (n * s + t);
  if (r < 0) r = 0; /* rounding at the boundary of two n */
  if (r > b && n * s + t > 0) r = b;
  return n * b + r;
}

double gw__cf_follow_speed(double gap, double v_lead, double decel, double lead_decel, double dt,
                           double tau) {
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
  /* Dawdling takes at most sigma*accel*dt, and below `accel` only a share of
  ** the speed itself, so that a driver who may start does start. */
  double vd = vmax < accel ? vmax - sigma * vmax * dt * u : vmax - sigma * accel * dt * u;
  if (vd < 0) vd = 0;
  return vd > vmin ? vd : vmin;
}

double gw__cf_follow_speed_capped(double gap, double v_lead, double decel, double lead_decel,
                                  double dt, double tau, double cap) {
  double d = lead_decel > decel ? lead_decel : decel;
  double room = gap + gw__cf_brake_gap(v_lead, d, dt, 0) - GAP_EPS;
  /* Most leaders are far enough not to matter: one cheap test instead of a
  ** square root.  cap*tau + brake_gap(cap) is exactly the distance the
  ** closed form of gw__cf_stop_speed needs for speed cap. */
  if (cap >= 0 && room >= cap * tau + gw__cf_brake_gap(cap, decel, dt, 0)) return cap;
  return gw__cf_stop_speed(gap + gw__cf_brake_gap(v_lead, d, dt, 0), decel, dt, tau);
}
