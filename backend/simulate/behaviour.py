"""Users with latent tastes who browse the simulated catalogue in sessions.

Each user has a budget (with a tolerance on the log-price scale), one to three favourite
makes, one or two favourite body types, maybe a preferred fuel, and an activity rate. A
session happens at some time, looks at a random page of what is on sale then, and views the
vehicles it likes most (a noisy choice by utility); a viewed vehicle may be bookmarked, more
rarely the dealer contacted, both likelier the better it fits. The event shares come out
near the original marketplace's (87 % views, 12.6 % bookmarks, 0.4 % contacts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.simulate.catalogue import Catalogue

W_MAKE, W_BODY, W_FUEL = 2.0, 1.5, 1.0  # utility of a favourite make / body type / fuel
PAGE = 200  # vehicles a session looks at
VIEWS_PER_SESSION = 6.0  # mean; geometric
SHARE_BOOKMARK, SHARE_CONTACT = 0.126 / 0.87, 0.004 / 0.87  # per view


@dataclass
class Users:
    budget: np.ndarray  # [U] EUR
    tolerance: np.ndarray  # [U] width on the log-price scale
    makes: np.ndarray  # [U, n_makes] bool: favourite makes (codes of Codes.makes)
    bodies: np.ndarray  # [U, n_bodies] bool
    fuel: np.ndarray  # [U] preferred fuel code, -1 = none
    activity: np.ndarray  # [U] relative session rate

    def __len__(self) -> int:
        return len(self.budget)


@dataclass
class Codes:
    """The catalogue's categorical values as integer codes."""

    makes: np.ndarray
    make: np.ndarray  # [N]
    bodies: np.ndarray
    body: np.ndarray
    fuels: np.ndarray
    fuel: np.ndarray

    @classmethod
    def of(cls, cat: Catalogue) -> Codes:
        makes, make = np.unique(cat.make.astype(str), return_inverse=True)
        bodies, body = np.unique(cat.body.astype(str), return_inverse=True)
        fuels, fuel = np.unique(cat.fuel.astype(str), return_inverse=True)
        return cls(makes, make, bodies, body, fuels, fuel)


def _favourites(rng: np.random.Generator, codes: np.ndarray, size: int, n_users: int,
                most: int) -> np.ndarray:  # fmt: skip
    """[U, size] bool: 1..``most`` values per user, drawn by their share in the catalogue."""
    share = np.bincount(codes, minlength=size) / len(codes)
    out = np.zeros((n_users, size), dtype=bool)
    counts = rng.integers(1, most + 1, n_users)
    for u in range(n_users):
        out[u, rng.choice(size, size=min(counts[u], size), replace=False, p=share)] = True
    return out


def sample_users(cat: Catalogue, codes: Codes, n: int, rng: np.random.Generator) -> Users:
    budget = cat.price[rng.integers(0, len(cat), n)] * rng.lognormal(0.0, 0.2, n)
    fuel_share = np.bincount(codes.fuel, minlength=len(codes.fuels)) / len(cat)
    fuel = np.where(rng.random(n) < 0.6, rng.choice(len(codes.fuels), n, p=fuel_share), -1)
    return Users(
        budget=np.round(budget, -2), tolerance=rng.uniform(0.15, 0.45, n),
        makes=_favourites(rng, codes.make, len(codes.makes), n, 3),
        bodies=_favourites(rng, codes.body, len(codes.bodies), n, 2),
        fuel=fuel, activity=rng.lognormal(0.0, 1.0, n),
    )  # fmt: skip


def utility(users: Users, cat: Catalogue, codes: Codes, user: np.ndarray,
            cand: np.ndarray) -> np.ndarray:  # fmt: skip
    """[S, M] how much user ``user[s]`` likes vehicle ``cand[s, m]``."""
    u = user[:, None]
    price_gap = (np.log(cat.price[cand]) - np.log(users.budget[u])) / users.tolerance[u]
    return (W_MAKE * users.makes[u, codes.make[cand]] + W_BODY * users.bodies[u, codes.body[cand]]
            + W_FUEL * (codes.fuel[cand] == users.fuel[u]) - 0.5 * price_gap**2)  # fmt: skip


@dataclass
class Events:
    user: np.ndarray  # [E]
    vehicle: np.ndarray  # [E] catalogue row
    kind: np.ndarray  # [E] 0 view, 1 bookmark, 2 contact
    t: np.ndarray  # [E] unix seconds, ascending


def browse(cat: Catalogue, users: Users, codes: Codes, n_events: int, rng: np.random.Generator,
           *, start: float, days: float, chunk: int = 4096) -> Events:  # fmt: skip
    """About ``n_events`` events (exactly, after trimming) in time order."""
    order = np.argsort(cat.listed_at, kind="stable")
    listed = cat.listed_at[order]
    rate = users.activity / users.activity.sum()
    parts: list[tuple[np.ndarray, ...]] = []
    made = 0
    while made < n_events:
        n = chunk
        who = rng.choice(len(users), n, p=rate)
        when = np.sort(start + rng.random(n) * days * 86_400)
        on_sale = np.maximum(np.searchsorted(listed, when, side="right"), 1)
        cand = order[(rng.random((n, PAGE)) * on_sale[:, None]).astype(np.int64)]
        score = utility(users, cat, codes, who, cand)
        score[cat.sold_at[cand] <= when[:, None]] = -np.inf  # sold by then: not on the page
        noisy = score + rng.gumbel(size=score.shape)  # a noisy choice: Gumbel top-k
        top = min(20, PAGE)
        pick = np.argpartition(-noisy, top - 1, axis=1)[:, :top]
        pick = np.take_along_axis(pick, np.argsort(-np.take_along_axis(noisy, pick, 1), 1), 1)
        views = np.minimum(rng.geometric(1 / VIEWS_PER_SESSION, n), top)
        rank = np.arange(top)[None, :]
        keep = (rank < views[:, None]) & np.isfinite(np.take_along_axis(score, pick, 1))
        s_idx, r_idx = np.nonzero(keep)
        vehicle = cand[s_idx, pick[s_idx, r_idx]]
        liked = np.exp(np.clip(score[s_idx, pick[s_idx, r_idx]], -20, 10))
        liked /= liked.mean() if len(liked) else 1.0
        t = when[s_idx] + 60.0 * r_idx
        bookmark = rng.random(len(vehicle)) < np.minimum(SHARE_BOOKMARK * liked, 1.0)
        contact = rng.random(len(vehicle)) < np.minimum(SHARE_CONTACT * liked, 1.0)
        for mask, kind, delay in ((np.ones_like(bookmark), 0, 0.0), (bookmark, 1, 10.0),
                                  (contact, 2, 20.0)):  # fmt: skip
            parts.append((who[s_idx][mask], vehicle[mask], np.full(mask.sum(), kind),
                          t[mask] + delay))  # fmt: skip
            made += int(mask.sum())
    user, vehicle, kind, t = (np.concatenate(c) for c in zip(*parts, strict=True))
    # Every chunk spans the whole period: a random subset keeps the timeline even.
    keep = np.sort(rng.choice(len(t), n_events, replace=False))
    keep = keep[np.argsort(t[keep], kind="stable")]
    return Events(user[keep], vehicle[keep], kind[keep], t[keep])
