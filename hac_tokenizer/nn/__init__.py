"""Neural network building blocks of HAC: CNN codec, transformer encoder, shared layers."""
