"""Language-model activations: models, corpus, variants, extraction and caching."""
