"""params.yaml `stt`: Whisper fine-tuning and evaluation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from callbot.params_base import Section


class TinyWhisperParams(Section):
    """Shape of the Whisper that ``base_model: build:tiny`` builds (random weights, real tokenizer)."""

    d_model: int
    encoder_layers: int
    decoder_layers: int
    heads: int
    ffn_dim: int


class LoraParams(Section):
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


class AugmentParams(Section):
    """Training-time augmentation that makes the decoder listen instead of recalling sentences."""

    recombine: float  # share of examples joined from random aligned phrases of any utterances (0 = off)
    gap_s: list[float]  # [shortest, longest] pause put between joined phrases
    token_noise: float  # share of teacher-forced decoder input tokens replaced by another text token
    time_mask_prob: float  # SpecAugment time masks in Whisper's encoder (training only; 0 = off)
    feature_mask_prob: float  # SpecAugment mel-channel masks (0 = off)

    @model_validator(mode="after")
    def _ranges(self) -> AugmentParams:
        for name in ("recombine", "token_noise", "time_mask_prob", "feature_mask_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"stt.augment.{name} is {value}; it is a share, between 0 and 1")
        if len(self.gap_s) != 2 or not 0.0 <= self.gap_s[0] <= self.gap_s[1]:
            raise ValueError(f"stt.augment.gap_s is {self.gap_s}; write [shortest, longest] in seconds")
        return self


class DecodeSweepParams(Section):
    """Joint-decoding settings tried on validation after training (callbot.stt.tune); empty = keep the above."""

    weights: list[float]  # ctc_decode_weight values
    candidates: list[int]  # ctc_candidates values
    max_utterances: int  # validation utterances scored per setting (unseen sentences first)


class CtcDecodeParams(Section):
    """Decoding of the jamo CTC model: greedy, or prefix beam search fused with a jamo n-gram LM.

    train-stt builds the LM from the train split and picks (alpha, beta) from ``grid`` by validation
    CER on unseen sentences (callbot.stt.lm_tune); (0, 0) is greedy decoding, the baseline.
    """

    lm_order: int  # jamo n-gram order, the space included (0 = no LM: greedy only)
    grid: list[list[float]]  # [alpha, beta] pairs tried: LM weight, bonus per emitted symbol
    beam: int  # prefixes kept per frame
    top_k: int  # likeliest symbols of a frame tried
    blank_skip: float  # a frame whose blank posterior is at least this emits nothing (skipped)
    min_prob: float  # a frame's symbols below this posterior are not tried

    @model_validator(mode="after")
    def _ranges(self) -> CtcDecodeParams:
        where = "stt.ctc.decode"
        if not 0 <= self.lm_order <= 12:
            raise ValueError(f"{where}.lm_order is {self.lm_order}; write 0 (greedy only) to 12")
        if not self.grid or any(len(p) != 2 or p[0] < 0 for p in self.grid) or [0.0, 0.0] not in self.grid:
            raise ValueError(
                f"{where}.grid is {self.grid}; write [alpha, beta] pairs with alpha >= 0, [0.0, 0.0] (greedy) among them"
            )
        if self.beam < 1 or self.top_k < 1:
            raise ValueError(f"{where}.beam and top_k must be 1 or more (got {self.beam}, {self.top_k})")
        if not 0.0 < self.blank_skip <= 1.0 or not 0.0 <= self.min_prob < 1.0:
            raise ValueError(
                f"{where}.blank_skip ({self.blank_skip}) and min_prob ({self.min_prob}) are posteriors: "
                "write blank_skip in (0, 1] and min_prob in [0, 1)"
            )
        return self


class CtcParams(Section):
    """The jamo CTC acoustic model (``recipe: ctc``): shape, augmentation and its own training loop."""

    n_mels: int  # Whisper's log-mel front end: 80 (or 128 for large-v3-style features)
    conv_channels: int
    encoder: Literal["gru", "conv"]  # gru: a BiGRU; conv: residual depthwise-separable 1-D convolutions
    hidden: int  # gru: size per direction; conv: channels
    layers: int  # gru: stacked BiGRU layers; conv: residual blocks
    kernel: int  # conv: depthwise kernel in 40 ms frames (gru: unused)
    dropout: float
    batch_seconds: float  # audio per batch (clips sorted by length; a long clip makes a smaller batch)
    max_clip_s: float  # longer training clips are skipped or cut (counted in train.json)
    long_clips: Literal["skip", "cut"]  # cut: at pauses into aligned pieces of at most max_clip_s
    max_steps: int
    learning_rate: float  # one-cycle peak
    warmup_share: float  # share of max_steps rising to the peak
    weight_decay: float
    line_share: float  # share of training clips passed through the 8 kHz G.711 line first
    speed: list[float]  # [slowest, fastest] tempo factor (features stretched in time)
    pitch: list[float]  # [lowest, highest] factor on the mel axis (a pitch/formant shift)
    vtlp: list[float]  # [lowest, highest] vocal-tract warp factor on the frequency axis in Hz ([1, 1]: off)
    freq_masks: int  # SpecAugment masks per clip and their widest span (mel bins / share of frames)
    freq_mask_bins: int
    time_masks: int
    time_mask_share: float
    validation_max_utterances: int  # validation clips decoded after training, both channels (0 = all)
    precision: Literal["bf16", "fp32"]  # training forward; bf16 falls back to fp32 where the CPU lacks it
    decode: CtcDecodeParams
    # dataset -> how often its clips enter an epoch's batches (2.0 twice, 0.5 half; unnamed 1.0; {} = today's)
    dataset_weights: dict[str, Annotated[float, Field(ge=0.0, le=10.0)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ranges(self) -> CtcParams:
        for name in ("speed", "pitch", "vtlp"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not 0.5 <= lo_hi[0] <= lo_hi[1] <= 2.0:
                raise ValueError(f"stt.ctc.{name} is {lo_hi}; write [low, high] factors between 0.5 and 2")
        for name in ("dropout", "warmup_share", "line_share", "time_mask_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"stt.ctc.{name} is {getattr(self, name)}; it is a share from 0 up to (not) 1"
                )
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"stt.ctc.kernel is {self.kernel}; write an odd number of frames (e.g. 15)")
        if self.max_steps < 1 or self.batch_seconds <= 0 or self.max_clip_s <= 0:
            raise ValueError("stt.ctc.max_steps, batch_seconds and max_clip_s must be positive")
        return self


class STTParams(Section):
    recipe: Literal["ctc", "whisper"]  # ctc: the jamo acoustic model (stt.ctc); whisper: fine-tune base_model
    ctc: CtcParams
    base_model: str  # a local directory, "build:tiny" (smoke), or a hub id (full only)
    allow_hub: bool  # false: a hub id is refused (the smoke profile runs offline)
    tiny: TinyWhisperParams
    prepared: str  # the prepared directory holding stt/ (callbot prepare --out)
    out: str
    report: str
    seed: int
    threads: int  # torch CPU threads; 0 = all cores
    # training segments
    window_s: float  # audio one encoder pass covers; must match the model's feature extractor
    overlap_s: float  # overlap of inference windows where speech runs on without a pause
    min_pause_s: float
    silence_db: float  # a frame this far below the recording's loud level is silence
    duration_tolerance: float  # a phrase may last this factor more or less than its share
    max_train_segments: int  # 0 = all
    # training
    method: Literal["full", "lora"]
    lora: LoraParams
    learning_rate: float
    warmup_steps: int
    weight_decay: float
    batch_size: int
    grad_accum: int
    max_steps: int
    loss_vocab: Literal["full", "corpus"]  # corpus: score only the training labels' tokens (CPU speed)
    loss_negatives: int  # with corpus: other tokens drawn per step and pushed down
    dropout: float  # Whisper's hidden-state dropout while training (regularises a small model)
    ctc_weight: float  # share of a character CTC loss on the encoder (training only; 0 = off)
    ctc_decode_weight: float  # share of the CTC head in joint decoding (0 = attention only; head not kept)
    ctc_candidates: int  # attention decoder's top tokens the CTC head rescores at each step
    decode_sweep: DecodeSweepParams
    augment: AugmentParams
    save_steps: int
    logging_steps: int
    allow_failed_gate: bool  # train even when gate.json says the validation gate failed
    # evaluation and gates
    eval_batch_size: int
    max_eval_utterances: int  # 0 = the whole test split
    compare_max_utterances: (
        int  # base, decoder alone, other backends, reference: on this many (evenly spread); 0 = all
    )
    max_cer: float  # fine-tuned CER (spaces ignored) above this fails evaluate-stt
    max_slice_gap: float  # largest CER gap between slices of one attribute above this fails
    gate: Literal["fail", "warn"]  # fail: evaluate-stt exits 1 and the flow stops; warn: reported only
    min_slice_size: int  # slices with fewer utterances are reported but not gated
    prediction_samples: int
    reference_model: str  # scored zero-shot beside the fine-tuned model when present ("" = none), e.g.
    # package:whisper-base (a missing models/bases/<name> is reported as skipped, not an error)
    reference_max_utterances: int  # test utterances it transcribes (a real Whisper is slow on CPU)
    export_bench_clips: int  # clips timed to choose the faster serving backend

    @model_validator(mode="after")
    def _shares(self) -> STTParams:
        if not 0.0 <= self.ctc_weight < 1.0:
            raise ValueError(f"stt.ctc_weight is {self.ctc_weight}; it is a share, from 0 up to (not) 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"stt.dropout is {self.dropout}; write a probability below 1")
        if not 0.0 <= self.ctc_decode_weight <= 1.0:
            raise ValueError(f"stt.ctc_decode_weight is {self.ctc_decode_weight}; it is a share from 0 to 1")
        if self.ctc_candidates < 1:
            raise ValueError(f"stt.ctc_candidates is {self.ctc_candidates}; write 1 or more")
        if self.loss_negatives < 0:
            raise ValueError(f"stt.loss_negatives is {self.loss_negatives}; write 0 or more")
        return self
