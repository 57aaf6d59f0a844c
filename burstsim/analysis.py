"""Offline analysis of spike trains: event/burst classification and binned rates.

The classifier applies the same two rules as the online custom events of
``burstsim.models.detection`` (Payeur et al. 2021 trace rule; Greedy et al. 2022 / Payeur's raster
ISI rule) to recorded spike times, so rasters from any source (a monitor, another simulator,
an experiment) give the same events and bursts as the online detection would have.
Times are in seconds, rates in Hz.
"""

from __future__ import annotations

import numpy as np

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
