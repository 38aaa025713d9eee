"""Personal LoRA adapters on diffusion video models. Pure Python: no Django, no app modules.

- ``families``: the two model families, ``ModelSource`` and ``load_pipeline`` (real weights from
  local files, or tiny random models built in code).
- ``data``: face-centred crops, person masks and captions from a consent's pictures.
- ``trainer``: cached-latent LoRA training with atomic checkpoints and exact resume.
- ``validate``: validation renders and the identity score.
"""
