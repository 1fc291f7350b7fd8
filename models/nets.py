"""The three subnetworks. Towers map into one embedding space; RankNet scores a pair.

UserNet and ItemNet have separate weights: a profile is a distribution over the feature space
(probabilities, mean and std, confidence), a vehicle a point in it. Their embeddings are
L2-normalised, so the retrieval stage (Milvus, inner product) ranks by cosine similarity. No
loss lives here (models/train.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    user_width: int  # profile input width (models/inputs.py)
    item_width: int  # vehicle input width
    n_items: int = 0  # known item ids for the id embedding; 0 = content only
    history: int = 0  # recent items UserNet pools (collaborative signal); 0 = profile only
    dim: int = 64  # embedding size, also the Milvus vector size
    hidden: tuple[int, ...] = (256,)  # tower hidden layers
    rank_hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    # Windows (days) of the recent-popularity features RankNet sees (models/trend.py).
    trend_days: tuple[float, ...] = ()
    # One more RankNet feature: the vehicle has no interaction yet (models/trend.py).
    novelty: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> NetConfig:
        return cls(
            **{**doc, "hidden": tuple(doc["hidden"]), "rank_hidden": tuple(doc["rank_hidden"]),
               "trend_days": tuple(doc.get("trend_days", ()))}
        )  # fmt: skip


def _mlp(width: int, hidden: tuple[int, ...], out: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(width, size), nn.LayerNorm(size), nn.GELU(), nn.Dropout(dropout)]
        width = size
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


class UserNet(nn.Module):
    """Profile -> e_u. With ``history``, it also pools learned embeddings of the user's recent
    items (weighted like the profile's events): content says what kind of vehicle, the
    history says which ones people with this history went on to pick."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        pooled = cfg.dim if cfg.history and cfg.n_items else 0
        self.history = nn.Embedding(cfg.n_items + 1, cfg.dim, sparse=True) if pooled else None
        if self.history is not None:
            nn.init.normal_(self.history.weight, std=0.01)
        self.body = _mlp(cfg.user_width + pooled, cfg.hidden, cfg.dim, cfg.dropout)

    def forward(
        self, profile: torch.Tensor, items: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        # profile [B, user_width], items [B, L] id-embedding indices, weights [B, L] -> [B, dim]
        if self.history is not None:
            if items is None or weights is None:
                items = torch.zeros(len(profile), 1, dtype=torch.long)
                weights = torch.zeros(len(profile), 1)
            pooled = (self.history(items) * weights.unsqueeze(-1)).sum(1)
            pooled = pooled / weights.sum(1, keepdim=True).clamp_min(1e-6)
            profile = torch.cat([profile, pooled], dim=-1)
        return nn.functional.normalize(self.body(profile), dim=-1)


class ItemNet(nn.Module):
    """Content tower, plus an id embedding for vehicles seen in training. Id 0 is "unknown"
    (a new listing): training drops ids at random, so content alone must carry the embedding."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.body = _mlp(cfg.item_width, cfg.hidden, cfg.dim, cfg.dropout)
        # Sparse gradients: a step touches only the batch's rows, not a 1.7M-row table.
        self.ids = nn.Embedding(cfg.n_items + 1, cfg.dim, sparse=True) if cfg.n_items else None
        if self.ids is not None:
            nn.init.zeros_(self.ids.weight)  # starts as a pure content model

    def forward(self, item: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        # item [B, item_width], ids [B] (0 = unknown) -> e_i [B, dim], unit length
        e = self.body(item)
        if self.ids is not None and ids is not None:
            e = e + self.ids(ids)
        return nn.functional.normalize(e, dim=-1)


class RankNet(nn.Module):
    """The pair (e_u, e_i), their product and cosine, and the item's recent popularity and
    novelty where the config has them -> one logit."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.windows, self.novelty = len(cfg.trend_days), cfg.novelty
        self.trend = self.windows + int(cfg.novelty)
        self.body = _mlp(3 * cfg.dim + 1 + self.trend, cfg.rank_hidden, 1, cfg.dropout)
        # Weights of the first trend feature and of novelty added to the logit, chosen on
        # validation after training (models.train.calibrate_trend): BCE against uniform
        # negatives learns "trending or not", not how far to follow this week's attention
        # when ranking.
        self.register_buffer("trend_weight", torch.zeros(()))
        self.register_buffer("novelty_weight", torch.zeros(()))

    def forward(
        self, e_u: torch.Tensor, e_i: torch.Tensor, trend: torch.Tensor | None = None
    ) -> torch.Tensor:
        # e_u, e_i [..., dim], trend [..., windows] -> logit [...]; sigmoid = probability
        cos = (e_u * e_i).sum(-1, keepdim=True)
        parts = [e_u, e_i, e_u * e_i, cos]
        if self.trend:
            if trend is None:
                raise ValueError("this RankNet was trained with trend features: pass them")
            parts.append(trend)
        logit = self.body(torch.cat(parts, dim=-1)).squeeze(-1)
        if self.windows:
            logit = logit + self.trend_weight * trend[..., 0]  # type: ignore[index]
        if self.novelty:
            logit = logit + self.novelty_weight * trend[..., -1]  # type: ignore[index]
        return logit


@dataclass
class Nets:
    """The three networks of one model version, trained together."""

    config: NetConfig
    user: UserNet = field(init=False)
    item: ItemNet = field(init=False)
    rank: RankNet = field(init=False)

    def __post_init__(self) -> None:
        self.user, self.item, self.rank = (
            UserNet(self.config),
            ItemNet(self.config),
            RankNet(self.config),
        )

    def modules(self) -> list[nn.Module]:
        return [self.user, self.item, self.rank]

    def parameters(self) -> list[nn.Parameter]:
        return [p for m in self.modules() for p in m.parameters()]

    def train(self, mode: bool = True) -> None:
        for m in self.modules():
            m.train(mode)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"user": self.user.state_dict(), "item": self.item.state_dict(),
                "rank": self.rank.state_dict()}  # fmt: skip

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        self.user.load_state_dict(state["user"])
        self.item.load_state_dict(state["item"])
        # Artefacts from before the novelty feature have no novelty weight: it was 0.
        self.rank.load_state_dict({"novelty_weight": torch.zeros(()), **state["rank"]})
