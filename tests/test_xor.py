"""Spiking XOR (issue 16): schedule, analysis, bad input, the quick variant on runtime and cpp, the
cuda build."""

import dataclasses

import numpy as np
import pytest
from brian2 import second

from burstsim import backends, cli
from burstsim.protocols import xor


# --- schedule and analysis (no simulation) -----------------------------------------------------

def test_two_phase_timeline_gates_the_last_tenth_of_each_training_example():
    p = xor.Params.quick(schedule="two_phase", epochs=3, bins_per_example=10, example_duration=2 * second)
    tl = p.timeline()
    train = tl["phase"] == 2
    assert train.sum() == 3 * 4 * 10
    assert tl["plastic"].sum() == tl["teacher"].sum() == tl["hold"].sum() == 3 * 4 * 1
    # outside training nothing learns; the teacher bins are the last bin of every training example
    assert not tl["plastic"][~train].any()
    ex = tl["example"][train]
    last = np.r_[ex[1:] != ex[:-1], True]
    assert np.array_equal(tl["plastic"][train].astype(bool), last)
    # one cost bin per teacher-off example: 4 pre-test, 12 training (before the teacher), 4 post-test
    assert tl["cost_bin"].sum() == 20
    assert p.burn_in_bins == 8          # 3 x 0.5 s in 0.2 s bins, rounded up
    assert float(p.duration / second) == pytest.approx(0.2 * (8 + 4 * 10 * (1 + 3 + 1) + 1))


def test_single_phase_timeline_learns_always_and_probes_every_probe_every_epochs():
    p = xor.Params.quick(schedule="single_phase", epochs=4, probe_every=2)
    tl = p.timeline()
    assert (tl["plastic"][tl["phase"] == 2] == 1).all() and (tl["teacher"][tl["phase"] == 2] == 1).all()
    assert tl["hold"].sum() == 0
    probes = tl["phase"] == 3
    assert probes.sum() == 2 * 4 * p.bins_per_example and not tl["plastic"][probes].any()
    assert sorted(set(tl["epoch"][probes])) == [1, 3]


def test_learning_rates_follow_the_schedule_unless_given():
    assert xor.Params(schedule="two_phase").etas == (8e-3, 4e-3)
    assert xor.Params(schedule="single_phase").etas == (8e-4, 4e-4)
    assert xor.Params(schedule="single_phase", eta_output=0.0, eta_hidden=0.0).etas == (0.0, 0.0)
    assert float(xor.Params(schedule="single_phase").reference_tau() / second) == 4
    assert float(xor.Params(schedule="two_phase").reference_tau() / second) == 2
    p = xor.Params(schedule="single_phase", tau_ref_hidden=32 * second)
    assert [float(p.reference_tau(pop) / second) for pop in ("output", "hidden1", "hidden2")] == [4, 32, 32]
    # BurstCCN's hidden pools: two epochs single-phase (8 examples of 8 s), tau_ref two-phase
    for schedule, rule, taus in (("single_phase", "burstccn", [4, 64, 64]), ("two_phase", "burstccn", [2, 2, 2]),
                                 ("single_phase", "burstprop", [4, 4, 4])):
        p = xor.Params(schedule=schedule, rule=rule)
        assert [float(p.reference_tau(pop) / second) for pop in ("output", "hidden1", "hidden2")] == taus, schedule
        assert [p.moving_reference(pop) for pop in ("output", "hidden1")] == [rule == "burstprop", True]
    assert xor.build_key(p) != xor.build_key(xor.Params(schedule="single_phase"))


def _synthetic(post_rates):
    """Arrays of a fake run: the post-test output counts give `post_rates` (per realisation x pattern)."""
    p = xor.Params.quick(schedule="two_phase", epochs=2)
    tl = p.timeline()
    nb = len(tl["phase"]) - 1
    a = {f"timeline_{k}": v[:-1] for k, v in tl.items()}
    post_rates = np.atleast_2d(post_rates)
    R, bin_s = len(post_rates), float(p.bin / second)
    ev = np.zeros((R, nb))
    for k in range(4):
        sel = (a["timeline_phase"] == 4) & (a["timeline_pattern"] == k)
        ev[:, sel] = post_rates[:, [k]] * p.n * bin_s
    a["output_events"], a["output_bursts"] = ev, 0.4 * ev
    a["output_avg_er_hz"] = np.full((R, nb + 1), 6.0)
    return p, a


def test_verdict_and_cost_from_rates():
    p, a = _synthetic([[2.0, 9.0, 9.5, 3.0], [2.0, 9.0, 5.0, 3.0]])
    er, bp = xor.pattern_rates(a, 4, "output", p.n, float(p.bin / second))
    np.testing.assert_allclose(er, [[2, 9, 9.5, 3], [2, 9, 5, 3]])
    np.testing.assert_allclose(bp, 0.4)
    assert xor.solved(er, 6.0).tolist() == [True, False]
    # a mean moving-average rate of 6 Hz (x = 0.5) costs ln 2 per example: 4 ln 2 per epoch
    epochs, c = xor.costs(a)
    assert epochs.tolist() == [0, 1]
    np.testing.assert_allclose(c, 4 * np.log(2))


def test_summary_and_table_give_the_post_test_per_pattern_in_the_papers_order():
    from burstsim.results import Result, params_to_json
    p, a = _synthetic([[2.0, 9.0, 9.5, 3.0], [2.0, 9.0, 5.0, 3.0]])
    r = Result(protocol="xor", params=params_to_json(p), arrays=a, summary={}, seed=1, backend="runtime",
               wall_times={"sim_wall_s": 1.0})
    r.summary = xor.summary(r)
    s = r.summary
    assert (s["realisations"], s["solved_count"], s["solved_r0"], s["solved_r1"]) == (2, 1, 1.0, 0.0)
    assert "n" not in s                                   # n is the population size, not a count
    assert s["post_er_hz_10_r1"] == pytest.approx(9.0) and s["post_er_hz_01_r1"] == pytest.approx(5.0)
    text = xor.table(r)
    assert "solved in 1 of 2" in text
    # the papers' order 00, 01, 10, 11: pattern (0, 1) is the third of PATTERNS
    post = [line for line in text.splitlines() if "post-test ER" in line]
    assert [float(v) for v in post[1].split()[-4:]] == [2.0, 5.0, 9.0, 3.0]


@pytest.mark.parametrize("changes, message", [
    ({"learning_fraction": 1.5}, "not shorter than the example"),
    ({"learning_fraction": 0.13}, "whole number of bins"),
    ({"n": 0}, "n must be"),
    ({"eta_output": -1e-3}, "eta_output must be >= 0"),
    ({"eta_hidden": -1e-3}, "eta_hidden must be >= 0"),
    ({"rule": "backprop"}, "rule=.backprop. is not allowed"),
    ({"schedule": "three_phase"}, "schedule=.three_phase. is not allowed"),
    ({"example_duration": 1 * second, "bins_per_example": 3}, "whole number of bins|whole number of steps"),
    ({"p_b_hidden": (0.2, 1.2)}, "p_b_hidden must be None or two burst probabilities"),
    ({"p_b_hidden": (0.2,)}, "p_b_hidden must be None or two burst probabilities"),
    ({"p_b_hidden": (0.2, 0.3)}, "give it with hidden_reference='fixed'"),
    ({"hidden_reference": "median"}, "hidden_reference=.median. is not allowed"),
])
def test_bad_parameters(changes, message):
    with pytest.raises(ValueError, match=message):
        xor.Params(**changes)


def test_cli_rejects_bad_parameters_before_any_build(tmp_path):
    root = backends.cache_root()
    before = set(root.iterdir()) if root.exists() else set()
    with pytest.raises(SystemExit, match="rule=.hebb. is not allowed"):
        cli.main(["run", "xor", "--backend", "cpp", "--set", "rule=hebb", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="n must be"):
        cli.main(["run", "xor", "--backend", "cpp", "--set", "n=0", "--out", str(tmp_path / "o")])
    assert (set(root.iterdir()) if root.exists() else set()) == before
    assert not (tmp_path / "o").exists()


# --- simulations ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_cpp():
    """Two-phase BurstCCN, quick, 2 replicas: learning and its control (learning rates 0)."""
    p = xor.Params.quick(schedule="two_phase", replicas=2)
    learn = xor.run(p, backend="cpp", report=None)
    control = xor.run(xor.Params.quick(schedule="two_phase", replicas=2, eta_hidden=0.0, eta_output=0.0),
                      backend="cpp", report=None)
    return p, learn, control


def test_quick_cpp_input_code_sets_the_published_operating_point(quick_cpp):
    """Input populations: "1" (+150 pA) fires at about 8.5 Hz, "0" (-350 pA) at about 2 Hz, both with
    a burst probability near 0.1 (spec payeur2021.md s10)."""
    p, learn, _ = quick_cpp
    bin_s = float(p.bin / second)
    for k, pop in enumerate(("input1", "input2")):
        er, bp = xor.pattern_rates(learn.arrays, 1, pop, p.n, bin_s)
        bits = np.array([pat[k] for pat in xor.PATTERNS], bool)
        assert np.all((er[:, bits] > 6.5) & (er[:, bits] < 10.5)), er
        assert np.all((er[:, ~bits] > 0.8) & (er[:, ~bits] < 3.5)), er
        assert np.all((bp > 0.04) & (bp < 0.2)), bp


def test_quick_cpp_teacher_moves_output_burst_probability_by_target(quick_cpp):
    """In the learning bins the teacher depolarises the output dendrites for target 1 (the output
    fires below 3 Hz here: the full +1 nA) and, for target 0, hyperpolarises them only above 3 Hz:
    the output burst probability rises by more than 0.3 for target 1 and never rises for target 0."""
    p, learn, _ = quick_cpp
    a = learn.arrays
    E, B = a["output_events"].sum(axis=0), a["output_bursts"].sum(axis=0)
    teach = a["timeline_teacher"] == 1
    y = np.array([pa ^ pb for pa, pb in xor.PATTERNS])[np.maximum(a["timeline_pattern"], 0)]
    bp1 = B[teach & (y == 1)].sum() / E[teach & (y == 1)].sum()
    bp0 = B[teach & (y == 0)].sum() / E[teach & (y == 0)].sum()
    off = ~teach & (a["timeline_phase"] == 2)
    bp_off = B[off].sum() / E[off].sum()
    assert bp1 > bp_off + 0.3 and bp0 < bp_off + 0.02, (bp1, bp_off, bp0)


def test_quick_cpp_weights_learn_and_the_control_does_not(quick_cpp):
    p, learn, control = quick_cpp
    changed = 0
    for src, tgt in xor.PLASTIC:
        w_learn, w_control = learn.arrays[f"w_{src}_{tgt}_final"], control.arrays[f"w_{src}_{tgt}_final"]
        assert w_learn.shape == (2,)
        np.testing.assert_allclose(w_control, p.w_init, rtol=0, atol=1e-12)
        assert np.all((w_learn >= 0) & (w_learn <= 1))
        changed += np.any(np.abs(w_learn - p.w_init) > 1e-3)
        trace = control.arrays[f"w_{src}_{tgt}_mean"]
        np.testing.assert_allclose(trace, p.w_init, atol=1e-12)
    assert changed == len(xor.PLASTIC)
    s = learn.summary
    assert s["realisations"] == 2 and 0 <= s["solved_count"] <= 2
    # the control (teacher as in training) leaves the output where it started: 01 and 10 below 6 Hz
    assert control.summary["solved_count"] == 0
    assert max(control.summary["post_er_hz_01_mean"], control.summary["post_er_hz_10_mean"]) < 6
    for lab in ("00", "10", "01", "11"):
        assert np.isfinite(s[f"post_er_hz_{lab}_mean"]) and np.isfinite(s[f"last_bp_{lab}_mean"])


def test_runs_of_one_configuration_pool_into_one_result(quick_cpp):
    """Seed 1 with 2 replicas and (a stand-in for) seed 7 with 2: 4 realisations, the summary over
    all, one column in the figure; other parameters or the same network twice are refused."""
    from burstsim.figures import xor as fig_xor

    _, learn, control = quick_cpp
    other = dataclasses.replace(learn, params={**learn.params, "seed": 7})
    pooled = xor.pool([learn, other])
    assert pooled.summary["realisations"] == 4
    assert pooled.summary["solved_count"] == 2 * learn.summary["solved_count"]
    np.testing.assert_array_equal(pooled.arrays["output_events"], np.concatenate([learn.arrays["output_events"]] * 2))
    assert pooled.summary["post_er_hz_01_r2"] == learn.summary["post_er_hz_01_r0"]
    assert pooled.wall_times["sim_wall_s"] == pytest.approx(2 * learn.wall_times["sim_wall_s"])
    with pytest.raises(ValueError, match="eta_hidden"):
        xor.pool([learn, control])
    with pytest.raises(ValueError, match="same network twice"):
        xor.pool([learn, learn])
    assert len(fig_xor.plot([learn, other, control]).axes) == 8        # two columns of four


def test_quick_cpp_figure(quick_cpp):
    from burstsim.figures import xor as fig_xor

    _, learn, control = quick_cpp
    fig = fig_xor.plot([learn, control])
    assert len(fig.axes) == 8


def test_quick_runtime_runs_the_same_network(numpy_codegen):
    """The runtime device (coarse step, small; numpy code generation, no compile): the input code
    separates "1" from "0"."""
    p = xor.Params.quick(**xor.VARIANTS["coarse"], variant="coarse", example_duration=1 * second, epochs=1, n=40,
                         probe_every=1)
    r = xor.run(p, backend="runtime", report=None)
    er, _ = xor.pattern_rates(r.arrays, 1, "input1", p.n, float(p.bin / second))
    assert er[0, 1] > er[0, 0] + 3 and er[0, 3] > er[0, 2] + 3, er
    assert np.isfinite(r.summary["cost_first10"]) and r.summary["realisations"] == 1


@pytest.mark.slow   # about 50 s on runtime; the default suite stays under 20 minutes
def test_gated_learning_events_change_nothing_but_the_work(numpy_codegen, monkeypatch):
    """Two-phase: the plastic pathways' postsynaptic updates run on "event_learn"/"burst_learn",
    the detection's events while the plasticity gate is open. The run gives the same weights as
    with the ungated events (the gated updates are the only ones that change anything)."""
    p = xor.Params.quick(**xor.VARIANTS["coarse"], variant="coarse", schedule="two_phase", n=40, epochs=1,
                         example_duration=0.5 * second, tau_avg=0.25 * second, probe_every=1, seed=3)
    weights, events = [], []
    for gated in (True, False):
        monkeypatch.setattr(xor, "_gated_learning", lambda _p, g=gated: g)
        build = xor.build_network

        def spy(*args, **kwargs):
            net, objs = build(*args, **kwargs)
            events.append({pw.event for pw in objs["syn_input1_hidden1"]._pathways if pw.prepost == "post"})
            return net, objs

        monkeypatch.setattr(xor, "build_network", spy)
        out, _ = xor.run_seed(p, p.seed, "runtime", report=None)
        monkeypatch.setattr(xor, "build_network", build)
        weights.append(np.concatenate([out[f"w_{s}_{t}_mean"].ravel() for s, t in xor.PLASTIC]))
    assert events == [{"event_learn", "burst_learn"}, {"event", "burst"}]
    assert np.abs(weights[0] - p.w_init).max() > 1e-4, "no learning at all"
    np.testing.assert_array_equal(weights[0], weights[1])


def test_burstprop_single_phase_reference_averages_with_its_own_time_constant(numpy_codegen):
    """Single-phase Burstprop: the reference moving averages (tau_ref 4 s) beside the rates' (0.5 s
    here), on the plastic targets only. From 0 at a steady rate r, after t = 1 s the counts are
    r tau (1 - exp(-t/tau)): the reference holds 0.885/0.432 = 2.05 times the rate trace."""
    p = xor.Params.quick(**xor.VARIANTS["coarse"], variant="coarse", schedule="single_phase", rule="burstprop", n=40)
    assert float(p.reference_tau() / second) == 4 and float(p.tau_avg / second) == 0.5
    net, objs = xor.build_network(p)
    g = objs["groups"]["hidden1"]
    net.run(1 * second)
    assert np.mean(g.E_avg) > 0.1
    assert 1.7 < np.mean(g.E_ref) / np.mean(g.E_avg) < 2.5, (np.mean(g.E_ref), np.mean(g.E_avg))
    assert "E_ref" not in objs["groups"]["input1"].variables


def test_burstccn_hidden_references_per_population(numpy_codegen):
    """BurstCCN's output keeps the constant p_b; the input -> hidden connections compare by default
    with the hidden population's own moving average (single-phase: two epochs, 16 s at the quick 2 s
    examples; after 1 s at a steady rate r the counts are r tau (1 - exp(-t/tau)): 0.970 r against
    the 0.5 s rate trace's 0.432 r, 2.24 times), or with a constant per hidden population
    (hidden_reference='fixed', p_b_hidden)."""
    base = dict(**xor.VARIANTS["coarse"], variant="coarse", schedule="single_phase", rule="burstccn", n=40)
    p = xor.Params.quick(**base, hidden_reference="fixed", p_b_hidden=(0.21, 0.35))
    _, objs = xor.build_network(p)
    got = {k: objs[f"syn_{k}"].namespace["p_b"] for k in ("input1_hidden1", "input2_hidden2", "hidden1_output")}
    assert got == {"input1_hidden1": 0.21, "input2_hidden2": 0.35, "hidden1_output": 0.401}
    assert "E_ref" not in objs["groups"]["hidden1"].variables
    p = xor.Params.quick(**base)
    net, objs = xor.build_network(p)
    assert "B_ref" in "".join(str(pw.code) for pw in objs["syn_input1_hidden1"]._pathways)
    assert "p_b" not in "".join(str(pw.code) for pw in objs["syn_input1_hidden1"]._pathways)
    assert "p_b" in "".join(str(pw.code) for pw in objs["syn_hidden2_output"]._pathways)
    assert "E_ref" not in objs["groups"]["output"].variables
    g = objs["groups"]["hidden2"]
    assert float(g.namespace["tau_ref"] / second) == 16
    net.run(1 * second)
    # (the rate is not steady from rest: the early spikes count more in the slow average)
    assert 1.9 < np.mean(g.E_ref) / np.mean(g.E_avg) < 3.0, (np.mean(g.E_ref), np.mean(g.E_avg))
    # a faster hidden reference (tau_ref_hidden 0.25 s): r tau (1 - exp(-4)) = 0.245 r, 0.57 times the rate trace
    p = xor.Params.quick(**base, tau_ref_hidden=0.25 * second)
    net, objs = xor.build_network(p)
    g = objs["groups"]["hidden2"]
    assert float(g.namespace["tau_ref"] / second) == 0.25 and "E_ref" not in objs["groups"]["output"].variables
    net.run(1 * second)
    assert 0.4 < np.mean(g.E_ref) / np.mean(g.E_avg) < 0.75, (np.mean(g.E_ref), np.mean(g.E_avg))


@pytest.mark.slow   # about 3 min: a run killed and resumed; the default suite stays under 20 minutes
def test_killed_run_resumes_from_its_last_chunk_with_the_same_result(quick_cpp, tmp_path):
    """Chunks whose final state seeds the next: with the last chunks' files removed (a run killed
    half-way), the same call runs only those again and gives the uninterrupted run's arrays exactly
    (the fixture's run, without a checkpoint); a checkpoint of other parameters is refused."""
    p, learn, _ = quick_cpp
    C, chunks = p.chunking()
    assert chunks >= 3
    ck = tmp_path / "checkpoint"
    xor.run(p, backend="cpp", report=None, checkpoint=ck)
    files = sorted(ck.glob("seed*_chunk*.npz"))
    assert len(files) == chunks
    for f in files[chunks // 2:]:
        f.unlink()
    kept = {f: f.stat().st_mtime_ns for f in files[:chunks // 2]}
    kept_wall = 0.0
    for f in kept:
        with np.load(f) as z:
            kept_wall += float(z["wall:sim_wall_s"])
    assert kept_wall > 0
    resumed = xor.run(p, backend="cpp", report=None, checkpoint=ck)
    assert {f: f.stat().st_mtime_ns for f in kept} == kept          # finished chunks are not run again
    assert resumed.wall_times["sim_wall_s"] > kept_wall             # their wall time still counts
    for key, value in learn.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[key], value, err_msg=key)
    # the chunks continue each other: the output keeps firing across a chunk boundary
    E = learn.arrays["output_events"].sum(axis=0)
    assert np.all(E[C - 2:C + 2] > 0)
    with pytest.raises(ValueError, match="other parameters.*eta_output"):
        xor.run(dataclasses.replace(p, eta_output=1e-3), backend="cpp", report=None, checkpoint=ck)


@pytest.mark.slow
def test_network_matches_an_independent_implementation_of_the_published_update_order(tmp_path):
    """``benchmarks/xor_reference.cpp`` (plain C++, written from the spec's step order, not from
    Brian2) and burstsim's network give the same pre-test operating point at dt = 0.1 ms: event
    rates per population and pattern within 20 % + 0.2 Hz, burst probabilities within 0.05 (the
    two differ by up to about 10 % in rate: Auryn's order gives each input a charge about 1 % above
    w*tau). 200 neurons per population (p_ff = 0.5, as in the issue), seed 1 in both (different
    random numbers)."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler (g++/c++) on PATH")
    source = Path(__file__).parents[1] / "benchmarks" / "xor_reference.cpp"
    exe = tmp_path / "xor_reference"
    subprocess.run([cxx, "-O2", "-o", str(exe), str(source)], check=True)
    out = subprocess.run([str(exe), "200", "0", "1"], check=True, capture_output=True, text=True).stdout
    line = next(s for s in out.splitlines() if s.startswith("pre:"))
    ref = {}
    for name, vals in re.findall(r"(out|h1|h2|in1|in2) ((?:[\d.]+/[\d.]+ ?){4})", line):
        ref[name] = np.array([[float(x) for x in v.split("/")] for v in vals.split()])
    p = xor.Params(n=200, epochs=1, schedule="two_phase", rule="burstprop", chunk_epochs=0)
    r = xor.run(p, backend="cpp", report=None)
    names = {"output": "out", "hidden1": "h1", "hidden2": "h2", "input1": "in1", "input2": "in2"}
    for pop, short in names.items():
        er, bp = xor.pattern_rates(r.arrays, 1, pop, p.n, float(p.bin / second))
        both = f"{pop}: burstsim {np.round(er[0], 2)} / {np.round(bp[0], 3)}, reference {ref[short].tolist()}"
        np.testing.assert_allclose(er[0], ref[short][:, 0], rtol=0.2, atol=0.2, err_msg=both)
        np.testing.assert_allclose(bp[0], ref[short][:, 1], rtol=0, atol=0.05, err_msg=both)


def test_progress_script_reads_a_finished_run(quick_cpp, tmp_path):
    """benchmarks/xor_progress.py on a finished run (no checkpoint, its arrays.npz): one line per
    realisation with the mean cost of each block of 10 cost epochs, as analysis.xor_costs gives."""
    import importlib.util
    from pathlib import Path

    from burstsim import analysis

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "xor_progress.py"
    spec = importlib.util.spec_from_file_location("xor_progress", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _, learn, _ = quick_cpp
    (tmp_path / "run").mkdir()
    np.savez(tmp_path / "run" / "arrays.npz", **learn.arrays)
    lines = mod.progress(tmp_path / "run").splitlines()
    epochs, c = analysis.xor_costs(learn.arrays)
    assert lines[0] == f"run: finished, cost epochs through epoch {epochs[-1]}" and len(lines) == 1 + len(c) == 3
    got = [float(v) for v in lines[1].split(":")[1].split()]
    assert got == pytest.approx([c[0, i:i + 10].mean() for i in range(0, c.shape[1], 10)], abs=0.006)
    # finished runs (summary.json) pooled per configuration: seed 1 and seed 7, 4 realisations
    learn.save(tmp_path / "s1")
    dataclasses.replace(learn, params={**learn.params, "seed": 7}).save(tmp_path / "s7")
    text = mod.pooled([tmp_path / "s1", tmp_path / "s7", tmp_path / "run"])
    assert text.startswith(f"xor burstccn two_phase: solved in {2 * learn.summary['solved_count']} of 4")
    assert text.count("realisation ") == 4
