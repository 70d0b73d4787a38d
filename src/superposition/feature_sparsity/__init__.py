"""Experiment `feature_sparsity`: Deng, Tao & Benton (2023), Measuring Feature Sparsity in Language Models."""
