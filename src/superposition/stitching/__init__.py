"""Experiment `stitching`: Leask, Bussmann et al. (2025), "Sparse autoencoders do not find canonical units of
analysis" (ICLR 2025, arXiv 2502.04878).

Modules: :mod:`~.config` (the section), :mod:`~.latents` (an SAE as a set of inference latents, the form in which
latents of two SAEs can be mixed), :mod:`~.matching` (decoder-cosine graph, novel vs reconstruction latents,
matched groups), :mod:`~.stitch` (ΔMSE of inserting and swapping, the stitching path), :mod:`~.train` (the
BatchTopK family on one LM site), :mod:`~.analyse` (the stitching stage), :mod:`~.meta` (meta-SAEs and baselines),
:mod:`~.contexts` (top WordNet contexts of latents and meta-latents), :mod:`~.toy` (the colour × shape toy of
Figure 2), :mod:`~.claims`, :mod:`~.plots`, :mod:`~.results`.
"""
