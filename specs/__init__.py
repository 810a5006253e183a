"""The registered functions: what ``make verify`` verifies.

Importing this package registers with :data:`harness.REGISTRY` the seed's four activations
(ReLU, sigmoid, tanh, softmax: :mod:`specs.activations`), the other activations in common use
(:mod:`specs.activations_extra`) and PReLU with its slope as an input
(:mod:`specs.parametric`), the second-order specs of the smooth ones
(:mod:`specs.second_order`), the dense layer and the costs of the seed series
(:mod:`specs.layers`), and two whole networks checked from their parameter dictionaries
(:mod:`specs.networks`).
"""

from specs import activations, activations_extra, layers, networks, parametric, second_order

__all__ = [
    "activations",
    "activations_extra",
    "layers",
    "networks",
    "parametric",
    "second_order",
]
