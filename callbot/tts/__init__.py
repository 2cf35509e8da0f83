"""Speech synthesis: the espeak-ng engine, the voice bundle, the telephone channel."""
