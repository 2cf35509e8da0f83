"""`make demo` shows no repeated third-party warnings: the STT decoder and LoRA wrapping run quietly.

The causes are fixed where we can (Whisper's length budget is passed as the ``max_length`` its
generate understands, so transformers no longer sees both limits set); the two warnings transformers
raises about its own internals are dropped only where they arise, and only those.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import torch

from callbot.console import muted_log, peft_wrapping
from callbot.stt.infer import HFTranscriber
from callbot.stt.model import TinyWhisperShape, build_tiny_whisper

SHAPE = TinyWhisperShape(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64, window_s=2.0)


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    return build_tiny_whisper(tmp_path_factory.mktemp("whisper") / "m", SHAPE, seed=0)


def test_whisper_decoding_logs_nothing_and_keeps_its_token_budget(tmp_path, capfd) -> None:
    transcriber = HFTranscriber(
        build_tiny_whisper(tmp_path / "m", SHAPE, seed=0), use_ctc=False, batch_size=2
    )
    transcriber.max_new_tokens = 12  # the budget, kept small: an untrained model always uses all of it
    rng = np.random.default_rng(0)
    clips = [(rng.standard_normal(24_000) * 0.1).astype(np.float32) for _ in range(2)]  # one window each
    capfd.readouterr()
    for _ in range(2):  # the warning came on every batch
        texts = [r.text for r in transcriber.transcribe_batch(clips)]
    err = capfd.readouterr().err
    assert "seem to have been set" not in err and "[transformers]" not in err, err
    # an untrained model babbles to its budget: the budget is max_new_tokens new tokens, as before
    features = transcriber.processor.feature_extractor(clips[:1], sampling_rate=16_000, return_tensors="pt")
    with torch.inference_mode():
        ids = transcriber.model.generate(
            features.input_features,
            language="ko",
            task="transcribe",
            max_new_tokens=transcriber.max_new_tokens,
            do_sample=False,
            num_beams=1,
        )
    assert texts[0] == transcriber.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)[0].strip()


def test_muted_log_drops_only_the_named_messages(capfd) -> None:
    logger = logging.getLogger("callbot.test_quiet")
    logger.addHandler(handler := logging.StreamHandler())
    try:
        with muted_log("callbot.test_quiet", "noisy"):
            logger.warning("noisy internals")
            logger.warning("something that matters")
        logger.warning("noisy again, outside the block")
    finally:
        logger.removeHandler(handler)
    err = capfd.readouterr().err
    assert "noisy internals" not in err
    assert "something that matters" in err and "noisy again" in err


def test_lora_wrapping_raises_no_future_warning(tiny_whisper) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import WhisperForConditionalGeneration

    def wrap(quiet: bool) -> list[str]:
        model = WhisperForConditionalGeneration.from_pretrained(str(tiny_whisper))
        config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if quiet:
                with peft_wrapping():
                    get_peft_model(model, config)
            else:
                get_peft_model(model, config)
            warnings.warn("a warning of ours still shows", UserWarning, stacklevel=1)
        return [str(w.message) for w in caught]

    assert any("is_gradient_checkpointing" in m for m in wrap(quiet=False))  # still raised by peft
    quiet = wrap(quiet=True)
    assert not any("is_gradient_checkpointing" in m for m in quiet)
    assert "a warning of ours still shows" in quiet


def test_dvc_empty_quarantine_is_not_a_warning_but_other_empty_outputs_are(tmp_path, caplog) -> None:
    """No quarantined row is the good case: the flow drops DVC's "is empty" for quarantine files only."""
    import logging
    import subprocess
    import sys

    from callbot.orchestrate.dvc import open_repo

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    open_repo(tmp_path)
    log = logging.getLogger("dvc.output")
    with caplog.at_level(logging.WARNING):
        log.warning("'%s' is empty.", "data/prepared/quarantine_validate.jsonl")
        log.warning("'%s' is empty.", "data/prepared/records.parquet")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["'data/prepared/records.parquet' is empty."]
