"""Whisper STT: data, training, joint CTC decoding, evaluation, export for serving."""
