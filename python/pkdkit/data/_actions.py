"""The ``actions`` preset: synthetic classes shaped like real action data.

In UCF-101 the scene and the objects already say a lot (water, a ball, a court), and the motion
settles what appearance leaves open; CoViAR's single networks rank I-frame > residual > MV. Here
each class is a *motion* (travel, bounce, spin, approach), a *scene*, the colour of a small static
*prop* and an *outfit colour* of its actor, and each clip draws each of the four independently:
the class's own with the probability in :data:`PREFERENCE`, otherwise another at random. So:

- the classes come in pairs that share a scene and differ in motion, prop colour and outfit: the
  scene, which any layer reads from colour and texture statistics, names the pair and no more;
- inside a pair the I-frame network has the prop's colour, the MV and residual networks the
  motion: each splits the pair on its own, so the fusion has room above the I-frame network;
- every motion belongs to two classes of different pairs: motion alone at best halves the
  candidates;
- the prop is small and anywhere, and in some clips of every class a large banner shows a prop's
  colour too: the cue is "a small closed blob of that colour", which takes the deeper layers'
  context, not "how much of that colour", which a first-block head reads; so the I-frame
  network's early exits see less than its last;
- which cue reaches which representation follows from what each one can see: the I-frame sees
  scene, prop and outfit but no motion; motion vectors see the motion (and the camera's drift) but
  no colour; residuals see the motion through its prediction errors, a little of the scene's fine
  texture through the camera's slow drift, and the outfit, whose pattern changes inside the
  actor's outline (limbs, cloth) where block motion cannot follow; never the static prop.

``docs/synthetic.md`` lists the classes and every distribution; :func:`bayes_accuracy` gives the
best accuracy each set of cues allows.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ._motion import _pair_path, _period, _speed, _time
from ._scene import Actor, Scene, Shape, Texture

SCENES = ("water", "pool", "grass", "field", "court", "sand", "indoor", "track")
#: The prop's outlines, drawn uniformly whatever the class.
PROP_SHAPES: tuple[Shape, ...] = (Shape("disk", 1.0), Shape("triangle", 1.25), Shape("square", 1.0))
#: The prop's colours (jittered by up to 30 per channel): the cue that splits a pair of classes.
PROP_COLOURS: dict[str, tuple[float, float, float]] = {"yellow": (230, 210, 30), "magenta": (200, 40, 200)}
#: The prop's radius as a fraction of the frame's short side (before the outline's own factor).
PROP_SIZE = (0.12, 0.16)
#: Fraction of the clips, in every class alike, with a large banner in a prop's colour.
BANNER = 0.25
#: Outfit colours: mean RGB of the actor's texture (each clip jitters it by up to 25 per channel).
#: None is a prop's colour, so a prop's colour is only ever a prop's.
COLOURS: dict[str, tuple[float, float, float]] = {
    "white": (232, 232, 232),
    "black": (35, 35, 40),
    "orange": (240, 130, 30),
    "cyan": (40, 200, 210),
    "brown": (140, 90, 50),
    "navy": (30, 40, 110),
    "olive": (110, 120, 40),
    "silver": (160, 160, 170),
}
MOTIONS = ("travel", "bounce", "spin", "approach")
#: Probability that a clip shows its class's own motion, scene, prop colour and outfit colour
#: (each drawn independently); otherwise one of the others, uniformly.
PREFERENCE = {"motion": 0.8, "scene": 0.9, "prop": 0.9, "colour": 0.3}


@dataclass(frozen=True)
class ActionClass:
    """One class of the preset: its usual motion and its preferred appearance."""

    name: str
    motion: str
    scene: str
    prop: str
    colour: str


#: In the order ``--classes N`` takes them. Classes come in pairs that share a scene and differ
#: in motion, prop colour and outfit (Swim/Dive in water, Juggle/Wrestle on grass, Fence/Dribble
#: indoors, Run/Cartwheel on the track); every motion belongs to two classes of different pairs.
ACTION_CLASSES: tuple[ActionClass, ...] = (
    ActionClass("Swim", "travel", "water", "yellow", "white"),
    ActionClass("Juggle", "bounce", "grass", "yellow", "black"),
    ActionClass("Fence", "approach", "indoor", "yellow", "orange"),
    ActionClass("Dive", "spin", "water", "magenta", "cyan"),
    ActionClass("Run", "travel", "track", "yellow", "brown"),
    ActionClass("Dribble", "bounce", "indoor", "magenta", "olive"),
    ActionClass("Wrestle", "approach", "grass", "magenta", "navy"),
    ActionClass("Cartwheel", "spin", "track", "magenta", "silver"),
)
CLASS_BY_NAME = {c.name: c for c in ACTION_CLASSES}
#: The scenes the classes use (one per pair); a clip's scene is one of these.
CLASS_SCENES = tuple(dict.fromkeys(c.scene for c in ACTION_CLASSES))


def _pick(rng: np.random.Generator, preferred: str, choices: tuple[str, ...], p: float) -> str:
    """``preferred`` with probability ``p``, else one of the other ``choices`` uniformly."""
    if rng.random() < p:
        return preferred
    others = [c for c in choices if c != preferred]
    return others[int(rng.integers(len(others)))]


def _gratings(
    rng: np.random.Generator, k: int, wavelength: tuple[float, float], theta: tuple[float, float],
    amplitude: tuple[float, float], tint: tuple[float, float, float], base: tuple[float, float, float],
    jitter: float, sharpness: float,
) -> Texture:
    """``k`` gratings of the given wavelength (pixels), orientation and amplitude, tinted."""
    lam = rng.uniform(*wavelength, k)
    ang = rng.uniform(*theta, k)
    omega = 2 * np.pi / lam
    freqs = np.stack([omega * np.cos(ang), omega * np.sin(ang)], axis=1)
    amp = rng.uniform(*amplitude, (k, 1)) * rng.choice([-1.0, 1.0], (k, 1))
    colours = amp * (np.array(tint) + rng.uniform(-0.25, 0.25, (k, 3)))
    return Texture(
        freqs=freqs.astype(np.float32),
        phases=rng.uniform(0, 2 * np.pi, k).astype(np.float32),
        colours=colours.astype(np.float32),
        base=(np.array(base) + rng.uniform(-jitter, jitter, 3)).astype(np.float32),
        sharpness=sharpness,
    )


def _lines(tex: Texture, angles: list[float], rng: np.random.Generator) -> Texture:
    """``tex`` with its gratings turned to ``angles`` (plus a little jitter): straight lines."""
    ang = np.array(angles, np.float32) + rng.uniform(-0.08, 0.08, len(angles)).astype(np.float32)
    omega = np.hypot(tex.freqs[:, 0], tex.freqs[:, 1])
    freqs = np.stack([omega * np.cos(ang), omega * np.sin(ang)], axis=1).astype(np.float32)
    return Texture(freqs, tex.phases, tex.colours, tex.base, tex.sharpness)


def scene_texture(kind: str, rng: np.random.Generator, scale: float) -> Texture:
    """The background of one scene family; ``scale`` is the frame's short side in pixels.

    Families come in pairs of one colour told apart by their texture (water/pool, grass/field,
    court/sand), so colour alone does not name the scene.
    """
    half = np.pi / 2
    k = int(rng.integers(3, 6))
    if kind == "water":  # blue, smooth horizontal swell
        return _gratings(rng, k, (0.12 * scale, 0.35 * scale), (half - 0.3, half + 0.3), (12, 28),
                         (0.6, 0.8, 1.0), (45, 105, 175), 25, 0.0)
    if kind == "pool":  # blue, a grid of tiles
        tex = _gratings(rng, 2, (0.1 * scale, 0.16 * scale), (0, 0), (20, 30), (1.0, 1.0, 1.0), (60, 120, 190), 25, 8.0)
        return _lines(tex, [0.0, half], rng)
    if kind == "grass":  # green, fine vertical blades
        return _gratings(rng, k + 3, (0.04 * scale, 0.09 * scale), (-0.25, 0.25), (10, 25), (0.6, 1.0, 0.4),
                         (70, 140, 55), 25, float(rng.uniform(2.5, 6.0)))
    if kind == "field":  # green, large soft patches
        return _gratings(rng, k, (0.3 * scale, 0.8 * scale), (0, np.pi), (15, 30), (0.8, 1.0, 0.5), (80, 150, 60),
                         25, 0.0)
    if kind == "court":  # tan floor with long straight lines along and across
        tex = _gratings(rng, 4, (0.25 * scale, 0.6 * scale), (0, 0), (15, 30), (1.0, 0.9, 0.7), (185, 135, 85), 25, 8.0)
        return _lines(tex, [0.0, half, 0.0, half], rng)
    if kind == "sand":  # tan, fine ripples in every direction
        return _gratings(rng, k + 2, (0.05 * scale, 0.1 * scale), (0, np.pi), (6, 14), (1.0, 0.9, 0.7),
                         (190, 150, 95), 25, 0.0)
    if kind == "indoor":  # grey, low contrast, any orientation
        return _gratings(rng, k + 1, (0.06 * scale, 0.25 * scale), (0, np.pi), (5, 14), (1.0, 1.0, 1.0),
                         (125, 120, 118), 30, float(rng.choice([0.0, 2.0])))
    if kind == "track":  # red-brown with white horizontal lanes
        tex = _gratings(rng, 2, (0.15 * scale, 0.25 * scale), (0, 0), (25, 40), (1.0, 1.0, 1.0), (165, 70, 55),
                        25, 10.0)
        return _lines(tex, [half, half], rng)
    raise ValueError(f"unknown scene {kind!r}; expected one of {SCENES}")


def prop_actor(colour: str, rng: np.random.Generator, width: int, height: int, frames: int) -> Actor:
    """A small static object of ``colour`` (a key of :data:`PROP_COLOURS`) anywhere in the frame,
    of any outline in :data:`PROP_SHAPES`, at any angle."""
    if colour not in PROP_COLOURS:
        raise ValueError(f"unknown prop colour {colour!r}; expected one of {tuple(PROP_COLOURS)}")
    short = float(min(width, height))
    outline = PROP_SHAPES[int(rng.integers(len(PROP_SHAPES)))]
    size = float(rng.uniform(PROP_SIZE[0], PROP_SIZE[1])) * short
    shape = Shape(outline.kind, outline.radius * size, aspect=outline.aspect, lobes=outline.lobes)
    texture = _gratings(rng, 2, (0.05 * short, 0.1 * short), (0, np.pi), (8, 16), (1.0, 1.0, 1.0),
                        PROP_COLOURS[colour], 30, float(rng.choice([0.0, 4.0])))
    place = np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height], np.float32)
    return Actor(texture, shape, np.tile(place, (frames, 1)), np.full(frames, rng.uniform(0, 2 * np.pi), np.float32))


def banner_actor(rng: np.random.Generator, width: int, height: int, frames: int) -> tuple[str, Actor]:
    """A large static banner in one of the props' colours, drawn alike for every class (a large
    area of a prop's colour is no prop; only a small closed blob of it is): its colour and actor."""
    short = float(min(width, height))
    colour = list(PROP_COLOURS)[int(rng.integers(len(PROP_COLOURS)))]
    shape = Shape("square", float(rng.uniform(0.4, 0.55)) * short)
    texture = _gratings(rng, 2, (0.05 * short, 0.1 * short), (0, np.pi), (8, 16), (1.0, 1.0, 1.0),
                        PROP_COLOURS[colour], 30, float(rng.choice([0.0, 4.0])))
    place = np.array([rng.uniform(0.0, 1.0) * width, rng.uniform(0.0, 1.0) * height], np.float32)
    return colour, Actor(texture, shape, np.tile(place, (frames, 1)),
                         np.full(frames, rng.uniform(-0.3, 0.3), np.float32))


def person_actor(colour: str, rng: np.random.Generator, width: int, height: int, frames: int) -> Actor:
    """The actor: an outline of random kind in an outfit of ``colour`` whose pattern moves within it."""
    short = float(min(width, height))
    texture = _gratings(rng, int(rng.integers(3, 6)), (0.05 * short, 0.15 * short), (0, np.pi), (18, 40),
                        (1.0, 1.0, 1.0), COLOURS[colour], 25, float(rng.choice([0.0, 3.0])))
    # Limbs and cloth: the pattern drifts 0.15-0.4 rad per frame, so it changes within the outline.
    drift = rng.uniform(0.15, 0.4, len(texture.phases)) * rng.choice([-1.0, 1.0], len(texture.phases))
    texture = Texture(texture.freqs, texture.phases, texture.colours, texture.base, texture.sharpness,
                      drift.astype(np.float32))
    shape = Shape(str(rng.choice(("ellipse", "flower", "square"))), float(rng.uniform(0.14, 0.22) * short),
                  aspect=float(rng.uniform(0.5, 0.8)), lobes=int(rng.integers(3, 7)))
    start = np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.25, 0.75) * height], np.float32)
    return Actor(texture, shape, np.tile(start, (frames, 1)), np.full(frames, rng.uniform(-0.4, 0.4), np.float32))


def _move(motion: str, scene: Scene, rng: np.random.Generator, width: int, height: int) -> None:
    """Sets the actors' paths for ``motion`` (the person is ``scene.actors[0]``)."""
    t = _time(scene)
    person = scene.actors[0]
    if motion == "travel":  # left or right at 1-2.5 % of the width per frame
        v = _speed(rng, width) * float(rng.choice([-1.0, 1.0]))
        person.centre = person.centre + np.outer(t, [v, 0.0]).astype(np.float32)
    elif motion == "bounce":  # hops: up and down with a sharp landing
        amplitude = rng.uniform(0.12, 0.2) * height
        period = rng.uniform(8.0, 14.0)
        hop = amplitude * np.abs(np.sin(np.pi * t / period + rng.uniform(0, np.pi)))
        person.centre = person.centre - np.stack([np.zeros_like(hop), hop], 1).astype(np.float32)
    elif motion == "spin":  # either way, 6-12 degrees per frame
        rate = np.deg2rad(rng.uniform(6.0, 12.0)) * float(rng.choice([-1.0, 1.0]))
        person.angle = (person.angle + rate * t).astype(np.float32)
    elif motion == "approach":  # two people close in until they touch
        _pair_path(scene, rng, width, height, approach=True)
    else:
        raise ValueError(f"unknown motion {motion!r}; expected one of {MOTIONS}")


def make_action_scene(class_name: str, frames: int, width: int, height: int, rng: np.random.Generator) -> Scene:
    """A random clip of ``class_name`` (a name in :data:`ACTION_CLASSES`).

    Args:
        class_name: the class.
        frames: number of frames.
        width: frame width in pixels.
        height: frame height in pixels.
        rng: the only source of randomness (same state, same scene).

    Returns:
        The scene, ready for :func:`pkdkit.data._scene.render`.
    """
    if class_name not in CLASS_BY_NAME:
        raise ValueError(f"unknown action class {class_name!r}; expected one of {list(CLASS_BY_NAME)}")
    cls = CLASS_BY_NAME[class_name]
    short = float(min(width, height))
    motion = _pick(rng, cls.motion, MOTIONS, PREFERENCE["motion"])
    scene_kind = _pick(rng, cls.scene, CLASS_SCENES, PREFERENCE["scene"])
    prop = _pick(rng, cls.prop, tuple(PROP_COLOURS), PREFERENCE["prop"])
    colour = _pick(rng, cls.colour, tuple(COLOURS), PREFERENCE["colour"])
    # Two people in every clip (only "approach" moves the second), so their number says nothing.
    other = str(rng.choice([c for c in COLOURS if c != colour]))
    actors = [person_actor(colour, rng, width, height, frames), person_actor(other, rng, width, height, frames)]
    # A hand-held camera: a slow drift of 0.1-0.3 % of the width per frame, any direction. Motion
    # vectors follow it; residuals show the scene's fine texture, which block motion smooths over.
    drift = rng.uniform(0.0015, 0.004) * width
    heading = rng.uniform(0, 2 * np.pi)
    t = np.arange(frames, dtype=np.float32)
    flicker = 1 + rng.uniform(0, 0.01) * np.sin(rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6))
    scene = Scene(
        background=scene_texture(scene_kind, rng, short),
        actors=actors,
        zoom=np.ones(frames, np.float32),
        pan=np.outer(t, [drift * np.cos(heading), drift * np.sin(heading)]).astype(np.float32),
        zoom_centre=np.array([width / 2, height / 2], np.float32),
        period=_period(width, height, 1.0),
        gain=(rng.uniform(0.8, 1.15) * flicker).astype(np.float32),
        gradient=rng.uniform(-0.3, 0.3, 2).astype(np.float32),
        noise_sigma=float(rng.uniform(1.0, 4.0)),
        cues={"motion": motion, "scene": scene_kind, "prop": prop, "colour": colour, "banner": "none"},
    )
    _move(motion, scene, rng, width, height)
    # The prop stands in front of the people, so they never hide it; the banner behind everything.
    scene.actors.insert(0, prop_actor(prop, rng, width, height, frames))
    if rng.random() < BANNER:
        scene.cues["banner"], banner = banner_actor(rng, width, height, frames)
        scene.actors.append(banner)
    return scene


def bayes_accuracy(seen: set[str]) -> float:
    """The best accuracy a classifier that sees only the cues ``seen`` (keys of
    :data:`PREFERENCE`) can reach on the 8 classes, exactly, from :data:`PREFERENCE` alone (the
    banner, noise and rendering ignored; a network reaches less)."""
    choices = {"motion": MOTIONS, "scene": CLASS_SCENES, "prop": tuple(PROP_COLOURS), "colour": tuple(COLOURS)}
    if not seen <= set(choices):
        raise ValueError(f"unknown cues {sorted(seen - set(choices))}; expected some of {list(choices)}")
    best: dict[tuple[str, ...], np.ndarray] = {}
    for combo in itertools.product(*choices.values()):
        joint = np.array([
            math.prod(
                PREFERENCE[cue] if value == getattr(cls, cue) else (1 - PREFERENCE[cue]) / (len(choices[cue]) - 1)
                for cue, value in zip(choices, combo)
            )
            for cls in ACTION_CLASSES
        ]) / len(ACTION_CLASSES)
        key = tuple(v for cue, v in zip(choices, combo) if cue in seen)
        best[key] = best.get(key, 0) + joint
    return float(sum(p.max() for p in best.values()))
