"""Korean text: transcript normalisation, number readings (shared with TTS) and CER/WER.

Kept light: import the submodules (`normalize`, `numbers`, `metrics`) where they are used.
"""
