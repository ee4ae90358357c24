/*
** carfollow.h -- the Krauss safe-speed model with SUMO's Euler update.
**
** Pure functions of the kinematic state: no vehicle objects, no globals, so
** that tests can set them beside a slow reference formula.  Speeds in m/s,
** gaps in m (net gap: leader's back minus follower's front minus minGap),
** decelerations in m/s^2 (positive), time step and headway in s.
*/
#ifndef GW_SIM_CARFOLLOW_H
#define GW_SIM_CARFOLLOW_H

/* Distance needed to stop from `v`, braking `decel` every step of `dt`
** (the Euler scheme advances with the new speed), plus `v * headway`. */
double gw__cf_brake_gap(double v, double decel, double dt, double headway);

/* Highest speed x for the next step such that keeping x for `headway`
** seconds and then braking `decel` every step stops within `gap` (SUMO's
** maximumSafeStopSpeed for the Euler update).  Pass headway = dt to stop at
** a line: the vehicle then covers x*dt in this step and brakes after. */
double gw__cf_stop_speed(double gap, double decel, double dt, double headway);

/* Highest safe speed behind a leader driving `v_lead` that can brake with
** `lead_decel`. */
double gw__cf_follow_speed(double gap, double v_lead, double decel, double lead_decel, double dt,
                           double tau);

/* min(cap, gw__cf_follow_speed(...)), computed without the square root when
** the leader is too far to matter. */
double gw__cf_follow_speed_capped(double gap, double v_lead, double decel, double lead_decel,
                                  double dt, double tau, double cap);

/* The next speed given the upper bound `v_safe` from every constraint:
** limited by acceleration and the desired speed, lowered by the dawdling
** draw `u` in [0,1) with weight `sigma` (by sigma*accel*dt*u, or below a
** speed of `accel` by sigma*speed*dt*u), never below what comfortable
** braking reaches unless `v_safe` demands it. */
double gw__cf_next_speed(double v, double v_safe, double v_desired, double accel, double decel,
                         double sigma, double u, double dt);

#endif
