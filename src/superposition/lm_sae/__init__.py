"""Experiment `lm_sae`: Sharkey, Braun & Millidge (2022), the language-model section (Figures 11–13)."""
