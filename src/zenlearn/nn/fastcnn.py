"""`fast-cnn`: a small batch-norm CNN for reaching 99 % on MNIST in seconds on a CPU (examples/mnist-fast.yaml)."""

from __future__ import annotations

from torch import Tensor, nn


class FastCNN(nn.Module):
    """Crop a border, then three stages of conv(3x3, same) → max-pool(2) → batch norm → ReLU, one dense layer.

    Each choice was measured on MNIST (docs/benchmarks.md, issue 7): the 2-pixel border of a 28x28 MNIST
    digit is almost always empty, and cropping it makes every stage 27 % cheaper (24 → 12 → 6 → 3);
    channel counts that are multiples of 16 run oneDNN's fast bf16 kernels (24 channels ran 1.6x
    slower than 16); pooling straight after each convolution lets batch norm and ReLU work on a 4x
    smaller tensor; convolutions have no bias (batch norm's shift replaces it).

    Args:
        in_channels: Input channels. Defaults to 1.
        num_classes: Output classes. Defaults to 10.
        image_size: Input height/width (square). Defaults to 28.
        widths: Channels of the three stages. Defaults to (16, 48, 64).
        crop: Pixels cut from every border before the first convolution; the cropped side must stay at
            least 8. Defaults to 2.

    Example:
        >>> import torch
        >>> FastCNN()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
                 widths: tuple[int, ...] = (16, 48, 64), crop: int = 2) -> None:
        super().__init__()
        if crop < 0 or image_size - 2 * crop < 8:
            raise ValueError(f"crop must leave a side of at least 8 pixels: image_size {image_size}, crop {crop}")
        self.crop = crop
        layers: list[nn.Module] = []
        side, width = image_size - 2 * crop, in_channels
        for w in widths:
            layers += [nn.Conv2d(width, w, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w), nn.ReLU()]
            side, width = side // 2, w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * side * side, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        if self.crop:
            c = self.crop
            x = x[:, :, c:-c, c:-c]  # (B, C, H, W) -> (B, C, H - 2c, W - 2c)
        return self.head(self.features(x))  # -> (B, num_classes)
