"""Experiments: a comparison or a sweep of training jobs, made of ordinary jobs trained as stacks.

``request`` (the body of ``POST /experiments``), ``members`` (expanding it into member specs with labels),
``curves`` (what a cost curve says: roughness, convergence) and ``table`` (the comparison table).
"""
