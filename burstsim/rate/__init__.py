"""Rate-based reference models (numpy).

Discrete-time networks of sigmoid units that share one interface (:class:`network.RateNetwork`):
BurstCCN in its journal and original forms (Greedy et al. 2022), Burstprop (Payeur et al. 2021),
the dendritic error network EDN (Sacramento et al. 2018), and ANNs trained by backprop, feedback
alignment and Kolen-Pollack, and the dendritic error microcircuit in the two-pass steady-state
form of Sacramento et al.'s MNIST runs (`dendritic_error_steady`; its full dynamics: `dendritic_error`).
`alignment` measures each model's update against backprop, `training` trains them on image data
sets (`burstsim.data`), `continuous` is the continuous-time BurstCCN. Equations:
``specs/burstccn.md`` sections 1-3; ``specs/microcircuits.md`` section 1.
"""

from burstsim.rate.ann import ANN
from burstsim.rate.burstccn import BurstCCN
from burstsim.rate.burstprop import Burstprop
from burstsim.rate.dendritic_error_steady import SteadyStateDendriticError
from burstsim.rate.edn import EDN
from burstsim.rate.network import RateNetwork

MODELS = {"burstccn": BurstCCN, "burstprop": Burstprop, "edn": EDN, "ann": ANN,
          "dendritic_error": SteadyStateDendriticError}

__all__ = ["ANN", "BurstCCN", "Burstprop", "EDN", "MODELS", "RateNetwork", "SteadyStateDendriticError"]
