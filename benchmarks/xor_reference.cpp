// Spiking XOR (Payeur et al. 2021 Fig. 4, two-phase Burstprop): an independent, plain C++
// re-implementation of the published update order, to cross-check burstsim.protocols.xor.
// Written from the spec (payeur2021.md s1.1 step order, s2.2 BurstPoisson, s3 online event/burst
// detection, s5.3 the plastic rule with its homeostatic band, s6.4 the network, teacher, cost and
// schedule), not from the published code. One thread, no dependencies. One deliberate departure
// from s5.3, as the published code runs it: h+ = max(0, r_min - r) reads r from a 30 s trace of all
// postsynaptic spikes that starts at 0.1 Hz (Auryn's BCPConnection::on_pre: AdaptiveEBCP's own
// on_pre is not virtual, so EBCPConnection::propagate_forward never calls it); h- is as in s5.3.
//
//   g++ -O3 -march=native -o /tmp/xor_reference benchmarks/xor_reference.cpp
//   /tmp/xor_reference N EPOCHS SEED [DT_MS]        e.g.  /tmp/xor_reference 200 100 1
//
// Prints the pre-test event rate / burst probability per population and pattern (00 10 01 11,
// second half of each 8 s example), per epoch the cost (sum of the four costs read at 7.2 s) and
// the mean weights (in1->h1 in2->h1 in1->h2 in2->h2 h1->out h2->out), every 25 epochs the same
// table for the prediction phase (4.0-7.2 s) and the learning phase (7.2-8 s), and the post-test.
// Per step: (1) neurons: synaptic currents from the conductances (driving force V_s for all four),
// conductance decay, leak and adaptation, refractory and burst countdowns, synaptic input,
// adaptation and threshold relaxation, threshold check (a first spike draws the second spike with
// probability sigmoid((V_d - E_d)/D) after int((5 + 10 U) ms / dt) - 1 steps); (2) Poisson
// backgrounds (Bernoulli per step), then connections: presynaptic events transmit (and add eta*h+
// under plasticity), the event trace Etr += 1, postsynaptic events/bursts update the weights from
// Etr and the moving averages (read before they count the event); (3) injected currents;
// (4) the 16 ms detection traces count the step's spikes and every trace decays.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <algorithm>
using namespace std;
typedef double D;
static mt19937_64 rng;
static inline D U() { return (rng() >> 11) * (1.0 / 9007199254740992.0); }

D dt = 1e-4;
const D EL = -70e-3, Ei = -80e-3, thr0 = -50e-3, dthr = 2e-3, tau_thr = 27e-3, taus = 16e-3, Cs = 370e-12;
const D b = 200e-12, tauws = 100e-3, taud = 7e-3, Cd = 170e-12, tauwd = 30e-3, awd = 13e-9, Ed = -57e-3, Dd = 6e-3;
const D tau_e = 5e-3, tau_i = 10e-3, tau16 = 16e-3, THR = exp(-1.0);
const D alpha = 2.0, tau_pre = 0.1, rmin = 2.0, rmax = 10.0;

struct Pop {
  int n; vector<D> Vs, Vd, ws, wd, th, ges, gis, ged, gid, tr16, Is, Id; vector<int> ref, bst; vector<int> spk;
  // background: rate (Hz) and weight per channel 0..3 (ge_s, gi_s, ge_d, gi_d)
  D bg_rate[4], bg_w[4]; vector<long long> next[4];
  // detection for monitoring and for the plastic rule (post side): Ebar, Bbar, state
  vector<D> Ebar, Bbar, Etr, hom;  // Etr: pre event trace (tau_pre); hom: the 30 s spike trace of h+
  vector<int> pstate; vector<int> mstate;
  vector<int> prestate;  // pre-side detection state (events for EBCP/TransmitEvent)
  long long ev = 0, bu = 0;
  void init(int n_) {
    n = n_; Vs.assign(n, EL); Vd.assign(n, EL); ws.assign(n, 0); wd.assign(n, 1e-4); th.assign(n, thr0);
    ges.assign(n, 0); gis.assign(n, 0); ged.assign(n, 0); gid.assign(n, 0); tr16.assign(n, 0); Is.assign(n, 0); Id.assign(n, 0);
    ref.assign(n, 0); bst.assign(n, 0); Ebar.assign(n, 0); hom.assign(n, 3.0); Bbar.assign(n, 0); Etr.assign(n, 0); pstate.assign(n, 0); mstate.assign(n, 0); prestate.assign(n, 0);
    normal_distribution<D> nd(-70e-3, 5e-3); for (auto &v : Vs) v = nd(rng);
  }
};
static inline long long gap(D p) { D u = U(); if (u <= 0) u = 1e-300; return (long long)floor(log(u) / log1p(-p)); }

struct Conn {  // sparse connection src -> dst
  int src, dst, kind; // kind 0 plastic (ge_s), 1 event GABA soma, 2 burst -> ge_d, 3 burst -> gi_d
  D eta, w0; vector<int> pre, post; vector<D> w; vector<vector<int>> out, in;
  vector<int> st;  // pre-side state for Transmit*
};
vector<Pop> P(5);  // 0 output, 1 hidden1, 2 hidden2, 3 input1, 4 input2  (Auryn creation order)
vector<Conn> C;
void connect(Conn &c, D p, int nsrc, int ndst) {
  c.out.assign(nsrc, {}); c.in.assign(ndst, {});
  for (int j = 0; j < nsrc; j++) for (int i = 0; i < ndst; i++) if (U() < p) {
    int s = c.pre.size(); c.pre.push_back(j); c.post.push_back(i); c.w.push_back(c.w0); c.out[j].push_back(s); c.in[i].push_back(s); }
  c.st.assign(nsrc, 0);
}
bool plastic_on = false;
long long stepno = 0;

void step() {
  const D se = exp(-dt / tau_e), si = exp(-dt / tau_i), sws = exp(-dt / tauws);
  // 1. evolve groups
  for (auto &g : P) {
    g.spk.clear();
    for (int i = 0; i < g.n; i++) {
      D Ies = g.ges[i] * (0 - g.Vs[i]), Iis = g.gis[i] * (Ei - g.Vs[i]), Ied = g.ged[i] * (0 - g.Vs[i]), Iid = g.gid[i] * (Ei - g.Vs[i]);
      g.ges[i] *= se; g.gis[i] *= si; g.ged[i] *= se; g.gid[i] *= si;
      g.Vs[i] += dt / taus * (EL - g.Vs[i]); g.Vs[i] += dt * (-b / Cs) * g.ws[i];
      g.Vd[i] += dt / taud * (EL - g.Vd[i]); g.Vd[i] += dt * (-awd / Cd) * g.wd[i];
      if (g.ref[i]) g.ref[i]--;
      if (g.bst[i]) g.bst[i]--;
      g.Vs[i] += dt / taus * (Ies + Iis); g.Vd[i] += dt / taud * (Ied + Iid);
      g.ws[i] *= sws; g.wd[i] += dt / tauwd * ((g.Vd[i] - EL) - g.wd[i]);
      g.th[i] += dt / tau_thr * (thr0 - g.th[i]);
      if (g.Vs[i] > g.th[i] && !g.ref[i]) {
        g.spk.push_back(i); g.ref[i] = (int)(20e-3 / dt + 1e-9); g.Vs[i] = EL; g.th[i] += dthr; g.ws[i] += 1;
        D p = 1 / (1 + exp(-(g.Vd[i] - Ed) / Dd)); D r = U(), rd = U();
        if (r < p) g.bst[i] = (int)((5e-3 + rd * 10e-3) / dt);
      } else if (g.bst[i] == 1) { g.spk.push_back(i); g.ref[i] = (int)(20e-3 / dt + 1e-9); }
    }
  }
  // 2. propagate: background (Poisson, Bernoulli per step), then connections
  for (auto &g : P) for (int c = 0; c < 4; c++) { if (g.bg_rate[c] <= 0) continue; D p = g.bg_rate[c] * dt;
    vector<D> &gv = c == 0 ? g.ges : c == 1 ? g.gis : c == 2 ? g.ged : g.gid;
    for (int i = 0; i < g.n; i++) while (g.next[c][i] <= stepno) { gv[i] += g.bg_w[c]; g.next[c][i] += 1 + gap(p); } }
  // pre-side event detection flags per pop (shared by all connections: same trace, same state machine)
  vector<vector<char>> pre_event(5), post_event(5), post_burst(5);
  for (int q = 0; q < 5; q++) { auto &g = P[q]; pre_event[q].assign(g.spk.size(), 0); post_event[q].assign(g.spk.size(), 0); post_burst[q].assign(g.spk.size(), 0);
    for (size_t k = 0; k < g.spk.size(); k++) { int i = g.spk[k];
      if (g.tr16[i] < THR) { post_event[q][k] = 1; pre_event[q][k] = 1; g.pstate[i] = 0; }
      if (g.tr16[i] > THR && g.pstate[i] == 0) { post_burst[q][k] = 1; g.pstate[i] = 1; } } }
  // presynaptic side of plastic connections: transmit, h+, then Etr += 1 (per source pop once)
  for (auto &c : C) {
    auto &S = P[c.src], &T = P[c.dst];
    for (size_t k = 0; k < S.spk.size(); k++) { int j = S.spk[k];
      if (c.kind == 0) { if (!pre_event[c.src][k]) continue;
        for (int s : c.out[j]) { int i = c.post[s]; T.ges[i] += c.w[s];
          if (plastic_on) { D rate = T.hom[i] / 30.0; if (rate < rmin) { c.w[s] += c.eta * (rmin - rate); c.w[s] = min(1.0, max(0.0, c.w[s])); } } }
      } else if (c.kind == 1) { if (!pre_event[c.src][k]) continue; for (int s : c.out[j]) T.gis[c.post[s]] += c.w[s];
      } else { if (!post_burst[c.src][k]) continue; for (int s : c.out[j]) { if (c.kind == 2) T.ged[c.post[s]] += c.w[s]; else T.gid[c.post[s]] += c.w[s]; } }
    }
  }
  for (int q = 0; q < 5; q++) for (size_t k = 0; k < P[q].spk.size(); k++) if (pre_event[q][k]) P[q].Etr[P[q].spk[k]] += 1;
  // postsynaptic side: for each dst pop with plastic inputs
  for (int q = 0; q < 3; q++) { auto &T = P[q];
    for (size_t k = 0; k < T.spk.size(); k++) { int i = T.spk[k];
      if (post_event[q][k]) {
        D Pr = T.Bbar[i] / T.Ebar[i]; D val = (Pr < 1.0) ? -Pr : -1.0;  // NaN -> -1
        if (plastic_on) { D rate = T.Ebar[i] / alpha; D hn = rate > rmax ? -(rate - rmax) / rate : 0;
          for (auto &c : C) if (c.kind == 0 && c.dst == q) for (int s : c.in[i]) { c.w[s] += c.eta * (val + hn) * P[c.src].Etr[c.pre[s]]; c.w[s] = min(1.0, max(0.0, c.w[s])); } }
        T.Ebar[i] += 1; }
      if (post_burst[q][k]) { T.Bbar[i] += 1;
        if (plastic_on) { D rate = T.Ebar[i] / alpha; D hn = rate > rmax ? -(rate - rmax) / rate : 0;
          for (auto &c : C) if (c.kind == 0 && c.dst == q) for (int s : c.in[i]) { c.w[s] += c.eta * (1 + hn) * P[c.src].Etr[c.pre[s]]; c.w[s] = min(1.0, max(0.0, c.w[s])); } } }
    } }
  // monitor counts (the same state machine: events, bursts)
  for (int q = 0; q < 5; q++) for (size_t k = 0; k < P[q].spk.size(); k++) { P[q].ev += post_event[q][k]; P[q].bu += post_burst[q][k]; }
  // 3. current injectors (after the threshold check)
  for (auto &g : P) for (int i = 0; i < g.n; i++) { g.Vs[i] += dt * g.Is[i] / Cs; g.Vd[i] += dt * g.Id[i] / Cd; }
  // 4. traces: increment then decay
  const D s16 = exp(-dt / tau16), sa = exp(-dt / alpha), sp = exp(-dt / tau_pre);
  const D sh = exp(-dt / 30.0);
  for (auto &g : P) { for (int i : g.spk) { g.tr16[i] += 1; g.hom[i] += 1; }
    for (int i = 0; i < g.n; i++) { g.tr16[i] *= s16; g.Ebar[i] *= sa; g.Bbar[i] *= sa; g.Etr[i] *= sp; g.hom[i] *= sh; } }
  stepno++;
}
struct Stat { D e[5], bcount[5]; };
void run(D T, Stat *st = nullptr) {
  long long n = llround(T / dt); for (int q = 0; q < 5; q++) { P[q].ev = 0; P[q].bu = 0; }
  for (long long k = 0; k < n; k++) step();
  if (st) for (int q = 0; q < 5; q++) { st->e[q] = P[q].ev / (P[q].n * T); st->bcount[q] = P[q].bu / (D)max(1LL, P[q].ev); }
}
const char *NM[5] = {"out", "h1", "h2", "in1", "in2"};
void setinput(int k) { int a = (k == 1 || k == 3), bb = (k == 2 || k == 3);
  for (int i = 0; i < P[3].n; i++) { P[3].Is[i] = a ? 150e-12 : -350e-12; P[4].Is[i] = bb ? 150e-12 : -350e-12; } }
D mean_rate() { D s = 0; for (int i = 0; i < P[0].n; i++) s += P[0].Ebar[i] / alpha; return s / P[0].n; }
D cost(int y) { D x = (mean_rate() - 2) / 8; x = min(0.99, max(0.01, x)); return -y * log(x) - (1 - y) * log(1 - x); }
void print_stats(const char *tag, Stat s[4]) {
  printf("%s:", tag); for (int q = 0; q < 5; q++) { printf(" %s", NM[q]); for (int k = 0; k < 4; k++) printf(" %.2f/%.2f", s[k].e[q], s[k].bcount[q]); printf(" |"); } printf("\n"); }
D meanw(int ci) { D s = 0; for (D v : C[ci].w) s += v; return s / C[ci].w.size(); }
int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s N EPOCHS SEED [DT_MS]\n", argv[0]); return 2; }
  int N = atoi(argv[1]), epochs = atoi(argv[2]); rng.seed(atoi(argv[3])); if (argc > 4) dt = atof(argv[4]) * 1e-3;
  for (auto &g : P) g.init(N);
  // backgrounds: inputs 500 Hz 0.35/0.35 soma, 0.05/0.05 dend; hidden 150 Hz 0.385/0.49 soma; output 150 Hz 0.35/0.35
  for (int q = 0; q < 5; q++) { auto &g = P[q]; D rs = q >= 3 ? 500 : 150;
    D ws_e = q >= 3 ? 0.35 : (q == 0 ? 0.35 : 0.385), ws_i = q >= 3 ? 0.35 : (q == 0 ? 0.35 : 0.49);
    D r[4] = {rs, rs, 500, 500}, w[4] = {ws_e, ws_i, 0.05, 0.05};
    for (int c = 0; c < 4; c++) { g.bg_rate[c] = r[c]; g.bg_w[c] = w[c]; g.next[c].resize(N); for (auto &x : g.next[c]) x = gap(r[c] * dt); } }
  D pff = min(1.0, 0.05 * 2000 / N);
  auto mk = [&](int s, int d, int kind, D w0, D eta) { Conn c; c.src = s; c.dst = d; c.kind = kind; c.w0 = w0; c.eta = eta; connect(c, pff, N, N); C.push_back(c); };
  mk(3, 1, 0, 0.234, 8e-3); mk(4, 1, 0, 0.234, 8e-3); mk(3, 2, 0, 0.234, 8e-3); mk(4, 2, 0, 0.234, 8e-3);
  mk(3, 1, 1, 0.25, 0); mk(4, 1, 1, 0.25, 0); mk(3, 2, 1, 0.25, 0); mk(4, 2, 1, 0.25, 0);
  mk(1, 0, 0, 0.234, 4e-3); mk(2, 0, 0, 0.234, 4e-3); mk(1, 0, 1, 0.25, 0); mk(2, 0, 1, 0.25, 0);
  mk(0, 1, 2, 0.26, 0); mk(0, 2, 2, 0.026, 0); mk(0, 1, 3, 0.06, 0); mk(0, 2, 3, 0.27, 0);
  for (int i = 0; i < N; i++) { P[0].Id[i] = 400e-12; P[2].Id[i] = 500e-12; }
  D durex = 8.0, Tp = 0.9 * durex, Tl = durex - Tp;
  run(3 * alpha);
  Stat s[4], s1[4], sl[4];
  for (int k = 0; k < 4; k++) { setinput(k); run(durex / 2); run(durex / 2, &s[k]); }
  print_stats("pre", s);
  for (int e = 0; e < epochs; e++) {
    D ce = 0;
    for (int k = 0; k < 4; k++) { int y = (k == 1 || k == 2); setinput(k); plastic_on = false;
      run(Tp / 2 + 0.4); run(Tp / 2 - 0.4, &s1[k]);  // second half of the example minus the learning phase
      ce += cost(y); plastic_on = true;
      for (int i = 0; i < N; i++) { D er = P[0].Ebar[i] / alpha, I;
        if (y == 0) I = er < 9 ? (er <= 3 ? 0 : -1e-9 / (10 - er)) : -1e-9; else I = er > 3 ? (er >= 9 ? 0 : 1e-9 / (er - 2)) : 1e-9;
        P[0].Id[i] = 400e-12 + I; }
      run(Tl, &sl[k]);
      for (int i = 0; i < N; i++) P[0].Id[i] = 400e-12;
      plastic_on = false; }
    printf("epoch %d cost %.3f w", e, ce); for (int ci : {0, 1, 2, 3, 8, 9}) printf(" %.3f", meanw(ci)); printf("\n");
    if (e % 25 == 0 || e == epochs - 1) { print_stats(" pred", s1); print_stats(" learn", sl); }
    fflush(stdout);
  }
  for (int k = 0; k < 4; k++) { setinput(k); run(durex / 2); run(durex / 2, &s[k]); }
  print_stats("post", s);
}
