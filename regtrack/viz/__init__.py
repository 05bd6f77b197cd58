"""Drawing results on frames and writing videos (shared by ``regtrack track``, ``demo`` and
the evaluation pictures)."""
