"""Behaviour of the LLM candidates on the smoke data: they learn, LoRA helps, the winner knows the script.

One module-scoped run trains and evaluates all three tiny candidates (GPT-NeoX, GPT-J, Llama) on a
locally built KDCA + interview dataset in the prepare stage's shape, then selects; every test reads it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callbot.contracts import Gate, GateExclusion, read_leaderboard, write_gate
from callbot.llm.params import LLMParams

# Measured on the sample data (8 scripted KDCA intents, 10 train wordings each) with the settings
# below: seen-question exact match 1.0 for all three candidates (and 0.975 for the winner of the demo
# data at the params.yaml settings). 0.85 leaves room for seed and platform noise, while a model that
# did not learn the script (every base: 0.0) fails by far.
SEEN_EXACT_MATCH_THRESHOLD = 0.85
ROUGE_GAIN = 0.5  # fine-tuned ARS ROUGE-L minus its base's (measured: +0.67 to +0.99)


@pytest.fixture(scope="module")
def llm_params(repo, tmp_path_factory) -> LLMParams:
    from callbot.config import read_yaml

    root = tmp_path_factory.mktemp("llm")
    raw = read_yaml(repo / "params.yaml")["llm"]
    raw.update(
        prepared=str(root / "prepared"),
        version_file=str(root / "versions.json"),
        out=str(root / "models"),
        report=str(root / "reports"),
    )
    # Half the width and fewer steps than the demo: the same behaviour in about a minute on one core.
    raw["tiny"] = {**raw["tiny"], "hidden_size": 64, "intermediate_size": 128}
    raw["pretrain"] = {**raw["pretrain"], "max_steps": 150}
    raw["lora"] = {**raw["lora"], "max_steps": 150, "max_length": 96}
    # the tiny stand-ins only; the real Gemma 3 270M candidate has its own test (test_llm_gemma.py)
    raw["candidates"] = [c for c in raw["candidates"] if c["base"] == "build:tiny"]
    return LLMParams.model_validate(raw)


@pytest.fixture(scope="module")
def trained(llm_params):
    """Train, evaluate and select once for the whole module."""
    from callbot.config import read_yaml
    from callbot.llm.evaluate import run_evaluate_llm
    from callbot.llm.train import run_train_llm
    from callbot.registry.params import SelectParams
    from callbot.registry.select import run_select
    from tests.support.llm_sample_data import write_sample_llm_dataset

    prepared = Path(llm_params.prepared)
    write_sample_llm_dataset(prepared)
    runs = run_train_llm(prepared, llm_params)
    reports = run_evaluate_llm(prepared, llm_params)
    raw = read_yaml(Path(__file__).resolve().parents[2] / "params.yaml")["select"]
    select = SelectParams.model_validate(
        {
            **raw,
            "reports": llm_params.report,
            "bot_metrics": "",  # no speech here: rank on the text-level ARS figures
            "primary_metric": "ars_exact_match",
            "leaderboard": llm_params.report,
            "out": str(Path(llm_params.out).parent / "selected.json"),
        }
    )
    selected = run_select(select)
    return {"runs": runs, "reports": {r["candidate"]: r for r in reports}, "selected": selected}


@pytest.mark.slow
def test_every_candidate_trains_and_its_loss_falls(trained, llm_params):
    from callbot.llm.train import checkpoints_dir

    names = {c.name for c in llm_params.candidates}
    assert {r.name for r in trained["runs"]} == names
    for run in trained["runs"]:
        assert run.pretrain_losses, run.name
        assert run.pretrain_losses[-1] < 0.5 * run.pretrain_losses[0], run.name
        head, tail = run.lora_losses[:5], run.lora_losses[-5:]
        assert sum(tail) / len(tail) < 0.5 * sum(head) / len(head), (run.name, head, tail)
        assert 0 < run.trainable_parameters < run.parameters
        root = Path(llm_params.out) / run.name
        assert (root / "adapter" / "adapter_config.json").is_file()
        assert (root / "merged" / "config.json").is_file()
        # finished runs leave no checkpoints to resume from
        assert not checkpoints_dir(llm_params, run.name).exists()


@pytest.mark.slow
def test_fine_tuned_beats_its_own_base_on_ars_rouge(trained):
    for name, report in trained["reports"].items():
        tuned, base = report["metrics"]["ars_rouge_l"], report["base_metrics"]["ars_rouge_l"]
        assert tuned >= base + ROUGE_GAIN, (name, base, tuned)


@pytest.mark.slow
def test_every_task_is_scored(trained):
    for report in trained["reports"].values():
        metrics = report["metrics"]
        for key in (
            "ars_rouge_1", "ars_rouge_2", "ars_rouge_l", "ars_exact_match", "ars_seen_exact_match",
            "summary_rouge_1_recall", "summary_rouge_1_precision", "emotion_accuracy", "emotion_macro_f1",
            "intent_accuracy", "perplexity",
        ):  # fmt: skip
            assert key in metrics, key
        assert metrics["perplexity"] < report["base_metrics"]["perplexity"]


@pytest.mark.slow
def test_winner_answers_seen_scripted_questions_with_the_script(trained):
    from callbot.llm.infer import load_responder
    from tests.support.llm_sample_data import KDCA_SCRIPTS, sample_llm_rows

    selected = trained["selected"]
    assert selected.metrics["ars_seen_exact_match"] >= SEEN_EXACT_MATCH_THRESHOLD
    responder = load_responder(Path(selected.merged))
    seen = [r for r in sample_llm_rows()["train"] if r["task"] == "ars"]
    hits = 0
    for row in seen[::5]:
        result = responder.reply(row["messages"][1]["content"])
        hits += result.text == row["reference"] and not result.guarded
    assert hits / len(seen[::5]) >= SEEN_EXACT_MATCH_THRESHOLD
    scripted = {answer for _, answer in KDCA_SCRIPTS.values()}
    off = responder.reply("오늘 저녁 메뉴로 파스타를 추천해 주세요")
    assert off.text in scripted or off.guarded  # never free text outside the script


@pytest.mark.slow
def test_selection_records_winner_paths_and_dataset_version(trained, llm_params):
    selected = trained["selected"]
    assert selected.winner in trained["reports"]
    assert Path(selected.adapter, "adapter_config.json").is_file()
    assert selected.dataset_version is not None and re.fullmatch(
        r"sha256:[0-9a-f]{16}", selected.dataset_version
    )
    board = read_leaderboard(Path(llm_params.report, "leaderboard.json"))
    assert board.winner == selected.winner
    assert len(board.rows) == len(llm_params.candidates)


def test_hub_id_is_refused_under_smoke(llm_params, tmp_path):
    from callbot.llm.train import run_train_llm
    from tests.support.llm_sample_data import write_sample_llm_dataset

    write_sample_llm_dataset(tmp_path)
    hub = llm_params.candidates[0].model_copy(update={"base": "EleutherAI/polyglot-ko-1.3b"})
    params = llm_params.model_copy(update={"candidates": [hub]})
    with pytest.raises(ValueError, match=r"llm\.offline is true"):
        run_train_llm(tmp_path, params)


def test_qlora_is_refused_without_cuda(llm_params, tmp_path):
    import torch

    from callbot.llm.train import run_train_llm

    if torch.cuda.is_available():
        pytest.skip("a CUDA host may run QLoRA")
    params = llm_params.model_copy(update={"lora": llm_params.lora.model_copy(update={"qlora": True})})
    with pytest.raises(RuntimeError, match=r"qlora is true but no CUDA"):
        run_train_llm(tmp_path, params)


def test_missing_dataset_says_to_run_prepare(llm_params, tmp_path):
    from callbot.llm.train import run_train_llm

    with pytest.raises(FileNotFoundError, match=r"run `callbot prepare`"):
        run_train_llm(tmp_path, llm_params)


def test_assistant_only_labels_and_resume(llm_params, tmp_path):
    """Prompt tokens never count in the loss; an interrupted run continues from its checkpoint."""
    from callbot.llm.model import build_tiny_model
    from callbot.llm.tokenizer import load_tokenizer, train_tokenizer
    from callbot.llm.train import _fit, chat_example
    from tests.support.llm_sample_data import sample_llm_rows

    rows = sample_llm_rows()["train"][:24]
    texts = [m["content"] for r in rows for m in r["messages"]]
    tokenizer = load_tokenizer(train_tokenizer(texts, tmp_path / "tok", llm_params.tokenizer))
    example = chat_example(tokenizer, rows[0]["messages"], 160)
    answer = [t for t in example["labels"] if t != -100]
    assert tokenizer.decode(answer, skip_special_tokens=True) == rows[0]["reference"]
    assert answer[-1] == tokenizer.eos_token_id
    assert example["labels"][: len(example["labels"]) - len(answer)] == [-100] * (
        len(example["labels"]) - len(answer)
    )

    examples = [chat_example(tokenizer, r["messages"], 160) for r in rows]
    model = build_tiny_model("llama", tokenizer, {"hidden_size": 32, "layers": 1, "heads": 2,
                             "intermediate_size": 64, "max_positions": 256}, 0)  # fmt: skip
    ckpt = tmp_path / "ckpt"
    first, resumed = _fit(model, examples, tokenizer.pad_token_id, epochs=1, learning_rate=1e-3, batch_size=8,
                          seed=0, checkpoints=ckpt, save_steps=2, label="t")  # fmt: skip
    assert resumed is None and len(first) == 3
    again, resumed = _fit(model, examples, tokenizer.pad_token_id, epochs=2, learning_rate=1e-3, batch_size=8,
                          seed=0, checkpoints=ckpt, save_steps=2, label="t")  # fmt: skip
    assert resumed is not None and resumed.endswith("checkpoint-3")
    assert len(again) == 6 and again[:3] == first  # the first epoch came from the checkpoint, not rerun


def test_rows_the_gate_excluded_are_skipped(tmp_path):
    from callbot.llm.train import load_llm_dataset
    from tests.support.llm_sample_data import write_sample_llm_dataset

    write_sample_llm_dataset(tmp_path)
    before = load_llm_dataset(tmp_path)
    victim = before["train"]["id"][0]
    excluded = [GateExclusion(utterance_id=victim, interview_id=None, expectations=["x"])]
    gate = Gate(passed=True, reasons=[], excluded=excluded, summary="summary.json")
    write_gate(tmp_path / "gate.json", gate)
    after = load_llm_dataset(tmp_path)
    assert victim not in after["train"]["id"]
    assert len(after["train"]) == len(before["train"]) - 1
    write_gate(
        tmp_path / "gate.json",
        gate.model_copy(update={"passed": False, "reasons": ["labels.ids_unique failed"]}),
    )
    with pytest.raises(ValueError, match=r"gate FAILED \(labels.ids_unique failed\).*llm.allow_failed_gate"):
        load_llm_dataset(tmp_path)
    assert len(load_llm_dataset(tmp_path, allow_failed_gate=True)["train"]) == len(after["train"])
