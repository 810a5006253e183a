"""Adapters: verify code written in PyTorch or JAX with the harness.

Each adapter builds an ordinary :class:`harness.Spec` whose ``forward``/``vjp``/``jvp`` take and
return numpy arrays (the harness's currency), convert them to the framework's arrays, call the
framework code and convert back. Everything the harness does for numpy specs then applies.

``harness.extra.torch``
    ``from_function`` (a ``torch.autograd.Function`` subclass), ``from_module`` (an
    ``nn.Module``), ``from_callable`` (any function of tensors). Needs the ``torch`` extra:
    ``pip install -e '.[torch]'``.
``harness.extra.jax``
    ``from_jax`` (a function with ``jax.custom_vjp`` / ``jax.custom_jvp``, or any jax function).
    Needs the ``jax`` extra: ``pip install -e '.[jax]'``.

The framework modules are imported only when an adapter module is imported, so the harness
itself does not depend on either.
"""

from harness.extra._common import FrameworkFailure, MultiInputCoreMissing

__all__ = ["FrameworkFailure", "MultiInputCoreMissing"]
