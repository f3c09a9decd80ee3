"""``pkdkit predict``: anytime inference on one video with the WISE cascade."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._options import device_option, runs_option


@click.command()
@click.argument("video", type=click.Path(exists=True, dir_okay=False))
@runs_option()
@click.option("--wise", "wise_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A model from `pkdkit wise fit`.")
@click.option("--threshold", default=0.999999, show_default=True, help="Exit when the max probability exceeds it.")
@click.option("--classes", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="classInd.txt, to print class names.")
@device_option()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def predict(video, runs, wise_path, threshold, classes, device, as_json) -> None:
    """Classify VIDEO, computing exits in cascade order only until one is confident enough."""
    from ..devices import resolve_device
    from ..inference import class_names, predict_video, read_run
    from ..wise import WiseModel

    if not 0.0 <= threshold <= 1.0:
        raise click.BadParameter(f"must lie in [0, 1], got {threshold}", param_hint="--threshold")
    dev = resolve_device(device)
    infos = {m: read_run(r, dev) for m, r in runs.items()}
    result = predict_video(video, infos, WiseModel.load(wise_path), threshold, device=dev)
    names = class_names(classes)
    label = names[result.class_index] if names and result.class_index < len(names) else str(result.class_index)
    if as_json:
        click.echo(json.dumps({"class": label, "class_index": result.class_index, "confidence": result.confidence,
                               "exit": result.exit_name, "exits_computed": result.stage,
                               "gmacs": result.cost / 1e9}))
    else:
        click.echo(f"{video}: {label} (confidence {result.confidence:.4f}) at exit {result.exit_name} "
                   f"after {result.stage} of 12 exits, {result.cost / 1e9:.3f} GMACs")
