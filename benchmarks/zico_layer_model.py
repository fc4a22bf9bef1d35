"""How well the layer-term model predicts ZiCo: Spearman ρ and error on random feasible nets.

Scores N random feasible ``mobilenet-imagenet`` nets (plus the published ZiCo-450M) with ZiCo at
the search fidelity (96 px × 16 × 2, Gaussian input, one thread), keeping each net's per-layer
terms, then predicts every net's ZiCo from its structure: with the prior model (a constant
offset per layer) and with the model refitted on the other nets' layer terms (leave one net
out). Prints Spearman ρ, mean absolute error and bias of both, overall and on the better half.

    python benchmarks/zico_layer_model.py [--nets 40] [--budget 450e6] [--layers 14] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch
    from scipy.stats import spearmanr

    from nascli.data import load_data
    from nascli.proxies import get_proxy
    from nascli.proxies.base import Candidate
    from nascli.search.layer_model import LayerTermModel, layer_features, log_numel
    from nascli.search.layer_specs import weight_layers_of
    from nascli.spaces import get_space, resolve_arch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=40)
    parser.add_argument("--budget", type=float, default=450e6)
    parser.add_argument("--layers", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = get_space("mobilenet-imagenet")

    def feasible(arch) -> bool:
        cost = space.cost(arch)
        return cost.macs <= args.budget and cost.layers <= args.layers

    rng = random.Random(args.seed)
    archs = [resolve_arch(str(REPO / "configs" / "archs" / "zico-450m.yaml"))]
    while len(archs) < args.nets:
        arch = space.sample(rng)
        if feasible(arch):
            archs.append(arch)
    batches = load_data(None, num_classes=1000, resolution=96, batch_size=16, n_batches=2).batches
    zico = get_proxy("zico")
    scores, features, offsets, layer_lists = [], [], [], []
    for arch in archs:
        score, terms = zico.score_layers(Candidate(arch, space, 96, 0), batches)
        layers = weight_layers_of(space.layers(arch, resolution=96, residual=False))
        observed = np.array([np.nan if t is None else t for t in terms])
        keep = np.isfinite(observed)
        scores.append(score)
        layer_lists.append(layers)
        features.append(layer_features(layers)[keep])
        offsets.append((observed - log_numel(layers))[keep])
    scores_array = np.array(scores)
    all_offsets = np.concatenate(offsets)
    print(f"{len(archs)} nets, {len(all_offsets)} layer terms; offset mean "
          f"{all_offsets.mean():.3f}, sd {all_offsets.std():.3f}")  # fmt: skip
    for label, refit in (("prior (constant offset)", False), ("refitted, leave one net out", True)):
        predicted = []
        for i, layers in enumerate(layer_lists):
            model = LayerTermModel()
            if refit:
                others = [j for j in range(len(archs)) if j != i]
                model.fit(
                    np.concatenate([features[j] for j in others]),
                    np.concatenate([offsets[j] for j in others]),
                )
            predicted.append(model.predict(layers))
        pred = np.array(predicted)
        error = (pred - scores_array) / scores_array
        better = scores_array >= np.median(scores_array)
        rho = spearmanr(pred, scores_array).statistic
        rho_top = spearmanr(pred[better], scores_array[better]).statistic
        print(f"{label}: Spearman {rho:.3f} (better half {rho_top:.3f}), mean |error| "
              f"{100 * np.abs(error).mean():.2f} %, bias {100 * error.mean():+.2f} %")  # fmt: skip


if __name__ == "__main__":
    main()
