"""Model selection (the leaderboard) and packaging (the BentoML store and the Bento)."""
