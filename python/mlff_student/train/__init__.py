"""Distillation: sampling and labelling datasets, batching them, training, the distill command."""
