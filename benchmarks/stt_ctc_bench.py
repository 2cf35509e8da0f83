"""The jamo CTC recipe measured on varied sentences it never heard (issue 22, parts 3-6).

Until the phone-line corpus is merged, this makes a stand-in for it: sentences of 2-8 random words
from the prepared training transcripts' vocabulary (plus random syllables), spoken by espeak-ng
voices at varied rates and pitches, half of them stored as 8 kHz G.711 telephone audio. Sentences and
voices of validation/test are held out. The result is the prepared STT data with this third dataset
added (``<out>/stt``), on which `callbot train-stt` / `evaluate-stt` run unchanged:

    python benchmarks/stt_ctc_bench.py make --prepared data/prepared --out data/prepared_mix --train 3000
    callbot train-stt --prepared data/prepared_mix --out models/stt-mix --report reports/stt-mix
    python benchmarks/stt_ctc_bench.py outside models/stt-mix   # sentences whose words are in no corpus

``budget`` trains candidate recipes for the same CPU-seconds (not the same steps) on the prepared
data and prints validation CER (unseen sentences, per channel) beside the current recipe's, as ratios:

    python benchmarks/stt_ctc_bench.py budget --cpu-seconds 280 --only gru conv conv-b32

Measured (2026-12-07, 280 CPU-s each = 1/4 of the demo's train-stt, 1 torch thread, two candidates
at a time on 2 cores shared with other jobs; validation, 200 clips, 146 with unseen sentences):

    candidate  steps  cpu_s  s/step  unseen16k  unseenLine  ratio16k  ratioLine
    gru          295  308.7   1.046     0.7551      0.7631     1.000     1.000
    conv         444  274.2   0.618     0.3314      0.3511     0.439     0.460
    conv-b32     819  286.2   0.349     0.2927      0.3133     0.388     0.411

Measured (2026-12-07, bf16, `precision`), 1 torch thread, two candidates at a time on 2 cores with
load 4-7 from other jobs; conv-b32 here is the fp32 recipe before (1x1 convolutions, main's code):

    candidate   steps  cpu_s  s/step  unseen16k  unseenLine
    conv-b32      696  258.0   0.371     0.3158      0.3401
    bf16         1032  256.9   0.249     0.2695      0.2863
    bf16-mask    1238  275.2   0.222     0.2648      0.2711   (more steps than bf16: not comparable)
    bf16-pitch   1314  289.3   0.220     0.2556      0.2646   (likewise; rerun at 1,032 steps below)
    bf16-pitch   1032  203.6   0.197     0.2831      0.2968   (--steps 1032: worse than bf16's pitch)
    bf16-mask    1032  183.5   0.178     0.2856      0.2992   (--steps 1032: worse than bf16's masks)

A step's CPU-seconds rise with the box's load, so the probe's step count drifts between runs; the
augmentation candidates cost the same per step as bf16, so they are compared at equal steps
(`--steps`). `speed` (or a same-process alternation of old and new steps) gives the CPU ratio: new
/ old 0.52 at 1 thread (load about 4), 0.67 in the runs above, 0.74 (wall 0.75) at 2 threads with
load about 6.

The chosen default (conv-b32, 2,400 steps) run whole as `callbot train-stt` on the same prepared data,
2 threads, a nearly idle box: 0.20 s/step (0.40 CPU-s), 8.7 min and 1,022 CPU-s for the whole stage;
validation unseen CER 0.197 (16 kHz) / 0.207 (line), against the 750-step BiGRU's 0.250 / 0.252 in
the last demo (1,122 CPU-s of training alone).

Issue 22's data round (2026-12-07, `budget --steps 800 --only ...` = a quarter of the demo's 3,200
steps; 1 torch thread, three runs at a time on 2 cores shared with other engineers (load 4-7);
validation: all 985 clips, 695 with unseen sentences; unseen CER per channel, then by dataset):

    candidate      hours CPU-s/step unseen16k unseenLine | callc16k/line  interv16k/line  phone16k/line
    base            5.84   0.219     0.3208    0.3397    | 0.216 0.225    0.326 0.348     0.386 0.403
    base-s1         5.84   0.214     0.3239    0.3440    | 0.218 0.226    0.326 0.352     0.398 0.411
    long-whole     12.01   0.233     0.2196    0.2401    | 0.234 0.248    0.123 0.147     0.483 0.496
    long-cut       11.58   0.209     0.2110    0.2259    | 0.225 0.244    0.119 0.129     0.461 0.485
    long-cut-half   8.71   0.190     0.2231    0.2402    | 0.236 0.247    0.142 0.159     0.442 0.464
    vtlp            5.84   0.223     0.3225    0.3425    | 0.221 0.233    0.326 0.350     0.389 0.406
    vtlp-only       5.84   0.220     0.3189    0.3345    | 0.222 0.231    0.321 0.338     0.386 0.404

Seed noise (base vs base-s1): 0.003 / 0.004 overall, 0.012 on phone. The long interview answers
(whole or cut at pauses) cut the interview's unseen CER by almost two thirds, and with it the
overall figure (interview answers hold two thirds of the unseen characters), but at equal steps
they dilute the other corpora: phone and call-centre get worse, beyond noise. VTLP (on top of the
mel-axis pitch stretch, or instead of it) is within noise. CPU-s/step are equal within load drift
(batch_seconds fixes the audio per step).

The same at the demo's whole budget (`--steps 3200`, 1 thread each, two runs on 2 cores, load ~2):

    candidate      hours CPU-s/step unseen16k unseenLine | callc16k/line  interv16k/line  phone16k/line
    base            5.84   0.194     0.1914    0.2079    | 0.094 0.102    0.208 0.229     0.219 0.229
    long-cut       11.58   0.185     0.1013    0.1121    | 0.099 0.107    0.036 0.044     0.288 0.307

The headline halves, but only because the templated interview answers are recalled (0.036): the
phone corpus, whose sentences are all distinct and which measures listening, gets 30 % worse and
the call-centre set a little worse. So `long_clips` stays `skip`; cutting would need a sampling that
keeps the other corpora's share (long-cut-half above is not enough).

Varied text (`variety`, measured 2026-12-08 by the lead, 1,600 steps, 1 thread each, base and words
side by side then syllables alone; sample.phone_random_words / _syllables 1500 each, 750 of each kind
per candidate half... the "words" and "syllables" rows add both halves, 1,500 clips, +0.9 h of audio;
the phone sample took 82 s wall / 161 CPU-s against 50 s, and every Validation archive stayed
byte-identical):

    candidate  hours cpu_s | val unseen greedy | val unseen beam | OUTSIDE greedy | OUTSIDE beam | yes/no beam
    base        6.42  325  | 0.249 0.267       | 0.127 0.139     | 0.200 0.207    | 0.166 0.179  | 0.878 0.900
    words       7.32  329  | 0.254 0.265       | 0.124 0.132     | 0.221 0.241    | 0.166 0.193  | 0.900 0.889
    syllables   7.21  303  | 0.257 0.273       | 0.125 0.134     | 0.241 0.221    | 0.172 0.179  | 0.844 0.856

No candidate wins beyond the seed noise (0.003-0.004 on validation): random words gain 0.003 / 0.007
with the beam but lose 0.005 greedy at 16 kHz, and both lose on the 10 OUTSIDE dev sentences. Left off.

The broad lexicon (`sample.phone_lexicon_sentences`, callbot/sample/lexicon.py: words from pinned
packages' tokenizers that no corpus file holds; `variety --lexicon 3000`, measured 2026-12-08 by the
lead, 1 thread each, three candidates side by side on 2 cores; "lexicon-half" trains on the first 1,500
of the 3,000 sentences; the dev columns are `outside-dev`: the 40 DEV_OUTSIDE sentences by two
held-out voices each, 80 clips, greedy / beam at 16 kHz and on the line):

    steps candidate     hours | val greedy  val beam    | OUTSIDE greedy beam     | dev greedy   dev beam    | yes/no
    1600  base           6.42 | 0.249 0.267 0.127 0.139 | 0.200 0.207 0.166 0.179 | 0.267 0.249  0.241 0.253 | 0.878 0.900
    1600  lexicon        8.87 | 0.236 0.244 0.103 0.110 | 0.214 0.228 0.179 0.172 | 0.273 0.266  0.231 0.237 | 0.922 0.911
    3500  base           6.42 | 0.199 0.214 0.105 0.112 | 0.159 0.145 0.159 0.166 | 0.201 0.200  0.196 0.203 | 0.856 0.856
    3500  lexicon-half   7.66 | 0.169 0.175 0.083 0.088 | 0.200 0.207 0.138 0.145 | 0.200 0.206  0.191 0.176 | 0.900 0.922
    3500  lexicon        8.87 | 0.169 0.167 0.079 0.079 | 0.207 0.172 0.138 0.138 | 0.194 0.187  0.186 0.182 | 0.978 0.989

At the demo's 3,500 steps the lexicon cuts validation unseen CER by a quarter with the beam (0.105 /
0.112 -> 0.079 / 0.079) and by 0.03-0.05 greedy, far beyond the seed noise, and the lone yes/no by
unheard voices rises to 0.98; on the 80 dev clips of everyday sentences it gains 0.01-0.02 (greedy and
beam), on the first 10 alone (one voice each) it loses greedy and gains with the beam. Switched on at
3,000. What moves everyday sentences most is steps: 1,600 -> 3,500 takes the base from 0.267 to 0.201
on the dev clips; the demo's 30 minutes bound them.
"""

from __future__ import annotations

import argparse
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TRAIN_VOICES = ["ko", "ko+f1", "ko+m1", "ko+m2", "ko+m3", "ko+m4", "ko+m5"]
HELD_OUT_VOICES = ["ko+f4", "ko+m6", "ko+m7"]
# everyday sentences, most of whose words occur in neither sample corpus (the second target)
OUTSIDE = [
    "라면은 물이 끓으면 넣어야 맛있어요",
    "내일 아침에는 비가 많이 온대요",
    "우리 강아지는 산책을 정말 좋아해요",
    "냉장고에 우유가 하나도 없네요",
    "지하철 이호선으로 갈아타세요",
    "주말에 친구들이랑 바다에 놀러 갔어요",
    "이 바지는 조금 작아서 교환하고 싶어요",
    "할머니께서 김치를 담가 주셨어요",
    "자전거를 타고 공원을 한 바퀴 돌았어요",
    "커피 대신 따뜻한 녹차 한 잔 주세요",
]


# 30 more, written for `outside-dev` (the first 10 are OUTSIDE): a dev set for choosing recipes, never
# the acceptance set's sentences (callbot/bot/data/acceptance.yaml, report-only)
DEV_OUTSIDE = [
    *OUTSIDE,
    "동생이 설거지를 하다가 접시를 깨뜨렸다",
    "도서관에서 빌린 소설책을 오늘까지 반납해야 해",
    "삼촌이 낚시터에서 커다란 붕어를 잡아 오셨어",
    "창문 틈으로 찬바람이 솔솔 들어와요",
    "엘리베이터가 고장 나서 계단으로 올라갔어요",
    "딸기 케이크에 촛불을 꽂고 노래를 불렀다",
    "택배 상자를 뜯었더니 엉뚱한 물건이 들어 있었어",
    "아침마다 참새들이 전깃줄에 앉아 짹짹거려요",
    "미용실에서 앞머리를 너무 짧게 잘랐어",
    "밤새 모기 때문에 한숨도 못 잤어요",
    "고구마를 군불에 구워 먹으면 달콤해요",
    "운동화 끈이 풀려서 넘어질 뻔했다",
    "옆집 아기가 밤마다 울어서 잠을 설쳐요",
    "시장에서 싱싱한 고등어 두 마리를 샀어요",
    "다락방 구석에서 낡은 사진첩을 찾았어",
    "수영장 물이 생각보다 차가워서 깜짝 놀랐다",
    "교실 칠판에 낙서를 한 사람이 누구니",
    "햇볕이 쨍쨍해서 빨래가 금방 말랐네",
    "고양이가 털실 뭉치를 굴리며 놀고 있어요",
    "저녁으로 된장찌개를 끓이고 계란말이를 했어",
    "휴대폰 배터리가 다 닳아서 충전기를 빌렸어요",
    "버스 정류장에 사람들이 길게 줄을 서 있었다",
    "가을이 되니 은행나무 잎이 노랗게 물들었어요",
    "오랜만에 대청소를 했더니 허리가 뻐근해",
    "아이들이 눈사람을 만들고 눈싸움을 했어요",
    "동네 빵집 단팥빵이 제일 맛있다",
    "화분에 물을 너무 많이 줘서 뿌리가 썩었어",
    "주차장이 꽉 차서 한참을 빙빙 돌았어요",
    "영화관 팝콘이 너무 짜서 물만 마셨다",
    "할아버지는 매일 새벽에 약수터에 다녀오세요",
]
DEV_VOICES = [("ko+f4", 150, 40), ("ko+m6", 170, 55), ("ko+m7", 135, 30)]


def outside_dev(models: list[Path]) -> None:
    """Each model's CER on :data:`DEV_OUTSIDE` by two held-out voices each (80 clips), greedy and with its
    beam + LM where it has one, at 16 kHz and over the line (one JSON row per model)."""
    import json

    from callbot.stt.ctc_infer import CTCTranscriber
    from callbot.stt.data import through_line
    from callbot.text.metrics import cer
    from callbot.tts.channel import to_rate
    from callbot.tts.espeak import synthesize

    clips, refs = [], []
    for i, text in enumerate(DEV_OUTSIDE):
        for k, bump in ((0, 0), (1, 10)):
            voice, rate, pitch = DEV_VOICES[(i + k) % 3]
            samples, sr = synthesize(text, rate=rate + bump, pitch=pitch + bump // 2, voice=voice)
            clips.append(to_rate(samples, sr, 16000))
            refs.append(text)
    channels = {"16k": clips, "line": [through_line(c) for c in clips]}
    for model in models:
        stt, row = CTCTranscriber(model, batch_size=16), {"model": str(model)}
        decoders = ("greedy",) if stt.beam is None else ("greedy", "beam_lm")
        for channel, audios in channels.items():
            for decoder, results in stt.transcribe_decoders(audios, decoders).items():
                row[f"{decoder}_{channel}"] = round(cer(refs, [r.text for r in results], spaces=False), 4)
        print(json.dumps(row), flush=True)


def _syllables(rng: random.Random, n: int) -> str:
    return "".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(n))


def sentences(words: list[str], n: int, rng: random.Random, banned: set[str]) -> list[str]:
    """``n`` distinct sentences: 75 % random words in random order, 25 % random syllable words."""
    out: list[str] = []
    seen = set(banned)
    while len(out) < n:
        if rng.random() < 0.75:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
        else:
            text = " ".join(_syllables(rng, rng.randint(1, 4)) for _ in range(rng.randint(2, 5)))
        if text.replace(" ", "") not in seen:
            seen.add(text.replace(" ", ""))
            out.append(text)
    return out


def speak(texts: list[str], voices: list[str], rng: random.Random, folder: Path, prefix: str) -> list[dict]:
    """WAVs of ``texts`` (half at 8 kHz through the telephone line) and their dataset rows."""
    import soundfile as sf

    from callbot.tts.channel import phone_channel, to_rate
    from callbot.tts.espeak import synthesize

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(texts):
        voice, rate, pitch = rng.choice(voices), rng.randint(120, 200), rng.randint(20, 80)
        samples, sr = synthesize(text, rate=rate, pitch=pitch, voice=voice)
        phone = rng.random() < 0.5
        audio, out_rate = phone_channel(samples, sr) if phone else (to_rate(samples, sr, 16000), 16000)
        path = folder / f"{prefix}-{i:05d}.wav"
        sf.write(path, np.asarray(audio * 0.9, dtype=np.float32), out_rate, subtype="PCM_16")
        rows.append(
            {
                "utterance_id": f"{prefix}-{i:05d}",
                "audio": str(path.resolve()),
                "text": text,
                "text_raw": text,
                "duration_s": len(audio) / out_rate,
                "role": "caller",
                "occupation": None,
                "gender": None,
                "age_range": None,
                "experience": None,
                "dataset": "phonesim",
                "voice": f"{voice.replace('ko+', '') or 'ko'}-r{rate}-p{pitch}",
                "channel": "phone" if phone else "wideband",
            }
        )
    return rows


def make(prepared: Path, out: Path, n_train: int, seed: int) -> None:
    from datasets import Audio, Dataset, DatasetDict, concatenate_datasets, load_from_disk

    base = load_from_disk(str(prepared / "stt"))
    words = sorted({w for t in base["train"]["text"] for w in t.split()})
    rng = random.Random(seed)
    held = sentences(words, 300, rng, set())
    train = sentences(words, n_train, rng, {t.replace(" ", "") for t in held})
    audio_dir = (out / "audio").resolve()
    parts = {
        "train": speak(train, TRAIN_VOICES, rng, audio_dir, "ps-train"),
        "validation": speak(held[:150], HELD_OUT_VOICES, rng, audio_dir, "ps-val"),
        "test": speak(held[150:], HELD_OUT_VOICES, rng, audio_dir, "ps-test"),
    }
    merged = {}
    for split, rows in parts.items():
        extra = Dataset.from_list(rows).cast_column("audio", Audio(decode=False)).cast(base[split].features)
        merged[split] = concatenate_datasets([base[split], extra])
    if (out / "stt").exists():
        shutil.rmtree(out / "stt")
    DatasetDict(merged).save_to_disk(str(out / "stt"))
    shutil.copy(prepared / "gate.json", out / "gate.json")
    print({k: len(v) for k, v in merged.items()}, "words", len(words))


def outside(model: Path, show: int = 3) -> dict[str, float]:
    """CER on :data:`OUTSIDE` spoken by held-out voices, at 16 kHz and over the line (printed, returned)."""
    from callbot.stt.data import through_line
    from callbot.stt.infer import load_transcriber
    from callbot.text.metrics import cer
    from callbot.tts.channel import to_rate
    from callbot.tts.espeak import synthesize

    stt = load_transcriber(model)
    clips = []
    for i, text in enumerate(OUTSIDE):
        samples, sr = synthesize(text, rate=150 + 5 * i, pitch=40, voice=HELD_OUT_VOICES[i % 3])
        clips.append(to_rate(samples, sr, 16000))
    out = {}
    for name, audios in (("16k", clips), ("line", [through_line(c) for c in clips])):
        hyps = [r.text for r in stt.transcribe_batch(audios)]
        out[name] = round(cer(OUTSIDE, hyps, spaces=False), 4)
        print(name, "CER", out[name], "| empty 1.0")
        for ref, hyp in list(zip(OUTSIDE, hyps, strict=True))[:show]:
            print("  ", ref, "->", hyp)
    return out


# stt.ctc overrides per candidate; "gru" is the recipe before this benchmark (the ratios' baseline),
# "conv-b32" the fp32 recipe it chose, "bf16" the same under bf16 autocast; every other stt.ctc value
# is params.yaml's
_GRU = {"encoder": "gru", "hidden": 256, "layers": 3, "precision": "fp32"}
_CONV = {"encoder": "conv", "hidden": 256, "layers": 8, "kernel": 15, "precision": "fp32"}
_BF16 = {**_CONV, "batch_seconds": 32.0, "precision": "bf16"}
CANDIDATES: dict[str, dict] = {
    "gru": {**_GRU, "batch_seconds": 64.0},
    "gru-b32": {**_GRU, "batch_seconds": 32.0},
    "conv": {**_CONV, "batch_seconds": 64.0},
    "conv-b32": {**_CONV, "batch_seconds": 32.0},
    "conv384-b32": {**_CONV, "hidden": 384, "batch_seconds": 32.0},
    "bf16": _BF16,
    "bf16-pitch": {**_BF16, "pitch": [0.88, 1.12]},
    "bf16-mask": {**_BF16, "freq_masks": 3, "time_masks": 3},
    # issue 22's data/recipe round: params.yaml's recipe as is ("base"), another seed of it (the noise),
    # the long interview answers whole or cut at pauses, vocal-tract-length perturbation
    "base": {},
    "base-s1": {"seed": 1},
    "long-whole": {"max_clip_s": 60.0},
    "long-cut": {"long_clips": "cut"},
    "long-cut-half": {
        "long_clips": "cut",
        "pieces_every": 2,
    },  # every other piece: the others' share less diluted
    "vtlp": {"vtlp": [0.9, 1.1]},
    "vtlp-only": {"vtlp": [0.88, 1.12], "pitch": [1.0, 1.0]},
}


def _training_set(params, prepared: Path, cache: Path):
    """Every train clip's features, whole (however long), read once and cached; and the pieces the
    clips over ``max_clip_s`` are cut into (every candidate trains on a subset of these)."""
    import pickle

    from callbot.stt.ctc_train import cut_rules, load_training_set
    from callbot.stt.data import load_split
    from callbot.stt.jamo import build_alphabet

    train, _ = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    if cache.is_file():
        return train, *pickle.loads(cache.read_bytes())
    alphabet = build_alphabet([u.text for u in train])
    whole = params.ctc.model_copy(update={"max_clip_s": 1e9})
    data = load_training_set(train, alphabet, whole, params.seed, 2)
    long = [u for u in train if u.duration_s > params.ctc.max_clip_s]
    cutting = params.model_copy(update={"ctc": params.ctc.model_copy(update={"long_clips": "cut"})})
    pieces = load_training_set(long, alphabet, params.ctc, params.seed, 2, cut_rules(cutting))
    print("whole", data.counts, "cut", pieces.counts, flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps((data, pieces)))
    return train, data, pieces


def _for_candidate(data, pieces, ctc, every: int = 1):
    """The candidate's training set: clips up to its ``max_clip_s`` (by frames), plus (every
    ``every``-th of) the cut pieces of the longer ones when it cuts."""
    from callbot.stt.ctc_train import TrainingSet

    keep = [e for e in data.examples if len(e.features) <= ctc.max_clip_s * 100 + 1]
    if ctc.long_clips == "cut":
        keep += pieces.examples[::every]
    return TrainingSet(keep, data.alphabet, {"used": len(keep)})


def _with(params, overrides: dict, steps: int, validation: int = 200):
    ctc_keys = {k: v for k, v in overrides.items() if k not in ("seed", "pieces_every")}
    ctc = params.ctc.model_copy(
        update={**ctc_keys, "max_steps": steps, "validation_max_utterances": validation}
    )
    seed = overrides.get("seed", params.seed)
    return params.model_copy(update={"ctc": ctc, "save_steps": 10**9, "seed": seed})


def _per_step(params, data, overrides: dict, work: Path) -> tuple[float, float]:
    """Wall- and CPU-seconds per step of a candidate: 3 warm-up steps, then 12 timed ones."""
    from callbot.stt.ctc_train import _new_loop, _run_steps

    probe = _with(params, overrides, 1000)
    loop = _new_loop(probe, data.alphabet)
    _run_steps(probe, data, loop, work / "probe.pt", 3)
    wall, cpu = _run_steps(probe, data, loop, work / "probe.pt", 15)
    return wall / 12, cpu / 12


def speed(prepared: Path, out: Path, only: list[str], threads: int, rounds: int) -> None:
    """Wall- and CPU-seconds per step of each candidate, probed in turn ``rounds`` times in one process
    (so load from other jobs falls on every candidate alike), as ratios against the first."""
    import json

    import torch

    from callbot.config import load_params

    torch.set_num_threads(threads)
    params = load_params().stt
    _, data, pieces = _training_set(params, prepared, out / "features.pkl")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in only}
    for _ in range(rounds):
        for name in only:
            sized = _for_candidate(data, pieces, _with(params, CANDIDATES[name], 1).ctc)
            runs[name].append(_per_step(params, sized, CANDIDATES[name], out / "work"))
    first = np.mean(runs[only[0]], axis=0)
    for name, values in runs.items():
        ratio = np.mean(values, axis=0) / first
        row = {"candidate": name, "threads": threads, "wall_cpu_s_per_step": np.round(values, 3).tolist()}
        print(
            json.dumps(row | {"wall_ratio": round(ratio[0], 3), "cpu_ratio": round(ratio[1], 3)}), flush=True
        )


@dataclass
class Validation:
    """Validation clips decoded by every candidate: their references, analysis keys and audio."""

    refs: list[str]
    keys: list[dict[str, str]]
    channels: dict[str, list[np.ndarray]]


def validation_clips(params, prepared: Path, train, limit: int) -> Validation:
    """``limit`` validation clips spread over the split (0 = all), read once, at 16 kHz and via the line."""
    from callbot.stt.data import load_split, read_audio, through_line
    from callbot.subset import spread

    rows, _ = load_split(prepared, "validation", allow_failed_gate=params.allow_failed_gate)
    rows = [u for u in rows if u.text.strip()]
    rows = [rows[i] for i in spread(len(rows), limit)]
    audios = [read_audio(u.audio_path, u.audio_bytes) for u in rows]
    channels = {"16k": audios, "line": [through_line(a) for a in audios]}
    return Validation([u.text.replace(" ", "") for u in rows], _groups(rows, train), channels)


def _errors(stt, clips: list[np.ndarray], refs: list[str]) -> list[int]:
    """Character edits (spaces ignored) of each clip's transcript against its reference."""
    import jiwer

    hyps = [r.text.replace(" ", "") or "-" for r in stt.transcribe_batch(clips)]
    edits = [jiwer.process_characters(r, h) for r, h in zip(refs, hyps, strict=True)]
    return [e.substitutions + e.deletions + e.insertions for e in edits]


def score(model_dir: Path, params, val: Validation) -> dict:
    """Unseen-sentence CER per channel, overall and by dataset (corpus CER: edits / characters)."""
    from callbot.stt.ctc_infer import CTCTranscriber

    stt = CTCTranscriber(model_dir, batch_size=params.eval_batch_size)
    unseen = [i for i, k in enumerate(val.keys) if k["sentence"] == "unseen"]
    out: dict = {"utterances": len(val.refs), "unseen_utterances": len(unseen)}
    for channel, clips in val.channels.items():
        errs = _errors(stt, clips, val.refs)
        for name in ["", *sorted({val.keys[i]["dataset"] for i in unseen})]:
            idx = [i for i in unseen if not name or val.keys[i]["dataset"] == name]
            key = f"unseen_cer_{channel}" + (f"_{name}" if name else "")
            out[key] = round(sum(errs[i] for i in idx) / sum(len(val.refs[i]) for i in idx), 4)
    return out


def run_candidate(
    params, data, pieces, val: Validation, name: str, cpu_seconds: float, work: Path, steps: int = 0
):
    """Train ``name`` for about ``cpu_seconds`` of CPU (steps sized by a probe) and score validation.

    ``steps`` fixes the steps instead: equal work for candidates that cost the same per step, which
    on a loaded box is fairer than CPU-seconds (a step's CPU-seconds rise with the load)."""
    from callbot.stt.ctc_train import _new_loop, _run_steps, _save_model

    overrides = CANDIDATES[name]
    sized = _for_candidate(data, pieces, _with(params, overrides, 1).ctc, overrides.get("pieces_every", 1))
    if not steps:
        steps = max(10, round(cpu_seconds / _per_step(params, sized, overrides, work)[1]))
    tuned = _with(params, overrides, steps)
    loop = _new_loop(tuned, data.alphabet)
    wall, cpu = _run_steps(tuned, sized, loop, work / "ckpt.pt", steps)
    model_dir = _save_model(loop, tuned, data.alphabet, work / name)
    return {
        "candidate": name,
        "overrides": overrides,
        "examples": len(sized.examples),
        "hours": round(sum(len(e.features) for e in sized.examples) / 360000, 2),
        "steps": steps,
        "cpu_s": round(cpu, 1),
        "cpu_s_per_step": round(cpu / steps, 3),
        "wall_s": round(wall, 1),
        "loss": round(loop.history[-1]["loss"], 3),
        **score(model_dir, tuned, val),
    }


def budget(
    prepared: Path, out: Path, cpu_seconds: float, only: list[str], threads: int, steps: int, limit: int
) -> None:
    """Every candidate in ``only`` for the same CPU budget; results appended to ``<out>/results.jsonl``."""
    import json

    import torch

    from callbot.config import load_params

    torch.set_num_threads(threads)
    params = load_params().stt
    train, data, pieces = _training_set(params, prepared, out / "features.pkl")
    val = validation_clips(params, prepared, train, limit)
    for name in only:
        row = run_candidate(params, data, pieces, val, name, cpu_seconds, out / "work", steps)
        row["threads"] = threads
        print(json.dumps(row, ensure_ascii=False), flush=True)
        with (out / "results.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    table(out)


def _groups(rows, train) -> list[dict[str, str]]:
    """Each validation clip's analysis keys: dataset, duration bucket, held-out voice/words, unseen."""
    from callbot.stt.data import seen_in_training

    voices = {str(u.meta.get("voice") or "").split("-r")[0] for u in train}
    vocab = {w for u in train for w in u.text.split()}
    seen = seen_in_training(rows, train)
    out = []
    for u, s in zip(rows, seen, strict=True):
        voice = str(u.meta.get("voice") or "").split("-r")[0]
        d = u.duration_s
        out.append(
            {
                "dataset": str(u.meta.get("dataset")),
                "duration": "<4s" if d < 4 else "4-8s" if d < 8 else "8-12s" if d < 12 else ">12s",
                "voice": "n/a" if not voice else "held-out" if voice not in voices else "train",
                "words": "held-out" if any(w not in vocab for w in u.text.split()) else "train",
                "sentence": "seen" if s else "unseen",
            }
        )
    return out


def analyse(prepared: Path, model: Path, split: str) -> None:
    """Where a model's validation CER comes from: unseen-sentence CER (and share of all unseen
    edits) by dataset, duration, held-out voice and held-out words, per channel."""
    from callbot.config import load_params
    from callbot.stt.ctc_infer import CTCTranscriber
    from callbot.stt.data import load_split

    params = load_params().stt
    train, _ = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    val = validation_clips(params, prepared, train, 0) if split == "validation" else None
    if val is None:
        raise SystemExit("analyse reads the validation split (test is scored once, by evaluate-stt)")
    stt = CTCTranscriber(model, batch_size=params.eval_batch_size)
    unseen = [i for i, k in enumerate(val.keys) if k["sentence"] == "unseen"]
    for channel, clips in val.channels.items():
        errs = _errors(stt, clips, val.refs)
        total = sum(errs[i] for i in unseen)
        chars = sum(len(val.refs[i]) for i in unseen)
        print(f"== {split} {channel}: unseen {len(unseen)} clips, CER {total / chars:.3f}")
        for key in ("dataset", "duration", "voice", "words"):
            for value in sorted({val.keys[i][key] for i in unseen}):
                idx = [i for i in unseen if val.keys[i][key] == value]
                e, n = sum(errs[i] for i in idx), sum(len(val.refs[i]) for i in idx)
                print(
                    f"  {key:<8} {value:<10} clips {len(idx):>4}  CER {e / n:.3f}  share of edits {e / total:.2f}"
                )


def table(out: Path) -> None:
    """Validation unseen CER per channel (and by dataset where scored), each candidate beside the
    baseline ("base", params.yaml's recipe, else "gru") as ratios."""
    import json

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    base = next((r for r in rows if r["candidate"] == "base"), None) or next(
        (r for r in rows if r["candidate"] == "gru"), None
    )
    sets = ("callcenter", "interview", "phone")
    print(
        "candidate   steps  cpu_s  s/step  unseen16k  unseenLine  ratio16k  ratioLine  "
        + "  ".join(f"{d[:5]}16k {d[:5]}Line" for d in sets)
    )
    for r in rows:
        ratio = [r[k] / base[k] if base else float("nan") for k in ("unseen_cer_16k", "unseen_cer_line")]
        by_set = "  ".join(
            f"{r.get(f'unseen_cer_16k_{d}', float('nan')):>8.4f} {r.get(f'unseen_cer_line_{d}', float('nan')):>9.4f}"
            for d in sets
        )
        print(
            f"{r['candidate']:<11} {r['steps']:>5} {r['cpu_s']:>6} {r['cpu_s_per_step']:>6} "
            f"{r['unseen_cer_16k']:>9} {r['unseen_cer_line']:>10} {ratio[0]:>9.3f} {ratio[1]:>9.3f}  {by_set}"
        )


# ---- varied text (sample.phone_random_words / phone_random_syllables) at equal steps -----------------

# each candidate's training data: the groups of :func:`variety_groups` it joins (halves: the first and
# second half of that kind's texts in generation order)
VARIETY = {
    "base": ("base",),
    "words": ("base", "words-1", "words-2"),
    "syllables": ("base", "syllables-1", "syllables-2"),
    "mixed": ("base", "words-1", "syllables-1"),
    "lexicon": ("base", "lexicon-1", "lexicon-2"),
    "lexicon-half": ("base", "lexicon-1"),
}


def varied_ids(sample) -> dict[str, tuple[str, int]]:
    """utterance_id -> (kind, position among that kind's texts) of every varied-text turn ``sample``
    generates: its sessions after those built without varied text, kind after kind as generated."""
    from callbot.sample.phone import VARIED_PARAMS, build_sessions

    ends, zero = [], dict.fromkeys(VARIED_PARAMS.values(), 0)
    plain = len(build_sessions(sample.model_copy(update=zero)))
    for kind, field in VARIED_PARAMS.items():
        zero.pop(field)
        ends.append((kind, len(build_sessions(sample.model_copy(update=zero)))))
    out, seen = {}, dict.fromkeys(VARIED_PARAMS, 0)
    for position, s in enumerate(build_sessions(sample)[plain:], start=plain):
        kind = next(k for k, end in ends if position < end)
        for index in range(1, len(s.turns) + 1):
            out[f"{s.id}_{index:04d}"] = (kind, seen[kind])
            seen[kind] += 1
    return out


def variety_groups(params, sample, prepared: Path, cache: Path):
    """Features of the train split's groups (base, each kind's halves), their texts and the validation
    clips, read once and cached; the base group is read exactly as ``budget`` reads the split."""
    import pickle

    from callbot.stt.ctc_train import load_training_set
    from callbot.stt.data import load_split
    from callbot.stt.jamo import build_alphabet

    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    train, _ = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    tags = varied_ids(sample)
    sizes = {k: sum(1 for kind, _ in tags.values() if kind == k) for k in ("words", "syllables", "lexicon")}
    rows: dict[str, list] = {"base": [u for u in train if u.utterance_id not in tags]}
    for u in train:
        if u.utterance_id in tags:
            kind, at = tags[u.utterance_id]
            rows.setdefault(f"{kind}-{1 + (at >= sizes[kind] // 2)}", []).append(u)
    alphabet = build_alphabet([u.text for u in train])  # every candidate's: equal shapes
    base_size = build_alphabet([u.text for u in rows["base"]]).size
    print(f"alphabet {alphabet.size} symbols, base text alone {base_size}", flush=True)
    groups = {k: load_training_set(v, alphabet, params.ctc, params.seed, 2) for k, v in rows.items()}
    texts = {k: [u.text for u in v] for k, v in rows.items()}
    val = validation_clips(params, prepared, rows["base"], 0)
    print({k: (g.counts["clips"], g.counts["used"]) for k, g in groups.items()}, "(clips, used)", flush=True)
    cache.with_suffix(".tmp").write_bytes(pickle.dumps((groups, texts, val)))
    cache.with_suffix(".tmp").replace(cache)  # whole or absent: other candidates' processes wait for it
    return groups, texts, val


def with_lm(model_dir: Path, texts: list[str], params, alpha: float = 0.5, beta: float = 1.0) -> None:
    """The model's own jamo LM of ``texts`` saved beside it, decoded by the beam at (alpha, beta) with
    params.yaml's search settings (as train-stt saves its choice)."""
    from callbot.stt.beam import BeamSettings, save_decoding
    from callbot.stt.jamo import Alphabet
    from callbot.stt.lm import build_lm

    d = params.ctc.decode
    build_lm(texts, Alphabet.load(model_dir), d.lm_order).save(model_dir)
    save_decoding(model_dir, BeamSettings(alpha, beta, d.beam, d.top_k, d.blank_skip, d.min_prob), d.lm_order)


def variety_candidate(
    params, groups, texts, val, name: str, steps: int, work: Path, weights: dict[str, float]
) -> dict:
    """Train ``name`` (its groups joined; ``weights``: stt.ctc.dataset_weights) for ``steps``; validation
    unseen CER greedy and with its own LM at alpha 0.5 / beta 1.0, OUTSIDE and the lone short answers."""
    from callbot.stt.ctc_train import TrainingSet, _new_loop, _run_steps, _save_model

    parts = VARIETY[name]
    data = TrainingSet([e for g in parts for e in groups[g].examples], groups["base"].alphabet)
    tuned = _with(params, {"dataset_weights": weights}, steps)
    label = "-".join([name, *(f"{k}{v:g}" for k, v in sorted(weights.items()))])
    loop = _new_loop(tuned, data.alphabet)
    wall, cpu = _run_steps(tuned, data, loop, work / f"{label}.pt", steps)
    model_dir = _save_model(loop, tuned, data.alphabet, work / label)
    row = {"candidate": label, "examples": len(data.examples), "steps": steps, "cpu_s": round(cpu, 1)}
    row["wall_s"] = round(wall, 1)
    row["hours"] = round(sum(len(e.features) for e in data.examples) / 360000, 2)
    row["greedy"] = score(model_dir, tuned, val)
    row["outside_greedy"] = outside(model_dir, show=0)
    with_lm(model_dir, [t for g in parts for t in texts[g]], params)
    row["beam"] = score(model_dir, tuned, val)
    row["outside_beam"] = outside(model_dir, show=0)
    row["short_answers"] = short_answer_figures(model_dir)
    return row


def short_answer_figures(model_dir: Path) -> dict:
    """benchmarks/short_answers_bench.py's yes/no accuracy per decoder and channel (all voices)."""
    import short_answers_bench as bench

    figures = bench.score(model_dir, bench.clips())
    return {d: {k: rows[f"{k}/all"]["yes_no"] for k in ("16k", "line")} for d, rows in figures.items()}


def variety(
    prepared: Path,
    out: Path,
    only: list[str],
    steps: int,
    threads: int,
    counts: tuple[int, int, int],
    weights: dict[str, float],
) -> None:
    """Each candidate of :data:`VARIETY` at ``steps``; rows appended to ``<out>/variety.jsonl``."""
    import json

    import torch

    from callbot.config import load_params

    torch.set_num_threads(threads)
    loaded = load_params()
    sample = loaded.sample.model_copy(
        update={
            "phone_random_words": counts[0],
            "phone_random_syllables": counts[1],
            "phone_lexicon_sentences": counts[2],
        }
    )
    groups, texts, val = variety_groups(loaded.stt, sample, prepared, out / "variety.pkl")
    for name in only:
        row = variety_candidate(loaded.stt, groups, texts, val, name, steps, out / "work", weights)
        row["threads"] = threads
        print(json.dumps(row, ensure_ascii=False), flush=True)
        with (out / "variety.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _two(figures: dict, key: str = "{}") -> str:
    """The 16 kHz and line figures of ``key`` ("{}" stands for the channel) to 3 places."""
    return " ".join(f"{figures[key.format(channel)]:.3f}" for channel in ("16k", "line"))


def variety_table(out: Path) -> None:
    """``<out>/variety.jsonl`` as rows: validation unseen CER (greedy, beam with the model's own LM),
    the phone corpus's part of it, OUTSIDE, and the lone short answers' yes/no accuracy (16 kHz / line)."""
    import json

    rows = [json.loads(line) for line in (out / "variety.jsonl").read_text(encoding="utf-8").splitlines()]
    print(
        "candidate     hours  cpu_s | val greedy  val beam    | phone (greedy) | OUTSIDE greedy beam        | yes/no beam"
    )
    for r in rows:
        g, b = r["greedy"], r["beam"]
        print(
            f"{r['candidate']:<13} {r['hours']:>5} {r['cpu_s']:>6} | {_two(g, 'unseen_cer_{}')} "
            f"{_two(b, 'unseen_cer_{}')} | {_two(g, 'unseen_cer_{}_phone')}    | {_two(r['outside_greedy'])} "
            f"{_two(r['outside_beam'])} | {_two(r['short_answers']['beam_lm'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    m.add_argument("--out", type=Path, default=Path("data/prepared_mix"))
    m.add_argument("--train", type=int, default=3000)
    m.add_argument("--seed", type=int, default=0)
    o = sub.add_parser("outside")
    o.add_argument("model", type=Path)
    od = sub.add_parser("outside-dev")
    od.add_argument("models", type=Path, nargs="+", help="model dirs (<train-stt out>/model)")
    b = sub.add_parser("budget")
    b.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    b.add_argument("--out", type=Path, default=Path("reports/stt-ctc-bench"))
    b.add_argument("--cpu-seconds", type=float, default=280.0)  # the demo spends about 1,125 (750 x 1.5)
    b.add_argument("--only", nargs="+", default=["gru", "conv-b32"], choices=sorted(CANDIDATES))
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--steps", type=int, default=0, help="fixed steps instead of --cpu-seconds")
    b.add_argument(
        "--validation", type=int, default=0, help="validation clips spread over the split (0 = all)"
    )
    s = sub.add_parser("speed")
    s.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    s.add_argument("--out", type=Path, default=Path("reports/stt-ctc-bench"))
    s.add_argument("--only", nargs="+", default=["conv-b32", "bf16"], choices=sorted(CANDIDATES))
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--rounds", type=int, default=3)
    a = sub.add_parser("analyse")
    a.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    a.add_argument("--model", type=Path, default=Path("models/stt"))
    a.add_argument("--split", default="validation")
    v = sub.add_parser("variety")
    v.add_argument("--prepared", type=Path, required=True, help="prepared with both varied kinds on")
    v.add_argument("--out", type=Path, default=Path("reports/stt-variety"))
    v.add_argument("--only", nargs="+", default=["base"], choices=sorted(VARIETY))
    v.add_argument("--steps", type=int, default=1600)
    v.add_argument("--threads", type=int, default=1)
    v.add_argument("--words", type=int, default=0, help="sample.phone_random_words of --prepared")
    v.add_argument("--syllables", type=int, default=0, help="sample.phone_random_syllables of it")
    v.add_argument("--lexicon", type=int, default=0, help="sample.phone_lexicon_sentences of it")
    v.add_argument("--weights", nargs="*", default=[], help="stt.ctc.dataset_weights as DATASET=WEIGHT")
    vt = sub.add_parser("variety-table")
    vt.add_argument("--out", type=Path, default=Path("reports/stt-variety"))
    t = sub.add_parser("table")
    t.add_argument("--out", type=Path, default=Path("reports/stt-ctc-bench"))
    args = parser.parse_args()
    if args.cmd == "make":
        make(args.prepared, args.out, args.train, args.seed)
    elif args.cmd == "outside":
        outside(args.model)
    elif args.cmd == "outside-dev":
        outside_dev(args.models)
    elif args.cmd == "speed":
        speed(args.prepared, args.out, args.only, args.threads, args.rounds)
    elif args.cmd == "analyse":
        analyse(args.prepared, args.model, args.split)
    elif args.cmd == "variety":
        args.out.mkdir(parents=True, exist_ok=True)
        weights = {k: float(v) for k, v in (w.split("=", 1) for w in args.weights)}
        counts = (args.words, args.syllables, args.lexicon)
        variety(args.prepared, args.out, args.only, args.steps, args.threads, counts, weights)
    elif args.cmd == "variety-table":
        variety_table(args.out)
    elif args.cmd == "budget":
        budget(
            args.prepared, args.out, args.cpu_seconds, args.only, args.threads, args.steps, args.validation
        )
    else:
        table(args.out)


if __name__ == "__main__":
    main()
