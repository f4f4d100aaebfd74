"""Working with candidate responses: sample them from an LM, rerank them (best-of-n), and
label pairs of them with a reward model for DPO. One file format, ``{"prompt", "responses"}``
per line (:mod:`rewardkit.candidates.format`), flows through all three commands."""

from rewardkit.candidates.format import CandidateSet, read_candidates, write_candidates

__all__ = ["CandidateSet", "read_candidates", "write_candidates"]
