"""Batched image augmentation on the device, with Keras `ImageDataGenerator` option names.

`spec` turns text ("cifar,rotation_range=5") into keyword arguments, `params` draws per-sample
parameters, `warp` samples the composed affine grid, and `pipeline.Augment` ties them together.
"""
