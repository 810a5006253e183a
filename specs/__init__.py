"""The registered functions: what ``make verify`` verifies.

Importing this package registers the seed's four activations (ReLU, sigmoid, tanh, softmax,
:mod:`specs.activations`) and the other activations in common use
(:mod:`specs.activations_extra`) with :data:`harness.REGISTRY`.
"""

from specs import activations, activations_extra

__all__ = ["activations", "activations_extra"]
