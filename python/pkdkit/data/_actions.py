"""The ``actions`` preset: synthetic classes shaped like real action data.

In UCF-101 the scene and the objects already say a lot (water, a ball, a court), and the motion
settles what appearance leaves open; CoViAR's single networks rank I-frame > residual > MV. Here
each class is a *motion* (travel, bounce, spin, approach), a *scene*, a *prop* (a static object)
and an *outfit colour* of its actor, and each clip draws each of the four independently: the
class's own with the probability in :data:`PREFERENCE`, otherwise another at random. So:

- every motion is shared by two classes: motion alone at best halves the candidates;
- every class has its own scene, but the scenes come in pairs of one colour whose classes move
  differently: appearance is informative but never decisive, and motion settles it;
- every class has its own prop, told apart from the others by its outline alone (colour and
  stripes are drawn from one distribution for all): colour is read after one convolution, an
  outline needs the deeper layers, so the I-frame network's early exits see less than its last;
- which cue reaches which representation follows from what each one can see: the I-frame sees
  scene, prop and outfit but no motion; motion vectors see the motion (and the camera's drift) but
  no colour; residuals see the motion through its prediction errors, a little of the scene's fine
  texture through the camera's slow drift, and the outfit, whose pattern changes inside the
  actor's outline (limbs, cloth) where block motion cannot follow; never the static prop.

``docs/synthetic.md`` lists the classes and every distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._motion import _pair_path, _period, _speed, _time
from ._scene import Actor, Scene, Shape, Texture

SCENES = ("water", "pool", "grass", "field", "court", "sand", "indoor", "track")
#: One prop per class, told apart by outline alone (every prop draws its colour and stripes from
#: the same distribution, and turns to any angle), so naming it takes more than colour: the shape.
PROPS: dict[str, Shape] = {
    "ball": Shape("disk", 1.0),
    "cone": Shape("triangle", 1.25),
    "board": Shape("square", 1.0),
    "hoop": Shape("ring", 1.0),
    "bat": Shape("ellipse", 1.1, aspect=0.3),
    "cross": Shape("cross", 1.0),
    "star": Shape("flower", 1.0, lobes=5),
    "net": Shape("frame", 1.0),
}
#: Outfit colours: mean RGB of the actor's texture (each clip jitters it by up to 25 per channel).
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (205, 45, 45),
    "yellow": (225, 205, 40),
    "white": (232, 232, 232),
    "purple": (120, 50, 190),
    "orange": (240, 130, 30),
    "black": (35, 35, 40),
    "green": (40, 170, 70),
    "pink": (240, 120, 190),
}
MOTIONS = ("travel", "bounce", "spin", "approach")
#: Probability that a clip shows its class's own motion, scene, prop and outfit colour (each drawn
#: independently); otherwise one of the others, uniformly.
PREFERENCE = {"motion": 0.8, "scene": 0.75, "prop": 0.7, "colour": 0.3}


@dataclass(frozen=True)
class ActionClass:
    """One class of the preset: its usual motion and its preferred appearance."""

    name: str
    motion: str
    scene: str
    prop: str
    colour: str


#: In the order ``--classes N`` takes them. Each motion is shared by two classes (Swim/Run travel,
#: Juggle/Dribble bounce, Fence/Wrestle approach, Dive/Cartwheel spin); scenes of the same colour
#: (water/pool blue, grass/field green, court/sand tan) belong to classes of different motions.
ACTION_CLASSES: tuple[ActionClass, ...] = (
    ActionClass("Swim", "travel", "water", "hoop", "red"),
    ActionClass("Juggle", "bounce", "grass", "ball", "purple"),
    ActionClass("Fence", "approach", "indoor", "cross", "black"),
    ActionClass("Dive", "spin", "pool", "board", "yellow"),
    ActionClass("Run", "travel", "track", "cone", "white"),
    ActionClass("Dribble", "bounce", "court", "net", "orange"),
    ActionClass("Wrestle", "approach", "sand", "star", "green"),
    ActionClass("Cartwheel", "spin", "field", "bat", "pink"),
)
CLASS_BY_NAME = {c.name: c for c in ACTION_CLASSES}


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


def prop_actor(kind: str, rng: np.random.Generator, width: int, height: int, frames: int) -> Actor:
    """A static object of the scene, somewhere in the frame, at any angle; only its outline
    depends on ``kind`` (a key of :data:`PROPS`)."""
    if kind not in PROPS:
        raise ValueError(f"unknown prop {kind!r}; expected one of {tuple(PROPS)}")
    short = float(min(width, height))
    outline = PROPS[kind]
    size = float(rng.uniform(0.2, 0.26)) * short
    shape = Shape(outline.kind, outline.radius * size, aspect=outline.aspect, lobes=outline.lobes)
    base = tuple(float(c) for c in rng.uniform(40, 230, 3))
    texture = _gratings(rng, 2, (0.05 * short, 0.1 * short), (0, np.pi), (20, 40), (1.0, 1.0, 1.0), base, 0,
                        float(rng.choice([0.0, 4.0])))
    place = np.array([rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height], np.float32)
    return Actor(texture, shape, np.tile(place, (frames, 1)), np.full(frames, rng.uniform(0, 2 * np.pi), np.float32))


def person_actor(colour: str, rng: np.random.Generator, width: int, height: int, frames: int) -> Actor:
    """The actor: an outline of random kind in an outfit of ``colour`` whose pattern moves within it."""
    short = float(min(width, height))
    texture = _gratings(rng, int(rng.integers(3, 6)), (0.05 * short, 0.15 * short), (0, np.pi), (18, 40),
                        (1.0, 1.0, 1.0), COLOURS[colour], 25, float(rng.choice([0.0, 3.0])))
    # Limbs and cloth: the pattern drifts 0.15-0.4 rad per frame, so it changes within the outline.
    drift = rng.uniform(0.15, 0.4, len(texture.phases)) * rng.choice([-1.0, 1.0], len(texture.phases))
    texture = Texture(texture.freqs, texture.phases, texture.colours, texture.base, texture.sharpness,
                      drift.astype(np.float32))
    shape = Shape(str(rng.choice(("ellipse", "disk", "flower", "square"))), float(rng.uniform(0.14, 0.22) * short),
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
    scene_kind = _pick(rng, cls.scene, SCENES, PREFERENCE["scene"])
    prop_kind = _pick(rng, cls.prop, tuple(PROPS), PREFERENCE["prop"])
    colour = _pick(rng, cls.colour, tuple(COLOURS), PREFERENCE["colour"])
    # Two people in every clip (only "approach" moves the second), so their number says nothing.
    other = str(rng.choice([c for c in COLOURS if c != colour]))
    actors = [person_actor(colour, rng, width, height, frames), person_actor(other, rng, width, height, frames),
              prop_actor(prop_kind, rng, width, height, frames)]
    # A hand-held camera: a slow drift of 0.1-0.3 % of the width per frame, any direction. Motion
    # vectors follow it; residuals show the scene's fine texture, which block motion smooths over.
    drift = rng.uniform(0.001, 0.003) * width
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
        cues={"motion": motion, "scene": scene_kind, "prop": prop_kind, "colour": colour},
    )
    _move(motion, scene, rng, width, height)
    return scene
