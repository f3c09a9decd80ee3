"""Procedural scenes for the synthetic action set: textures, shapes, camera and actor motion.

Everything is a function of continuous world coordinates (sums of sinusoidal gratings, signed
distances of shapes), so translation, rotation and zoom are exact at sub-pixel precision and one
frame is a handful of vectorised numpy operations. Motion is given as per-frame arrays, so the
renderer knows nothing about the action classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SHAPES = ("disk", "square", "ellipse", "flower", "triangle")
#: Outlines only the ``actions`` preset's props use (not drawn by :func:`random_shape`).
PROP_ONLY_SHAPES = ("ring", "cross", "frame")


@dataclass(frozen=True)
class Texture:
    """A sum of ``K`` sinusoidal gratings, optionally sharpened into stripes and checks.

    Attributes:
        freqs: (K, 2) float32 angular frequencies (radians per pixel) along x and y.
        phases: (K,) float32 phases in radians.
        colours: (K, 3) float32 RGB amplitude of each grating.
        base: (3,) float32 mean RGB colour.
        sharpness: 0 for smooth sinusoids, > 0 squashes each grating with ``tanh`` (hard edges).
        drift: None, or (K,) float32 phase change per frame: the pattern changes inside a fixed
            outline (limbs, cloth), which block motion vectors cannot follow but residuals show.
    """

    freqs: np.ndarray
    phases: np.ndarray
    colours: np.ndarray
    base: np.ndarray
    sharpness: float
    drift: np.ndarray | None = None

    def sample(self, x: np.ndarray, y: np.ndarray, t: int = 0) -> np.ndarray:
        """RGB colour at world points ``x, y`` (any shape ``S``) in frame ``t``: ``S + (3,)`` float32."""
        phases = self.phases if self.drift is None else self.phases + np.float32(t) * self.drift
        arg = x[..., None] * self.freqs[:, 0] + y[..., None] * self.freqs[:, 1] + phases
        waves = np.sin(arg)
        if self.sharpness > 0:
            waves = np.tanh(self.sharpness * waves)
        return self.base + waves @ self.colours


def random_texture(rng: np.random.Generator, scale: float) -> Texture:
    """A texture from the one family every class shares; ``scale`` is the frame's short side."""
    k = int(rng.integers(4, 9))
    wavelength = rng.uniform(0.03, 0.2, k) * scale + 3.0
    theta = rng.uniform(0, np.pi, k)
    omega = 2 * np.pi / wavelength
    freqs = np.stack([omega * np.cos(theta), omega * np.sin(theta)], axis=1)
    colours = rng.uniform(12, 45, (k, 3)) * rng.choice([-1.0, 1.0], (k, 3))
    return Texture(
        freqs=freqs.astype(np.float32),
        phases=rng.uniform(0, 2 * np.pi, k).astype(np.float32),
        colours=colours.astype(np.float32),
        base=rng.uniform(60, 195, 3).astype(np.float32),
        sharpness=float(rng.choice([0.0, 0.0, 2.5, 6.0])),
    )


@dataclass(frozen=True)
class Shape:
    """An actor's outline in its own (rotating) frame, anti-aliased over one pixel.

    Attributes:
        kind: one of :data:`SHAPES`.
        radius: size in pixels (the shape fits in a circle of about ``1.25 * radius``).
        aspect: height/width ratio of an ellipse.
        lobes: number of petals of a flower.
    """

    kind: str
    radius: float
    aspect: float = 1.0
    lobes: int = 5

    def alpha(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Coverage in [0, 1] of each point ``(u, v)`` given relative to the actor's centre."""
        r = self.radius
        if self.kind == "disk":
            dist = np.hypot(u, v) - r
        elif self.kind == "square":
            dist = np.maximum(np.abs(u), np.abs(v)) - 0.85 * r
        elif self.kind == "ellipse":
            dist = (np.hypot(u / r, v / (self.aspect * r)) - 1.0) * self.aspect * r
        elif self.kind == "flower":
            rho = np.hypot(u, v)
            dist = rho - r * (0.82 + 0.22 * np.cos(self.lobes * np.arctan2(v, u)))
        elif self.kind == "triangle":
            normals = ((0.0, -1.0), (0.866, 0.5), (-0.866, 0.5))
            dist = np.max([nx * u + ny * v for nx, ny in normals], axis=0) - 0.6 * r
        elif self.kind == "ring":  # an annulus of outer radius r, inner 0.55 r
            dist = np.abs(np.hypot(u, v) - 0.775 * r) - 0.225 * r
        elif self.kind == "cross":  # a plus sign: two bars of half-width 0.28 r
            au, av = np.abs(u), np.abs(v)
            dist = np.minimum(np.maximum(au - r, av - 0.28 * r), np.maximum(av - r, au - 0.28 * r))
        elif self.kind == "frame":  # a hollow square: outer half-side 0.85 r, wall 0.25 r
            edge = np.maximum(np.abs(u), np.abs(v))
            dist = np.abs(edge - 0.725 * r) - 0.125 * r
        else:
            raise ValueError(f"unknown shape {self.kind!r}; expected one of {SHAPES + PROP_ONLY_SHAPES}")
        return np.clip(0.5 - dist, 0.0, 1.0)


def random_shape(rng: np.random.Generator, scale: float) -> Shape:
    """A random outline of radius 15-28 % of ``scale`` (the frame's short side)."""
    return Shape(
        kind=str(rng.choice(SHAPES)),
        radius=float(rng.uniform(0.15, 0.28) * scale),
        aspect=float(rng.uniform(0.55, 0.85)),
        lobes=int(rng.integers(3, 7)),
    )


@dataclass
class Actor:
    """A textured shape and its path in world coordinates.

    Attributes:
        texture: colour inside the shape, in the actor's own frame (it rotates with the actor).
        shape: the outline.
        centre: (F, 2) float32 world x, y of the centre in each frame.
        angle: (F,) float32 rotation in radians (positive turns the image counter-clockwise).
    """

    texture: Texture
    shape: Shape
    centre: np.ndarray
    angle: np.ndarray


@dataclass
class Scene:
    """A background, actors, a camera and the lighting of one clip of ``F`` frames.

    The camera maps pixel ``p`` to world ``c + (p - c) / zoom[t] + pan[t]``, so ``zoom > 1``
    magnifies and a growing ``pan`` moves the content the other way. Actors wrap around a torus of
    size ``period`` (larger than the visible world) so a translating actor re-enters on the far
    side after it leaves, and its position says nothing about where it is heading.
    """

    background: Texture
    actors: list[Actor]  # front to back: actors[0] is never hidden
    zoom: np.ndarray  # (F,) float32
    pan: np.ndarray  # (F, 2) float32
    zoom_centre: np.ndarray  # (2,) float32
    period: np.ndarray  # (2,) float32 wrap-around size of the actors' world
    gain: np.ndarray  # (F,) float32 global brightness
    gradient: np.ndarray  # (2,) float32 brightness slope across x and y (fraction per frame size)
    noise_sigma: float
    cues: dict[str, str] = field(default_factory=dict)  # what a preset drew (scene kind, motion...)


def _wrap(d: np.ndarray, period: float) -> np.ndarray:
    """``d`` folded into [-period/2, period/2)."""
    return (d + period / 2) % period - period / 2


def render(scene: Scene, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Draw every frame of ``scene``.

    Args:
        scene: what to draw.
        width: frame width in pixels.
        height: frame height in pixels.
        rng: source of the sensor noise.

    Returns:
        (F, height, width, 3) uint8 RGB frames.
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shading = 1.0 + scene.gradient[0] * (xx / width - 0.5) + scene.gradient[1] * (yy / height - 0.5)
    cx, cy = scene.zoom_centre
    frames = np.empty((len(scene.zoom), height, width, 3), np.uint8)
    for t in range(len(scene.zoom)):
        wx = cx + (xx - cx) / scene.zoom[t] + scene.pan[t, 0]
        wy = cy + (yy - cy) / scene.zoom[t] + scene.pan[t, 1]
        img = scene.background.sample(wx, wy, t)
        for actor in reversed(scene.actors):  # actors[0] in front
            du = _wrap(wx - actor.centre[t, 0], scene.period[0])
            dv = _wrap(wy - actor.centre[t, 1], scene.period[1])
            # Image y points down, so a positive angle (counter-clockwise on screen) rotates the
            # sampling frame by -angle in these coordinates.
            cos, sin = np.cos(actor.angle[t]), np.sin(actor.angle[t])
            u = cos * du - sin * dv
            v = sin * du + cos * dv
            alpha = actor.shape.alpha(u, v)
            inside = np.nonzero(alpha)  # texture only where the actor shows: a few % of the frame
            a = alpha[inside][:, None]
            img[inside] = img[inside] * (1 - a) + actor.texture.sample(u[inside], v[inside], t) * a
        img *= (scene.gain[t] * shading)[..., None]
        img += rng.normal(0.0, scene.noise_sigma, img.shape).astype(np.float32)
        np.clip(img, 0, 255, out=img)
        frames[t] = img.astype(np.uint8)
    return frames
