#!/usr/bin/env python3
"""gen-city.py -- generates the embedded demo city "phnom-penh".

An approximate model of the signalised boulevards of central Phnom Penh: a
distorted grid in metric coordinates (x east, y north, origin at Monivong /
Preah Sihanouk) built from the road table below, turned into a SUMO network
by netconvert, with a day of demand (one <flow> per route, vehicle type and
hour), stop-bar loops on every signalised approach lane, and a .sumocfg.

    scripts/gen-city.py [--out DIR] [--netconvert BIN] [--seed N] [--peak VEH_PER_H]
                        [--layout incoming|opposites]

Writes DIR/phnom-penh.{net.xml,rou.xml,det.add.xml,sumocfg} (DIR defaults to
cities/phnom-penh next to this script's folder).  The output depends only on
the parameters and on the netconvert version: the same call gives the same
bytes.  Python 3 standard library only.
"""

import argparse
import heapq
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NAME = "phnom-penh"

# Road classes: lanes per direction and speed limit (m/s).
BLVD3 = (3, 11.11, "boulevard")
BLVD2 = (2, 11.11, "boulevard")
STREET2 = (2, 8.33, "street")
STREET1 = (1, 8.33, "street")

STUB_M = 250.0  # length of the edges that lead in from and out to the boundary

# North-south roads, west to east: id, street name, class, x(y), the rows
# they run between (south to north), and whether they go on past either end
# to the boundary.  A road's x may drift with y (the grid is not square).
NS_ROADS = [
    # The western leg of Mao Tse Toung Blvd; its corner with the southern
    # leg is the only junction without a signal.
    ("maotsetoung_west", "Mao Tse Toung Blvd", BLVD3, lambda y: -1650 + 0.06 * y,
     "maotsetoung", "russian", False, True),
    ("charlesdegaulle", "Charles de Gaulle Blvd", BLVD2, lambda y: -820 + 0.22 * y,
     "maotsetoung", "kampucheakrom", False, False),
    ("monivong", "Monivong Blvd", BLVD3, lambda y: 0.03 * y,
     "maotsetoung", "russian", True, True),
    ("st63", "Street 63", STREET1, lambda y: 470 - 0.02 * y,
     "maotsetoung", "st110", True, False),
    ("st51", "Street 51", STREET1, lambda y: 820 + 0.01 * y,
     "maotsetoung", "russian", True, False),
    ("norodom", "Norodom Blvd", BLVD3, lambda y: 1260 - 0.02 * y,
     "maotsetoung", "russian", True, True),
    # Along the river: the rows end here.
    ("sisowath", "Preah Sisowath Quay", BLVD2,
     lambda y: 2000 - 0.06 * y + 40 * math.sin(y / 700.0),
     "sihanouk", "russian", True, True),
]

# East-west rows, south to north: id, street name, class, y(x), the N-S
# roads they run between (west to east), boundary stubs west / east.
EW_ROADS = [
    ("maotsetoung", "Mao Tse Toung Blvd", BLVD3, lambda x: -1320 + 0.04 * x,
     "maotsetoung_west", "norodom", False, True),
    ("st310", "Street 310", STREET1, lambda x: -870 + 0.02 * x,
     "monivong", "norodom", False, False),
    ("st278", "Street 278", STREET1, lambda x: -430 + 0.01 * x,
     "charlesdegaulle", "norodom", False, False),
    ("sihanouk", "Preah Sihanouk Blvd", BLVD3, lambda x: 0.0 - 0.015 * x,
     "maotsetoung_west", "sisowath", True, False),
    ("st240", "Street 240", STREET1, lambda x: 380 + 0.01 * x,
     "monivong", "sisowath", False, False),
    ("st214", "Street 214", STREET1, lambda x: 740 - 0.01 * x,
     "maotsetoung_west", "sisowath", False, False),
    ("st154", "Street 154", STREET1, lambda x: 1090 + 0.015 * x,
     "monivong", "sisowath", False, False),
    # Kampuchea Krom Blvd becomes Street 130 east of Monivong.
    ("kampucheakrom", "Kampuchea Krom Blvd", BLVD2, lambda x: 1400 - 0.02 * x,
     "maotsetoung_west", "monivong", True, False),
    ("st130", "Street 130", STREET2, lambda x: 1400 - 0.02 * x,
     "monivong", "sisowath", False, False),
    ("st110", "Street 110", STREET1, lambda x: 1800 + 0.01 * x,
     "monivong", "sisowath", False, False),
    # Russian Blvd (Confederation de la Russie) becomes Street 108 east of
    # Monivong.
    ("russian", "Russian Blvd", BLVD3, lambda x: 2320 + 0.03 * x,
     "maotsetoung_west", "monivong", True, False),
    ("st108", "Street 108", STREET2, lambda x: 2320 + 0.03 * x,
     "monivong", "sisowath", False, False),
]

# Junction names for the rows that change name at Monivong: one row, one id.
ROW_ALIAS = {"st130": "kampucheakrom", "st108": "russian"}
ROW_OF = {}  # row id -> list of EW road ids sharing it
for _r in EW_ROADS:
    ROW_OF.setdefault(ROW_ALIAS.get(_r[0], _r[0]), []).append(_r[0])

# Vehicle types: id, share of all vehicles, attributes (SUMO's defaults for
# the class unless given).
VTYPES = [
    ("moto", 0.70, 'vClass="motorcycle" length="2.20" width="0.90" minGap="2.00" '
                   'accel="6.0" decel="10.0" emergencyDecel="10.0" maxSpeed="13.89" '
                   'speedFactor="normc(1.00,0.10)" sigma="0.5" tau="1.0"'),
    ("car", 0.22, 'vClass="passenger" length="5.00" width="1.80" minGap="2.50" '
                  'accel="2.6" decel="4.5" emergencyDecel="9.0" maxSpeed="16.67" '
                  'speedFactor="normc(1.00,0.10)" sigma="0.5" tau="1.0"'),
    ("tuktuk", 0.045, 'vClass="motorcycle" length="3.00" width="1.40" minGap="2.00" '
                      'accel="2.0" decel="5.0" emergencyDecel="8.0" maxSpeed="11.11" '
                      'speedFactor="normc(0.90,0.10)" sigma="0.5" tau="1.0"'),
    ("bus", 0.01, 'vClass="bus" length="12.00" width="2.50" minGap="2.50" '
                  'accel="1.2" decel="4.0" emergencyDecel="7.0" maxSpeed="13.89" '
                  'speedFactor="normc(1.00,0.05)" sigma="0.5" tau="1.0"'),
    ("truck", 0.025, 'vClass="truck" length="7.10" width="2.40" minGap="2.50" '
                     'accel="1.3" decel="4.0" emergencyDecel="7.0" maxSpeed="13.89" '
                     'speedFactor="normc(1.00,0.05)" sigma="0.5" tau="1.0"'),
]

# Share of the peak hour's volume in each hour of the day (0-23 h): a quiet
# night, a morning peak 7-9 h, a midday plateau, an evening peak 17-19 h.
PROFILE = [0.06, 0.04, 0.03, 0.03, 0.06, 0.20, 0.55, 0.95, 1.00, 0.75, 0.62, 0.65,
           0.68, 0.62, 0.62, 0.66, 0.78, 0.95, 1.00, 0.80, 0.58, 0.40, 0.25, 0.12]

CYCLE_S = 90
MIN_GREEN_S = 10
ALLRED_S = 2
SAT_FLOW = 1800.0  # vehicles per hour of green and lane

TURN_PENALTY_S = {"s": 0.0, "r": 6.0, "l": 18.0, "R": 6.0, "L": 18.0, "t": 1e6}
SIGNAL_PENALTY_S = 12.0


def fail(msg):
    sys.stderr.write("gen-city.py: %s\n" % msg)
    sys.exit(1)


def road_tables():
    ns = {r[0]: r for r in NS_ROADS}
    ew = {r[0]: r for r in EW_ROADS}
    return ns, ew


def cross(nsr, ewr):
    """The point where N-S road nsr meets E-W road ewr (fixed point)."""
    fx, fy = nsr[3], ewr[3]
    x, y = 0.0, 0.0
    for _ in range(50):
        y = fy(x)
        x = fx(y)
    return round(x, 2), round(fy(x), 2)


def build_plain():
    """Nodes and edges of the plain network: (nodes, edges, boundaries).

    nodes: id -> (x, y, type, name); edges: list of (id, from, to, class,
    street name); boundaries: list of (in_edge, out_edge, weight, side)."""
    ns, ew = road_tables()
    ns_order = [r[0] for r in NS_ROADS]
    row_order = []
    for r in EW_ROADS:
        row = ROW_ALIAS.get(r[0], r[0])
        if row not in row_order:
            row_order.append(row)

    def row_road_at(row, nsid):
        """The E-W road of a row that reaches N-S road nsid, or None."""
        for rid in ROW_OF[row]:
            r = ew[rid]
            lo, hi = ns_order.index(r[4]), ns_order.index(r[5])
            if lo <= ns_order.index(nsid) <= hi:
                return r
        return None

    nodes = {}
    # (N-S road, row) -> its crossing point, then its junction id.
    at = {}
    for n in ns_order:
        nr = ns[n]
        lo, hi = row_order.index(nr[4]), row_order.index(nr[5])
        for i in range(lo, hi + 1):
            row = row_order[i]
            er = row_road_at(row, n)
            if er is None:
                continue
            x, y = cross(nr, er)
            at[(n, row)] = (x, y)
    # The corner of Mao Tse Toung Blvd: one road turning, no signal.
    corner = ("maotsetoung_west", "maotsetoung")
    for (n, row), (x, y) in sorted(at.items()):
        er = row_road_at(row, n)
        # Named after the two roads that cross there (Monivong's crossings
        # after the roads west of it).
        jid = "%s_%s" % (n, er[0]) if (n, row) != corner else "maotsetoung_corner"
        names = (ns[n][1], er[1])
        if (n, row) == corner:
            nodes[jid] = (x, y, "priority", "Mao Tse Toung Blvd")
        else:
            nodes[jid] = (x, y, "traffic_light", "%s / %s" % names)
        at[(n, row)] = jid

    edges = []
    boundaries = []

    def add_pair(road, cls, sname, seq, fwd, back):
        """Edges both ways along the node sequence seq (south/west first)."""
        for k in range(len(seq) - 1):
            a, b = seq[k], seq[k + 1]
            edges.append(("%s_%s_%d" % (road, fwd, k), a, b, cls, sname))
            edges.append(("%s_%s_%d" % (road, back, k), b, a, cls, sname))

    for n in ns_order:
        nr = ns[n]
        lo, hi = row_order.index(nr[4]), row_order.index(nr[5])
        seq = [at[(n, row_order[i])] for i in range(lo, hi + 1) if (n, row_order[i]) in at]
        ys, ye = nodes[seq[0]][1], nodes[seq[-1]][1]
        if nr[6]:
            sid = "%s_south" % n
            nodes[sid] = (round(nr[3](ys - STUB_M), 2), round(ys - STUB_M, 2), "priority", nr[1])
            seq = [sid] + seq
        if nr[7]:
            eid = "%s_north" % n
            nodes[eid] = (round(nr[3](ye + STUB_M), 2), round(ye + STUB_M, 2), "priority", nr[1])
            seq = seq + [eid]
        add_pair(n, nr[2], nr[1], seq, "n", "s")
        last = len(seq) - 2
        w = 3.0 if nr[2][2] == "boulevard" else 1.0
        if nr[6]:
            boundaries.append(("%s_n_0" % n, "%s_s_0" % n, w, "south"))
        if nr[7]:
            boundaries.append(("%s_s_%d" % (n, last), "%s_n_%d" % (n, last), w, "north"))

    for er in EW_ROADS:
        e = er[0]
        row = ROW_ALIAS.get(e, e)
        lo, hi = ns_order.index(er[4]), ns_order.index(er[5])
        seq = [at[(ns_order[i], row)] for i in range(lo, hi + 1) if (ns_order[i], row) in at]
        xs, xe = nodes[seq[0]][0], nodes[seq[-1]][0]
        if er[6]:
            wid = "%s_west" % e
            nodes[wid] = (round(xs - STUB_M, 2), round(er[3](xs - STUB_M), 2), "priority", er[1])
            seq = [wid] + seq
        if er[7]:
            eid = "%s_east" % e
            nodes[eid] = (round(xe + STUB_M, 2), round(er[3](xe + STUB_M), 2), "priority", er[1])
            seq = seq + [eid]
        add_pair(e, er[2], er[1], seq, "e", "w")
        last = len(seq) - 2
        w = 3.0 if er[2][2] == "boulevard" else 1.0
        if er[6]:
            boundaries.append(("%s_e_0" % e, "%s_w_0" % e, w, "west"))
        if er[7]:
            boundaries.append(("%s_w_%d" % (e, last), "%s_e_%d" % (e, last), w, "east"))
    return nodes, edges, boundaries


def xml_attr(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_plain(tmp, nodes, edges):
    with open(os.path.join(tmp, "city.nod.xml"), "w") as f:
        f.write("<nodes>\n")
        for jid in sorted(nodes):
            x, y, typ, name = nodes[jid]
            f.write('    <node id="%s" x="%.2f" y="%.2f" type="%s" name="%s"/>\n'
                    % (jid, x, y, typ, xml_attr(name)))
        f.write("</nodes>\n")
    with open(os.path.join(tmp, "city.edg.xml"), "w") as f:
        f.write("<edges>\n")
        for eid, a, b, cls, sname in edges:
            f.write('    <edge id="%s" from="%s" to="%s" priority="%d" numLanes="%d" '
                    'speed="%.2f" name="%s"/>\n'
                    % (eid, a, b, 3 if cls[2] == "boulevard" else 1, cls[0], cls[1],
                       xml_attr(sname)))
        f.write("</edges>\n")


def run_netconvert(binary, tmp, layout):
    """Runs netconvert on the plain files in tmp; returns the network's text
    without netconvert's header comment (it holds the date and the paths)."""
    env = dict(os.environ)
    env.setdefault("SUMO_HOME", "/usr/share/sumo")
    cmd = [binary, "--node-files", "city.nod.xml", "--edge-files", "city.edg.xml",
           "--output-file", "raw.net.xml", "--output.street-names", "true",
           "--tls.default-type", "static", "--tls.cycle.time", str(CYCLE_S),
           "--tls.yellow.time", "3", "--tls.allred.time", str(ALLRED_S),
           "--tls.layout", layout, "--no-warnings", "true"]
    p = subprocess.run(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if p.returncode != 0:
        fail("netconvert failed:\n" + p.stdout)
    with open(os.path.join(tmp, "raw.net.xml")) as f:
        text = f.read()
    m = re.search(r"netconvert Version ([0-9][0-9.]*)", text)
    version = m.group(1) if m else "unknown"
    text = re.sub(r"<!-- generated on .*?-->\n*", "", text, count=1, flags=re.S)
    return text.replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<!-- %s: generated by scripts/gen-city.py with netconvert %s "
                        "(approximate geometry, see docs/phnom-penh.md) -->\n" % (NAME, version), 1)


def read_net(text):
    """Edges (length, speed, lanes, to-junction), connections and signal lanes."""
    root = ET.fromstring(text)
    edges = {}
    for e in root.findall("edge"):
        if e.get("function") == "internal":
            continue
        lanes = e.findall("lane")
        edges[e.get("id")] = {
            "length": float(lanes[0].get("length")),
            "speed": float(lanes[0].get("speed")),
            "lanes": [(l.get("id"), float(l.get("length"))) for l in lanes],
            "to": e.get("to"),
        }
    tls = set(j.get("id") for j in root.findall("junction") if j.get("type") == "traffic_light")
    succ = {}
    tl_lanes = {}
    links = {}  # tls -> link index -> approach edge
    for c in root.findall("connection"):
        a, b = c.get("from"), c.get("to")
        if a not in edges or b not in edges:
            continue
        d = c.get("dir")
        if d == "t":
            continue
        succ.setdefault(a, {})
        pen = TURN_PENALTY_S.get(d, 10.0)
        if b not in succ[a] or succ[a][b] > pen:
            succ[a][b] = pen
        if c.get("tl") is not None:
            lane = "%s_%s" % (a, c.get("fromLane"))
            tl_lanes[lane] = c.get("tl")
            links.setdefault(c.get("tl"), {})[int(c.get("linkIndex"))] = a
    return edges, succ, tls, tl_lanes, links


def shortest(edges, succ, tls, src, dst, noise):
    """Dijkstra over edges; the cost of an edge is its travel time (with a
    per-edge noise factor), a turn penalty, and a penalty per signal."""
    def cost(e):
        c = edges[e]["length"] / edges[e]["speed"] * noise.get(e, 1.0)
        if edges[e]["to"] in tls:
            c += SIGNAL_PENALTY_S
        return c

    dist = {src: cost(src)}
    prev = {}
    heap = [(dist[src], src)]
    while heap:
        d, e = heapq.heappop(heap)
        if d > dist.get(e, 1e18):
            continue
        if e == dst:
            break
        for b, pen in sorted(succ.get(e, {}).items()):
            nd = d + pen + cost(b)
            if nd < dist.get(b, 1e18) - 1e-9:
                dist[b] = nd
                prev[b] = e
                heapq.heappush(heap, (nd, b))
    if dst not in dist:
        return None
    path = [dst]
    while path[-1] != src:
        path.append(prev[path[-1]])
    return path[::-1]


def make_routes(edges, succ, tls, boundaries, rng):
    """One or two routes per origin-destination pair of boundary edges.
    Returns [(route id, edges, weight)]."""
    routes = {}
    order = []
    for oi, (oin, _oout, ow, oside) in enumerate(boundaries):
        for di, (_din, dout, dw, dside) in enumerate(boundaries):
            if oi == di:
                continue
            w = ow * dw * (0.5 if oside == dside else 1.0)
            variants = [({}, 0.65), (None, 0.35)] if ow * dw > 1 else [({}, 1.0)]
            for noise, share in variants:
                if noise is None:
                    noise = {e: math.exp(rng.gauss(0.0, 0.45)) for e in sorted(edges)}
                p = shortest(edges, succ, tls, oin, dout, noise)
                if p is None:
                    fail("no path from %s to %s" % (oin, dout))
                key = tuple(p)
                if key not in routes:
                    routes[key] = 0.0
                    order.append(key)
                routes[key] += w * share
    return [("r%03d" % i, list(k), routes[k]) for i, k in enumerate(order)]


def peak_loads(routes, peak):
    """Vehicles per hour on each edge in the peak hour."""
    total_w = sum(w for _r, _e, w in routes)
    load = {}
    for _rid, redges, w in routes:
        for a in redges:
            load[a] = load.get(a, 0.0) + peak * w / total_w
    return load


def retime(text, edges, links, load):
    """Fixed-time plans for the peak: each signal keeps netconvert's stages,
    cycle, yellows and all-reds, and its green time is shared out in
    proportion to the flow ratio (peak flow per lane over SAT_FLOW) of the
    busiest approach of each stage (Webster's rule), with at least
    MIN_GREEN_S per stage."""
    def one(m):
        tl = m.group(1)
        body = m.group(2)
        phases = re.findall(r'(<phase duration=")(\d+)("\s+state=")([^"]*)("/>)', body)
        greens = [i for i, ph in enumerate(phases) if "y" not in ph[3] and
                  ("G" in ph[3] or "g" in ph[3])]
        fixed = sum(int(ph[1]) for i, ph in enumerate(phases) if i not in greens)
        ratios = []
        for i in greens:
            served = set(links[tl][k] for k, c in enumerate(phases[i][3])
                         if c in "Gg" and k in links[tl])
            ratios.append(max([load.get(e, 0.0) / (SAT_FLOW * len(edges[e]["lanes"]))
                               for e in served] + [0.02]))
        avail = CYCLE_S - fixed - MIN_GREEN_S * len(greens)
        share = [avail * r / sum(ratios) for r in ratios]
        secs = [int(math.floor(x)) for x in share]
        rest = avail - sum(secs)
        for k in sorted(range(len(secs)), key=lambda k: (secs[k] - share[k], k))[:rest]:
            secs[k] += 1
        dur = {i: MIN_GREEN_S + secs[n] for n, i in enumerate(greens)}
        out = body
        pos = 0
        parts = []
        for i, ph in enumerate(phases):
            old = "".join(ph)
            at = out.index(old, pos)
            parts.append(out[pos:at])
            d = dur.get(i, int(ph[1]))
            parts.append(ph[0] + str(d) + '"' + " " * max(1, 3 - len(str(d))) + 'state="' +
                         ph[3] + ph[4])
            pos = at + len(old)
        parts.append(out[pos:])
        return m.group(0).replace(body, "".join(parts))

    return re.sub(r'<tlLogic id="([^"]+)"[^>]*>(.*?)</tlLogic>', one, text, flags=re.S)


def write_routes(path, routes, peak, rng):
    total_w = sum(w for _r, _e, w in routes)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- %s: a day of demand, generated by scripts/gen-city.py (peak %d veh/h "
             "entering; one flow per route, vehicle type and hour) -->" % (NAME, peak),
             "<routes>"]
    for vid, _share, attrs in VTYPES:
        lines.append('    <vType id="%s" %s/>' % (vid, attrs))
    for rid, redges, _w in routes:
        lines.append('    <route id="%s" edges="%s"/>' % (rid, " ".join(redges)))
    flows = []
    counts = {v[0]: 0 for v in VTYPES}
    for h in range(24):
        for rid, _redges, w in routes:
            for vid, share, _attrs in VTYPES:
                mean = peak * PROFILE[h] * share * w / total_w
                n = int(mean)
                if rng.random() < mean - n:
                    n += 1
                if n <= 0:
                    continue
                counts[vid] += n
                period = 3600.0 / n
                # Stagger the first vehicle so that the flows of an hour do not
                # all start on its first second.
                begin = h * 3600 + math.floor(rng.random() * min(period, 600.0))
                flows.append((begin, '    <flow id="%s.%s.%02d" type="%s" route="%s" begin="%d" '
                              'end="%d" vehsPerHour="%d" departLane="best" departSpeed="max"/>'
                              % (rid, vid, h, vid, rid, begin, begin + 3600, n)))
    flows.sort(key=lambda f: f[0])
    lines.extend(f[1] for f in flows)
    lines.append("</routes>")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return counts, len(flows)


def write_detectors(path, edges, tl_lanes):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- %s: stop-bar loops 7.5 m before the stop line of every approach lane "
             "of a signal, generated by scripts/gen-city.py -->" % NAME,
             "<additional>"]
    lens = {}
    for e in edges.values():
        for lid, ln in e["lanes"]:
            lens[lid] = ln
    for lane in sorted(tl_lanes):
        pos = max(0.5, lens[lane] - 7.5)
        lines.append('    <e1Detector id="e1_%s" lane="%s" pos="%.2f" period="60" file="NUL"/>'
                     '  <!-- tls %s -->' % (lane, lane, pos, tl_lanes[lane]))
    lines.append("</additional>")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(tl_lanes)


def write_cfg(path):
    with open(path, "w") as f:
        f.write("""<?xml version="1.0" encoding="UTF-8"?>
<!-- %(n)s: an approximate model of central Phnom Penh's signalised boulevards,
     one day of traffic.  Generated by scripts/gen-city.py (docs/phnom-penh.md). -->
<configuration>
    <input>
        <net-file value="%(n)s.net.xml"/>
        <route-files value="%(n)s.rou.xml"/>
        <additional-files value="%(n)s.det.add.xml"/>
    </input>
    <time>
        <begin value="0"/>
        <end value="86400"/>
        <step-length value="1"/>
    </time>
    <processing>
        <time-to-teleport value="300"/>
    </processing>
    <random_number>
        <seed value="42"/>
    </random_number>
    <report>
        <no-step-log value="true"/>
    </report>
</configuration>
""" % {"n": NAME})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Generate the demo city %s." % NAME)
    ap.add_argument("--out", default=os.path.join(here, "..", "cities", NAME),
                    help="output folder (default: cities/%s)" % NAME)
    ap.add_argument("--netconvert", default="netconvert", help="netconvert binary")
    ap.add_argument("--seed", type=int, default=42, help="seed of the random choices")
    ap.add_argument("--peak", type=int, default=6500,
                    help="vehicles entering the city in a peak hour")
    ap.add_argument("--layout", default="incoming", choices=["incoming", "opposites"],
                    help="netconvert's phase layout")
    a = ap.parse_args()
    binary = shutil.which(a.netconvert)
    if not binary:
        fail("netconvert not found ('%s')" % a.netconvert)
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    nodes, edges, boundaries = build_plain()
    tmp = tempfile.mkdtemp(prefix="gen-city.")
    try:
        write_plain(tmp, nodes, edges)
        text = run_netconvert(binary, tmp, a.layout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    nedges, succ, tls, tl_lanes, links = read_net(text)
    routes = make_routes(nedges, succ, tls, boundaries, rng)
    text = retime(text, nedges, links, peak_loads(routes, a.peak))
    with open(os.path.join(a.out, NAME + ".net.xml"), "w") as f:
        f.write(text)
    counts, nflows = write_routes(os.path.join(a.out, NAME + ".rou.xml"), routes, a.peak, rng)
    nloops = write_detectors(os.path.join(a.out, NAME + ".det.add.xml"), nedges, tl_lanes)
    write_cfg(os.path.join(a.out, NAME + ".sumocfg"))
    total = sum(counts.values())
    print("%s: %d signals, %d junctions, %d edges, %d boundary entries, %d routes, "
          "%d flows, %d loops" % (NAME, len(tls), len(nodes), len(nedges), len(boundaries),
                                  len(routes), nflows, nloops))
    print("vehicles a day: %d (%s)" % (total, ", ".join(
        "%s %.1f %%" % (v, 100.0 * counts[v] / max(total, 1)) for v, _s, _a in VTYPES)))


if __name__ == "__main__":
    main()
