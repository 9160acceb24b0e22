"""How the command line shows a training run's events: tqdm bars per epoch and one line per milestone.

Shared by `train` and `distill` (whose stage 1 and 2 are a `model.train.train` run).
"""

from __future__ import annotations


def format_metrics(metrics: dict[str, float]) -> str:
    """'name value, ...' with three decimals."""
    return ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())


class TrainProgress:
    """tqdm bars and summary lines for the events of one run (silent on ranks other than 0)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None

    def close_bar(self) -> None:
        """End the current epoch's progress bar, if one is shown."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def say(self, text: str) -> None:
        """Print one line above the progress bar (nothing on ranks other than 0)."""
        if not self.quiet:
            from tqdm import tqdm

            tqdm.write(text)

    def show(self, event) -> None:
        """Render one training event."""
        from tqdm import tqdm

        from model import train as t

        if self.quiet:
            return
        if isinstance(event, t.RunStarted):
            skips = {split: {k: v for k, v in c.items() if v} for split, c in event.skip_counts.items()}
            self.say(
                f"{'resuming' if event.resumed else 'training'} {event.model_name} on {event.device} "
                f"x{event.world_size}: {event.n_train} training / {event.n_val} validation images "
                f"({event.val_source}); skipped rows: {skips}; writing to {event.out_dir}"
            )
        elif isinstance(event, t.StageStarted):
            self.say(
                f"stage {event.stage}: {event.epochs} epochs of {event.steps_per_epoch} steps, lr "
                f"{event.lr:g} (backbone {event.backbone_lr:g}), best by {event.criterion}"
            )
        elif isinstance(event, t.StepDone):
            if self.bar is None:
                self.bar = tqdm(
                    total=event.steps_per_epoch,
                    initial=event.step - 1,
                    unit="step",
                    desc=f"stage {event.stage} epoch {event.epoch + 1}",
                    dynamic_ncols=True,
                )
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event.losses['total']:.3f}", img_s=f"{event.images_per_s:.1f}")
        elif isinstance(event, t.EpochDone):
            self.close_bar()
            best = " (best)" if event.is_best else ""
            self.say(
                f"stage {event.stage} epoch {event.epoch + 1}: train loss "
                f"{event.train_losses.get('total', float('nan')):.4f}; validation "
                f"{format_metrics(event.metrics)}{best}; {event.seconds:.0f} s"
            )
        elif isinstance(event, t.StageDone):
            self.close_bar()
            self.say(
                f"stage {event.stage} done ({event.reason}) after {event.epochs_run} epochs "
                f"({event.steps} steps): best {event.best_criterion:.4f} at epoch {event.best_epoch + 1} "
                f"-> {event.best_path}"
            )
        elif isinstance(event, t.Cancelled):
            self.close_bar()
            self.say(
                f"cancelled in stage {event.stage}, epoch {event.epoch + 1}, step {event.step}; weights in "
                f"{event.checkpoint_path}; continue with --resume"
            )
        elif isinstance(event, t.RunFinished):
            self.say(f"finished in {event.seconds / 60:.1f} min; model: {event.model_path}")
            self.say(f"validation: {format_metrics(event.final_metrics)}")
            self.say(
                f"evaluate it: python main.py evaluate --model {event.model_path} --data ... --report R.json"
            )
