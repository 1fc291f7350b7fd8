"""The evaluation's outputs: metrics.json, report.md and a plot of MAP@k against k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASELINES = ("popularity", "lightfm-cf", "lightfm-hybrid", "als")


def _ks(doc: dict[str, Any]) -> list[int]:
    first = next(iter(doc["models"].values()))
    return sorted(int(key.split("@")[1]) for key in first if key.startswith("map@")
                  and not key.endswith("_std"))  # fmt: skip


def best_baseline(doc: dict[str, Any], k: int = 5) -> tuple[str, float]:
    scores = {n: m[f"map@{k}"] for n, m in doc["models"].items() if n in BASELINES}
    name = max(scores, key=lambda n: scores[n])
    return name, scores[name]


def markdown(doc: dict[str, Any]) -> str:
    ks, split = _ks(doc), doc["split"]
    lines = [
        f"# Offline evaluation: {doc['dataset']}",
        "",
        f"Global temporal split: test = events after {split['test_start']} (latest "
        f"{split['test_fraction']:.0%}), validation (tuning, early stopping) from "
        f"{split['validation_start']}. {split['training_interactions']:,} training interactions, "
        f"{split['test_users']:,} test users with {split['test_interactions']:,} test "
        f"interactions ({split['test_on_new_items']:.0%} on items unseen in training), ranked "
        f"over all {split['items']:,} items minus each user's training items. Mean ± std over "
        f"{split['seeds']} seeds (popularity is deterministic).",
        "",
        "`map@k` is the original work's MAP@k: the mean over users of precision@k.",
        "",
        "| model | " + " | ".join(f"map@{k}" for k in ks) + " | ap@5 | recall@5 | ndcg@5 "
        "| coverage@10 |",
        "|---|" + "---|" * (len(ks) + 4),
    ]
    for name, m in doc["models"].items():
        cells = [f"{m[f'map@{k}']:.4f} ± {m[f'map@{k}_std']:.4f}" for k in ks]
        cells += [f"{m['ap@5']:.4f}", f"{m['recall@5']:.4f}", f"{m['ndcg@5']:.4f}",
                  f"{m.get('coverage@10', 0):.3f}"]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    name, score = best_baseline(doc)
    served = doc["models"]["forecourt-served"]
    ratio = served["map@5"] / score if score else float("inf")
    lines += [
        "",
        f"Forecourt (served path) MAP@5 {served['map@5']:.4f} against the best tuned baseline "
        f"({name}) {score:.4f}: {ratio:.2f}× ({(ratio - 1) * 100:+.0f}%).",
        f"Candidate stage (Milvus top {split['candidates']}): "
        f"{served.get('candidate_recall@5', float('nan')):.3f} of the exhaustive top 5 and "
        f"{served.get('candidate_recall@10', float('nan')):.3f} of the top 10 survive retrieval.",
        "",
        "## Chosen parameters",
        "",
    ]
    for name, m in doc["models"].items():
        lines.append(f"- **{name}**: `{json.dumps(m['params'], default=str)}`")
    lines += ["", "![MAP@k](map_at_k.png)", ""]
    return "\n".join(lines)


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    ks = _ks(doc)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, m in doc["models"].items():
        means = [m[f"map@{k}"] for k in ks]
        stds = [m[f"map@{k}_std"] for k in ks]
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k")
    ax.set_ylabel("MAP@k (mean precision@k)")
    ax.set_title(f"{doc['dataset']}: MAP@k on the test period")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(doc: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "metrics.json", out / "report.md", out / "map_at_k.png"]
    files[0].write_text(json.dumps(doc, indent=2, default=str))
    files[1].write_text(markdown(doc))
    plot(doc, files[2])
    return files
