"""Fine-tuning a whole sequence-classification reward model with TRL's `RewardTrainer`.

The Bradley-Terry loss (-log sigmoid(r_chosen - r_rejected)) over (prompt, chosen, rejected)
pairs, from a local checkpoint (`num_labels=1` head added when the checkpoint has none). Pairs
are tokenized here with `reward_agent.rm.hf.encode_items`, the function the `transformers`
backend scores with, and handed to RewardTrainer pre-tokenized (`chosen_ids`/`rejected_ids`),
so the trained model sees at scoring time exactly what it saw in training, chat template or not.

Needs the `train` extra: pip install 'reward-agent[train]' (trl, datasets).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..rm.base import RMItem
from ..rm.hf import encode_items
from .data import PreferencePair

__all__ = ["train_with_trl"]


def train_with_trl(
    base_model: str,
    pairs: list[PreferencePair],
    out_dir: Path,
    *,
    epochs: float = 1.0,
    lr: float = 2e-5,
    batch_size: int = 8,
    max_length: int = 512,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Train, save model + tokenizer to `out_dir`; returns a summary of the run."""
    try:
        from datasets import Dataset
        from trl import RewardConfig, RewardTrainer
    except ImportError as exc:
        raise ConfigError("training with TRL needs the train extra: pip install 'reward-agent[train]'") from exc
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..embedded import _quiet_transformers

    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(base_model, num_labels=1, local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    chosen = encode_items(tokenizer, [RMItem((("user", p.prompt),), p.chosen) for p in pairs], max_length)
    rejected = encode_items(tokenizer, [RMItem((("user", p.prompt),), p.rejected) for p in pairs], max_length)
    dataset = Dataset.from_dict({"chosen_ids": chosen, "rejected_ids": rejected})
    args = RewardConfig(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=epochs,
        learning_rate=lr,
        per_device_train_batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        data_seed=seed,
        report_to=[],
        save_strategy="no",
        logging_steps=max(1, len(pairs) // batch_size // 10),
        disable_tqdm=not progress,
        use_cpu=True if not _cuda() else False,
        dataloader_num_workers=0,
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    started = time.perf_counter()
    result = trainer.train()
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return {"trainer": "trl.RewardTrainer (Bradley-Terry)", "base_model": base_model, "pairs": len(pairs),
            "epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length,
            "train_loss": round(float(result.training_loss), 4), "seconds": round(time.perf_counter() - started, 1)}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
