"""(Masked) continual pre-training of a Hugging Face causal LM on packed token blocks.

Masked CPT (docs/method.md, step 3) trains only the entries of a key-neuron mask: tensors
with no entry in the mask are frozen (``requires_grad=False``), a gradient hook zeroes the
gradient of the other entries outside the mask, and AdamW's decoupled weight decay acts
only on entries that have had a gradient, so every entry outside the mask keeps its exact
backbone value, in the plain loop and under DeepSpeed ZeRO alike.
Without a mask it is full-parameter CPT (importance CPT, baselines, pretraining).

Master weights are float32; the result is cast back to each tensor's stored dtype, which
is exact for untouched entries. Training state is saved every ``save_every_steps`` steps
into ``resume_dir``, and a restarted run with the same backbone, mask and arguments
continues from it.

Modules: `plan` (steps and lr schedule), `trainable` (mask or LoRA: which entries train),
`optimizer` (GradientGatedAdamW), `backends` (plain torch, DeepSpeed), `resume` (run
identity and saved state), `run` (`train`, in named steps).
"""

__all__ = ["train"]


def __getattr__(name: str):
    # `train` (torch, transformers) loads on first use, so that `maec.training.plan` stays
    # light for the process that only launches the training processes (maec.training.launch).
    if name == "train":
        from maec.training.run import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
