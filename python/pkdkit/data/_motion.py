"""The action classes of the synthetic set: one motion pattern each, appearance drawn identically.

Every clip has a textured background and two textured actors of random shape, size and place,
lighting and noise, all drawn from the same distributions whatever the class. Only the motion
differs: which actor moves, how, or how the camera moves. Speeds scale with the frame size so a
class looks the same at 112x96 and 340x256.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._scene import Actor, Scene, random_shape, random_texture

# A class's motion: (scene with static actors and camera, rng) -> the same scene, now moving.
Motion = Callable[[Scene, np.random.Generator, int, int], None]


def _time(scene: Scene) -> np.ndarray:
    return np.arange(len(scene.zoom), dtype=np.float32)


def _period(width: int, height: int, min_zoom: float) -> np.ndarray:
    """The actors' wrap-around size: the widest visible world plus one actor (at most 1.25 times
    the largest radius, 0.28 of the short side, on each side), so no actor is ever seen twice."""
    margin = 0.7 * min(width, height)
    return np.array([width / min_zoom + margin, height / min_zoom + margin], np.float32)


def _speed(rng: np.random.Generator, width: int) -> float:
    """Pixels per frame: 1-2.5 % of the frame width."""
    return float(rng.uniform(0.01, 0.025) * width)


def _translate(dx: float, dy: float) -> Motion:
    def motion(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
        v = _speed(rng, width)
        actor = scene.actors[0]
        actor.centre = actor.centre + np.outer(_time(scene), [dx * v, dy * v]).astype(np.float32)

    return motion


def _rotate(sign: float) -> Motion:
    def motion(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
        rate = np.deg2rad(rng.uniform(6.0, 12.0))
        actor = scene.actors[0]
        actor.angle = (actor.angle + sign * rate * _time(scene)).astype(np.float32)

    return motion


def _zoom(sign: float) -> Motion:
    def motion(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
        # The whole clip zooms by 1.4-2x whatever its length, so long clips stay in range.
        total = np.log(rng.uniform(1.4, 2.0))
        t = _time(scene)
        scene.zoom = np.exp(sign * total * t / max(len(t) - 1, 1)).astype(np.float32)
        scene.period = _period(width, height, float(scene.zoom.min()))
        scene.zoom_centre = np.array(
            [rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height], np.float32
        )

    return motion


def _pan(dx: float) -> Motion:
    def motion(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
        # The camera moves by +dx, so the content (background and actors alike) moves by -dx.
        v = _speed(rng, width)
        scene.pan = np.outer(_time(scene), [dx * v, 0.0]).astype(np.float32)

    return motion


def _oscillate(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
    amplitude = rng.uniform(0.05, 0.12) * width
    period = rng.uniform(8.0, 16.0)
    phase = rng.uniform(0, 2 * np.pi)
    offset = amplitude * np.sin(2 * np.pi * _time(scene) / period + phase)
    actor = scene.actors[0]
    actor.centre = actor.centre + np.stack([offset, np.zeros_like(offset)], 1).astype(np.float32)


def _pair_path(scene: Scene, rng: np.random.Generator, width: int, height: int, approach: bool) -> None:
    """The first two actors on one line: they close in until they touch, or start touching and part."""
    a, b = scene.actors[:2]
    t = _time(scene)
    frames = len(t)
    touch = a.shape.radius + b.shape.radius
    v = _speed(rng, width)
    heading = rng.uniform(-np.pi / 4, np.pi / 4)
    direction = np.array([np.cos(heading), np.sin(heading)], np.float32)
    if approach:
        meet = rng.uniform(0.5, 0.9) * (frames - 1)
        gap = 2 * v * np.maximum(meet - t, 0)
    else:
        start = rng.uniform(0.0, 0.3) * (frames - 1)
        gap = 2 * v * np.maximum(t - start, 0)
    # Keep the widest spacing inside 85 % of the frame width.
    gap *= min(1.0, max(0.85 * width - touch, 0) / max(float(gap.max()), 1e-6))
    distance = touch + gap
    mid = np.array([rng.uniform(0.35, 0.65) * width, rng.uniform(0.3, 0.7) * height], np.float32)
    a.centre = (mid - np.outer(distance / 2, direction)).astype(np.float32)
    b.centre = (mid + np.outer(distance / 2, direction)).astype(np.float32)


def _collide(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
    _pair_path(scene, rng, width, height, approach=True)


def _separate(scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
    _pair_path(scene, rng, width, height, approach=False)


# Class name -> motion, in the order `--classes N` takes them (most distinct first).
CLASSES: dict[str, Motion] = {
    "MoveRight": _translate(1, 0),
    "MoveLeft": _translate(-1, 0),
    "MoveUp": _translate(0, -1),
    "MoveDown": _translate(0, 1),
    "RotateClockwise": _rotate(-1),
    "RotateCounterclockwise": _rotate(1),
    "ZoomIn": _zoom(1),
    "ZoomOut": _zoom(-1),
    "Collide": _collide,
    "Separate": _separate,
    "CameraPanRight": _pan(1),
    "OscillateHorizontal": _oscillate,
}


def make_scene(
    class_name: str, frames: int, width: int, height: int, rng: np.random.Generator
) -> Scene:
    """A random scene of ``frames`` frames moving the way ``class_name`` does.

    Args:
        class_name: a key of :data:`CLASSES`.
        frames: number of frames.
        width: frame width in pixels.
        height: frame height in pixels.
        rng: the only source of randomness (same state, same scene).

    Returns:
        The scene, ready for :func:`pkdkit.data._scene.render`.
    """
    if class_name not in CLASSES:
        raise ValueError(f"unknown synthetic class {class_name!r}; expected one of {list(CLASSES)}")
    short = float(min(width, height))
    actors = []
    for _ in range(2):
        start = np.array([rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height], np.float32)
        actors.append(
            Actor(
                texture=random_texture(rng, short),
                shape=random_shape(rng, short),
                centre=np.tile(start, (frames, 1)),
                angle=np.full(frames, rng.uniform(0, 2 * np.pi), np.float32),
            )
        )
    flicker = 1 + rng.uniform(0, 0.03) * np.sin(rng.uniform(0.1, 0.5) * np.arange(frames) + rng.uniform(0, 6))
    scene = Scene(
        background=random_texture(rng, short),
        actors=actors,
        zoom=np.ones(frames, np.float32),
        pan=np.zeros((frames, 2), np.float32),
        zoom_centre=np.array([width / 2, height / 2], np.float32),
        period=_period(width, height, 1.0),
        gain=(rng.uniform(0.7, 1.2) * flicker).astype(np.float32),
        gradient=rng.uniform(-0.3, 0.3, 2).astype(np.float32),
        noise_sigma=float(rng.uniform(1.0, 4.0)),
    )
    CLASSES[class_name](scene, rng, width, height)
    return scene
