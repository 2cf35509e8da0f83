"""callbot: AI-Hub Korean speech and text -> fine-tuned STT and LLM -> a BentoML voice bot."""
