"""What the Bento ships: the BentoML service (:mod:`.service`), the request limits (:mod:`.limits`,
typed by the `serve` params in :mod:`.params`), the call log and the web page (``page/``).

Nothing here imports training code: the service needs only the inference modules of the STT, the
LLM responder and the TTS (``bento/bentofile.yaml`` lists exactly what the Bento includes).
"""
