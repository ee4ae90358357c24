#!/usr/bin/env python3
"""gen-cityflow.py -- write a grid scenario in CityFlow format.

    gen-cityflow.py OUTDIR --rows R --cols C [--interval S] [--end T]
                    [--length M] [--turns] [--single] [--seed N]
                    [--bench] [--min-length M] [--max-length M]
                    [--min-rate V] [--max-rate V] [--lane-change]

Writes OUTDIR/config.json, OUTDIR/roadnet.json and OUTDIR/flow.json laid out
as the benchmark grids of the signal-control literature:

- intersection_X_Y for X in 0..C+1, Y in 0..R+1; the outer ring (corners
  left out) is virtual, where vehicles enter and leave;
- road_X_Y_D leaves intersection_X_Y towards direction D (0 east, 1 north,
  2 west, 3 south), 3 lanes of 3.2 m at 11.111 m/s: lane 0 turns left,
  lane 1 goes straight, lane 2 turns right; each lane link goes from that
  lane to every lane of the exit road;
- five light phases: phase 0 (5 s) shows only the right turns; phases 1-4
  (30 s) show east-west through, north-south through, east-west left,
  north-south left, each with the right turns.

Flows: from every entry road a straight route across the grid every
--interval seconds (default 10) up to --end (default 3600); with --turns,
also a left-turning and a right-turning route from each entry at three times
the interval.  --single writes one vehicle (for hand-checked metrics).
--bench writes a benchmark-like scenario instead of the even flows: road
lengths drawn per row/column gap in [--min-length, --max-length] (default
300-800 m), and from every entry road Poisson arrivals (exponential
headways, one vehicle per flow entry, startTime == endTime) at a rate drawn
in [--min-rate, --max-rate] veh/h (default 300-700), each vehicle turning
left, going straight or turning right at each intersection with
probabilities 0.2 / 0.6 / 0.2 (drawn once per vehicle and intersection);
--lane-change sets laneChange in config.json (the published settings).
Deterministic: the same arguments give the same files.
"""
import argparse
import json
import os
import random

VEH = {"length": 5.0, "width": 2.0, "maxPosAcc": 2.0, "maxNegAcc": 4.5,
       "usualPosAcc": 2.0, "usualNegAcc": 4.5, "minGap": 2.5, "maxSpeed": 11.111,
       "headwayTime": 2}
DX = [1, 0, -1, 0]
DY = [0, 1, 0, -1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--cols", type=int, default=1)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--end", type=int, default=3600)
    ap.add_argument("--length", type=float, default=300.0)
    ap.add_argument("--turns", action="store_true")
    ap.add_argument("--single", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--min-length", type=float, default=300.0)
    ap.add_argument("--max-length", type=float, default=800.0)
    ap.add_argument("--min-rate", type=float, default=300.0)
    ap.add_argument("--max-rate", type=float, default=700.0)
    ap.add_argument("--lane-change", action="store_true")
    a = ap.parse_args()
    R, C, L = a.rows, a.cols, a.length
    rnd = random.Random(a.seed)
    # Coordinates of grid lines: even spacing, or drawn gaps with --bench.
    if a.bench:
        xs = [0.0]
        for _ in range(C + 1):
            xs.append(xs[-1] + rnd.uniform(a.min_length, a.max_length))
        ys = [0.0]
        for _ in range(R + 1):
            ys.append(ys[-1] + rnd.uniform(a.min_length, a.max_length))
    else:
        xs = [i * L for i in range(C + 2)]
        ys = [i * L for i in range(R + 2)]

    def inside(x, y):
        return 1 <= x <= C and 1 <= y <= R

    def exists(x, y):
        on_x = 0 <= x <= C + 1
        on_y = 0 <= y <= R + 1
        corner = (x in (0, C + 1)) and (y in (0, R + 1))
        return on_x and on_y and not corner

    roads = []
    road_ids = set()
    for x in range(C + 2):
        for y in range(R + 2):
            if not exists(x, y):
                continue
            for d in range(4):
                nx, ny = x + DX[d], y + DY[d]
                if not exists(nx, ny) or not (inside(x, y) or inside(nx, ny)):
                    continue
                rid = "road_%d_%d_%d" % (x, y, d)
                road_ids.add(rid)
                roads.append({
                    "id": rid,
                    "startIntersection": "intersection_%d_%d" % (x, y),
                    "endIntersection": "intersection_%d_%d" % (nx, ny),
                    "points": [{"x": xs[x], "y": ys[y]}, {"x": xs[nx], "y": ys[ny]}],
                    "lanes": [{"width": 3.2, "maxSpeed": 11.111} for _ in range(3)],
                })

    inters = []
    for x in range(C + 2):
        for y in range(R + 2):
            if not exists(x, y):
                continue
            iid = "intersection_%d_%d" % (x, y)
            rs = [r["id"] for r in roads
                  if r["startIntersection"] == iid or r["endIntersection"] == iid]
            it = {"id": iid, "point": {"x": xs[x], "y": ys[y]},
                  "width": 0 if not inside(x, y) else 15.0,
                  "roads": rs, "virtual": not inside(x, y)}
            if inside(x, y):
                links = []
                kinds = {}  # (approach direction, kind) -> road link index
                for din in range(4):  # travel direction of the incoming road
                    sx, sy = x - DX[din], y - DY[din]
                    start = "road_%d_%d_%d" % (sx, sy, din)
                    for kind, dout in (("turn_left", (din + 1) % 4),
                                       ("go_straight", din),
                                       ("turn_right", (din + 3) % 4)):
                        end = "road_%d_%d_%d" % (x, y, dout)
                        if start not in road_ids or end not in road_ids:
                            continue
                        lane = {"turn_left": 0, "go_straight": 1, "turn_right": 2}[kind]
                        kinds[(din, kind)] = len(links)
                        links.append({"type": kind, "startRoad": start, "endRoad": end,
                                      "direction": dout,
                                      "laneLinks": [{"startLaneIndex": lane, "endLaneIndex": e}
                                                    for e in range(3)]})
                rights = [kinds[k] for k in sorted(kinds) if k[1] == "turn_right"]

                def sel(dirs, kind):
                    return [kinds[(d, kind)] for d in dirs if (d, kind) in kinds]
                phases = [
                    {"time": 5, "availableRoadLinks": rights},
                    {"time": 30, "availableRoadLinks": sel((0, 2), "go_straight") + rights},
                    {"time": 30, "availableRoadLinks": sel((1, 3), "go_straight") + rights},
                    {"time": 30, "availableRoadLinks": sel((0, 2), "turn_left") + rights},
                    {"time": 30, "availableRoadLinks": sel((1, 3), "turn_left") + rights},
                ]
                it["roadLinks"] = links
                it["trafficLight"] = {"roadLinkIndices": list(range(len(links))),
                                      "lightphases": phases}
            inters.append(it)

    # Flows: straight across from every entry, and optionally turning.
    flows = []

    def route_from(x, y, d, turn_at=None, turn=0):
        rs = []
        while True:
            nx, ny = x + DX[d], y + DY[d]
            rs.append("road_%d_%d_%d" % (x, y, d))
            if not inside(nx, ny):
                return rs
            x, y = nx, ny
            if turn_at is not None and (x, y) == turn_at:
                d = (d + turn) % 4

    entries = []
    for r in roads:
        sx, sy = map(int, r["startIntersection"].split("_")[1:])
        if not inside(sx, sy):
            entries.append((sx, sy, int(r["id"].split("_")[3])))
    entries.sort()
    for (x, y, d) in entries:
        first = (x + DX[d], y + DY[d])
        variants = [(route_from(x, y, d), a.interval)]
        if a.turns:
            variants.append((route_from(x, y, d, first, 1), a.interval * 3))
            variants.append((route_from(x, y, d, first, 3), a.interval * 3))
        for k, (rt, iv) in enumerate(variants):
            flows.append({"vehicle": dict(VEH), "route": rt, "interval": iv,
                          "startTime": (len(flows) * 7) % int(max(1, iv)),
                          "endTime": a.end})
    if a.bench:
        flows = []
        for (x, y, d) in entries:
            rate = rnd.uniform(a.min_rate, a.max_rate) / 3600.0
            t = rnd.expovariate(rate)
            while t <= a.end:
                cx, cy, cd = x, y, d
                rt = []
                while True:
                    rt.append("road_%d_%d_%d" % (cx, cy, cd))
                    nx, ny = cx + DX[cd], cy + DY[cd]
                    if not inside(nx, ny):
                        break
                    u = rnd.random()
                    turn = 1 if u < 0.2 else (3 if u > 0.8 else 0)
                    cx, cy, cd = nx, ny, (cd + turn) % 4
                    if len(rt) > 4 * (R + C):
                        break
                ts = int(t)
                flows.append({"vehicle": dict(VEH), "route": rt, "interval": 1.0,
                              "startTime": ts, "endTime": ts})
                t += rnd.expovariate(rate)
        flows.sort(key=lambda f: f["startTime"])
    if a.single:
        flows = [{"vehicle": dict(VEH), "route": flows[0]["route"], "interval": 1,
                  "startTime": 0, "endTime": 0}]

    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "roadnet.json"), "w") as f:
        json.dump({"intersections": inters, "roads": roads}, f, indent=1)
    with open(os.path.join(a.outdir, "flow.json"), "w") as f:
        json.dump(flows, f, indent=1)
    with open(os.path.join(a.outdir, "config.json"), "w") as f:
        json.dump({"interval": 1.0, "seed": a.seed, "dir": "", "roadnetFile": "roadnet.json",
                   "flowFile": "flow.json", "rlTrafficLight": True, "laneChange": bool(a.lane_change),
                   "saveReplay": False, "roadnetLogFile": "replay_roadnet.json",
                   "replayLogFile": "replay.txt"}, f, indent=1)


if __name__ == "__main__":
    main()
