"""Learning curves of rate models (``burstsim train``): (a) held-out error per epoch, (b) training
loss, (c) angle between each hidden layer's update and backprop's on the same batch, (d) the same
angle over all hidden layers together. Several results are drawn on the same axes."""

from __future__ import annotations

from burstsim.figures import new_figure
from burstsim.results import Result


def label(result: Result) -> str:
    p = result.params
    form = f" ({p['form']})" if p["model"] == "burstccn" and p.get("form", "journal") != "journal" else ""
    return f"{p['model']}{form}, {p['feedback']}, lr {p.get('lr', '?')}, seed {result.seed}"


def plot(results, **figure_kw):
    """The learning curves of one or several train Results (a ``matplotlib.figure.Figure``;
    `figure_kw` go to it)."""
    results = [results] if isinstance(results, Result) else list(results)
    fig = new_figure((17, 4), **figure_kw)
    axes = fig.subplots(1, 4)
    for k, r in enumerate(results):
        a, color = r.arrays, f"C{k}"
        ep = a["epoch"]
        axes[0].plot(ep[1:], a["test_error_pct"][1:], "o-", ms=3, color=color, label=label(r))
        axes[1].plot(ep[1:], a["train_loss"][1:], "o-", ms=3, color=color)
        n_hidden = a["angle_layer_deg"].shape[1] - 1
        for layer in range(n_hidden):
            axes[2].plot(ep, a["angle_layer_deg"][:, layer], color=color, alpha=0.4 + 0.6 * (layer + 1) / max(n_hidden, 1),
                         lw=1, label=label(r) if layer == 0 else None)
        axes[3].plot(ep, a["angle_hidden_deg"], "o-", ms=3, color=color)
    p = results[0].params
    axes[0].set(xlabel="epoch", ylabel="held-out error (%)", yscale="log",
                title=f"a  {p['data']}: {results[0].summary.get('n_train', '?')} training images")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log", title="b  training loss")
    axes[2].set(xlabel="epoch", ylabel="angle to backprop (deg)", title="c  per hidden layer (darker = deeper)")
    axes[3].set(xlabel="epoch", ylabel="angle to backprop (deg)", title="d  all hidden layers")
    for ax in axes[2:]:
        ax.axhline(90, color="0.6", ls=":", lw=0.8)
        ax.set_ylim(bottom=0)
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig
