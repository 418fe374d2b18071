"""Whole jobs built from the layers below: train / evaluate a run, compare, distill, quickstart, export, reproduce."""
