"""Optimizers and learning-rate schedules by name, and the LR range test."""
