"""Loads the task rows that sit next to these YAML files (lm-eval's `custom_dataset` hook)."""

from pathlib import Path

import datasets

HERE = Path(__file__).resolve().parent


def load_gen(**_: object) -> datasets.DatasetDict:
    return datasets.DatasetDict({"test": datasets.Dataset.from_json(str(HERE / "gen.jsonl"))})


def load_mc(**_: object) -> datasets.DatasetDict:
    return datasets.DatasetDict({"test": datasets.Dataset.from_json(str(HERE / "mc.jsonl"))})
