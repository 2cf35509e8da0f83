"""The call as the product's measure: spoken caller questions through STT -> router -> guard (`evaluate-bot`)."""
