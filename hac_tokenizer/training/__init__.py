"""Training of HAC models (install with the ``[train]`` extra): data, losses, distillation, trainer."""
