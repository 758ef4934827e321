"""The milli-GPU a GPU's free room is expected to end as unused, under the arriving pod mix.

FGD counts a GPU's free milli as fragmented for every typical pod that cannot use it *now*. That
makes a 530-milli hole look worse than a 190-milli one (810- and 1000-milli pods cannot use the
530), although 470-milli shares are common and fill it, while almost nothing ever fills 190.
This module values a hole by what it is expected to end as.

Offers arrive at a GPU with g free from the typical mix (type t with frequency f_t; a pod of
several whole GPUs offers 1000 to each). The GPU is offered pods `horizon` times; at each offer a
fitting type (m_t <= g) is drawn with probability q(g) = sum of f_t over fitting types. If none
of the `horizon` offers fits, the g milli end unused; otherwise the first fitting pod is drawn in
proportion to its frequency and the GPU continues from g - m_t:

    W(g) = (1 - q)^H g + (1 - (1 - q)^H) sum_{t fits} (f_t / q) W(g - m_t),   W(0) = 0.

A finite horizon is what makes rare sizes count as rare: with H = 30 and small pods 2 % of the
mix, a 190-milli remainder ends about 110 milli unused, a 530-milli one about 85 (most of it the
60 milli that two 470-milli shares leave).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI
from recommender.gpu.placement.typical_pods import TypicalPods


def expected_waste(typical: TypicalPods, horizon: float) -> NDArray[np.float64]:
    """W(g) for g = 0..1000 milli free on one GPU: the milli expected to end unused."""
    gpu = typical.needs_gpu
    sizes = np.where(typical.num_gpu[gpu] > 1, MILLI, typical.gpu_milli[gpu]).astype(np.int64)
    weights = typical.weight[gpu]
    waste = np.zeros(MILLI + 1, dtype=np.float64)
    for free in range(1, MILLI + 1):
        fits = sizes <= free
        reach = float(weights[fits].sum())
        if reach <= 0.0:
            waste[free] = free
            continue
        unfilled = (1.0 - min(reach, 1.0)) ** horizon
        filled = float(weights[fits] @ waste[free - sizes[fits]]) / reach
        waste[free] = unfilled * free + (1.0 - unfilled) * filled
    return waste
