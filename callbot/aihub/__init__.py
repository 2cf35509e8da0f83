"""AI-Hub download trees: split archives streamed and verified, Korean names decoded."""
