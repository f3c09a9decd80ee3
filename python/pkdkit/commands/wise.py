"""``pkdkit wise fit`` and ``pkdkit wise eval``: learn WISE on train logits, sweep thresholds on test logits."""

from __future__ import annotations

from pathlib import Path

import click

from ._options import device_option

DEFAULT_THRESHOLDS = "0.5,0.8,0.9,0.95,0.99,0.995,0.999,0.9999,0.99999,0.999995,0.999999,1.0"


def _thresholds(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not 0.0 <= v <= 1.0 for v in values):
        raise click.BadParameter(f"thresholds must lie in [0, 1], got {text!r}")
    return values


@click.group()
def wise() -> None:
    """Weighted Inference with Scaled Ensemble over the 12 exits (R1..R4, MV1..MV4, I1..I4)."""


@wise.command("fit")
@click.option("--train-logits", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Logits file of the training set (from `pkdkit logits --set train`).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the fitted model (JSON).")
@click.option("--variant", type=click.Choice(["wise", "no_division", "no_scaling", "no_lateral"]),
              default="wise", show_default=True)
@click.option("--iterations", default=500, show_default=True, help="Full-batch SGD steps.")
@click.option("--lr", default=0.1, show_default=True)
@click.option("--l1", default=0.1, show_default=True, help="L1 penalty after the first five stages.")
@click.option("--first-stage", type=click.Choice(["raw", "learned"]), default="raw", show_default=True,
              help="raw: test R1's raw logits (the authors'); learned: learn a weight on R1 (pkdkit option).")
@click.option("--last-stage", type=click.Choice(["authors", "cascade"]), default="authors", show_default=True,
              help="authors: fall back to the fitted I4/R4/MV4 ensemble; cascade: the fitted 12-exit stage.")
@click.option("--calibrate/--no-calibrate", default=False, show_default=True,
              help="Also fit one softmax temperature per stage.")
@device_option()
def fit_command(train_logits, out, variant, iterations, lr, l1, first_stage, last_stage, calibrate, device) -> None:
    """Learn the per-stage ensemble weights from training-set logits (the authors' WISE by default)."""
    from .. import wise as wise_lib
    from ..evaluate import load_logits

    data = load_logits(train_logits).select(wise_lib.CASCADE)
    model = wise_lib.fit(
        data.logits, data.labels, data.costs, variant=variant, iterations=iterations, lr=lr, l1=l1,
        learn_first_stage=first_stage == "learned", last_stage=last_stage, calibrate=calibrate,
        device=None if device == "auto" else device,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    click.echo(f"wrote {out} ({variant}, {model.num_stages} stages, final losses "
               f"{model.history[0]:.3f} .. {model.history[-1]:.3f})" if model.history else f"wrote {out}")


@wise.command("eval")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--test-logits", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--thresholds", default=DEFAULT_THRESHOLDS, show_default=True,
              help="Comma-separated exit thresholds (1.0 = use every exit).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for tradeoff.md, tradeoff.json and tradeoff.png.")
def eval_command(model_path, test_logits, thresholds, out) -> None:
    """Sweep thresholds on test logits: accuracy vs cost table, JSON and plot, with baselines.

    Beside the curves: area under accuracy-vs-cost, accuracy at 25/50/75 % of the full cascade's
    cost, an SDN-style confidence-exit baseline on the same logits, and the cost of the first
    model's points under the authors' counting rules next to pkdkit's (every video once).
    """
    from .. import wise as wise_lib
    from ..evaluate import load_logits, tradeoff_report, write_report

    model = wise_lib.WiseModel.load(model_path)
    data = load_logits(test_logits).select(model.names)
    report = tradeoff_report(
        wise_lib.comparison_models(model), data, _thresholds(thresholds),
        baselines={"CoViAR 2:1:1": wise_lib.coviar_fusion(data.logits, data.labels, data.costs, model.names)},
    )
    paths = write_report(report, out)
    click.echo(paths["md"].read_text())
    click.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
