"""The registered functions: what ``make verify`` verifies.

Importing this package registers the seed's four activations (ReLU, sigmoid, tanh, softmax),
the dense layer and the costs of the seed series (several inputs), and two whole networks
checked from their parameter dictionaries, with :data:`harness.REGISTRY`.
"""

from specs import activations, layers, networks

__all__ = ["activations", "layers", "networks"]
