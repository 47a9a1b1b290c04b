"""cthulhu's compiler: IR, op registry, autodiff, passes and lowering to a Plan.

It knows nothing of Keras layers; cthulhu/backend.py builds its IR.
"""
