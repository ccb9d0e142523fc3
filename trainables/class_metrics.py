"""Classification metrics from scikit-learn: accuracy, macro one-vs-rest ROC AUC, ROC curves."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # figures are drawn on headless machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    confusion_matrix,
    roc_auc_score,
    roc_curve,
)


def macro_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """ROC AUC: of the positive class for two classes, else macro one-vs-rest; nan if undefined."""
    try:
        if probs.shape[1] == 2:
            return float(roc_auc_score(labels, probs[:, 1]))
        return float(roc_auc_score(labels, probs, multi_class="ovr", average="macro",
                                   labels=np.arange(probs.shape[1])))
    except ValueError:  # a class absent from the labels
        return math.nan


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(accuracy_score(labels, probs.argmax(1)))


def evaluation_summary(labels: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    """Per-class ROC curves (one vs rest), their AUCs and the confusion matrix, as plain lists."""
    roc = {}
    for index, name in enumerate(classes):
        positives = labels == index
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = roc_curve(positives, probs[:, index])
        roc[name] = {"fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(),
                     "auc": float(roc_auc_score(positives, probs[:, index]))}
    matrix = confusion_matrix(labels, probs.argmax(1), labels=np.arange(len(classes)))
    return {"classes": list(classes), "roc": roc, "confusion": matrix.tolist(),
            "accuracy": accuracy(labels, probs), "auc": macro_auc(labels, probs)}


def roc_figure(summary: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, curve in summary["roc"].items():
        ax.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {curve['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="tab:gray", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC, one vs rest (macro AUC {summary['auc']:.3f})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def confusion_figure(summary: dict) -> plt.Figure:
    matrix = np.asarray(summary["confusion"])
    classes = summary["classes"]
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2, 1.2 * len(classes) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix (accuracy {summary['accuracy']:.3f})")
    fig.tight_layout()
    return fig


def save_evaluation_figures(summary: dict, folder) -> None:
    """roc.png and confusion.png of an evaluation summary, into `folder`."""
    for name, draw in (("roc.png", roc_figure), ("confusion.png", confusion_figure)):
        figure = draw(summary)
        figure.savefig(f"{folder}/{name}", dpi=120)
        plt.close(figure)
