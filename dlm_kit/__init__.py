"""dlm-kit: a notebook-first kit for masked diffusion language models. Turn any BERT into a chatbot.

The package is organised one concept per module; the most used names are re-exported here:

    >>> import dlm_kit
    >>> dlm_kit.get_profile().name in ("tiny", "full")
    True

- :mod:`dlm_kit.profiles`  run presets (`tiny` default, `full`)
- :mod:`dlm_kit.backbones` load any masked LM, offline backbones, tokenizer and chat template
- :mod:`dlm_kit.masking`   MLM / MDLM corruption, loss weights, loss by mask ratio
- :mod:`dlm_kit.data`      chat datasets, SFT tokenisation, corpora, synthetic tasks
- :mod:`dlm_kit.english`   English instructions made offline (teacher answers, Wikipedia families)
- :mod:`dlm_kit.heads`     the MLM head only on the rows the loss scores
- :mod:`dlm_kit.layerwise` the encoder run layer by layer by the fast sampler (masks built once, optional cache)
- :mod:`dlm_kit.positions` explicit position ids for RoBERTa-style models (EOS = PAD safe)
- :mod:`dlm_kit.stats`     95 % intervals for rates, means and paired differences
- :mod:`dlm_kit.training`  MDLM training on `transformers.Trainer`
- :mod:`dlm_kit.sampling`  the block-diffusion sampler
- :mod:`dlm_kit.chat`      answers, chat sessions, exact match per task family
- :mod:`dlm_kit.judges`    generative perplexity under SmolLM2, repetition statistics
- :mod:`dlm_kit.plots`     one plot per idea
- :mod:`dlm_kit.likelihood` Monte Carlo / exact log-likelihood of the MDLM bound, rolling windows, greedy check
- :mod:`dlm_kit.evaluation` lm-eval model ``dlm_kit`` and offline tasks (needs the ``eval`` extra)
- :mod:`dlm_kit.baselines` the autoregressive GPT-2 baseline of notebook 05
- :mod:`dlm_kit.quiet`     hide known-harmless progress bars, logs and warnings in notebook outputs
"""

from .chat import ChatSession, SamplingConfig, answer, evaluate_tasks
from .backbones import CHAT_TEMPLATE, END_OF_ANSWER, build_tiny_tokenizer, load_backbone, prepare_tokenizer
from .data import (
    DataFormatError,
    SFTCollator,
    exact_match,
    group_texts,
    load_chat_dataset,
    load_english_chat,
    load_sft_stage,
    load_text_corpus,
    make_synthetic_tasks,
    tokenize_chat,
    tokenize_chat_dataset,
)
from .masking import MaskingConfig, corrupt, loss_at_mask_ratios, masked_diffusion_loss
from .profiles import Profile, get_profile
from .quiet import quiet
from .sampling import GenerationOutput, generate
from .training import TrainConfig, TrainResult, seed_everything, train

__version__ = "0.1.0"

__all__ = [
    "CHAT_TEMPLATE",
    "quiet",
    "END_OF_ANSWER",
    "build_tiny_tokenizer",
    "load_backbone",
    "prepare_tokenizer",
    "DataFormatError",
    "SFTCollator",
    "exact_match",
    "group_texts",
    "load_chat_dataset",
    "load_english_chat",
    "load_sft_stage",
    "load_text_corpus",
    "make_synthetic_tasks",
    "tokenize_chat",
    "tokenize_chat_dataset",
    "MaskingConfig",
    "corrupt",
    "loss_at_mask_ratios",
    "masked_diffusion_loss",
    "ChatSession",
    "SamplingConfig",
    "answer",
    "evaluate_tasks",
    "GenerationOutput",
    "generate",
    "Profile",
    "get_profile",
    "TrainConfig",
    "TrainResult",
    "seed_everything",
    "train",
]
