"""Which shares start a fully free GPU, once few are left, instead of filling a GPU's hole.

Once no GPU is fully free, only the holes left on shared GPUs can take pods, and a mix whose
commonest large share leaves a remainder that almost nothing fills (an 810-milli share leaves
190) ends with one such remainder on nearly every GPU that share took. Each fully free GPU is
taken by whichever pod asks first; a share small enough to close it to the mix's largest share
takes it instead, and leaves a hole that the smaller shares still arriving fill.

This only pays where a fully free GPU left to the arriving mix is expected to end more wasted
than one started by some share of the mix, in the expected eventual waste W of
`remainder_waste`: W(1000) > min over share sizes m of W(1000 - m). On mixes where whole-GPU
pods or well-filled large shares take fresh GPUs, no share qualifies and nothing changes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.state import ClusterState
from recommender.gpu.placement.tables import MILLI
from recommender.gpu.placement.typical_pods import TypicalPods


def fresh_gpu_openers(typical: TypicalPods, waste: NDArray[np.float64]) -> NDArray[np.bool_]:
    """`[0..1000]`: True for share sizes that start fully free GPUs once few are left.

    `waste` is W(g) for g = 0..1000 free (`remainder_waste.expected_waste`). A size qualifies
    when the mix gains from shares starting GPUs (see the module docstring), it is smaller than
    the mix's largest share, and its remainder 1000 - m is too, so that share can no longer take
    the GPU. The largest share itself keeps its choice: a GPU holding a small share suits it.
    """
    shares = (typical.num_gpu == 1) & (typical.gpu_milli > 0) & (typical.gpu_milli < MILLI)
    sizes = typical.gpu_milli[shares]
    openers = np.zeros(MILLI + 1, dtype=np.bool_)
    if sizes.size == 0 or waste[MILLI] <= waste[MILLI - sizes].min():
        return openers
    milli = np.arange(MILLI + 1)
    largest = int(sizes.max())
    openers[(milli > 0) & (milli < largest) & (MILLI - milli < largest)] = True
    return openers


def fresh_gpus_scarce(state: ClusterState, fraction: float) -> bool:
    """True when fewer than `fraction` of the cluster's GPUs are fully free."""
    return int(state.full_free.sum()) < fraction * int(state.nodes.gpu_count.sum())
