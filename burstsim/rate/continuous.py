"""Continuous-time BurstCCN with presynaptic moving-average traces ("MA" network; Greedy et al. 2022,
journal version, spec ``burstccn.md`` s3.1).

Every layer l = 1..L is a population of rate units integrated with forward Euler at step ``dt``
(column vectors; layer 0 is the input):

- soma: tau_z dv_l/dt = -v_l + W_l e~_{l-1} + c_l,  e_l = sigmoid(v_l)  (layer 1 reads the current
  input x; every other layer reads the event rate its lower layer had at the end of the previous step,
  so a signal takes one step per layer);
- hidden dendrite: tau_u du_l/dt = -u_l + beta (1 - e~_l) * (Q_l^T e~_{l+1} + Y_l^T b~_{l+1}),
  p_l = sigmoid(u_l), b_l = p_l * e_l, with the previous-step (cached, ~) event and burst rates of
  the layer above;
- output: in teaching mode p_L = p_b + p_b (t - e_L)(1 - e_L) with the event rate e_L of this step,
  in prediction mode p_L = p_b; b_L = p_L e_L;
- presynaptic traces: tau_ma de_bar_l/dt = -e_bar_l + e~_l, integrated with two Euler sub-steps per
  step (so the effective time constant is tau_ma / 2, as in the published code); the input trace
  tau_in dx_bar/dt = -x_bar + x takes one Euler step per step;
- plasticity (teaching mode only): dW_l = eta [(p~_l - p_b) * e~_l] xbar_{l-1}^T and
  dc_l = eta (p~_l - p_b) * e~_l, with eta = lr dt / tau_W, x_bar_{l-1} = the cached trace
  e_bar_{l-1} for l > 1 and x_bar_0 the input trace, also as cached at the start of the step (it
  holds inputs up to the previous step; the spec leaves this timing open: this choice pairs every
  layer's cached rate e~_l with the trace of exactly the inputs that drove it);
- feedback tied to the forward weights: Y_l = W_{l+1}, Q_l = -p_b W_{l+1}, refreshed after every
  teaching step. Because the dendrite is computed before the step's weight update, this is the same
  as reading W_{l+1} directly, which is what :meth:`ContinuousBurstCCN.step` does: the apical input
  is W_{l+1}^T (b~_{l+1} - p_b e~_{l+1}), exactly 0 whenever p~_{l+1} = p_b.

Order within a step: cache (e, b, p, e_bar) of every layer -> feedforward of every layer -> output
burst probability -> hidden dendrites top-down (u, p, b, e_bar) -> weight updates from the cached
p and e -> (tied feedback) -> input trace. Initial state: v, u, e and traces 0, p = p_b.

The trace time constants follow the published list: for H hidden layers
tau_list = [0.2 (H - i) for i = 0..H-1] + [0.1] (s); the input trace uses tau_list[0] and hidden
layer j (1-based) tau_list[j]. H = 1: input 0.2 s, hidden 0.1 s (effective 0.05 s).

A teacher network is the same class with ``lr = 0`` driven in prediction mode: its output has
exactly the delays and low-pass filtering of the student's, so the target is realisable.
"""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import xavier_normal

__all__ = ["ContinuousBurstCCN", "trace_time_constants"]


def trace_time_constants(n_hidden: int) -> tuple[float, list[float]]:
    """(tau_in, [tau_ma of hidden layer 1..H]) in seconds, as in the published MA network."""
    taus = [0.2 * (n_hidden - i) for i in range(n_hidden)] + [0.1]
    return taus[0], taus[1:]


def _sigmoid(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) written as 0.5 (1 + tanh(x / 2)) into `out` (no overflow; sigmoid(0) = 0.5 exactly)."""
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


class ContinuousBurstCCN:
    """The continuous-time "MA" BurstCCN (spec s3.1); float64 throughout.

    Parameters: ``sizes`` (input, hidden..., output), ``p_b`` baseline burst probability, ``dt``
    (s), ``tau_z`` somatic and ``tau_u`` dendritic time constants (s), ``beta`` dendritic gain,
    ``tau_W`` (s) and ``lr`` (the effective rate per step is lr dt / tau_W), ``W_gain`` xavier-normal
    gain of the initial weights (biases start at 0), ``seed`` (int, SeedSequence or Generator).
    """

    def __init__(self, sizes=(3, 25, 1), p_b: float = 0.5, dt: float = 0.01, tau_z: float = 0.1,
                 tau_u: float = 0.1, beta: float = 4.0, tau_W: float = 1000.0, lr: float = 2000.0,
                 W_gain: float = 1.5, seed=0):
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes={sizes!r} needs at least two layers (input and output) of >= 1 unit each")
        if not 0.0 < p_b < 1.0:
            raise ValueError(f"p_b={p_b!r} must lie strictly between 0 and 1")
        for name, value in (("dt", dt), ("tau_z", tau_z), ("tau_u", tau_u), ("tau_W", tau_W)):
            if not value > 0:
                raise ValueError(f"{name}={value!r} must be > 0")
        self.sizes = sizes
        self.L = len(sizes) - 1
        self.p_b, self.dt, self.tau_z, self.tau_u = float(p_b), float(dt), float(tau_z), float(tau_u)
        self.beta, self.tau_W, self.lr, self.W_gain = float(beta), float(tau_W), float(lr), float(W_gain)
        self.eta = self.lr * self.dt / self.tau_W
        self.tau_in, self.tau_ma = trace_time_constants(self.L - 1)
        rng = np.random.default_rng(seed)
        self.W = [xavier_normal(rng, sizes[l + 1], sizes[l], self.W_gain, np.float64) for l in range(self.L)]
        self.c = [np.zeros(sizes[l + 1]) for l in range(self.L)]
        self._allocate()
        self.reset_state()

    # -- state ---------------------------------------------------------------------------------------
    def _allocate(self) -> None:
        n = self.sizes[1:]
        self.v = [np.zeros(k) for k in n]
        self.u = [np.zeros(k) for k in n]          # used on hidden layers only
        # double buffers: index 0 holds this step's values, index 1 the previous step's (the cache ~)
        self._e = [[np.zeros(k), np.zeros(k)] for k in n]
        self._b = [[np.zeros(k), np.zeros(k)] for k in n]
        self._p = [[np.zeros(k), np.zeros(k)] for k in n]
        self._tr = [[np.zeros(k), np.zeros(k)] for k in n]
        self.xbar = np.zeros(self.sizes[0])
        self._x = np.zeros(self.sizes[0])
        self._xtmp = np.zeros(self.sizes[0])
        self._tmp = [np.zeros(k) for k in n]
        self._tmp2 = [np.zeros(k) for k in n]
        self._err = [np.zeros(k) for k in n]
        self._dW = [np.zeros_like(W) for W in self.W]

    def reset_state(self) -> None:
        """v, u, e, b and the traces to 0, p to p_b (weights are kept)."""
        for l in range(self.L):
            for arrs in (self._e[l], self._b[l], self._tr[l]):
                arrs[0].fill(0.0)
                arrs[1].fill(0.0)
            self._p[l][0].fill(self.p_b)
            self._p[l][1].fill(self.p_b)
            self.v[l].fill(0.0)
            self.u[l].fill(0.0)
        self.xbar.fill(0.0)

    # read-only views of the current state, by layer (0-based list index = layer 1..L)
    @property
    def e(self) -> list[np.ndarray]:
        """Event rates of layers 1..L after the last step."""
        return [buf[0] for buf in self._e]

    @property
    def p(self) -> list[np.ndarray]:
        """Burst probabilities of layers 1..L after the last step."""
        return [buf[0] for buf in self._p]

    @property
    def b(self) -> list[np.ndarray]:
        """Burst rates of layers 1..L after the last step."""
        return [buf[0] for buf in self._b]

    @property
    def output_p(self) -> np.ndarray:
        """Burst probability of the output layer after the last step (an internal array)."""
        return self._p[self.L - 1][0]

    @property
    def traces(self) -> list[np.ndarray]:
        """Presynaptic traces e_bar of layers 1..L after the last step."""
        return [buf[0] for buf in self._tr]

    def copy_weights_from(self, other: "ContinuousBurstCCN") -> None:
        """Copy the forward weights and biases of `other` (same sizes); feedback follows them."""
        if tuple(other.sizes) != self.sizes:
            raise ValueError(f"sizes differ: {other.sizes} vs {self.sizes}")
        for l in range(self.L):
            np.copyto(self.W[l], other.W[l])
            np.copyto(self.c[l], other.c[l])

    # -- dynamics ------------------------------------------------------------------------------------
    def step(self, x, target=None, learn: bool = True) -> np.ndarray:
        """Advance one step with input `x`; `target` None is prediction mode (p_L = p_b, no
        plasticity), otherwise teaching mode (plasticity when `learn` and lr > 0). Returns the output
        event rate e_L: an internal array, valid until the next call (copy it to keep it)."""
        L, p_b = self.L, self.p_b
        # cache: swap the double buffers; index 1 now holds the previous step's values
        for bufs in (self._e, self._b, self._p, self._tr):
            for pair in bufs:
                pair[0], pair[1] = pair[1], pair[0]
        xin = self._somata(x)
        # output burst probability (teacher uses this step's e_L)
        eL, pL, bL = self._e[L - 1][0], self._p[L - 1][0], self._b[L - 1][0]
        if target is None:
            pL.fill(p_b)
        else:
            tmp = self._tmp[L - 1]
            np.subtract(target, eL, out=pL)       # t - e
            np.subtract(1.0, eL, out=tmp)         # 1 - e
            pL *= tmp
            pL *= p_b
            pL += p_b
        np.multiply(pL, eL, out=bL)
        # hidden dendrites top-down, from the cached e and b of the layer above
        a_u = self.dt / self.tau_u
        for l in range(L - 2, -1, -1):
            d = self._tmp2[l + 1]
            np.multiply(self._e[l + 1][1], p_b, out=d)
            np.subtract(self._b[l + 1][1], d, out=d)             # b~ - p_b e~  (= Y^T b~ + Q^T e~ after W^T)
            fb = self._tmp[l]
            np.dot(self.W[l + 1].T, d, out=fb)
            g = self._tmp2[l]
            e_old = self._e[l][1]
            np.subtract(1.0, e_old, out=g)
            g *= self.beta
            fb *= g
            u = self.u[l]
            fb -= u
            fb *= a_u
            u += fb
            p = self._p[l][0]
            _sigmoid(u, p)
            np.multiply(p, self._e[l][0], out=self._b[l][0])
            # trace: two Euler sub-steps towards the cached event rate
            a_ma = self.dt / self.tau_ma[l]
            tr_new, tr_old = self._tr[l][0], self._tr[l][1]
            np.subtract(e_old, tr_old, out=tr_new)
            tr_new *= a_ma
            tr_new += tr_old
            np.subtract(e_old, tr_new, out=g)
            g *= a_ma
            tr_new += g
        # plasticity from the cached p and e; x_bar_0 = input trace, x_bar_{l-1} = cached trace
        xb = self.xbar
        if target is not None and learn and self.eta != 0.0:
            eta = self.eta
            for l in range(L):
                err = self._err[l]
                np.subtract(self._p[l][1], p_b, out=err)
                err *= self._e[l][1]
                err *= eta
                pre = self.xbar if l == 0 else self._tr[l - 1][1]
                dW = self._dW[l]
                np.multiply(err[:, None], pre[None, :], out=dW)
                self.W[l] += dW
                self.c[l] += err
        # input trace: one Euler step with the current input, after the weight update, so that the
        # update reads it as cached at the start of the step (inputs up to the previous step, the
        # ones that drove e~_1), like the hidden layers' traces
        xt = self._xtmp
        np.subtract(xin, xb, out=xt)
        xt *= self.dt / self.tau_in
        xb += xt
        return eL

    def feedforward_step(self, x) -> np.ndarray:
        """Prediction-mode step of the somata only (no dendrites, traces or plasticity): what a
        teacher network needs. The output event rate is identical to ``step(x, None, False)``;
        returns it as an internal array valid until the next call. Use one of the two methods
        throughout a run: this one leaves burst rates, dendrites and traces untouched."""
        for pair in self._e:
            pair[0], pair[1] = pair[1], pair[0]
        self._somata(x)
        return self._e[self.L - 1][0]

    def _somata(self, x) -> np.ndarray:
        """Feedforward Euler step of every soma: layer 1 from the current input `x`, layer l > 1
        from the cached (previous-step) rates below. Returns the internal copy of `x`."""
        xin = self._x
        xin[...] = x
        a_z = self.dt / self.tau_z
        for l in range(self.L):
            pre = xin if l == 0 else self._e[l - 1][1]
            tmp = self._tmp[l]
            v = self.v[l]
            np.dot(self.W[l], pre, out=tmp)
            tmp += self.c[l]
            tmp -= v
            tmp *= a_z
            v += tmp
            _sigmoid(v, self._e[l][0])
        return xin
