"""Training: shared encoder, walk-forward splits, hyperparameter search, per-coin trainer, model artifacts.

Entry points: `training.encoder.fit_shared_encoder` / `load_shared_encoder`, `training.trainer.train_coin`,
`training.trainer.load_model`. Nothing here imports dagster.
"""
