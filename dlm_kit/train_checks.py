"""What training refuses before step 1, so a run never fails (or trains on nothing) an hour in.

Each check raises a ValueError that names the row or field at fault and the fix:

- :func:`mean_example_length`: the rows have ``input_ids`` and ``labels``, and some label is a
  token to learn (not every one ``-100``); returns the mean row length (the Trainer's grouping uses it);
- :func:`check_rows`: no row is longer than the model's positions or holds a token id past its
  embeddings (a tokenizer that grew after the model was loaded);
- :func:`sees_later_tokens`: whether a model is bidirectional (the ``ar`` objective refuses one).

    >>> mean_example_length([{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}])
    3.0
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import torch
from transformers import PreTrainedModel

from .data import IGNORE_INDEX
from .positions import context_length

__all__ = ["check_rows", "mean_example_length", "sees_later_tokens"]


def check_rows(model: PreTrainedModel, dataset: Sequence[Mapping]) -> None:
    """Refuse, before step 1, a row the model cannot take: longer than its positions, or with a
    token id past its embeddings (a tokenizer that grew after the model was loaded). Either would
    crash the run at that row's batch."""
    limit = context_length(model)
    vocab = model.get_input_embeddings().weight.shape[0]  # (a peft wrapper of the embeddings has no num_embeddings)
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        return
    rows = dataset["input_ids"] if hasattr(dataset, "column_names") else [ex["input_ids"] for ex in dataset]
    for index, ids in enumerate(rows):
        if limit is not None and len(ids) > limit:
            raise ValueError(
                f"train_dataset row {index} has {len(ids)} tokens, more than the {limit} positions of "
                f"{type(model).__name__}; it would crash training at its batch. Drop long rows first: "
                f"dlm_kit.data.tokenize_chat_dataset(..., max_length={limit}) (dlm-kit train: --max_length {limit})."
            )
        if len(ids) and (max(ids) >= vocab or min(ids) < 0):
            raise ValueError(
                f"train_dataset row {index} holds token id {max(ids) if max(ids) >= vocab else min(ids)}, outside the "
                f"model's {vocab} embeddings: the tokenizer has more tokens than the model (tokens added after "
                "loading?). Call model.resize_token_embeddings(len(tokenizer)) before training, or load both "
                "with dlm_kit.backbones.load_backbone."
            )


def mean_example_length(dataset: Iterable[Mapping], sample_size: int = 256) -> float:
    """Mean ``input_ids`` length of the first ``sample_size`` examples.

    Works for any dataset the Trainer takes: a ``datasets.Dataset``, a torch ``Dataset`` or a
    plain list of dicts (indexed one by one), or an iterable dataset (its first examples).
    """
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        sample = [dataset[i] for i in range(min(len(dataset), sample_size))]
    else:
        sample = list(itertools.islice(iter(dataset), sample_size))
    if not sample or not all(isinstance(ex, Mapping) and "input_ids" in ex and "labels" in ex for ex in sample):
        missing = "no examples" if not sample else (
            f"a {type(sample[0]).__name__}" if not isinstance(sample[0], Mapping)
            else f"fields {sorted(sample[0])}")
        raise ValueError(
            "train_dataset: expected examples with 'input_ids' and 'labels' fields (e.g. from "
            f"dlm_kit.data.tokenize_chat_dataset or group_texts), got {missing}."
        )
    if not any(label != IGNORE_INDEX for ex in sample for label in ex["labels"]):
        raise ValueError(
            f"train_dataset: none of the first {len(sample)} examples has a token to learn (every label is "
            f"{IGNORE_INDEX}, e.g. answers that are empty or cut off by max_length); the model would train on "
            "nothing. Check that each row ends with the assistant's answer (dlm_kit.data.tokenize_chat)."
        )
    return sum(len(ex["input_ids"]) for ex in sample) / len(sample)


@torch.no_grad()
def sees_later_tokens(model: PreTrainedModel) -> bool:
    """Whether position 0's logits change when the tokens after it change (not a causal LM)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    vocab = model.get_input_embeddings().weight.shape[0]  # (a peft wrapper of the embeddings has no num_embeddings)
    # two sequences that share their first token only; ids well inside any vocabulary
    ids = torch.tensor([[5, 6, 7, 8], [5, 9, 10, 11]], device=device) % vocab
    try:
        logits = model(input_ids=ids).logits.float()
    finally:
        model.train(was_training)
    return not torch.allclose(logits[0, 0], logits[1, 0], rtol=1e-3, atol=1e-3)
