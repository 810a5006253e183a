"""The registered functions: what ``make verify`` verifies.

Importing this package registers the seed's four activations (ReLU, sigmoid, tanh, softmax)
with :data:`harness.REGISTRY`.
"""

from specs import activations

__all__ = ["activations"]
