"""The input and output ends of a model for tables: embeddings for the category codes that follow a table's
dense features, and the regression target's scale (see `zenlearn.data.preprocess`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zenlearn.data.preprocess import embedding_dims


class TableModel(nn.Module):
    """`body` between a table's category embeddings and its target scale.

    The last `len(embedded)` input features are integer codes (0: unknown); each is replaced by its learned
    embedding before `body` sees the row. Outputs are `body(x) * target_std + target_mean`, so the body learns
    standardised targets while the loss and metrics stay in the target's units.

    Args:
        body: The model on dense rows (B, dense + sum of embedding widths).
        embedded: Codes per embedded column. Defaults to none.
        target_mean: Added to the outputs. Defaults to 0.
        target_std: Multiplies the outputs. Defaults to 1.

    Example:
        >>> m = TableModel(nn.Linear(2 + embedding_dims(5), 1), [5], target_mean=10.0)
        >>> m(torch.tensor([[0.5, -1.0, 3.0]])).shape
        torch.Size([1, 1])
    """

    def __init__(self, body: nn.Module, embedded: list[int] | tuple[int, ...] = (), target_mean: float = 0.0,
                 target_std: float = 1.0) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, embedding_dims(n)) for n in embedded)
        self.body = body
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    @staticmethod
    def width(features: int, embedded: list[int]) -> int:
        """Row width the body sees for `features` inputs of which the last len(embedded) are codes."""
        return features - len(embedded) + sum(embedding_dims(n) for n in embedded)

    def forward(self, x: Tensor) -> Tensor:
        if len(self.embeddings):
            k = len(self.embeddings)
            codes = x[:, -k:].long()  # (B, K)
            x = torch.cat([x[:, :-k], *(e(codes[:, i]) for i, e in enumerate(self.embeddings))], 1)  # (B, D + E)
        return self.body(x) * self.target_std + self.target_mean
