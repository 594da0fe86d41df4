"""A seeded synthetic county medical community (医共体) to demo, test and benchmark on.

``seed_county(repo, SeedOptions(residents=20000, seed=1))`` writes a whole fictional county —
geography, institutions, staff, households and their histories — through the Repository bulk
path, and returns a :class:`SeedReport`; the ground truth (planted duplicates, outbreaks,
repeated tests, referral counts) is written beside the data. See docs/synthetic.md.
"""

from .ground_truth import GroundTruth
from .options import SeedOptions
from .seed import SeedReport, default_ground_truth_path, generate_resources, seed_county
from .writer import content_hash

__all__ = [
    "GroundTruth",
    "SeedOptions",
    "SeedReport",
    "content_hash",
    "default_ground_truth_path",
    "generate_resources",
    "seed_county",
]
