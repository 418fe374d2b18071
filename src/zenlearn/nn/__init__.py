"""Models, activations and weight initialisation by name (plain `nn.Module`s)."""
