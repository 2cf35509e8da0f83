"""The LLM candidates: tokenizer, LoRA training, evaluation, the grounded responder."""
