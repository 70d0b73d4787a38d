"""Experiment `random_vs_trained`: SAEs on trained and randomised transformers (Heap, Lawson, Farnik & Aitchison)."""
