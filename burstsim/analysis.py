"""Offline analysis, Brian2-free (numpy only): event/burst classification of spike trains, binned
rates, statistics over seeds, and the array helpers of the protocols and their figures.

The classifier applies the same two rules as the online custom events of
``burstsim.models.detection`` (Payeur et al. 2021 trace rule; Greedy et al. 2022 / Payeur's raster
ISI rule) to recorded spike times, so rasters from any source (a monitor, another simulator,
an experiment) give the same events and bursts as the online detection would have.
Times are in seconds, rates in Hz.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from burstsim.replicas import summarise

RULES = ("trace", "isi")


def _classify_train(times: np.ndarray, rule: str, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (event, burst) for the sorted spike times of one neuron."""
    n = len(times)
    event, burst = np.zeros(n, bool), np.zeros(n, bool)
    counted = False
    trace, t_prev = 0.0, -np.inf
    for k, t in enumerate(times):
        if rule == "trace":
            trace *= np.exp(-(t - t_prev) / window) if np.isfinite(t_prev) else 0.0
            starts, continues = trace < np.exp(-1.0), trace >= np.exp(-1.0)
            trace += 1.0
        else:
            # 1e-9 s tolerance: "ISI <= window" must survive float times (online: 1% of a step)
            starts = t - t_prev > window + 1e-9
            continues = not starts
        if starts:
            event[k], counted = True, False
        elif continues and not counted:
            burst[k], counted = True, True
        t_prev = t
    return event, burst


def classify_spikes(idx, times_s, rule: str = "isi", window: float = 0.016):
    """Split spikes into events and bursts.

    A spike that starts an episode is an event; the second spike of an episode is a burst (the
    burst is also counted as part of the event that started it: burst probability = bursts/events).
    ``rule="isi"``: an episode continues while inter-spike intervals are <= ``window`` seconds.
    ``rule="trace"``: an episode continues while a spike trace (time constant ``window``, +1 per
    spike, read before the spike) is >= 1/e.

    Returns ``(event_idx, event_t_s, burst_idx, burst_t_s)``, sorted by time.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if not window > 0:
        raise ValueError(f"window must be > 0 seconds, got {window!r}")
    idx, times = np.asarray(idx), np.asarray(times_s, float)
    if idx.shape != times.shape:
        raise ValueError(f"idx and times_s must have the same shape, got {idx.shape} and {times.shape}")
    order = np.lexsort((times, idx))
    idx_s, t_s = idx[order], times[order]
    event, burst = np.zeros(len(t_s), bool), np.zeros(len(t_s), bool)
    bounds = np.flatnonzero(np.diff(idx_s)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(t_s)]):
        event[lo:hi], burst[lo:hi] = _classify_train(t_s[lo:hi], rule, window)
    out = []
    for mask in (event, burst):
        i, t = idx_s[mask], t_s[mask]
        by_time = np.argsort(t, kind="stable")
        out += [i[by_time], t[by_time]]
    return tuple(out)


def binned_rates(event_t_s, burst_t_s, n_neurons: int, t_start: float, t_stop: float, bin_s: float):
    """Population event rate, burst rate (Hz per neuron) and burst probability in time bins.

    Returns ``(bin_centres_s, event_rate_hz, burst_rate_hz, burst_prob)``; the burst probability
    of a bin without events is NaN.
    """
    if not (t_stop > t_start and bin_s > 0 and n_neurons >= 1):
        raise ValueError(f"need t_stop > t_start, bin_s > 0, n_neurons >= 1; got {t_start}, {t_stop}, "
                         f"{bin_s}, {n_neurons}")
    edges = np.arange(t_start, t_stop + 0.5 * bin_s, bin_s)
    n_ev = np.histogram(event_t_s, edges)[0]
    n_bu = np.histogram(burst_t_s, edges)[0]
    width = np.diff(edges)
    bp = np.full(len(n_ev), np.nan)
    np.divide(n_bu, n_ev, out=bp, where=n_ev > 0)
    return (edges[:-1] + edges[1:]) / 2, n_ev / (n_neurons * width), n_bu / (n_neurons * width), bp


def ensemble_rates(event_idx, event_t_s, burst_idx, burst_t_s, ensemble, t_start: float, t_stop: float):
    """Event rate, burst rate (Hz per neuron) and burst probability of each ensemble over
    [t_start, t_stop); ``ensemble[i]`` is the ensemble of neuron i.

    Returns a dict of arrays indexed by ensemble: ``event_rate_hz``, ``burst_rate_hz``,
    ``burst_prob`` (NaN without events), ``event_rate_sem_hz`` (across neurons) and
    ``burst_prob_sem`` (binomial).
    """
    ensemble = np.asarray(ensemble)
    if not t_stop > t_start:
        raise ValueError(f"need t_stop > t_start, got {t_start} and {t_stop}")
    n_ens, T = int(ensemble.max()) + 1, t_stop - t_start
    size = np.bincount(ensemble, minlength=n_ens)

    def per_neuron(i, t):
        i, t = np.asarray(i), np.asarray(t)
        return np.bincount(i[(t >= t_start) & (t < t_stop)], minlength=len(ensemble))

    ev, bu = per_neuron(event_idx, event_t_s), per_neuron(burst_idx, burst_t_s)
    n_ev, n_bu = np.bincount(ensemble, ev, n_ens), np.bincount(ensemble, bu, n_ens)
    rate = ev / T
    mean = n_ev / (size * T)
    var = np.bincount(ensemble, (rate - mean[ensemble]) ** 2, n_ens) / np.maximum(size - 1, 1)
    bp = np.full(n_ens, np.nan)
    np.divide(n_bu, n_ev, out=bp, where=n_ev > 0)
    return {"event_rate_hz": mean, "burst_rate_hz": n_bu / (size * T), "burst_prob": bp,
            "event_rate_sem_hz": np.sqrt(var / size),
            "burst_prob_sem": np.sqrt(np.clip(np.nan_to_num(bp * (1 - bp)), 0, None) / np.maximum(n_ev, 1))}


# --- statistics over seeds (realisations) ---------------------------------------------------------

def seed_stats(values) -> dict:
    """Mean, standard error of the mean (sample s.d. / sqrt(n); NaN for n < 2) and n of the values of
    one metric over seeds. A NaN value (a seed that never got there) makes mean and SEM NaN."""
    v = np.asarray(values, float).ravel()
    n = int(v.size)
    mean = float(np.mean(v)) if n else float("nan")
    sem = float(np.std(v, ddof=1) / np.sqrt(n)) if n >= 2 else float("nan")
    return {"mean": mean, "sem": sem, "n": n}


def worst(values, key=None) -> float:
    """The largest value (``key`` maps each value first, e.g. a distance from a target); NaN if any
    value is NaN, so that a seed that never reached its target is not hidden behind the others."""
    v = np.asarray([key(x) for x in values] if key is not None else values, float).ravel()
    if v.size == 0 or np.isnan(v).any():
        return float("nan")
    return float(v.max())


def burst_window_s(params: dict) -> float:
    """The burst window (s) of a stored parameter dict: ``burst_window`` or, in results written
    before that name, ``window``."""
    from burstsim.results import read_param

    for name in ("burst_window", "window"):
        if name in params:
            return float(read_param(params, name, "s"))
    raise KeyError("no burst window ('burst_window' or 'window') in these parameters")


# --- multiplexing ----------------------------------------------------------------------------------

def analysis_window(bin_t_s: np.ndarray, burn_in_s: float) -> np.ndarray:
    """Bins that start after the burn-in: 59 bins of 50 ms in [1, 4] s. The bin starting at the
    switch-on of the sines is left out; its rates still reflect the burn-in."""
    bin_s = float(bin_t_s[1] - bin_t_s[0])
    return bin_t_s - bin_s / 2 > burn_in_s + 1e-9


def seed_mean(result, key: str) -> np.ndarray:
    """A trace averaged over seeds (rows); a 1-d array (an input) as it is. `result` is a Result or
    its ``arrays`` dict."""
    a = result if isinstance(result, dict) else result.arrays
    return a[key] if a[key].ndim == 1 else np.nanmean(a[key], axis=0)


def seed_rows(arrays: dict, key: str, n_seeds: int) -> np.ndarray:
    """A trace per seed (seeds x bins); a 1-d array (an input, the same for every seed) repeated."""
    v = np.asarray(arrays[key])
    return np.broadcast_to(v, (n_seeds, v.shape[-1])) if v.ndim == 1 else v


def nan_mean(x, axis: int = 0) -> np.ndarray:
    """Mean over the finite values along `axis`; NaN (without numpy's empty-slice warning) where
    there are none, e.g. a bin in which no replica had an event."""
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    n = ok.sum(axis=axis)
    total = np.where(ok, x, 0.0).sum(axis=axis)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the bins where both are finite (NaN with fewer than 3 such bins)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(x[ok], y[ok])[0, 1])


# --- plasticity ------------------------------------------------------------------------------------

def zero_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """First x where y changes sign from negative to positive (linear interpolation); nan if none."""
    for k in range(len(x) - 1):
        if y[k] < 0 <= y[k + 1]:
            return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))
    return float("nan")


def weight_rate_and_bp_excess(a: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin (rows: replicas): bin times, rate of change of the mean weight (1/s) and postsynaptic
    BP minus its moving average (the average taken at the bin's two ends)."""
    t, samples = a["net_bin_t_s"], a["net_sample_t_s"]
    n = min(len(t), len(samples) - 1)   # weights are sampled at the bin edges
    dw = np.diff(a["net_w_mean"], axis=1)[:, :n] / float(samples[1] - samples[0])
    pbar = a["net_post_pbar"]
    excess = a["net_post_bp"][:, :n] - 0.5 * (pbar[:, :n] + pbar[:, 1:n + 1])
    return t[:n], dw, excess


def network_analysis(a: dict) -> dict:
    """Correlation of the replica-averaged rate of weight change with BP minus its moving average
    over the plastic bins, and each segment's weight drift (the last one is the control)."""
    t, dw, excess = weight_rate_and_bp_excess(a)
    starts = a["net_segment_starts_s"]
    plastic = t > starts[0]
    r = correlation(dw.mean(axis=0)[plastic], nan_mean(excess[:, plastic]))
    samples, w = a["net_sample_t_s"], a["net_w_mean"].mean(axis=0)
    ends = np.append(starts[1:], starts[-1] + (starts[1] - starts[0]))
    drift = np.array([np.interp(e, samples, w) - np.interp(s, samples, w) for s, e in zip(starts, ends)])
    return {"net_r_dw_vs_bp_minus_pbar": r, "net_segment_drifts": drift.tolist(),
            "net_control_drift_ratio": float(abs(drift[-1]) / np.max(np.abs(drift[:-1])))}


# --- single_phase ----------------------------------------------------------------------------------

def window_metrics(t: np.ndarray, er: np.ndarray, bp: np.ndarray, w1: np.ndarray, start: float, end: float,
                   target: float, hold: float = 10.0) -> dict:
    """For one seed and window: seconds from the onset until the output event rate (1 s moving
    average) is within 1 Hz of the target (nan if never); the learned rate (mean over the last 2 s
    of the window) and its distance from the target; the largest deviation of the rate's 1 s means
    from the learned rate during the `hold` s after the window; the output burst probability at the
    end; and the change of mean W1 across the window."""
    inside = (t >= start) & (t <= end)
    close = np.flatnonzero(inside & (np.abs(er - target) <= 1.0))
    learned = float(er[(t > end - 2.0) & (t <= end)].mean())
    edges = np.arange(end, end + hold + 1e-9, 1.0)
    means = [er[(t > a) & (t <= a + 1.0)].mean() for a in edges[:-1] if ((t > a) & (t <= a + 1.0)).any()]
    i_end = min(int(np.searchsorted(t, end - 1e-9)), len(t) - 1)
    return {"reach_s": float(t[close[0]] - start) if close.size else float("nan"),
            "learned_hz": learned, "end_error_hz": abs(learned - target),
            "hold_dev_hz": float(np.max(np.abs(np.array(means) - learned))) if means else float("nan"),
            "bp_end": float(bp[i_end]),
            "w1_change": float(w1[i_end] - w1[int(np.searchsorted(t, start - 1e-9))])}


# --- deep_credit -----------------------------------------------------------------------------------

CREDIT_PHASES = ("lead", "pre", "learn", "post")   # block phases of deep_credit (``block_phase`` indexes these)
CREDIT_CONDITIONS = ("full", "frozen")             # full circuit; hidden layer frozen (the control)


def block_losses(rates_out: np.ndarray, patterns: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1/2 sum_i (target_i - e_i)^2 (Hz^2) of each block (rows of `rates_out`, seeds first)."""
    return 0.5 * np.sum((targets[patterns] - rates_out) ** 2, axis=-1)


def backprop_steps(rates: list, weights: list, x: np.ndarray, target: np.ndarray, r_ref: float,
                   active: float) -> list:
    """The backprop step (minus the gradient of 1/2 sum (target - e)^2) for each layer's weights,
    from one block's measured unit rates ``rates[l-1]`` (Hz, layers 1..L) and unit-mean weights
    ``weights[l-1]`` (post x pre); f' = 1 for active units, 0 otherwise."""
    L = len(rates)
    delta = [None] * L
    delta[-1] = (target - rates[-1]) * (rates[-1] >= active)
    for l in range(L - 2, -1, -1):
        delta[l] = (weights[l + 1].T @ delta[l + 1]) * (rates[l] >= active)
    pre = [x] + [r / r_ref for r in rates[:-1]]
    return [np.outer(delta[l], pre[l]) for l in range(L)]


def update_pairs(arrays: dict, cond: str, seed_index: int, params: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer: (measured unit-mean weight changes, backprop steps) of all learning blocks,
    concatenated over blocks; both over the block after ``settle``."""
    L = len(params["layers"]) - 1
    patterns, targets = np.array(params["patterns"], float), np.array(params["targets"], float)
    r_ref, active = float(arrays["r_ref_hz"]), float(arrays["active_rate_hz"])
    measured, predicted = [[] for _ in range(L)], [[] for _ in range(L)]
    for b in np.flatnonzero(arrays["block_phase"] == CREDIT_PHASES.index("learn")):
        pat = int(arrays["block_pattern"][b])
        rates = [arrays[f"{cond}_rates{l}_hz"][seed_index, b] for l in range(1, L + 1)]
        w_start = [arrays[f"{cond}_w{l}_units_start"][seed_index, b] for l in range(1, L + 1)]
        w_end = [arrays[f"{cond}_w{l}_units_end"][seed_index, b] for l in range(1, L + 1)]
        steps = backprop_steps(rates, w_start, patterns[pat], targets[pat], r_ref, active)
        for l in range(L):
            measured[l].append((w_end[l] - w_start[l]).ravel())
            predicted[l].append(steps[l].ravel())
    return [(np.concatenate(m), np.concatenate(g)) for m, g in zip(measured, predicted)]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity (0 when either vector is zero)."""
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


# --- spiking XOR (protocols.xor): arrays ``timeline_*`` (per bin), ``<population>_events``/``_bursts``
# (realisations x bins) and ``output_avg_er_hz`` (realisations x bin starts) ------------------------

#: the four examples of an XOR epoch in the published order (bit 1, bit 2)
XOR_PATTERNS = ((0, 0), (1, 0), (0, 1), (1, 1))
XOR_PHASES = ("burn_in", "pre_test", "train", "probe", "post_test", "tail")   # ``timeline_phase`` indexes these


def xor_pattern_rates(a: dict, phase: int, pop: str, n: int, bin_s: float, epoch: int | None = None) -> tuple:
    """(event rate Hz, burst probability) per realisation and pattern over the last half of each
    example of `phase` (and `epoch`)."""
    ph, pat, ex = a["timeline_phase"], a["timeline_pattern"], a["timeline_example"]
    E, B = a[f"{pop}_events"].astype(float), a[f"{pop}_bursts"].astype(float)
    sel = ph == phase
    if epoch is not None:
        sel &= a["timeline_epoch"] == epoch
    er, bp = np.full((len(E), 4), np.nan), np.full((len(E), 4), np.nan)
    for k in range(4):
        bins = np.flatnonzero(sel & (pat == k))
        if not len(bins):
            continue
        first_ex = ex[bins[0]]
        bins = bins[ex[bins] == first_ex]
        half = bins[len(bins) // 2:]
        e, b = E[:, half].sum(axis=1), B[:, half].sum(axis=1)
        er[:, k] = e / (n * bin_s * len(half))
        with np.errstate(invalid="ignore", divide="ignore"):
            bp[:, k] = np.where(e > 0, b / np.where(e > 0, e, 1), np.nan)
    return er, bp


def xor_costs(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, cost per realisation and epoch): the summed cost of the four teacher-off examples
    of each training (two-phase) or probe (single-phase) epoch."""
    cb = a["timeline_cost_bin"].astype(bool) & np.isin(a["timeline_phase"], (2, 3))
    bins = np.flatnonzero(cb)
    r = a["output_avg_er_hz"][:, bins]
    x = np.clip((r - 2.0) / 8.0, 0.01, 0.99)
    bits = np.array(XOR_PATTERNS)[a["timeline_pattern"][bins]]
    y = (bits[:, 0] ^ bits[:, 1]).astype(float)
    c = -y * np.log(x) - (1 - y) * np.log(1 - x)
    ep = a["timeline_epoch"][bins]
    epochs = np.unique(ep)
    if not len(epochs):
        return epochs, np.zeros((len(r), 0))
    return epochs, np.stack([c[:, ep == e].sum(axis=1) for e in epochs], axis=1)


def xor_solved(er: np.ndarray, threshold_hz: float) -> np.ndarray:
    """XOR solved per realisation: rates (realisations x 4 patterns) on the right side of the threshold."""
    y = np.array([a ^ b for a, b in XOR_PATTERNS], bool)
    return np.all(np.where(y, er > threshold_hz, er < threshold_hz), axis=1)


#: parameters in which runs of one configuration may differ (:func:`xor_pool`)
XOR_POOLED = ("seed", "seeds", "replicas")


def xor_configuration(result) -> tuple:
    """The parameters that make a configuration: all but :data:`XOR_POOLED`, as a hashable key."""
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in result.params.items() if k not in XOR_POOLED))


def xor_pool(results):
    """One Result from several runs of one configuration (parameters equal but for seed, seeds and
    replicas: networks drawn independently), e.g. seed 1 with 3 replicas and seed 2 with 2: their
    realisations side by side (in the order given), the summary over all, the wall times added."""
    results = list(results)
    first = results[0]
    for r in results[1:]:
        diff = sorted(k for k in set(first.params) | set(r.params)
                      if k not in XOR_POOLED and first.params.get(k) != r.params.get(k))
        if r.protocol != "xor" or diff:
            raise ValueError(f"xor_pool joins runs of one xor configuration; these differ in {diff or r.protocol}")
    drawn = [(int(r.params["seed"]) + k, int(r.params["replicas"])) for r in results for k in range(int(r.params["seeds"]))]
    if len(set(drawn)) < len(drawn):
        raise ValueError(f"xor_pool got the same network twice (seed, replicas): {sorted(drawn)}")
    arrays = {k: v if k.startswith("timeline_") or k == "w_t_s" else np.concatenate([r.arrays[k] for r in results])
              for k, v in first.arrays.items()}
    walls = {k: float(sum(r.wall_times.get(k, 0.0) for r in results)) for k in ("build_wall_s", "sim_wall_s")}
    key = "sim_wall_s_per_simulated_s_per_realisation"   # simulated realisation-seconds: wall / this
    if all(r.wall_times.get(key) for r in results):
        walls[key] = walls["sim_wall_s"] / sum(r.wall_times["sim_wall_s"] / r.wall_times[key] for r in results)
    pooled = dataclasses.replace(first, arrays=arrays, wall_times=walls, summary={},
                                 provenance={**first.provenance, "pooled": [[s, R] for s, R in drawn]})
    pooled.summary = xor_summary(pooled)
    return pooled


def _xor_label(k: int) -> str:
    a, b = XOR_PATTERNS[k]
    return f"{a}{b}"


def xor_summary(result) -> dict:
    """Verdicts and rates per realisation and over them. Per pattern (``00``, ``10``, ``01``, ``11``):
    the output event rate and burst probability over the last half of each post-test example
    (``post_er_hz_<pattern>``, ``post_bp_<pattern>``), of the last training epoch (``last_er_hz_``,
    ``last_bp_``) and of the pre-test (``pre_er_hz_``); ``solved`` (post-test rates on the right side
    of ``threshold``), ``solved_count`` of ``realisations``; the cost per epoch (teacher-off examples)
    averaged over the first and last 10 (``cost_first10``, ``cost_last10``). With several realisations
    the per-realisation values are ``<metric>_r<k>`` and the summary has ``<metric>_mean``/``_sem``."""
    a, prm = result.arrays, result.params
    n, bin_s = int(prm["n"]), result.param("example_duration", "s") / int(prm["bins_per_example"])
    th = result.param("threshold", "Hz")
    post_er, post_bp = xor_pattern_rates(a, 4, "output", n, bin_s)
    pre_er, _ = xor_pattern_rates(a, 1, "output", n, bin_s)
    last_er, last_bp = xor_pattern_rates(a, 2, "output", n, bin_s, epoch=int(prm["epochs"]) - 1)
    ok = xor_solved(post_er, th)
    epochs, c = xor_costs(a)
    rows = []
    for q in range(len(post_er)):
        row = {"solved": float(ok[q])}
        for k in range(4):
            lab = _xor_label(k)
            row.update({f"post_er_hz_{lab}": post_er[q, k], f"post_bp_{lab}": post_bp[q, k],
                        f"last_er_hz_{lab}": last_er[q, k], f"last_bp_{lab}": last_bp[q, k],
                        f"pre_er_hz_{lab}": pre_er[q, k]})
        m = min(10, c.shape[1])
        row["cost_first10"] = float(np.mean(c[q, :m])) if m else float("nan")
        row["cost_last10"] = float(np.mean(c[q, -m:])) if m else float("nan")
        rows.append(row)
    out = {"realisations": len(rows), "solved_count": int(ok.sum()), "rule": prm["rule"], "schedule": prm["schedule"]}
    if len(rows) == 1:
        out.update({k: float(v) for k, v in rows[0].items()})
    else:
        stats, _ = summarise(rows)
        out.update({k: v for k, v in stats.items() if k not in ("n", "replicas")})  # n: neurons per population
        for q, row in enumerate(rows):
            out.update({f"{k}_r{q}": float(v) for k, v in row.items()})
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


def xor_table(result) -> str:
    """The summary as text, one block per realisation: per pattern (00, 01, 10, 11, the papers'
    order) the output event rate (Hz) and burst probability of the pre-test, the last training epoch
    and the post-test, the verdict and the cost over the first and last 10 cost epochs."""
    s, R = result.summary, int(result.summary["realisations"])
    order = ("00", "01", "10", "11")
    lines = [f"xor {s['rule']} {s['schedule']}: solved in {s['solved_count']} of {R} (post-test output "
             f"event rate on the right side of {result.param('threshold', 'Hz'):g} Hz for all four patterns)"]
    for q in range(R):
        tag = "" if R == 1 else f"_r{q}"
        def row(metric, fmt):
            return "  ".join(format(s[f"{metric}_{lab}{tag}"], fmt) for lab in order)
        lines += [f"realisation {q}: {'solved' if s['solved' + tag] else 'not solved'}, cost first 10 "
                  f"{s['cost_first10' + tag]:.2f}, last 10 {s['cost_last10' + tag]:.2f}",
                  f"  {'':22}" + "  ".join(f"{lab:>5}" for lab in order),
                  f"  {'pre-test ER (Hz)':22}" + row("pre_er_hz", "5.2f"),
                  f"  {'last epoch ER (Hz)':22}" + row("last_er_hz", "5.2f"),
                  f"  {'last epoch BP':22}" + row("last_bp", "5.3f"),
                  f"  {'post-test ER (Hz)':22}" + row("post_er_hz", "5.2f"),
                  f"  {'post-test BP':22}" + row("post_bp", "5.3f")]
    return "\n".join(lines)
