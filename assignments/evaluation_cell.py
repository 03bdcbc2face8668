# Given code (locked): evaluation, collapse summary and the JSON record of one trained model.
# Phase 4A asked you to write these yourself; here they are provided so you can focus on fusion.
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def evaluate(y_true, y_pred):
    """Accuracy, macro precision / recall / F1, per-class scores and the confusion matrix (scikit-learn)."""
    labels = list(range(NUM_CLASSES))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def collapse_summary(y_pred, threshold=0.9):
    """Has the model collapsed onto one class? (one class >= 90 % of the predictions)"""
    counts = np.bincount(np.asarray(y_pred, dtype=int), minlength=NUM_CLASSES)
    majority = int(np.argmax(counts))
    share = float(counts[majority] / counts.sum())
    return {"collapsed": share >= threshold, "majority_class": majority,
            "majority_class_name": CLASS_NAMES[majority], "majority_share": share,
            "predicted_classes": [int(c) for c in np.flatnonzero(counts)]}


def model_record(name, bands, y_true, y_pred, history, model_path=None):
    """One trained model's entry in a metrics JSON file (the layout the autograder reads)."""
    evaluation = evaluate(y_true, y_pred)
    losses = history.get("val_loss", [])
    return {
        "name": name,
        "bands": list(bands),
        "accuracy": evaluation["accuracy"],
        "macro_f1": evaluation["macro_f1"],
        "evaluation": evaluation,
        "collapse": collapse_summary(y_pred),
        "training": {"epochs_run": len(losses),
                     "best_epoch": int(np.argmin(losses)) + 1 if losses else None,
                     "history": {k: [float(v) for v in vs] for k, vs in history.items()}},
        "model_path": None if model_path is None else str(model_path),
    }


def plot_confusion(ax, matrix, title):
    """Draw a confusion matrix (rows: truth, columns: prediction) on ``ax``."""
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), n in np.ndenumerate(matrix):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if n > matrix.max() / 2 else "black")
