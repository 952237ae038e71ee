"""``train-scorer``: fit a text classifier for TransformersScorer on the labelled answers.

Training data is the committed seed set's ``train`` split plus any extra ``{text, label,
problems}`` records (reviewer corrections from the database); an extra record replaces a seed
answer with the same text. Answers labelled together with a DTMF key are left out: their label
says what the key meant, not what the words alone mean.

Two modes, both offline:
* ``base_dir`` given: fine-tune that local checkpoint (a site's Chinese BERT-like model, or an
  earlier train-scorer output) with a fresh four-label head.
* no base: train a compact BertForSequenceClassification from scratch, with a character vocabulary
  built from the data and the lexicon (2 layers, hidden 128): tens of seconds on two CPU cores.
The held-out ``test`` split is never trained on; its accuracy is reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from callback_service.contracts import LABELS
from callback_service.scoring import lexicon_terms as T
from callback_service.scoring.base import ScoringError
from callback_service.scoring.dataset import LabelledAnswer, load_labelled
from callback_service.scoring.transformers_scorer import MAX_LENGTH, model_input

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
METADATA_FILE = "training.json"


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 1e-3      # from scratch; fine-tuning uses base_learning_rate
    base_learning_rate: float = 5e-5
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    intermediate_size: int = 256
    dropout: float = 0.1
    seed: int = 13
    # One thread: a model this small spends more on thread hand-offs than on maths, and badly so
    # when other processes share the two CI cores.
    threads: int = 1


@dataclass(frozen=True)
class TrainReport:
    out_dir: str
    base: str | None
    examples: int
    extra_examples: int
    epochs: int
    seconds: float
    train_accuracy: float
    test_accuracy: float
    test_examples: int


def training_set(extra: Iterable[dict] = ()) -> tuple[list[LabelledAnswer], int]:
    """Seed train split plus extra records (by text, extras win); DTMF-labelled answers left out."""
    rows = {r.text: r for r in load_labelled("train") if r.dtmf is None and r.text.strip()}
    n_extra = 0
    for record in extra:
        row = LabelledAnswer.from_record(dict(record, dtmf=None))
        if row.text.strip():
            rows[row.text] = row
            n_extra += 1
    return list(rows.values()), n_extra


def build_vocab(texts: Iterable[str]) -> list[str]:
    """Every character of the data and of the lexicon, so key words are known even if unseen."""
    chars: set[str] = set()
    lexicon = [*T.POSITIVES, *T.NEGATIVES, *T.HEDGES, *T.STRONG_NEGATIVES, *T.UNKNOWN_MARKERS,
               *T.NEGATORS, *T.DEGREE_WORDS, T.SATISFIED_WORD]
    for text in [*texts, *lexicon]:
        chars.update(ch for ch in model_input(text) if not ch.isspace())
    return [*SPECIAL_TOKENS, *sorted(chars)]


def _seed(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _scratch_model(vocab: list[str], opts: TrainOptions) -> tuple[Any, Any]:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    tokenizer = BertTokenizer(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True,
                              tokenize_chinese_chars=True)
    config = BertConfig(  # type: ignore[call-arg]  # the stubs miss PretrainedConfig's kwargs
        vocab_size=len(vocab), hidden_size=opts.hidden_size, num_hidden_layers=opts.layers,
        num_attention_heads=opts.heads, intermediate_size=opts.intermediate_size,
        max_position_embeddings=MAX_LENGTH, hidden_dropout_prob=opts.dropout,
        attention_probs_dropout_prob=opts.dropout, num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    )
    return tokenizer, BertForSequenceClassification(config)


def _base_model(base_dir: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not base_dir.is_dir():
        raise ScoringError(f"{base_dir}: base checkpoint directory does not exist (no downloads)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base_dir), local_files_only=True, num_labels=len(LABELS), ignore_mismatched_sizes=True,
            id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ScoringError(f"{base_dir}: cannot load base checkpoint: {exc}") from exc
    return tokenizer, model


def _batches(n: int, size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    return [order[i:i + size] for i in range(0, n, size)]


def _fit(tokenizer: Any, model: Any, rows: Sequence[LabelledAnswer], epochs: int, lr: float,
         opts: TrainOptions) -> None:
    import torch

    texts = [model_input(r.text) for r in rows]
    targets = torch.tensor([LABELS.index(r.label) for r in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    total = max(1, epochs * ((len(rows) + opts.batch_size - 1) // opts.batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total))
    rng = random.Random(opts.seed)
    model.train()
    for epoch in range(epochs):
        loss_sum = 0.0
        for idx in _batches(len(rows), opts.batch_size, rng):
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                            max_length=MAX_LENGTH, return_tensors="pt")
            loss = model(**enc, labels=targets[idx]).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            loss_sum += float(loss.detach())
        log.debug("epoch %s loss %.4f", epoch + 1, loss_sum)
    model.eval()


def accuracy(tokenizer: Any, model: Any, rows: Sequence[LabelledAnswer]) -> float:
    import torch

    if not rows:
        return 0.0
    enc = tokenizer([model_input(r.text) for r in rows], padding=True, truncation=True,
                    max_length=MAX_LENGTH, return_tensors="pt")
    with torch.inference_mode():
        predicted = model(**enc).logits.argmax(dim=-1).tolist()
    return sum(LABELS[p] == r.label for p, r in zip(predicted, rows)) / len(rows)


def _data_digest(rows: Sequence[LabelledAnswer]) -> str:
    blob = json.dumps([[r.text, r.label] for r in rows], ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def _save(out_dir: Path, tokenizer: Any, model: Any, report: TrainReport, rows: Sequence[LabelledAnswer],
          opts: TrainOptions) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    meta = {"report": asdict(report), "options": asdict(opts), "labels": list(LABELS),
            "data": _data_digest(rows), "input": "scoring.transformers_scorer.model_input"}
    (out_dir / METADATA_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def train_scorer(out_dir: str | Path, *, base_dir: str | Path | None = None, epochs: int | None = None,
                 extra: Iterable[dict] = (), options: TrainOptions | None = None) -> TrainReport:
    """Train, evaluate on the held-out split, and save a model TransformersScorer can load."""
    import torch

    opts = options or TrainOptions()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(opts.threads)
    try:
        return _train(Path(out_dir), base_dir, epochs, extra, opts)
    finally:
        torch.set_num_threads(previous_threads)


def _train(out_dir: Path, base_dir: str | Path | None, epochs: int | None, extra: Iterable[dict],
           opts: TrainOptions) -> TrainReport:
    rows, n_extra = training_set(extra)
    test = [r for r in load_labelled("test") if r.dtmf is None and r.text.strip()]
    _seed(opts.seed)
    started = time.monotonic()
    if base_dir is not None:
        tokenizer, model = _base_model(Path(base_dir))
        lr, n_epochs = opts.base_learning_rate, epochs or 4
    else:
        tokenizer, model = _scratch_model(build_vocab(r.text for r in rows), opts)
        lr, n_epochs = opts.learning_rate, epochs or opts.epochs
    try:
        _fit(tokenizer, model, rows, n_epochs, lr, opts)
    except RuntimeError as exc:
        raise ScoringError(f"training failed: {exc}", transient=True) from exc
    report = TrainReport(
        out_dir=str(out_dir), base=str(base_dir) if base_dir else None, examples=len(rows),
        extra_examples=n_extra, epochs=n_epochs, seconds=round(time.monotonic() - started, 2),
        train_accuracy=round(accuracy(tokenizer, model, rows), 4),
        test_accuracy=round(accuracy(tokenizer, model, test), 4), test_examples=len(test),
    )
    _save(out_dir, tokenizer, model, report, rows, opts)
    log.info("trained scorer in %.1fs on %d answers (%d threads): test accuracy %.3f",
             report.seconds, report.examples, opts.threads, report.test_accuracy)
    return report
