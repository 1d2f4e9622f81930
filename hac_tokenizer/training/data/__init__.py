"""Training data: manifests, preparers for public corpora, the synthetic aligned corpus, clip loading."""
